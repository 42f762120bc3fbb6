-- Transactions per customer and day: counts, amounts, fees and cost to serve. Incremental: only
-- the customer-days touched by fct_transactions batches not consumed yet (or the build date's
-- own batch) are recomputed, so a late transaction updates its own day and nothing else. A
-- correction that moves a transaction to another customer or day is rare enough to leave to a
-- --full-refresh; the old customer-day keeps its count until then.
-- Indexes date first, like the other per-day tables: a new day appends at the index's right
-- edge, and a touched customer-day is one probe by (txn_date, customer_id).
-- Logged, unlike the other intermediate tables: it is history, and a crash must not empty it.
{{
    config(
        materialized='incremental',
        unlogged=false,
        incremental_strategy='append',
        unique_key=['txn_date', 'customer_id'],
        on_schema_change='fail',
        indexes=[
            {'columns': ['txn_date', 'customer_id'], 'unique': true},
            {'columns': ['_logical_date']},
        ],
        pre_hook=[
            "{{ remember_previous_batch('crm_txn_days_previous_batch') }}",
            "{{ remember_last_stored_date('txn_date', 'crm_txn_days_stored_until') }}",
            "{{ delete_rows_to_replace(['txn_date', 'customer_id'],
                'select distinct customer_id, txn_date from ' ~ ref('fct_transactions')
                ~ ' where ' ~ new_batches_filter(this)
                ~ ' and txn_date <= (select last_stored_date from crm_txn_days_stored_until)') }}",
        ],
        post_hook=[
            "{{ erase_customer_days('txn_date',
                'select previous_batch_date from crm_txn_days_previous_batch') }}",
            "{{ analyze_new_day(['txn_date', '_logical_date']) }}",
        ],
    )
}}

with new_transactions as (
    select customer_id, txn_date, _logical_date
    from {{ ref('fct_transactions') }}
    where {{ new_batches_filter(this) }}
),

erased_customers as (
    select customer_id from {{ ref('stg_corebank__customers') }} where is_erased
),

{% if is_incremental() %}
stored_until as (
    -- As it was before the pre-hook deleted the days it replaces (a re-run of a date deletes
    -- them all).
    select last_stored_date from crm_txn_days_stored_until
),

late_customer_days as (
    -- Days already stored: only the customer-days a late transaction touched.
    select distinct customer_id, txn_date
    from new_transactions
    where txn_date <= (select last_stored_date from stored_until)
),

transactions as (
    -- Days not stored yet: whole days, a range of the date index ...
    select *
    from {{ ref('fct_transactions') }}
    where txn_date > (select last_stored_date from stored_until)
      and txn_date >= (select min(txn_date) from new_transactions)
    union all
    -- ... and for earlier days, one probe per touched customer-day.
    select fct_transactions.*
    from late_customer_days
    inner join {{ ref('fct_transactions') }} as fct_transactions
        on fct_transactions.txn_date = late_customer_days.txn_date
       and fct_transactions.customer_id = late_customer_days.customer_id
),
{% else %}
transactions as (
    select * from {{ ref('fct_transactions') }}
),
{% endif %}

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
    -- An erased customer has no day here (erase_customer_days removes the stored ones).
    where not exists (
        select 1 from erased_customers where erased_customers.customer_id = transactions.customer_id
    )
    group by transactions.customer_id, transactions.txn_date
)

select * from final
{% if is_incremental() %}
-- A day's rows in index order: the append walks the index's right edge once.
order by txn_date, customer_id
{% endif %}
