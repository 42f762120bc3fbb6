-- One row per customer and day from the customer's first balance on: the day's balances and
-- economics, and running totals since that first day. Window figures downstream are then the
-- difference of two running totals (a lookup of two days per customer), so the daily build
-- reads one new day, not the whole window.
--
-- Incremental: the recompute starts at the earliest balance date touched by a fct_daily_balances
-- batch not consumed yet (or by the build date's own batch, so a re-run of a date redoes it) and
-- runs to the last balance date, carried on from the stored running totals of the day before.
-- Rows stay dense: a customer whose accounts have all closed keeps a row a day with zeros, so a
-- running total can be read on any date. Rates and costs of a day are those of the seeds when the
-- day was built: after changing product_economics, rebuild with --full-refresh.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['customer_id', 'balance_date'],
        pre_hook="{{ customer_days_plan() }}",
        on_schema_change='fail',
        indexes=[
            {'columns': ['customer_id', 'balance_date'], 'unique': true},
            {'columns': ['balance_date']},
            {'columns': ['_logical_date']},
        ],
        post_hook="{{ delete_erased_customers() }}",
    )
}}

with recompute_from as (
    {% if is_incremental() %}
    select first_date, batch_date from crm_customer_days_plan  -- written by the pre-hook
    {% else %}
    select min(balance_date) as first_date, max(_logical_date) as batch_date
    from {{ ref('fct_daily_balances') }}
    {% endif %}
),

{% if is_incremental() %}
changed_customers as (
    select customer_id from crm_customer_days_changed  -- written by the pre-hook
),
{% endif %}

balances as (
    -- Every stored day from the first new one on (by the balance_date index): a later day's
    -- running totals build on this one's ...
    select * from {{ ref('fct_daily_balances') }}
    where balance_date >= (select first_date from recompute_from)
    {% if is_incremental() %}
    union all
    -- ... and the earlier days of changed customers (by the (account_id, balance_date) index).
    select fct.*
    from {{ ref('fct_daily_balances') }} as fct
    inner join {{ ref('stg_corebank__accounts') }} as accounts on fct.account_id = accounts.account_id
    inner join changed_customers on accounts.customer_id = changed_customers.customer_id
    where fct.balance_date < (select first_date from recompute_from)
    {% endif %}
),

accounts as (
    select * from {{ ref('stg_corebank__accounts') }}
),

products as (
    select * from {{ ref('stg_corebank__products') }}
),

economics as (
    select * from {{ ref('product_economics') }}
),

customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

account_days as (
    select
        accounts.customer_id,
        balances.balance_date,
        economics.balance_side,
        balances.balance_cny,
        -- Margin against the funds-transfer-pricing rate, as a yearly figure for the day's
        -- balance: deposits earn FTP minus what the bank pays, loans what the customer pays
        -- minus FTP, wealth a fee. Annual figures are summed and divided once by the days
        -- observed downstream: summing daily fractions first would truncate half cents.
        case economics.balance_side
            when 'deposit' then balances.balance_cny * (economics.ftp_rate - products.customer_rate)
            when 'loan' then balances.balance_cny * (products.customer_rate - economics.ftp_rate)
            when 'wealth' then balances.balance_cny * economics.wealth_fee_rate
        end as annual_margin_cny,
        economics.annual_account_cost_cny
    from balances
    inner join accounts on balances.account_id = accounts.account_id
    inner join products on accounts.product_code = products.product_code
    inner join economics on products.product_type = economics.product_type
    inner join customers on accounts.customer_id = customers.customer_id
    where not customers.is_erased
),

day_values as (
    select
        customer_id,
        balance_date,
        sum(case when balance_side in ('deposit', 'wealth') then balance_cny else 0 end) as aum_day_cny,
        sum(case when balance_side = 'deposit' then balance_cny else 0 end) as deposit_day_cny,
        sum(case when balance_side = 'wealth' then balance_cny else 0 end) as wealth_day_cny,
        sum(case when balance_side = 'loan' then balance_cny else 0 end) as loan_day_cny,
        sum(case when balance_side in ('deposit', 'loan') then annual_margin_cny else 0 end)
            as annual_interest_margin_cny,
        sum(case when balance_side = 'wealth' then annual_margin_cny else 0 end) as annual_wealth_fee_cny,
        sum(annual_account_cost_cny) as annual_account_cost_cny
    from account_days
    group by customer_id, balance_date
),

carried as (
    -- Running totals on the day before the recompute range.
    select customer_id, cum_balance_days, cum_aum_cny, cum_interest_margin_cny, cum_wealth_fee_cny,
           cum_account_cost_cny
    {% if is_incremental() %}
    from {{ this }}
    -- (the pre-hook deleted every row of a changed customer: they start again from zero)
    where balance_date = (select first_date from recompute_from) - 1
    {% else %}
    from (select null::text as customer_id, 0 as cum_balance_days, 0::numeric as cum_aum_cny,
                 0::numeric as cum_interest_margin_cny, 0::numeric as cum_wealth_fee_cny,
                 0::numeric as cum_account_cost_cny) as none
    where false
    {% endif %}
),

customer_start as (
    select customer_id, min(balance_date) as first_date
    from day_values
    group by customer_id
    union all
    select customer_id, (select first_date from recompute_from) from carried
),

calendar as (
    select day::date as balance_date
    from generate_series(
        (select min(balance_date) from balances),
        (select max(balance_date) from balances),
        interval '1 day'
    ) as day
),

grid as (
    select customer_start.customer_id, calendar.balance_date
    from (select customer_id, min(first_date) as first_date from customer_start group by customer_id) as customer_start
    inner join calendar on calendar.balance_date >= customer_start.first_date
),

filled as (
    select
        grid.customer_id,
        grid.balance_date,
        day_values.customer_id is not null as has_balance,
        coalesce(day_values.aum_day_cny, 0) as aum_day_cny,
        coalesce(day_values.deposit_day_cny, 0) as deposit_day_cny,
        coalesce(day_values.wealth_day_cny, 0) as wealth_day_cny,
        coalesce(day_values.loan_day_cny, 0) as loan_day_cny,
        coalesce(day_values.annual_interest_margin_cny, 0) as annual_interest_margin_cny,
        coalesce(day_values.annual_wealth_fee_cny, 0) as annual_wealth_fee_cny,
        coalesce(day_values.annual_account_cost_cny, 0) as annual_account_cost_cny
    from grid
    left join day_values
        on grid.customer_id = day_values.customer_id and grid.balance_date = day_values.balance_date
),

final as (
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
        (select batch_date from recompute_from) as _logical_date
    from filled
    left join carried on filled.customer_id = carried.customer_id
    window running as (partition by filled.customer_id order by filled.balance_date rows unbounded preceding)
)

select * from final
-- Stored date by date: the window bounds read whole dates, each from a run of adjacent pages.
order by balance_date, customer_id
