{#- Pre-hook of int_customer_days (incremental runs): decide once what this run recomputes, fetch
    what only some customers need, and delete the stored rows it will write again. Everything
    goes through indexes, so the cost follows the day's rows and the customers touched, never
    the stored history.

    * crm_customer_days_plan: first_date, the day every customer is recomputed from: the day
      after the last stored day, or the first new batch's date if earlier (a re-run of a date);
      batch_date, the batch stamped on the rows written.
    * crm_customer_days_changed(customer_id, from_date): customers recomputed from an earlier
      day than first_date: from the date of a late balance or transaction; from the first stored
      day when one of their accounts moved to another owner or product (every owner it ever
      had), a product they hold changed, or an account's record arrived after balances that
      needed it: a day is valued with today's records, as a full rebuild would value it. (A
      customer record that arrives late needs nothing: the model values a customer's days
      without it.) Any other change to a customer's record leaves their balances as they are
      (erasure is the post-hook's).
    * crm_customer_days_changed_balances / _txn_days: those customers' balances and transaction
      days from from_date up to first_date, fetched by index probes. -#}
{% macro customer_days_plan(balances, txn_days) -%}
{% if is_incremental() %}
{%- set run = customer_days_run_dates(balances, txn_days) %}
drop table if exists pg_temp.crm_customer_days_plan;
create temporary table crm_customer_days_plan as
select
    {{ run.first_date }} as first_date,
    {{ run.batch_date }} as batch_date,
    {{ run.previous_batch_date }} as previous_batch_date;

drop table if exists pg_temp.crm_customer_days_changed;
create temporary table crm_customer_days_changed as
with plan as (
    select (select min(balance_date) from {{ this }}) as first_stored_date
),

new_accounts as (
    select account_id, customer_id, product_code, opened_on, _logical_date
    from {{ source('corebank', 'accounts') }}
    where {{ new_batches_filter(this) }}
),

late_balances as (
    -- New rows dated before first_date. offset 0 keeps this a scan of the new batches (by the
    -- _logical_date index), filtered before anything is joined to it.
    select account_id, balance_date
    from {{ balances }}
    where {{ new_batches_filter(this) }}
      and balance_date < {{ run.first_date }}
    offset 0
),

changed as (
    -- Raw accounts hold every version: every owner an account ever had.
    select accounts.customer_id, late_balances.balance_date as from_date
    from late_balances
    inner join {{ source('corebank', 'accounts') }} as accounts on late_balances.account_id = accounts.account_id
    union all
    select customer_id, txn_date
    from {{ txn_days }}
    where {{ new_batches_filter(this) }} and txn_date < {{ run.first_date }}
    union all
    -- An account that moved to another owner or product: every owner it ever had, from the start.
    select accounts.customer_id, (select first_stored_date from plan)
    from {{ source('corebank', 'accounts') }} as accounts
    where accounts.account_id in (
        select new_version.account_id
        from new_accounts as new_version
        inner join {{ source('corebank', 'accounts') }} as old_version
            on new_version.account_id = old_version.account_id
           and old_version._logical_date < new_version._logical_date
        where (old_version.customer_id, old_version.product_code)
              is distinct from (new_version.customer_id, new_version.product_code)
    )
    union all
    -- An account record that arrives after balances of it were stored (a late-arriving
    -- dimension: they were left out): its owner from the account's opening day on. An account
    -- opened today has no stored balance and costs nothing.
    select new_version.customer_id,
           greatest(coalesce(new_version.opened_on, (select first_stored_date from plan)),
                    (select first_stored_date from plan))
    from new_accounts as new_version
    where not exists (
        select 1 from {{ source('corebank', 'accounts') }} as old_version
        where old_version.account_id = new_version.account_id
          and old_version._logical_date < new_version._logical_date
    )

    union all
    -- A product whose terms changed: everyone who holds it, from the start.
    select customer_id, (select first_stored_date from plan)
    from {{ source('corebank', 'accounts') }}
    where product_code in (
        select product_code from {{ source('corebank', 'products') }} where {{ new_batches_filter(this) }}
    )
)

select customer_id, min(from_date) as from_date
from changed
where customer_id is not null and from_date < {{ run.first_date }}
group by customer_id;
analyze crm_customer_days_changed;

drop table if exists pg_temp.crm_customer_days_changed_accounts;
create temporary table crm_customer_days_changed_accounts as
-- Every account the customers hold or held; the model values each day with today's owner.
select distinct accounts.account_id, changed.from_date
from crm_customer_days_changed as changed
inner join {{ source('corebank', 'accounts') }} as accounts on changed.customer_id = accounts.customer_id;
analyze crm_customer_days_changed_accounts;

-- Few customers against a long history: one probe per day and key through the date-first
-- unique indexes, never a hash of the history.
{{ probe_indexes_only() }}
drop table if exists pg_temp.crm_customer_days_changed_balances;
create temporary table crm_customer_days_changed_balances as
select balances.*
from crm_customer_days_changed_accounts as changed
cross join lateral generate_series(
    changed.from_date, {{ run.first_date }} - 1, interval '1 day') as day
inner join {{ balances }} as balances
    on balances.balance_date = day::date and balances.account_id = changed.account_id;

drop table if exists pg_temp.crm_customer_days_changed_txn_days;
create temporary table crm_customer_days_changed_txn_days as
select txn_days.*
from crm_customer_days_changed as changed
cross join lateral generate_series(
    changed.from_date, {{ run.first_date }} - 1, interval '1 day') as day
inner join {{ txn_days }} as txn_days
    on txn_days.txn_date = day::date and txn_days.customer_id = changed.customer_id;

delete from {{ this }} as stored
using crm_customer_days_changed as changed
cross join lateral generate_series(
    changed.from_date, {{ run.first_date }} - 1, interval '1 day') as day
where stored.balance_date = day::date and stored.customer_id = changed.customer_id;
{{ probe_indexes_only(false) }}

delete from {{ this }} where balance_date >= {{ run.first_date }};
{% endif %}
{%- endmacro %}


{#- The dates of an incremental run of int_customer_days, read when the model compiles, so that
    its query carries them as literals: the planner then sees one day of a 70M-row history (a
    parameter it would guess at a third of the table, and plan sorts and merge joins for that).
    first_date: the day every customer is recomputed from (the day after the last stored day,
    or the first new batch's date if earlier: a re-run); last_date: the latest day with data;
    batch_date: the batch stamped on the rows; previous_batch_date: the latest before this run.
    Values are SQL literals ('null' when there is no such date). -#}
{% macro customer_days_run_dates(balances, txn_days) -%}
{%- set none_dates = {'first_date': 'null::date', 'last_date': 'null::date', 'batch_date': 'null::date',
                      'previous_batch_date': 'null::date'} -%}
{%- if not (execute and is_incremental()) -%}{{ return(none_dates) }}{%- endif -%}
{%- set dates_sql -%}
with run as (
    select
        least(
            (select max(balance_date) + 1 from {{ this }}),
            (select min(_logical_date) from {{ balances }} where {{ new_batches_filter(this) }})
        ) as first_date,
        greatest(
            (select max(_logical_date) from {{ balances }} where {{ new_batches_filter(this) }}),
            (select max(_logical_date) from {{ txn_days }} where {{ new_batches_filter(this) }}),
            (select max(_logical_date) from {{ this }})
        ) as batch_date,
        greatest((select max(balance_date) from {{ balances }}), (select max(txn_date) from {{ txn_days }}))
            as last_date,
        (select max(_logical_date) from {{ this }}) as previous_batch_date
)
select
    coalesce(quote_literal(first_date) || '::date', 'null::date'),
    coalesce(quote_literal(last_date) || '::date', 'null::date'),
    coalesce(quote_literal(batch_date) || '::date', 'null::date'),
    coalesce(quote_literal(previous_batch_date) || '::date', 'null::date')
from run
{%- endset -%}
{%- set row = run_query(dates_sql).rows[0] -%}
{{ return({'first_date': row[0], 'last_date': row[1], 'batch_date': row[2], 'previous_batch_date': row[3]}) }}
{%- endmacro %}
