-- One row: the 80/20 view of the book for the build date.
with pareto as (
    select * from {{ ref('mart_pareto') }}
),

final as (
    select
        max(as_of_date) as as_of_date,
        count(*) as customers,
        sum(profit_contribution_cny)::numeric(18, 2) as total_profit_cny,
        sum(profit_contribution_cny) filter (where is_top_20pct)::numeric(18, 2) as top_20pct_profit_cny,
        (
            sum(profit_contribution_cny) filter (where is_top_20pct)
            / nullif(sum(profit_contribution_cny), 0)
        )::numeric(8, 4) as top_20pct_profit_share,
        count(*) filter (where profit_contribution_cny < 0) as loss_making_customers,
        coalesce(-sum(profit_contribution_cny) filter (where profit_contribution_cny < 0), 0)::numeric(18, 2)
            as loss_makers_drain_cny
    from pareto
)

select * from final
