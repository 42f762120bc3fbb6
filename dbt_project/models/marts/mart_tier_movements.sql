-- What changed since the previous build date in the tier history: upgrades, downgrades,
-- entries (graded now, not then) and exits (graded then, not now). Nothing is recorded for the
-- first build date, which has nothing to compare with. A re-run of a date replaces its rows.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_build_date_rows() }}",
        indexes=[
            {'columns': ['as_of_date', 'customer_id'], 'unique': true},
        ],
    )
}}

with history as (
    select * from {{ ref('mart_customer_tier_history') }}
),

previous_date as (
    select max(as_of_date) as as_of_date
    from history
    where as_of_date < {{ as_of_date() }}
),

current_tiers as (
    select * from history where as_of_date = {{ as_of_date() }}
),

previous_tiers as (
    select * from history where as_of_date = (select as_of_date from previous_date)
),

compared as (
    select
        coalesce(current_tiers.customer_id, previous_tiers.customer_id) as customer_id,
        previous_tiers.tier_code as from_tier_code,
        current_tiers.tier_code as to_tier_code,
        previous_tiers.tier_rank as from_tier_rank,
        current_tiers.tier_rank as to_tier_rank,
        case
            when previous_tiers.customer_id is null then 'entry'
            when current_tiers.customer_id is null then 'exit'
            -- Rank 1 is the top tier: a smaller rank is a move up.
            when current_tiers.tier_rank < previous_tiers.tier_rank then 'upgrade'
            when current_tiers.tier_rank > previous_tiers.tier_rank then 'downgrade'
        end as movement_type
    from current_tiers
    full outer join previous_tiers on current_tiers.customer_id = previous_tiers.customer_id
    where (select as_of_date from previous_date) is not null
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        (select as_of_date from previous_date) as previous_as_of_date,
        customer_id,
        movement_type,
        from_tier_code,
        to_tier_code,
        from_tier_rank,
        to_tier_rank
    from compared
    where movement_type is not null
)

select * from final
