-- Each customer's balances per day, valued (int_account_day_values): what the trailing-window
-- figures of int_customer_windows sum (docs/decisions/0001-trailing-window-figures.md).
-- Incremental, delete+insert on (balance_date, customer_id): a run writes every day not stored
-- yet (the build date's again, on a re-run of it) whole, and recomputes each stored customer-day
-- whose inputs changed since the previous run: a late balance, an account record that arrives
-- after its balances or moves an account to another owner or product, a product whose terms
-- changed. A recomputed day left without a balance stays as a row of zeros (has_balance false),
-- which adds nothing to a window. Rates and costs of a day are those of the seeds when the day
-- was built: after changing product_economics, rebuild with --full-refresh.
{{
    config(
        materialized='incremental',
        unlogged=false,
        incremental_strategy='delete+insert',
        unique_key=['balance_date', 'customer_id'],
        on_schema_change='fail',
        indexes=[
            {'columns': ['balance_date', 'customer_id'], 'unique': true},
            {'columns': ['_logical_date']},
        ],
        post_hook=[
            "{{ erase_customer_days() }}",
            "{{ analyze_new_day(['balance_date', '_logical_date']) }}",
        ],
    )
}}

with account_days as not materialized (
    select * from {{ ref('int_account_day_values') }}
),

customers as not materialized (
    select * from {{ ref('stg_corebank__customers') }}
),

accounts as not materialized (
    select * from {{ ref('stg_corebank__accounts') }}
),

account_changes as not materialized (
    select * from {{ ref('int_account_changes') }}
),

{% if is_incremental() %}
run as (
    -- Whole days from the day after the last stored one (the build date on a re-run of it).
    select
        coalesce(least(max(balance_date) + 1, {{ as_of_date() }}), {{ as_of_date() }}) as whole_days_from,
        min(balance_date) as first_stored_day
    from {{ this }}
),

recomputed_days as (
    -- Stored customer-days to compute again: those of a late balance, and every day of the
    -- customers an account or product change touches (int_account_changes).
    select customer_id, balance_date
    from account_days
    where {{ new_batches_filter(this) }} and balance_date < (select whole_days_from from run)
    union
    select changes.customer_id, day::date
    from account_changes as changes
    cross join run
    cross join lateral generate_series(
        greatest(changes.from_date, run.first_stored_day), run.whole_days_from - 1, interval '1 day'
    ) as day
    where {{ new_batches_filter(this, 'changes._logical_date') }}
),
{% endif %}

balance_rows as (
    select account_days.* from account_days
    {% if is_incremental() %}
    where account_days.balance_date >= (select whole_days_from from run)
    union all
    -- Lateral, fenced by offset 0: one probe of fct_daily_balances' (balance_date, account_id)
    -- index per recomputed day and account, whatever the planner guesses of the day series above
    -- (guessing a thousand days a customer, it scanned and sorted the whole history).
    select account_day.*
    from recomputed_days
    inner join accounts on recomputed_days.customer_id = accounts.customer_id
    cross join lateral (
        select * from account_days
        where account_days.balance_date = recomputed_days.balance_date
          and account_days.account_id = accounts.account_id
        offset 0
    ) as account_day
    {% endif %}
),

balance_values as (
    -- FILTER, not sum(case ... else 0): each account-day feeds only the sums of its side.
    select
        customer_id,
        balance_date,
        true as has_balance,
        coalesce(sum(balance_cny) filter (where balance_side = 'deposit'), 0) as deposit_day_cny,
        coalesce(sum(balance_cny) filter (where balance_side = 'wealth'), 0) as wealth_day_cny,
        coalesce(sum(balance_cny) filter (where balance_side = 'loan'), 0) as loan_day_cny,
        coalesce(sum(annual_margin_cny) filter (where balance_side in ('deposit', 'loan')), 0)
            as annual_interest_margin_cny,
        coalesce(sum(annual_margin_cny) filter (where balance_side = 'wealth'), 0) as annual_wealth_fee_cny,
        sum(annual_account_cost_cny) as annual_account_cost_cny
    from balance_rows
    group by customer_id, balance_date
),

all_rows as (
    select * from balance_values
    {% if is_incremental() %}
    union all
    -- A stored day left without a balance: zeros replace what was stored.
    select stored.customer_id, stored.balance_date, false, 0, 0, 0, 0, 0, 0
    from recomputed_days
    cross join lateral (
        select * from {{ this }} as stored
        where stored.balance_date = recomputed_days.balance_date
          and stored.customer_id = recomputed_days.customer_id
        offset 0
    ) as stored
    where not exists (
        select 1 from balance_values
        where balance_values.customer_id = recomputed_days.customer_id
          and balance_values.balance_date = recomputed_days.balance_date
    )
    {% endif %}
),

final as (
    select
        customer_id,
        balance_date,
        has_balance,
        deposit_day_cny + wealth_day_cny as aum_day_cny,
        deposit_day_cny,
        wealth_day_cny,
        loan_day_cny,
        annual_interest_margin_cny,
        annual_wealth_fee_cny,
        annual_account_cost_cny,
        {{ as_of_date() }} as _logical_date
    from all_rows
    where not exists (
        select 1 from customers where customers.customer_id = all_rows.customer_id and customers.is_erased
    )
)

select * from final
