{#- The date-effective tier history (mart_customer_tier_history): versions of each customer's grade.

    A version is in force from valid_from up to the day before valid_to (null: in force now).
    Build dates come in order: a run of the latest date replaces that date's changes (a re-run);
    a run of an earlier date is refused, because the later versions were graded after it:
    rewind_tier_history moves the history back to before a date, and the dates from it on are
    then built again in order. ops.build_state records the dates built: a date that changed no
    grade leaves no row in the history to tell. -#}

{#- Pre-hook of mart_customer_tier_history (incremental runs): refuse an earlier date, undo an
    earlier run of this date, close the versions whose grade changed (the tier, its policy
    version, the reason codes or the relationship manager) or whose customer is no longer graded
    (an erased or closed customer: an exit). -#}
{% macro close_tier_versions(tier_rules, rm_book, build_state) -%}
{%- if execute and is_incremental() -%}
{#- The latest date graded: build_state knows the dates that changed nothing. -#}
{%- set latest = run_query("select greatest((select max(greatest(valid_from, valid_to)) from " ~ this
    ~ "), (select max(as_of_date) from " ~ build_state ~ "))::text").rows[0][0] or '' -%}
{%- set build_date = as_of_date_text() -%}
{%- if latest and latest > build_date -%}
{{ exceptions.raise_compiler_error(
    this ~ " was graded on " ~ latest ~ ", after the build date " ~ build_date ~ ": an earlier "
    ~ "date cannot be graded again in between. To rebuild from " ~ build_date ~ ", rewind the history first "
    ~ "(dbt run-operation rewind_tier_history --args '{from_date: " ~ build_date ~ "}'), then build every "
    ~ "date from it on again, in order.") }}
{%- endif %}
-- A re-run of the date: its new versions go and the versions it closed are in force again.
delete from {{ this }} where valid_from = {{ as_of_date() }};
update {{ this }} set valid_to = null where valid_to = {{ as_of_date() }};
update {{ this }} as history
set valid_to = {{ as_of_date() }}
where history.valid_to is null
  and not exists (
    select 1
    from {{ tier_rules }} as tier_rules
    left join {{ rm_book }} as rm_book
        on rm_book.customer_id = tier_rules.customer_id and rm_book.as_of_date = {{ as_of_date() }}
    where tier_rules.customer_id = history.customer_id
      and (tier_rules.tier_code, tier_rules.tier_rank, tier_rules.policy_version, tier_rules.reason_codes,
           rm_book.relationship_manager_id)
          is not distinct from
          (history.tier_code, history.tier_rank, history.policy_version, history.reason_codes,
           history.relationship_manager_id)
  )
{%- endif -%}
{%- endmacro %}


{#- Post-hook: at most one version in force per customer, held by a unique index (dbt's index
    config has no partial indexes), and the stamp of the date graded. The index is looked up on
    this table first: CREATE INDEX IF NOT EXISTS takes its lock before it looks, and waited a
    second for it at 1M customers (most likely behind autovacuum on the freshly updated table).
    After a full refresh the old table, renamed aside until dbt drops it, still holds the index's
    name: it is renamed out of the way. -#}
{% macro finish_tier_history() -%}
{%- set index = this.identifier ~ '__current' -%}
do $$
begin
    if not exists (
        select 1 from pg_index join pg_class on pg_class.oid = pg_index.indexrelid
        where pg_index.indrelid = '{{ this }}'::regclass and pg_class.relname = '{{ index }}'
    ) then
        alter index if exists {{ this.schema }}.{{ index }} rename to {{ index }}_replaced;
        create unique index {{ index }} on {{ this }} (customer_id) where valid_to is null;
    end if;
end
$$;
{%- endmacro %}


{#- dbt run-operation rewind_tier_history --args '{from_date: 2026-09-30}': the tier history and
    movements as they stood before from_date was built, so that the dates from it on can be built
    again in order (after a correction to an earlier date's data). Versions that started on or
    after from_date go; the one each customer had in force the day before is in force again. -#}
{% macro rewind_tier_history(from_date) -%}
{%- set history = ref('mart_customer_tier_history') -%}
{%- set movements = ref('mart_tier_movements') -%}
{%- set build_state = ref('build_state') -%}
{%- set day = dbt.string_literal(from_date) ~ '::date' -%}
{#- In this order: a version is in force again only once the newer ones are gone (the partial
    unique index of one in force per customer is checked row by row). -#}
{%- call statement('rewind_tier_history__removed', fetch_result=False) %}
delete from {{ history }} where valid_from >= {{ day }}
{%- endcall %}
{%- call statement('rewind_tier_history__reopened', fetch_result=False) %}
update {{ history }} set valid_to = null where valid_to >= {{ day }}
{%- endcall %}
{%- call statement('rewind_tier_history__movements', fetch_result=False) %}
delete from {{ movements }} where as_of_date >= {{ day }}
{%- endcall %}
{%- call statement('rewind_tier_history__dates') %}
delete from {{ build_state }} where as_of_date >= {{ day }}
{%- endcall %}
{%- do adapter.commit() %}
{{ log('tier history rewound to before ' ~ from_date ~ ': '
       ~ load_result('rewind_tier_history__removed').response.rows_affected ~ ' versions removed, '
       ~ load_result('rewind_tier_history__reopened').response.rows_affected ~ ' in force again, '
       ~ load_result('rewind_tier_history__movements').response.rows_affected ~ ' movements removed',
       info=True) }}
{%- endmacro %}
