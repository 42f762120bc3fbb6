{#- Late transactions and late account records as correction rows of int_customer_days.

    A late transaction, or an account record that arrives after balances of it were stored,
    adds to a customer's values on an earlier day d and so to every running total from d on.
    Rewriting the customer's stored rows from d on cost the 1M daily build a scattered delete
    and re-insert of about 157,000 rows (5.6 s for the delete alone). Instead, the run stores one
    correction row per customer and day: what that day's values gain (the day's new
    transaction figures less those stored, the late accounts' balances), with
    absorbed_from, the first date whose stored rows include it (the run's first_date: its
    rows carry the corrections on from the day before). A stored running total on a date b then
    lacks exactly the corrections with correction_date <= b < absorbed_from;
    customer_days_on() adds them where a reader looks up a date. The stored rows of the new day
    are complete, so a reader of the build date needs nothing.

    Who is corrected: a customer whose late data keeps their stored day values (a late
    transaction, a late account record) and who has a stored row on the first late day (rows
    are dense from a customer's first day, so on every later day too). Everyone else with late
    data (an account that moved, a product changed, a late balance; late data before the
    customer's first stored day) is rewritten from the late day on as before
    (customer_days_plan.sql), and their corrections from that day on are dropped: the rewrite
    values those days from the facts and keeps their corrected balances.

    The table is int_customer_days' own: its hooks write it, a full refresh empties it, erasure
    removes a customer's rows from it. About 133,000 rows a day at 1M customers (docs/BENCHMARKS.md,
    session 16), read by range of absorbed_from. crm_daily's fold_late_corrections moves them into
    the stored days they span once the marts are built (python_tasks/transform/late_corrections.py):
    left alone, a late account record's rows span the weeks since it opened, and every window
    bound would soon sum a month of them. -#}

{% macro customer_day_corrections_relation(days_relation=none) -%}
{%- set days = days_relation if days_relation is not none else ref('int_customer_days') -%}
{{ return(days.incorporate(path={'identifier': days.identifier ~ '__corrections'})) }}
{%- endmacro %}


{#- Pre-hook part of int_customer_days: the corrections table exists, empty on a full build. -#}
{% macro ensure_customer_day_corrections() -%}
{%- set corrections = customer_day_corrections_relation(this) -%}
create table if not exists {{ corrections }} (
    customer_id text not null,
    correction_date date not null,
    absorbed_from date not null,
    adds_balance boolean not null,
    balance_day_delta integer not null,
    aum_day_cny numeric not null,
    deposit_day_cny numeric not null,
    wealth_day_cny numeric not null,
    loan_day_cny numeric not null,
    annual_interest_margin_cny numeric not null,
    annual_wealth_fee_cny numeric not null,
    annual_account_cost_cny numeric not null,
    txn_count bigint not null,
    digital_txn_count bigint not null,
    monetary_cny numeric not null,
    channel_cost_cny numeric not null,
    fee_income_cny numeric not null,
    has_txn boolean not null,
    _logical_date date not null
);
create index if not exists {{ corrections.identifier }}__absorbed_from on {{ corrections }} (absorbed_from);
create index if not exists {{ corrections.identifier }}__customer on {{ corrections }} (customer_id, correction_date);
{%- if not is_incremental() %}
truncate {{ corrections }};
{%- endif %}
{%- endmacro %}


{#- Each running total of int_customer_days and the correction column that adds to it. -#}
{% macro customer_day_running_totals() -%}
{{ return({
    'cum_balance_days': 'balance_day_delta',
    'cum_aum_cny': 'aum_day_cny',
    'cum_interest_margin_cny': 'annual_interest_margin_cny',
    'cum_wealth_fee_cny': 'annual_wealth_fee_cny',
    'cum_account_cost_cny': 'annual_account_cost_cny',
    'cum_txn_count': 'txn_count',
    'cum_digital_txn_count': 'digital_txn_count',
    'cum_monetary_cny': 'monetary_cny',
    'cum_channel_cost_cny': 'channel_cost_cny',
    'cum_fee_income_cny': 'fee_income_cny',
}) }}
{%- endmacro %}


{#- The running totals kept as counts (bigint): their sums of corrections are cast back. -#}
{% macro customer_day_counts() -%}
{{ return(['cum_balance_days', 'cum_txn_count', 'cum_digital_txn_count']) }}
{%- endmacro %}


{#- Each running total's sum of the corrections in scope, named after the total. -#}
{% macro summed_corrections() -%}
{%- for cum, delta in customer_day_running_totals().items() %}
    sum({{ delta }}){{ '::bigint' if cum in customer_day_counts() }} as {{ cum }}{{ ',' if not loop.last }}
{%- endfor %}
{%- endmacro %}


{#- The running totals of int_customer_days on one date (`date_sql`, a scalar), each with the
    corrections it lacks. `days` is the relation or CTE the stored rows are read from. Only the
    running totals and the key: the day values of an earlier date are not read downstream.
    `key_condition`, if given, keeps some customers: a condition on '{key}', the customer column. -#}
{% macro customer_days_on(days, date_sql, key_condition=none) -%}
{%- set totals = customer_day_running_totals() -%}
select
    stored.customer_id,
    stored.balance_date,
    {%- for cum in totals %}
    stored.{{ cum }} + coalesce(missing.{{ cum }}, 0) as {{ cum }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ days }} as stored
left join (
    select
        customer_id,
        {{ summed_corrections() }}
    {%- if model.resource_type == 'unit_test' %}
    -- A unit test's fixture of int_customer_days stands alone: no corrections.
    from (select null::text as customer_id, null::date as correction_date, null::date as absorbed_from
          {%- for delta in totals.values() %}, 0::numeric as {{ delta }}{% endfor %}) as corrections
    where false
    {%- else %}
    from {{ customer_day_corrections_relation() }}
    where correction_date <= {{ date_sql }} and absorbed_from > {{ date_sql }}
    {%- if key_condition is not none %}
      and {{ key_condition.replace('{key}', 'customer_id') }}
    {%- endif %}
    {%- endif %}
    group by customer_id
) as missing on stored.customer_id = missing.customer_id
where stored.balance_date = {{ date_sql }}
{%- if key_condition is not none %}
  and {{ key_condition.replace('{key}', 'stored.customer_id') }}
{%- endif %}
{%- endmacro %}


{#- Part of int_customer_days' pre-hook (customer_days_plan), after the late customers are
    split and the late accounts' balances fetched:
    * the corrections of days this run recomputes from the facts are dropped (from first_date,
      and from the late day for rewritten customers, who keep the balances they added);
    * a correction the stored rows lack on the day before a recompute is absorbed there
      (absorbed_from moves back to that day);
    * this run's corrections are added: per corrected customer and late day, the balances of the
      late accounts and the transaction figures less those stored (and corrected) for the day;
    * crm_customer_days_absorbed: per customer, what the stored running totals on the day before
      the recompute lack, for the model to carry on. -#}
{% macro correct_customer_days(txn_days, run) -%}
{%- set corrections = customer_day_corrections_relation(this) %}
{%- set day_values = ['aum_day_cny', 'deposit_day_cny', 'wealth_day_cny', 'loan_day_cny',
                      'annual_interest_margin_cny', 'annual_wealth_fee_cny', 'annual_account_cost_cny'] %}
{%- set txn_values = ['txn_count', 'digital_txn_count', 'monetary_cny', 'channel_cost_cny', 'fee_income_cny'] %}

{%- call statement('customer_days_plan__corrections_kept') %}
-- Rewritten customers whose stored day values are kept keep what their corrections added to the
-- balances of those days; the transactions are read again from int_customer_txn_days.
insert into crm_customer_days_kept_balance_values
select corrections.customer_id, corrections.correction_date, {{ day_values | join(', ') }}
from {{ corrections }} as corrections
inner join crm_customer_days_changed as changed on corrections.customer_id = changed.customer_id
where not changed.refetch_balances
  and corrections.correction_date >= changed.from_date
  -- From first_date on, every customer's days are valued from the facts again.
  and corrections.correction_date < {{ run.first_date }}
  and corrections.adds_balance;
analyze crm_customer_days_kept_balance_values;
-- A correction implies absorbed_from > correction_date: the index on absorbed_from finds them.
delete from {{ corrections }} as corrections
where corrections.absorbed_from > {{ run.first_date }} and corrections.correction_date >= {{ run.first_date }};
delete from {{ corrections }} as corrections
using crm_customer_days_changed as changed
where changed.customer_id = corrections.customer_id and corrections.correction_date >= changed.from_date;
update {{ corrections }} set absorbed_from = {{ run.first_date }} where absorbed_from > {{ run.first_date }};
update {{ corrections }} as corrections
set absorbed_from = changed.from_date
from crm_customer_days_changed as changed
where changed.customer_id = corrections.customer_id and corrections.absorbed_from > changed.from_date;
{%- endcall %}

{%- call statement('customer_days_plan__correction_parts') %}
drop table if exists pg_temp.crm_customer_days_correction_parts;
create temporary table crm_customer_days_correction_parts as
with late_balances as (
    {{ customer_balance_values('crm_customer_days_corrected_balances') }}
),

late_txn_days as (
    -- The customer-days int_customer_txn_days recomputed for late transactions: whole days, the
    -- delta is taken below against what the day holds.
    select txn_days.*
    from {{ txn_days }} as txn_days
    inner join crm_customer_days_corrected as corrected on txn_days.customer_id = corrected.customer_id
    where {{ new_batches_filter(this, 'txn_days._logical_date') }}
      and txn_days.txn_date < {{ run.first_date }}
      and not exists (
          select 1 from {{ ref('stg_corebank__customers') }} as customers
          where customers.customer_id = txn_days.customer_id and customers.is_erased
      )
)

select
    coalesce(late_balances.customer_id, late_txn_days.customer_id) as customer_id,
    coalesce(late_balances.balance_date, late_txn_days.txn_date) as correction_date,
    late_balances.customer_id is not null as adds_balance,
    {%- for column in day_values %}
    coalesce(late_balances.{{ column }}, 0) as {{ column }},
    {%- endfor %}
    late_txn_days.customer_id is not null as has_txn_day,
    {%- for column in txn_values %}
    coalesce(late_txn_days.{{ column }}, 0) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from late_balances
full join late_txn_days
    on late_balances.customer_id = late_txn_days.customer_id
   and late_balances.balance_date = late_txn_days.txn_date;
analyze crm_customer_days_correction_parts;
{%- endcall %}

{#- The stored day values of the corrected days, one bitmap scan per day (rows_of_probe). -#}
{%- call statement('customer_days_plan__correction_stored') %}
{{ probe_indexes_only() }}
drop table if exists pg_temp.crm_customer_days_correction_stored;
create temporary table crm_customer_days_correction_stored as
select stored.customer_id, stored.balance_date, stored.has_balance
    {%- for column in txn_values %}, stored.{{ column }}{% endfor %}
from (
    {{ rows_of_probe(this, 'balance_date', 'customer_id',
        'select correction_date as day, array_agg(customer_id) as keys
         from crm_customer_days_correction_parts group by correction_date') }}
) as stored;
{{ probe_indexes_only(false) }}
analyze crm_customer_days_correction_stored;
{%- endcall %}

{%- set correction_columns = ['customer_id', 'correction_date', 'absorbed_from', 'adds_balance',
                              'balance_day_delta'] + day_values + txn_values + ['has_txn', '_logical_date'] %}
{%- call statement('customer_days_plan__corrections_add') %}
insert into {{ corrections }} ({{ correction_columns | join(', ') }})
with earlier as (
    -- A transaction delta is taken against the day as it stands: stored, plus what earlier runs
    -- corrected on it. A balance day counts once however many corrections give it a balance.
    select
        corrections.customer_id,
        corrections.correction_date,
        bool_or(corrections.adds_balance) as adds_balance,
        {%- for column in txn_values %}
        sum(corrections.{{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ corrections }} as corrections
    inner join crm_customer_days_correction_parts as parts
        on corrections.customer_id = parts.customer_id
       and corrections.correction_date = parts.correction_date
    group by corrections.customer_id, corrections.correction_date
),

deltas as (
    select
        parts.customer_id,
        parts.correction_date,
        {{ run.first_date }} as absorbed_from,
        parts.adds_balance,
        case when parts.adds_balance and not (stored.has_balance or coalesce(earlier.adds_balance, false))
             then 1 else 0 end as balance_day_delta,
        {%- for column in day_values %}
        parts.{{ column }},
        {%- endfor %}
        {%- for column in txn_values %}
        case when parts.has_txn_day
             then parts.{{ column }} - stored.{{ column }} - coalesce(earlier.{{ column }}, 0) else 0 end
            as {{ column }},
        {%- endfor %}
        parts.has_txn_day and parts.txn_count > 0 as has_txn,
        {{ run.batch_date }} as _logical_date
    from crm_customer_days_correction_parts as parts
    inner join crm_customer_days_correction_stored as stored
        on parts.customer_id = stored.customer_id and parts.correction_date = stored.balance_date
    left join earlier
        on parts.customer_id = earlier.customer_id and parts.correction_date = earlier.correction_date
)

select {{ correction_columns | join(', ') }} from deltas
-- A re-run of a date finds its transaction corrections made (deltas of zero, left out); a late
-- account record is late on one run only (customer_days_plan: a record newer than the stored rows).
where adds_balance or balance_day_delta <> 0
   {%- for column in txn_values %} or {{ column }} <> 0{% endfor %};
{%- endcall %}

{%- call statement('customer_days_plan__absorbed') %}
drop table if exists pg_temp.crm_customer_days_absorbed;
create temporary table crm_customer_days_absorbed as
select
    customer_id,
    {{ summed_corrections() }},
    max(correction_date) filter (where has_txn) as last_txn_date
from (
    select corrections.*
    from {{ corrections }} as corrections
    where corrections.absorbed_from = {{ run.first_date }}
      and not exists (select 1 from crm_customer_days_changed as changed
                      where changed.customer_id = corrections.customer_id)
    union all
    select corrections.*
    from {{ corrections }} as corrections
    inner join crm_customer_days_changed as changed
        on changed.customer_id = corrections.customer_id and corrections.absorbed_from = changed.from_date
) as lacking
group by customer_id;
analyze crm_customer_days_absorbed;
{%- endcall %}
{%- endmacro %}


{#- The running totals a recompute carries on from: the stored row of the day before (`stored`)
    plus what crm_customer_days_absorbed says it lacks (`absorbed`, left-joined). -#}
{% macro carried_running_totals(stored, absorbed) -%}
{{ stored }}.customer_id,
    {{ stored }}.balance_date,
    {%- for cum in customer_day_running_totals() %}
    {{ stored }}.{{ cum }} + coalesce({{ absorbed }}.{{ cum }}, 0) as {{ cum }},
    {%- endfor %}
    -- greatest() skips nulls: a customer with no transaction yet keeps null.
    greatest({{ stored }}.last_txn_date, {{ absorbed }}.last_txn_date) as last_txn_date
{%- endmacro %}


{#- Post-hook of int_customer_days, after erase_customer_days (whose crm_erased_customer_days it
    reads): a newly erased customer's corrections go with their days. -#}
{% macro erase_customer_day_corrections() -%}
{% if is_incremental() %}
delete from {{ customer_day_corrections_relation(this) }}
where customer_id in (select customer_id from crm_erased_customer_days)
{% endif %}
{%- endmacro %}
