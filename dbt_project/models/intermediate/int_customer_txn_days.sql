-- Transactions per customer and day: counts, amounts, fees and cost to serve. Incremental: only
-- the customer-days touched by fct_transactions batches not consumed yet (or the build date's
-- own batch) are recomputed, so a late transaction updates its own day and nothing else. A
-- correction that moves a transaction to another customer or day is rare enough to leave to a
-- --full-refresh; the old customer-day keeps its count until then.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['customer_id', 'txn_date'],
        on_schema_change='fail',
        indexes=[
            {'columns': ['customer_id', 'txn_date'], 'unique': true},
            {'columns': ['txn_date']},
            {'columns': ['_logical_date']},
        ],
        pre_hook="{{ delete_rows_to_replace(['customer_id', 'txn_date'],
            'select distinct customer_id, txn_date from ' ~ ref('fct_transactions')
            ~ ' where ' ~ new_batches_filter(this)
            ~ ' and txn_date <= (select max(txn_date) from ' ~ this ~ ')') }}",
        post_hook="{{ delete_erased_customers() }}",
    )
}}

with new_transactions as (
    select customer_id, txn_date, _logical_date
    from {{ ref('fct_transactions') }}
    where {{ new_batches_filter(this) }}
),

touched as (
    select distinct customer_id, txn_date from new_transactions
),

transactions as (
    select * from {{ ref('fct_transactions') }}
    where txn_date >= (select min(txn_date) from touched)
    {% if is_incremental() %}
      -- Probed through fct_transactions' (customer_id, txn_date) index.
      and (customer_id, txn_date) in (select customer_id, txn_date from touched)
    {% endif %}
),

channel_costs as (
    select * from {{ ref('channel_costs') }}
),

final as (
    select
        transactions.customer_id,
        transactions.txn_date,
        count(*) as txn_count,
        count(*) filter (where channel_costs.is_digital) as digital_txn_count,
        sum(abs(transactions.amount_cny)) as monetary_cny,
        sum(channel_costs.cost_per_txn_cny) as channel_cost_cny,
        -- fee_cny is the bank's fee income on every row, fee postings included.
        sum(transactions.fee_cny) as fee_income_cny,
        (select max(_logical_date) from new_transactions) as _logical_date
    from transactions
    inner join channel_costs on transactions.channel = channel_costs.channel
    group by transactions.customer_id, transactions.txn_date
)

select * from final
