{#- One numeric threshold of the tier policy in force, looked up from the policy seed. -#}
{% macro tier_param(policy_cte, name) -%}
    (select value from {{ policy_cte }} where parameter = '{{ name }}')
{%- endmacro %}
