-- The build date's balances valued per customer (customer_balance_values): what int_customer_days
-- adds to the running totals on a daily run. Built beside int_customer_txn_days, on the other
-- thread: the valuation is 2.3M account-days joined to their accounts, products and economics and
-- summed at 1M customers (about 6 s), which int_customer_days otherwise does itself, after the
-- transaction days (docs/BENCHMARKS.md, session 20). int_customer_days waits for it, so a failure
-- here skips the customer-days and what follows, as a failure of the transaction days does.
-- int_customer_days reads it only in the same dbt invocation (the table comment says which), so
-- a build that leaves this model out, or a re-run of a single model, values the day itself.
-- One process: alone in its query the planner chose two workers and a gathered sort, 10.5 s at
-- 1M customers against 6 s in one process (the other core runs dbt's other thread).
{{
    config(
        pre_hook="set local max_parallel_workers_per_gather = 0",
        post_hook="comment on table {{ this }} is '{{ customer_balance_day_stamp() }}'",
    )
}}

with day_balances as (
    select * from {{ ref('fct_daily_balances') }}
    where balance_date = {{ as_of_date() }}
),

valued as (
    {{ customer_balance_values('day_balances') }}
)

select * from valued
