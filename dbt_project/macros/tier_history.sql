{#- The date-effective tier history (mart_customer_tier_history): versions of each customer's grade.

    A version is in force from valid_from up to the day before valid_to (null: in force now).
    Build dates come in order: a run of the latest date replaces that date's changes (a re-run);
    a run of an earlier date is refused, because the later versions were graded after it:
    rewind_tier_history moves the history back to before a date, and the dates from it on are
    then built again in order. -#}

{#- The columns of a version as graded on the build date, from the tier rules and the RM book. -#}
{% macro tier_version_columns(tier_rules, rm_book) -%}
    select
        {{ tier_rules }}.customer_id,
        {{ as_of_date() }} as valid_from,
        null::date as valid_to,
        {{ tier_rules }}.tier_code,
        {{ tier_rules }}.tier_rank,
        {{ tier_rules }}.policy_version,
        {{ tier_rules }}.reason_codes,
        {{ rm_book }}.relationship_manager_id,
        {{ tier_rules }}.aum_cny,
        {{ tier_rules }}.profit_contribution_cny
{%- endmacro %}


{#- Pre-hook of mart_customer_tier_history (incremental runs): refuse an earlier date, undo an
    earlier run of this date, close the versions whose grade changed (the tier, its policy
    version, the reason codes or the relationship manager) or whose customer is no longer graded
    (an erased or closed customer: an exit). -#}
{% macro close_tier_versions(tier_rules, rm_book) -%}
{%- if execute and is_incremental() -%}
{%- set latest = run_query("select max(greatest(valid_from, valid_to))::text from " ~ this).rows[0][0] -%}
{%- set build_date = as_of_date_text() -%}
{%- if latest is not none and latest > build_date -%}
{{ exceptions.raise_compiler_error(
    this ~ " holds versions graded on " ~ latest ~ ", after the build date " ~ build_date ~ ": an earlier "
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
    config has no partial indexes). Looked up first: CREATE INDEX IF NOT EXISTS takes its lock
    before it looks, and waited a second for autovacuum on the freshly updated table. -#}
{% macro one_current_tier_version() -%}
do $$
begin
    if to_regclass('{{ this.schema }}.{{ this.identifier }}__current') is null then
        create unique index {{ this.identifier }}__current on {{ this }} (customer_id) where valid_to is null;
    end if;
end
$$
{%- endmacro %}


{#- dbt run-operation rewind_tier_history --args '{from_date: 2026-09-30}': the tier history and
    movements as they stood before from_date was built, so that the dates from it on can be built
    again in order (after a correction to an earlier date's data). Versions that started on or
    after from_date go; the one each customer had in force the day before is in force again. -#}
{% macro rewind_tier_history(from_date) -%}
{%- set history = ref('mart_customer_tier_history') -%}
{%- set movements = ref('mart_tier_movements') -%}
{%- call statement('rewind_tier_history', fetch_result=True) %}
with removed as (
    delete from {{ history }} where valid_from >= {{ dbt.string_literal(from_date) }}::date returning 1
),

reopened as (
    update {{ history }} set valid_to = null
    where valid_to >= {{ dbt.string_literal(from_date) }}::date and valid_from < {{ dbt.string_literal(from_date) }}::date
    returning 1
),

movements_removed as (
    delete from {{ movements }} where as_of_date >= {{ dbt.string_literal(from_date) }}::date returning 1
)

select (select count(*) from removed), (select count(*) from reopened), (select count(*) from movements_removed)
{%- endcall %}
{%- set counts = load_result('rewind_tier_history').table.rows[0] %}
{%- do adapter.commit() %}
{{ log('tier history rewound to before ' ~ from_date ~ ': ' ~ counts[0] ~ ' versions removed, ' ~ counts[1]
       ~ ' in force again, ' ~ counts[2] ~ ' movements removed', info=True) }}
{%- endmacro %}
