-- Current version of each card (incremental: macros/current_versions.sql). Not a view: a view
-- re-ranks every raw version on each read (its key test alone: 2.3 s of a 1M next day).
-- Scheduling, not lineage: ready only once fct_transactions is built. A full build copies
-- millions of versions here (10.8 s for the accounts at 1M) and fct_daily_balances, the full
-- build's longest chain, waits for the seeds queued behind this: then it runs on the thread
-- fct_transactions frees instead.
-- depends_on: {{ ref('fct_transactions') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key='card_id',
        pre_hook="{{ delete_superseded_versions(source('corebank', 'cards'), 'card_id') }}",
        on_schema_change='fail',
        indexes=[{'columns': ['card_id'], 'unique': true}, {'columns': ['_logical_date']}],
    )
}}

with source as (
    {{ current_versions(source('corebank', 'cards'), 'card_id') }}
),

final as (
    select
        card_id,
        account_id,
        customer_id,
        card_type,
        credit_limit_cny,
        issued_on,
        status as card_status,
        updated_at,
        _logical_date,
        _loaded_at
    from source
)

select * from final
