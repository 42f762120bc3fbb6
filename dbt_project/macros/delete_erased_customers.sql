{#- Post-hook of the per-customer-day models: erasure reaches them too. The few erased customers
    are matched through the table's (customer_id, ...) index, never by scanning the history. -#}
{% macro delete_erased_customers() -%}
set enable_hashjoin = off;
set enable_mergejoin = off;
delete from {{ this }} as stored
using (select customer_id from {{ ref('stg_corebank__customers') }} where is_erased) as erased
where stored.customer_id = erased.customer_id;
reset enable_hashjoin;
reset enable_mergejoin;
{%- endmacro %}
