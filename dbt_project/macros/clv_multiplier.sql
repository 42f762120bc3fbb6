{#- sum_{t=1..H} (r/(1+d))^t, the multiplier turning annual profit into lifetime value. -#}
{% macro clv_multiplier(retention, params_cte) -%}
    (
        with q as (
            select {{ retention }} / (1 + (select value from {{ params_cte }} where parameter = 'discount_rate')) as q,
                   (select value from {{ params_cte }} where parameter = 'horizon_years') as h
        )
        select q * (1 - power(q, h)) / (1 - q) from q
    )
{%- endmacro %}
