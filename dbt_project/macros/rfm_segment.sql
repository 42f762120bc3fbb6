{#- Named RFM segment from recency and frequency scores (1 = worst, 5 = best). -#}
{% macro rfm_segment(r, f) -%}
    case
        when {{ r }} >= 4 and {{ f }} >= 4 then 'champions'
        when {{ r }} >= 3 and {{ f }} >= 4 then 'loyal'
        when {{ r }} >= 4 and {{ f }} <= 2 then 'promising'
        when {{ r }} <= 2 and {{ f }} >= 4 then 'at_risk'
        when {{ r }} <= 2 and {{ f }} <= 2 then 'hibernating'
        else 'needs_attention'
    end
{%- endmacro %}
