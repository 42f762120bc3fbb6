-- One row per customer and day from the customer's first balance or transaction on: the day's
-- balances, economics and transactions, and running totals since that first day. Window figures
-- downstream are then the difference of two running totals (a lookup of two days per customer),
-- so the daily build reads one new day, not the whole window.
--
-- Incremental (plan in macros/customer_days_plan.sql): every customer is recomputed from the
-- first new day, carried on from the stored running totals of the day before. A late transaction
-- or late account record adds a correction row for its day instead of rewriting the customer's
-- later days (macros/customer_day_corrections.sql: readers of an earlier date add the corrections
-- it lacks; the day carried on from includes them); a customer with a late balance, or whose
-- accounts moved, is rewritten from that earlier day. Rows stay dense: a
-- customer whose accounts have all closed keeps a row a day with zeros, so a running total can be
-- read on any date. Rates and costs of a day are those of the seeds when the day was built: after
-- changing product_economics or channel_costs, rebuild with --full-refresh.
-- Indexes date first, like fct_daily_balances: a day's million rows append at the index's right
-- edge; every read is by date (window bounds) or by date and customer (probes).
-- Logged, unlike the other intermediate tables: it is history, and a crash must not empty it.
-- depends_on: {{ ref('int_customer_balance_day') }}
{{
    config(
        materialized='incremental',
        unlogged=false,
        incremental_strategy='append',
        unique_key=['balance_date', 'customer_id'],
        pre_hook=[
            "{{ ensure_customer_day_corrections() }}",
            "{{ customer_days_plan(ref('fct_daily_balances'), ref('int_customer_txn_days'),
                                   ref('stg_corebank__accounts')) }}",
        ],
        on_schema_change='fail',
        indexes=[
            {'columns': ['balance_date', 'customer_id'], 'unique': true},
            {'columns': ['_logical_date']},
        ],
        post_hook=[
            "{{ erase_customer_days('balance_date',
                'select previous_batch_date from crm_customer_days_plan') }}",
            "{{ erase_customer_day_corrections() }}",
            "{{ analyze_new_day(['balance_date', '_logical_date']) }}",
        ],
    )
}}

