-- Date-effective tier history (SCD type 2): one row per customer and version of their grade, in
-- force from valid_from up to the day before valid_to (null: the version in force now). A new
-- version starts when the tier, the policy version, the reason codes or the relationship manager
-- change; aum_cny and profit_contribution_cny are those of the version's first day, the figures it
-- was graded on. The daily build writes the day's changes only (a few thousand rows at 1M
-- customers), where a row per customer and day would write a million rows a day into a growing
-- table and its customer index.
-- The pre-hook (macros/tier_history.sql) closes the versions that end on the build date and undoes
-- an earlier run of the same date; this query appends the versions that start on it.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ require_table_guards(not_null=['customer_id', 'valid_from', 'tier_code', 'tier_rank',
                                               'policy_version', 'reason_codes'],
                                     checks=2, unique=['customer_id', 'valid_from']) }}",
            "{{ close_tier_versions(ref('int_customer_tier_rules'), ref('mart_rm_book'), ref('build_state')) }}",
        ],
        post_hook="{{ finish_tier_history() }}",
        indexes=[
            {'columns': ['valid_from']},
            {'columns': ['valid_to']},
        ],
    )
}}

with tier_rules as (
    select * from {{ ref('int_customer_tier_rules') }}
),

rm_book as (
    select * from {{ ref('mart_rm_book') }}
    where as_of_date = {{ as_of_date() }}
),

graded as (
    -- mart_customer_tier's grade, read from its inputs rather than from it: the history and the
    -- mart build side by side (tests/singular/assert_tier_history_matches_tier.sql holds them equal).
    -- A bad grade is refused at the append by this model's contract constraints (not null, a known
    -- tier_code), so it never enters the history, whatever the mart's own tests say later.
    select
        tier_rules.customer_id,
        {{ as_of_date() }} as valid_from,
        null::date as valid_to,
        tier_rules.tier_code,
        tier_rules.tier_rank,
        tier_rules.policy_version,
        tier_rules.reason_codes,
        rm_book.relationship_manager_id,
        tier_rules.aum_cny,
        tier_rules.profit_contribution_cny
    from tier_rules
    left join rm_book on tier_rules.customer_id = rm_book.customer_id
),

final as (
    select * from graded
    {% if is_incremental() %}
    -- Whoever still has a version in force keeps it: the pre-hook closed every changed one.
    where
        not exists (
            select 1 as in_force from {{ this }} as history
            where history.customer_id = graded.customer_id and history.valid_to is null
        )
    {% endif %}
)

select * from final
