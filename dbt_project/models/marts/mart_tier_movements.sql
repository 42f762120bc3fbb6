-- What changed on the build date in the tier history: upgrades, downgrades, entries (graded now,
-- not on the previous build date) and exits (graded then, not now), from the versions that start
-- and end on the date: a few thousand rows of the history, not two days of every customer. Nothing is
-- recorded for the first build date, which has nothing to compare with. Incremental, delete+insert
-- on the build date: a re-run of a date replaces its rows (one that finds no movement at all
-- leaves the earlier run's; rewind_tier_history removes them).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['as_of_date', 'customer_id'], 'unique': true},
        ],
    )
}}

with history as (
    select * from {{ ref('mart_customer_tier_history') }}
),

build_state as (
    select * from {{ ref('build_state') }}
),

started as (
    select * from history
    where valid_from = {{ as_of_date() }}
),

ended as (
    select * from history
    where valid_to = {{ as_of_date() }}
),

graded_before as (
    select exists(
        select 1 as earlier from history
        where valid_from < {{ as_of_date() }}
    ) as any_version
),

compared as (
    select
        coalesce(started.customer_id, ended.customer_id) as customer_id,
        ended.tier_code as from_tier_code,
        started.tier_code as to_tier_code,
        ended.tier_rank as from_tier_rank,
        started.tier_rank as to_tier_rank,
        case
            when ended.customer_id is null then 'entry'
            when started.customer_id is null then 'exit'
            -- Rank 1 is the top tier: a smaller rank is a move up.
            when started.tier_rank < ended.tier_rank then 'upgrade'
            when started.tier_rank > ended.tier_rank then 'downgrade'
        end as movement_type
    from started
    full outer join ended on started.customer_id = ended.customer_id
    where (select graded_before.any_version from graded_before)
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        -- The build date before this one (ops.build_state); the day before when none is recorded.
        coalesce(
            (select max(as_of_date) from build_state where as_of_date < {{ as_of_date() }}),
            {{ as_of_date() }} - 1
        ) as previous_as_of_date,
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
