-- The grade of every customer under the tier policy in force, with the reasons, and the
-- relationship manager of each gold customer.
with tier_rules as (
    select * from {{ ref('int_customer_tier_rules') }}
),

rm_book as (
    select * from {{ ref('mart_rm_book') }}
    where as_of_date = {{ as_of_date() }}
),

final as (
    select
        tier_rules.as_of_date,
        tier_rules.customer_id,
        tier_rules.tier_code,
        tier_rules.tier_rank,
        tier_rules.tier_name_en,
        tier_rules.tier_name_zh,
        tier_rules.service_model,
        tier_rules.reason_codes,
        tier_rules.policy_version,
        tier_rules.aum_cny,
        tier_rules.profit_contribution_cny,
        tier_rules.predicted_annual_profit_cny,
        tier_rules.lifetime_value_cny,
        tier_rules.at_risk,
        rm_book.relationship_manager_id,
        tier_rules.person_id,
        tier_rules.person_numbers,
        tier_rules.person_aum_cny,
        tier_rules.person_profit_contribution_cny
    from tier_rules
    left join rm_book on tier_rules.customer_id = rm_book.customer_id
)

select * from final