{%- set run = customer_days_run_dates(ref('fct_daily_balances'), ref('int_customer_txn_days')) %}
{#- The daily case: the run adds one day (no re-run, no gap). Every customer not recomputed from
    an earlier day then gets that day's row straight from the day before's running totals, without
    the grid and window of the general case (two more sorts of a million rows). -#}
{%- set one_day = is_incremental() and run.first_date != 'null::date' and run.first_date == run.last_date %}
{#- On the daily run the day's balances come valued per customer from int_customer_balance_day,
    built beside the transaction days, if this invocation built it for this date. -#}
{%- set day_valued = one_day and run.first_date == "'" ~ as_of_date_text() ~ "'::date"
                     and customer_balance_day_is_current() %}
{%- if day_valued %}{{ log('int_customer_days: the day valued beside it (int_customer_balance_day)', info=True) }}{% endif %}
{%- set first_date = run.first_date if is_incremental() else '(select first_date from recompute_from)' %}

with recompute_from as (
    {% if is_incremental() %}
    select {{ run.first_date }} as first_date, {{ run.batch_date }} as batch_date
    {% else %}
    select
        least((select min(balance_date) from {{ ref('fct_daily_balances') }}),
              (select min(txn_date) from {{ ref('int_customer_txn_days') }})) as first_date,
        greatest((select max(_logical_date) from {{ ref('fct_daily_balances') }}),
                 (select max(_logical_date) from {{ ref('int_customer_txn_days') }})) as batch_date
    {% endif %}
),

balances as (
    -- Every stored day from the first new one on (by the balance_date index) ...
    select * from {{ ref('fct_daily_balances') }}
    where balance_date >= {{ first_date }}
    {% if is_incremental() %}
    union all
    -- ... and the earlier days of customers recomputed from further back (fetched by the pre-hook).
    select * from crm_customer_days_changed_balances
    {% endif %}
),

txn_days as (
    select * from {{ ref('int_customer_txn_days') }}
    where txn_date >= {{ first_date }}
    {% if is_incremental() %}
    union all
    select * from crm_customer_days_changed_txn_days
    {% endif %}
),

erased_customers as (
    select customer_id from {{ ref('stg_corebank__customers') }} where is_erased
),

recomputed_customers as (
    -- Who may have rows before first_date in this run, and from which day: the customers
    -- rewritten from a late day (corrected customers carry on from the day before).
    {% if is_incremental() %}
    select customer_id, from_date from crm_customer_days_changed
    {% else %}
    select null::text as customer_id, null::date as from_date where false
    {% endif %}
),

balance_values as (
    -- Earlier days fetched by the pre-hook are already only those of recomputed owners: the
    -- day's 2.3M balances (at 1M customers) are not matched against them here.
    {% if day_valued %}
    -- The day (first_date, the last day) valued beside the transaction days; the earlier days
    -- fetched by the pre-hook valued here. Their dates differ, so each customer-day is one row
    -- either way.
    select * from {{ ref('int_customer_balance_day') }}
    union all
    {{ customer_balance_values('crm_customer_days_changed_balances') }}
    {% else %}
    {{ customer_balance_values('balances') }}
    {% endif %}
),

txn_values as (
    select txn_days.*
    from txn_days
    where not exists (
        select 1 from erased_customers where erased_customers.customer_id = txn_days.customer_id
    )
),

{% if is_incremental() %}
carried_day_before as (
    -- Running totals on the day before first_date, with the corrections they lack. The
    -- pre-hook deleted every row from a recomputed customer's from_date on, so only the other
    -- customers have one.
    select {{ carried_running_totals('stored', 'absorbed') }}
    from {{ this }} as stored
    left join crm_customer_days_absorbed as absorbed on stored.customer_id = absorbed.customer_id
    where stored.balance_date = {{ run.first_date }} - 1
),

carried_recomputed as (
    select {{ carried_running_totals('stored', 'absorbed') }}
    from recomputed_customers
    inner join {{ this }} as stored
        on stored.customer_id = recomputed_customers.customer_id
       and stored.balance_date = recomputed_customers.from_date - 1
    left join crm_customer_days_absorbed as absorbed on stored.customer_id = absorbed.customer_id
),
{% endif %}

{% if one_day %}
one_day_rows as (
    -- The daily case for every customer not recomputed: the day's values added to the running
    -- totals of the day before (none: a first day).
    select
        coalesce(day_balances.customer_id, day_txns.customer_id, carried.customer_id) as customer_id,
        {{ run.first_date }} as balance_date,
        day_balances.customer_id is not null as has_balance,
        coalesce(day_balances.aum_day_cny, 0) as aum_day_cny,
        coalesce(day_balances.deposit_day_cny, 0) as deposit_day_cny,
        coalesce(day_balances.wealth_day_cny, 0) as wealth_day_cny,
        coalesce(day_balances.loan_day_cny, 0) as loan_day_cny,
        coalesce(day_balances.annual_interest_margin_cny, 0) as annual_interest_margin_cny,
        coalesce(day_balances.annual_wealth_fee_cny, 0) as annual_wealth_fee_cny,
        coalesce(day_balances.annual_account_cost_cny, 0) as annual_account_cost_cny,
        coalesce(day_txns.txn_count, 0) as txn_count,
        coalesce(day_txns.digital_txn_count, 0) as digital_txn_count,
        coalesce(day_txns.monetary_cny, 0) as monetary_cny,
        coalesce(day_txns.channel_cost_cny, 0) as channel_cost_cny,
        coalesce(day_txns.fee_income_cny, 0) as fee_income_cny,
        coalesce(carried.cum_balance_days, 0)
            + case when day_balances.customer_id is not null then 1 else 0 end as cum_balance_days,
        coalesce(carried.cum_aum_cny, 0) + coalesce(day_balances.aum_day_cny, 0) as cum_aum_cny,
        coalesce(carried.cum_interest_margin_cny, 0) + coalesce(day_balances.annual_interest_margin_cny, 0)
            as cum_interest_margin_cny,
        coalesce(carried.cum_wealth_fee_cny, 0) + coalesce(day_balances.annual_wealth_fee_cny, 0)
            as cum_wealth_fee_cny,
        coalesce(carried.cum_account_cost_cny, 0) + coalesce(day_balances.annual_account_cost_cny, 0)
            as cum_account_cost_cny,
        coalesce(carried.cum_txn_count, 0) + coalesce(day_txns.txn_count, 0) as cum_txn_count,
        coalesce(carried.cum_digital_txn_count, 0) + coalesce(day_txns.digital_txn_count, 0)
            as cum_digital_txn_count,
        coalesce(carried.cum_monetary_cny, 0) + coalesce(day_txns.monetary_cny, 0) as cum_monetary_cny,
        coalesce(carried.cum_channel_cost_cny, 0) + coalesce(day_txns.channel_cost_cny, 0)
            as cum_channel_cost_cny,
        coalesce(carried.cum_fee_income_cny, 0) + coalesce(day_txns.fee_income_cny, 0) as cum_fee_income_cny,
        case when day_txns.txn_count > 0 then {{ run.first_date }} else carried.last_txn_date end
            as last_txn_date,
        {{ run.batch_date }} as _logical_date
    from (
        select balance_values.* from balance_values
        where balance_values.balance_date = {{ run.first_date }}
          and not exists (select 1 from recomputed_customers
                          where recomputed_customers.customer_id = balance_values.customer_id)
    ) as day_balances
    full join (
        select txn_values.* from txn_values
        where txn_values.txn_date = {{ run.first_date }}
          and not exists (select 1 from recomputed_customers
                          where recomputed_customers.customer_id = txn_values.customer_id)
    ) as day_txns on day_balances.customer_id = day_txns.customer_id
    full join carried_day_before as carried
        on coalesce(day_balances.customer_id, day_txns.customer_id) = carried.customer_id
),
{% endif %}

{#- The general case: a day at a time per customer, from the customer's first day in this run.
    On a one-day run only the recomputed customers take this path. -#}
{%- set general_filter = 'where customer_id in (select customer_id from recomputed_customers)' if one_day else '' %}
carried as (
    -- Running totals on the day before each customer's recompute starts (none: start from zero).
    {% if is_incremental() %}
    {% if not one_day %}
    select * from carried_day_before
    union all
    {% endif %}
    select * from carried_recomputed
    {% else %}
    select * from (
        select null::text as customer_id, null::date as balance_date, 0 as cum_balance_days,
               0::numeric as cum_aum_cny, 0::numeric as cum_interest_margin_cny,
               0::numeric as cum_wealth_fee_cny, 0::numeric as cum_account_cost_cny,
               0::bigint as cum_txn_count, 0::bigint as cum_digital_txn_count,
               0::numeric as cum_monetary_cny, 0::numeric as cum_channel_cost_cny,
               0::numeric as cum_fee_income_cny, null::date as last_txn_date
    ) as none
    where false
    {% endif %}
),

general_balance_values as (
    {% if is_incremental() %}
    -- A customer recomputed without refetching their balances keeps the stored day values
    -- (the pre-hook's) and adds those of late-arriving accounts.
    select
        customer_id,
        balance_date,
        sum(aum_day_cny) as aum_day_cny,
        sum(deposit_day_cny) as deposit_day_cny,
        sum(wealth_day_cny) as wealth_day_cny,
        sum(loan_day_cny) as loan_day_cny,
        sum(annual_interest_margin_cny) as annual_interest_margin_cny,
        sum(annual_wealth_fee_cny) as annual_wealth_fee_cny,
        sum(annual_account_cost_cny) as annual_account_cost_cny
    from (
        select * from balance_values {{ general_filter }}
        union all
        select * from crm_customer_days_kept_balance_values
    ) as parts
    group by customer_id, balance_date
    {% else %}
    select * from balance_values
    {% endif %}
),

general_txn_values as (
    select * from txn_values {{ general_filter }}
),

customer_start as (
    select customer_id, min(first_date) as first_date
    from (
        select customer_id, min(balance_date) as first_date from general_balance_values group by customer_id
        union all
        select customer_id, min(txn_date) from general_txn_values group by customer_id
        union all
        select customer_id, balance_date + 1 from carried
    ) as starts
    group by customer_id
),

last_day as (
    -- Over every customer's values: a recomputed customer gets a row up to the run's last day
    -- even if their own last balance was earlier.
    select greatest(
        (select max(balance_date) from balance_values), (select max(txn_date) from txn_values)
    ) as balance_date
),

grid as (
    select customer_start.customer_id, day::date as balance_date
    from customer_start
    cross join lateral generate_series(
        customer_start.first_date, (select balance_date from last_day), interval '1 day'
    ) as day
),

filled as (
    select
        grid.customer_id,
        grid.balance_date,
        general_balance_values.customer_id is not null as has_balance,
        coalesce(general_balance_values.aum_day_cny, 0) as aum_day_cny,
        coalesce(general_balance_values.deposit_day_cny, 0) as deposit_day_cny,
        coalesce(general_balance_values.wealth_day_cny, 0) as wealth_day_cny,
        coalesce(general_balance_values.loan_day_cny, 0) as loan_day_cny,
        coalesce(general_balance_values.annual_interest_margin_cny, 0) as annual_interest_margin_cny,
        coalesce(general_balance_values.annual_wealth_fee_cny, 0) as annual_wealth_fee_cny,
        coalesce(general_balance_values.annual_account_cost_cny, 0) as annual_account_cost_cny,
        coalesce(general_txn_values.txn_count, 0) as txn_count,
        coalesce(general_txn_values.digital_txn_count, 0) as digital_txn_count,
        coalesce(general_txn_values.monetary_cny, 0) as monetary_cny,
        coalesce(general_txn_values.channel_cost_cny, 0) as channel_cost_cny,
        coalesce(general_txn_values.fee_income_cny, 0) as fee_income_cny
    from grid
    left join general_balance_values
        on grid.customer_id = general_balance_values.customer_id
       and grid.balance_date = general_balance_values.balance_date
    left join general_txn_values
        on grid.customer_id = general_txn_values.customer_id
       and grid.balance_date = general_txn_values.txn_date
),

general_rows as (
    select
        filled.*,
        coalesce(carried.cum_balance_days, 0)
            + sum(case when filled.has_balance then 1 else 0 end) over running as cum_balance_days,
        coalesce(carried.cum_aum_cny, 0) + sum(filled.aum_day_cny) over running as cum_aum_cny,
        coalesce(carried.cum_interest_margin_cny, 0)
            + sum(filled.annual_interest_margin_cny) over running as cum_interest_margin_cny,
        coalesce(carried.cum_wealth_fee_cny, 0)
            + sum(filled.annual_wealth_fee_cny) over running as cum_wealth_fee_cny,
        coalesce(carried.cum_account_cost_cny, 0)
            + sum(filled.annual_account_cost_cny) over running as cum_account_cost_cny,
        coalesce(carried.cum_txn_count, 0) + sum(filled.txn_count) over running as cum_txn_count,
        coalesce(carried.cum_digital_txn_count, 0)
            + sum(filled.digital_txn_count) over running as cum_digital_txn_count,
        coalesce(carried.cum_monetary_cny, 0) + sum(filled.monetary_cny) over running as cum_monetary_cny,
        coalesce(carried.cum_channel_cost_cny, 0)
            + sum(filled.channel_cost_cny) over running as cum_channel_cost_cny,
        coalesce(carried.cum_fee_income_cny, 0)
            + sum(filled.fee_income_cny) over running as cum_fee_income_cny,
        -- The latest day with a transaction, so far (recency).
        coalesce(
            max(case when filled.txn_count > 0 then filled.balance_date end) over running,
            carried.last_txn_date
        ) as last_txn_date,
        (select batch_date from recompute_from) as _logical_date
    from filled
    left join carried on filled.customer_id = carried.customer_id
    window running as (partition by filled.customer_id order by filled.balance_date rows unbounded preceding)
),

final as (
    {%- set columns %}
    customer_id, balance_date, has_balance, aum_day_cny, deposit_day_cny, wealth_day_cny, loan_day_cny,
    annual_interest_margin_cny, annual_wealth_fee_cny, annual_account_cost_cny,
    txn_count::bigint as txn_count, digital_txn_count::bigint as digital_txn_count, monetary_cny,
    channel_cost_cny, fee_income_cny,
    cum_balance_days::bigint as cum_balance_days, cum_aum_cny, cum_interest_margin_cny, cum_wealth_fee_cny,
    cum_account_cost_cny, cum_txn_count::bigint as cum_txn_count,
    cum_digital_txn_count::bigint as cum_digital_txn_count, cum_monetary_cny, cum_channel_cost_cny,
    cum_fee_income_cny, last_txn_date, _logical_date
    {%- endset %}
    select {{ columns }} from general_rows
    {% if one_day %}
    union all
    select {{ columns }} from one_day_rows
    {% endif %}
)

select * from final
-- Stored date by date: the window bounds read whole dates, each from a run of adjacent pages.
order by balance_date, customer_id
