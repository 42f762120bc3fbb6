{#- Pre-hook of int_customer_days (incremental runs): decide once what this run recomputes, fetch
    what only some customers need, and delete the stored rows it will write again. Everything
    goes through indexes, so the cost follows the day's rows and the customers touched, never
    the stored history.

    * crm_customer_days_plan: first_date, the day every customer is recomputed from: the day
      after the last stored day, or the first new batch's date if earlier (a re-run of a date);
      batch_date, the batch stamped on the rows written.
    * crm_customer_days_late(customer_id, from_date, refetch_balances): customers with data
      for a day before first_date, from the earliest such day: the date of a late balance or
      transaction; from the first stored day when one of their accounts moved to another owner
      or product (every owner it ever had), a product they hold changed, or an account's record
      arrived after balances that needed it: a day is valued with today's records, as a full
      rebuild would value it. (A customer record that arrives late needs nothing: the model
      values a customer's days without it.) Any other change to a customer's record leaves
      their balances as they are (erasure is the post-hook's).
      A late transaction or a late account record changes no stored balance value: those
      customers (refetch_balances false) keep their stored day values and add the late
      accounts' balances; the rest refetch all their balances.
    * Split in two: crm_customer_days_corrected, late customers who keep their day values and
      have a stored row on from_date: their stored rows stay, their late days become correction
      rows (customer_day_corrections.sql); crm_customer_days_changed, the others, rewritten
      from from_date.
    * crm_customer_days_changed_balances / _txn_days: the balances (all accounts, or only the
      late ones) and transaction days from from_date up to first_date, fetched by index probes;
      balances only of days whose current owner (`accounts`) is rewritten from then (those of
      corrected owners go to crm_customer_days_corrected_balances).
    * crm_customer_days_kept_balance_values: the stored day values kept (rows with a balance). -#}
{% macro customer_days_plan(balances, txn_days, accounts) -%}
{% if is_incremental() %}
{%- set run = customer_days_run_dates(balances, txn_days) %}
{%- call statement('customer_days_plan__plan') %}
drop table if exists pg_temp.crm_customer_days_plan;
create temporary table crm_customer_days_plan as
select
    {{ run.first_date }} as first_date,
    {{ run.batch_date }} as batch_date,
    {{ run.previous_batch_date }} as previous_batch_date;
{%- endcall %}

{%- call statement('customer_days_plan__reasons') %}
drop table if exists pg_temp.crm_customer_days_reasons;
create temporary table crm_customer_days_reasons as
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

reasons as (
    -- Raw accounts hold every version: every owner an account ever had.
    select accounts.customer_id, late_balances.balance_date as from_date, true as refetch_balances,
           null::text as late_account_id
    from late_balances
    inner join {{ source('corebank', 'accounts') }} as accounts on late_balances.account_id = accounts.account_id
    union all
    -- A late transaction changes no balance: the stored day values are kept.
    select customer_id, txn_date, false, null
    from {{ txn_days }}
    where {{ new_batches_filter(this) }} and txn_date < {{ run.first_date }}
    union all
    -- An account that moved to another owner or product: every owner it ever had, from the start.
    select accounts.customer_id, (select first_stored_date from plan), true, null
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
    -- dimension: they were left out): its owner from the account's opening day on, adding the
    -- account's balances to the stored day values. Only a record the stored rows have not seen:
    -- a re-run of a date finds the date's records in its stored rows already. An account opened
    -- today has no stored balance and costs nothing.
    select new_version.customer_id,
           greatest(coalesce(new_version.opened_on, (select first_stored_date from plan)),
                    (select first_stored_date from plan)),
           false, new_version.account_id
    from new_accounts as new_version
    where new_version._logical_date > coalesce({{ run.previous_batch_date }}, date '1900-01-01')
      and not exists (
        select 1 from {{ source('corebank', 'accounts') }} as old_version
        where old_version.account_id = new_version.account_id
          and old_version._logical_date < new_version._logical_date
    )
    union all
    -- A product whose terms changed: everyone who holds it, from the start.
    select customer_id, (select first_stored_date from plan), true, null
    from {{ source('corebank', 'accounts') }}
    where product_code in (
        select product_code from {{ source('corebank', 'products') }} where {{ new_batches_filter(this) }}
    )
)

select customer_id, from_date, refetch_balances, late_account_id
from reasons
where customer_id is not null and from_date < {{ run.first_date }};
{%- endcall %}

{%- call statement('customer_days_plan__late') %}
drop table if exists pg_temp.crm_customer_days_late;
create temporary table crm_customer_days_late as
select customer_id, min(from_date) as from_date, bool_or(refetch_balances) as refetch_balances
from crm_customer_days_reasons
group by customer_id;
analyze crm_customer_days_late;
{%- endcall %}

{#- Corrected (customer_day_corrections.sql) or rewritten from the late day: a customer who
    keeps their stored day values and has a stored row on the late day is corrected. -#}
{%- call statement('customer_days_plan__corrected') %}
{{ probe_indexes_only() }}
drop table if exists pg_temp.crm_customer_days_corrected;
create temporary table crm_customer_days_corrected as
select found.customer_id, found.balance_date as from_date
from (
    {{ rows_of_probe(this, 'balance_date', 'customer_id',
        'select from_date as day, array_agg(customer_id) as keys from crm_customer_days_late
         where not refetch_balances group by from_date') }}
) as found;
{{ probe_indexes_only(false) }}
analyze crm_customer_days_corrected;
drop table if exists pg_temp.crm_customer_days_changed;
create temporary table crm_customer_days_changed as
select late.*
from crm_customer_days_late as late
where not exists (
    select 1 from crm_customer_days_corrected as corrected where corrected.customer_id = late.customer_id
);
analyze crm_customer_days_changed;
{%- endcall %}

{%- call statement('customer_days_plan__changed_accounts') %}
drop table if exists pg_temp.crm_customer_days_changed_accounts;
create temporary table crm_customer_days_changed_accounts as
-- Customers whose balances are refetched: every account they hold or held (the model values
-- each day with today's owner). The others: only their late-arriving accounts.
select accounts.account_id, late.from_date
from crm_customer_days_late as late
inner join {{ source('corebank', 'accounts') }} as accounts on late.customer_id = accounts.customer_id
where late.refetch_balances
union
select reasons.late_account_id, late.from_date
from crm_customer_days_late as late
inner join crm_customer_days_reasons as reasons on late.customer_id = reasons.customer_id
where not late.refetch_balances and reasons.late_account_id is not null;
analyze crm_customer_days_changed_accounts;
{%- endcall %}

{#- Few customers against a long history: each day's keys matched through the date-first
    unique indexes, never a hash of the history (keys_by_day). #}
{%- call statement('customer_days_plan__changed_balances') %}
{{ probe_indexes_only() }}
-- A bitmap scan per day, not an index scan: it reads the heap in page order and ahead.
set enable_indexscan = off;
drop table if exists pg_temp.crm_customer_days_changed_balances;
create temporary table crm_customer_days_changed_balances as
{{ rows_by_day(balances, 'balance_date', 'account_id', 'crm_customer_days_changed_accounts', run.first_date) }};
{%- endcall %}

{%- call statement('customer_days_plan__changed_txn_days') %}
drop table if exists pg_temp.crm_customer_days_changed_txn_days;
create temporary table crm_customer_days_changed_txn_days as
{{ rows_by_day(txn_days, 'txn_date', 'customer_id', 'crm_customer_days_changed', run.first_date) }};
{%- endcall %}

{#- The rows replaced; of customers whose balances are not refetched, the day's balance values
    are kept for the model. #}
{%- call statement('customer_days_plan__kept_balance_values') %}
drop table if exists pg_temp.crm_customer_days_kept_balance_values;
create temporary table crm_customer_days_kept_balance_values as
select customer_id, balance_date, aum_day_cny, deposit_day_cny, wealth_day_cny, loan_day_cny,
       annual_interest_margin_cny, annual_wealth_fee_cny, annual_account_cost_cny
from {{ this }}
where false;
{%- endcall %}

{#- One bitmap scan per day for each half (keys_by_day), never a join back to
    crm_customer_days_changed: with hash joins off, the delete's rows joined back to it were a
    nested loop (117-128 s at 1M customers). Customers whose day values are kept return them. -#}
{%- call statement('customer_days_plan__delete_replaced') %}
{%- set kept_keys = '(select customer_id, from_date from crm_customer_days_changed where not refetch_balances) as kept' %}
{%- set refetched_keys = '(select customer_id, from_date from crm_customer_days_changed where refetch_balances) as refetched' %}
with replaced as (
    delete from {{ this }} as stored
    using ({{ keys_by_day(kept_keys, 'customer_id', run.first_date) }}) as probe
    where stored.balance_date = probe.day and stored.customer_id = any(probe.keys)
    returning stored.*
)
insert into crm_customer_days_kept_balance_values
select customer_id, balance_date, aum_day_cny, deposit_day_cny, wealth_day_cny, loan_day_cny,
       annual_interest_margin_cny, annual_wealth_fee_cny, annual_account_cost_cny
from replaced
where has_balance;
analyze crm_customer_days_kept_balance_values;
delete from {{ this }} as stored
using ({{ keys_by_day(refetched_keys, 'customer_id', run.first_date) }}) as probe
where stored.balance_date = probe.day and stored.customer_id = any(probe.keys);
reset enable_indexscan;
{{ probe_indexes_only(false) }}
{%- endcall %}

{#- An earlier day belongs to this run only for the account's current owner, if that owner is
    recomputed from then: a fetched account may have had another owner since. Filtered here, on
    the fetched rows, so that the model does not match the day's balances against it. -#}
{%- call statement('customer_days_plan__current_owners') %}
-- Set-based, each table read once and hashed: a correlated test per fetched row against the
-- reasons (no index) took 98 s for 128,002 balances at 1M customers.
drop table if exists pg_temp.crm_customer_days_owned_balances;
create temporary table crm_customer_days_owned_balances as
select fetched, accounts.customer_id as owner_id, fetched.account_id, fetched.balance_date
from crm_customer_days_changed_balances as fetched
inner join {{ accounts }} as accounts on accounts.account_id = fetched.account_id;
-- An owner who keeps their stored day values takes only their own late accounts' balances: a
-- fetched account they hold may be another late customer's former one (every account a
-- refetching customer ever held is fetched), and its balances are in their stored days already.
drop table if exists pg_temp.crm_customer_days_late_accounts;
create temporary table crm_customer_days_late_accounts as
select distinct customer_id, late_account_id as account_id
from crm_customer_days_reasons
where late_account_id is not null;
analyze crm_customer_days_owned_balances;
analyze crm_customer_days_late_accounts;
drop table if exists pg_temp.crm_customer_days_corrected_balances;
create temporary table crm_customer_days_corrected_balances as
select (owned.fetched).*
from crm_customer_days_owned_balances as owned
inner join crm_customer_days_corrected as corrected
    on corrected.customer_id = owned.owner_id and owned.balance_date >= corrected.from_date
where (owned.owner_id, owned.account_id) in (select customer_id, account_id from crm_customer_days_late_accounts);
truncate crm_customer_days_changed_balances;
insert into crm_customer_days_changed_balances
select (owned.fetched).*
from crm_customer_days_owned_balances as owned
inner join crm_customer_days_changed as changed
    on changed.customer_id = owned.owner_id and owned.balance_date >= changed.from_date
where changed.refetch_balances
   or (owned.owner_id, owned.account_id) in (select customer_id, account_id from crm_customer_days_late_accounts);
analyze crm_customer_days_changed_balances;
analyze crm_customer_days_corrected_balances;
{%- endcall %}

{{ correct_customer_days(txn_days, run) }}

{#- What the run recomputes, in the log: the numbers that explain a slow day. #}
{%- call statement('customer_days_plan__sizes', fetch_result=True) %}
select
    (select count(*) from crm_customer_days_corrected) as corrected_customers,
    (select count(*) from {{ customer_day_corrections_relation(this) }}
     where absorbed_from = {{ run.first_date }}) as corrections_carried,
    (select count(*) from crm_customer_days_changed) as rewritten_customers,
    (select count(*) from crm_customer_days_changed where refetch_balances) as refetching_balances,
    (select count(*) from crm_customer_days_changed_accounts) as accounts,
    (select count(*) from crm_customer_days_changed_balances) as balances_fetched,
    (select count(*) from crm_customer_days_changed_txn_days) as txn_days_fetched,
    (select count(*) from crm_customer_days_kept_balance_values) as day_values_kept
{%- endcall %}
{%- set sizes = load_result('customer_days_plan__sizes').table %}
{%- set counted = [] %}
{%- for name, value in zip(sizes.column_names, sizes.rows[0]) %}{% do counted.append(name ~ ' ' ~ value) %}{% endfor %}
{{- log('int_customer_days late data: ' ~ counted | join(', '), info=True) }}

{%- call statement('customer_days_plan__delete_from_first_date') %}
delete from {{ this }} where balance_date >= {{ run.first_date }};
{%- endcall %}
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


{#- The keys of `relation` to look up in a date-first table, one row per day from each key's
    from_date to the day before `first_date`: (day, keys[]). Matched as
    `t.date = probe.day and t.key = any(probe.keys)`, a day is one bitmap scan: the day's index
    entries in key order, then its heap pages in physical order, many read ahead at once
    (effective_io_concurrency, set by probe_indexes_only). One probe per key and day instead
    waits on one random read at a time: 122k balances of 4,210 accounts over 29 days took
    12.6 s on a cold cache at 1M customers, 1.5-4 s this way. A key listed twice matches once. -#}
{% macro keys_by_day(relation, key_column, first_date) -%}
select day::date as day, array_agg(distinct {{ key_column }}) as keys
from {{ relation }}
cross join lateral generate_series(from_date, {{ first_date }} - 1, interval '1 day') as day
group by day::date
{%- endmacro %}


{#- The rows of date-first `table` for the keys of `keys_relation`, each from its from_date to
    the day before `first_date`, fetched a day at a time (keys_by_day). -#}
{% macro rows_by_day(table, date_column, key_column, keys_relation, first_date) -%}
{{ rows_of_probe(table, date_column, key_column, keys_by_day(keys_relation, key_column, first_date)) }}
{%- endmacro %}


{#- The rows of date-first `table` matching `probe_sql` (rows of day, keys[]): one bitmap scan a
    day (keys_by_day says why). -#}
{% macro rows_of_probe(table, date_column, key_column, probe_sql) -%}
select fetched.*
from ({{ probe_sql }}) as probe
cross join lateral (
    select * from {{ table }} as stored
    where stored.{{ date_column }} = probe.day and stored.{{ key_column }} = any(probe.keys)
) as fetched
{%- endmacro %}
