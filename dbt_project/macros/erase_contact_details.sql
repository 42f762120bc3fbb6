{#- Post-hook of stg_corebank__contact_details: an erased customer keeps no contact data, also in
    rows written before the erasure arrived (the model nulls it only in the versions it writes). -#}
{% macro erase_contact_details() -%}
{% if is_incremental() %}
update {{ this }} as contacts
set mobile = null, email = null, address = null
from {{ ref('stg_corebank__customers') }} as customers
where customers.customer_id = contacts.customer_id
  and customers.is_erased
  and (contacts.mobile is not null or contacts.email is not null or contacts.address is not null);
{% endif %}
{%- endmacro %}
