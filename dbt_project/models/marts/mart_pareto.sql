-- Cumulative profit by customer rank: how few customers bring how much profit.
with customer_value as (
    select * from {{ ref('int_customer_value') }}
),

ranked as (
    select
        as_of_date,
        customer_id,
        profit_contribution_cny,
        row_number() over (order by profit_contribution_cny desc, customer_id) as profit_rank,
        count(*) over () as customers,
        sum(profit_contribution_cny) over () as total_profit_cny,
        sum(greatest(profit_contribution_cny, 0)) over () as gross_positive_profit_cny
    from customer_value
),

final as (
    select
        as_of_date,
        customer_id,
        profit_contribution_cny,
        profit_rank,
        (profit_rank::numeric / customers)::numeric(8, 6) as customer_percentile,
        sum(profit_contribution_cny) over (order by profit_rank) as cumulative_profit_cny,
        (sum(profit_contribution_cny) over (order by profit_rank) / nullif(total_profit_cny, 0))::numeric(12, 6)
            as cumulative_profit_share,
        profit_rank <= ceil(customers * 0.2) as is_top_20pct
    from ranked
)

select * from final
