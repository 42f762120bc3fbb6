{#- Post-hook of the per-customer-day models: erasure reaches them too. -#}
{% macro delete_erased_customers() -%}
{{ delete_matching_rows(['customer_id'],
    'select customer_id from ' ~ ref('stg_corebank__customers') ~ ' where is_erased') }}
{%- endmacro %}
