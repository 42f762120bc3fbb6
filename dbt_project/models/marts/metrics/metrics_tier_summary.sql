-- Customers, AUM and profit per tier for each graded date: the figures of the semantic layer's
-- customers, aum_cny and profit_cny metrics grouped by tier, for BI tools that read SQL.
{{ config(materialized='view') }}

with tiers as (
    select * from {{ ref('mart_customer_tier') }}
),

per_tier as (
    select
        as_of_date,
        tier_code,
        tier_rank,
        tier_name_en,
        tier_name_zh,
        count(distinct customer_id) as customers,
        coalesce(sum(aum_cny), 0)::numeric(20, 2) as aum_cny,
        coalesce(sum(profit_contribution_cny), 0)::numeric(20, 2) as profit_cny,
        count(*) filter (where at_risk) as customers_at_risk
    from tiers
    group by as_of_date, tier_code, tier_rank, tier_name_en, tier_name_zh
),

final as (
    select
        as_of_date,
        tier_code,
        tier_rank,
        tier_name_en,
        tier_name_zh,
        customers,
        aum_cny,
        profit_cny,
        customers_at_risk,
        (customers::numeric / nullif(sum(customers) over (partition by as_of_date), 0))::numeric(8, 4)
            as customer_share,
        (profit_cny / nullif(sum(profit_cny) over (partition by as_of_date), 0))::numeric(8, 4) as profit_share
    from per_tier
)

select * from final
