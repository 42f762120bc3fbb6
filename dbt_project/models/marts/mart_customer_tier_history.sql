-- Date-effective tier history: one row per build date and customer. A re-run of a date replaces
-- that date's rows (pre-hook), so the history is idempotent per as_of_date.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_build_date_rows() }}",
        indexes=[
            {'columns': ['as_of_date', 'customer_id'], 'unique': true},
            {'columns': ['customer_id']},
        ],
    )
}}

with customer_tier as (
    select * from {{ ref('mart_customer_tier') }}
),

final as (
    select
        as_of_date,
        customer_id,
        tier_code,
        tier_rank,
        policy_version,
        reason_codes,
        relationship_manager_id,
        aum_cny,
        profit_contribution_cny
    from customer_tier
)

select * from final
-- In index order: the date's rows append at the right edge of (as_of_date, customer_id), and
-- the customer_id index takes its million new entries in one pass over its leaves, not at random.
order by customer_id
