-- Current version of each account (incremental: macros/current_versions.sql).
-- Scheduling, not lineage: ready only once fct_transactions is built. A full build copies
-- millions of versions here (10.8 s for the accounts at 1M) and fct_daily_balances, the full
-- build's longest chain, waits for the seeds queued behind this: then it runs on the thread
-- fct_transactions frees instead.
-- depends_on: {{ ref('fct_transactions') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key='account_id',
        pre_hook="{{ delete_superseded_versions(source('corebank', 'accounts'), 'account_id') }}",
        on_schema_change='fail',
        indexes=[{'columns': ['account_id'], 'unique': true}, {'columns': ['_logical_date']}],
    )
}}

with source as (
    {{ current_versions(source('corebank', 'accounts'), 'account_id') }}
),

final as (
    select
        account_id,
        customer_id,
        product_code,
        opened_on,
        closed_on,
        status as account_status,
        updated_at,
        _logical_date,
        _loaded_at
    from source
)

select * from final
