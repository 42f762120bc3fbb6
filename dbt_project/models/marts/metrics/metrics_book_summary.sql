-- The whole book per graded date: customers, AUM, profit and the share of profit the top 20 %
-- of customers bring (the semantic layer's top_20pct_profit_share metric).
{{ config(materialized='view') }}

with tiers as (
    select * from {{ ref('mart_customer_tier') }}
),

pareto as (
    select * from {{ ref('mart_pareto_summary') }}
),

book as (
    select
        as_of_date,
        count(distinct customer_id) as customers,
        coalesce(sum(aum_cny), 0)::numeric(20, 2) as aum_cny,
        coalesce(sum(profit_contribution_cny), 0)::numeric(20, 2) as profit_cny
    from tiers
    group by as_of_date
),

final as (
    select
        book.as_of_date,
        book.customers,
        book.aum_cny,
        book.profit_cny,
        pareto.top_20pct_profit_cny,
        pareto.top_20pct_profit_share,
        pareto.loss_making_customers,
        pareto.loss_makers_drain_cny
    from book
    left join pareto on pareto.as_of_date = book.as_of_date
)

select * from final
