{#- Post-hook of the per-customer-day tables (int_customer_txn_days, int_customer_balance_days):
    an erased customer keeps no stored day. The models never write a day of an erased customer;
    this removes the days stored before the erasure arrived. -#}
{% macro erase_customer_days() -%}
{% if is_incremental() %}
delete from {{ this }} as stored
using {{ ref('stg_corebank__customers') }} as customers
where customers.is_erased and stored.customer_id = customers.customer_id
{% endif %}
{%- endmacro %}
