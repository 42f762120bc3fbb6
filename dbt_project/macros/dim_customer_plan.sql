{#- The person a customer number belongs to: the same resident ID is the same person. Erased
    numbers have no resident ID left and stay a person of their own: erasure must not be undone
    by linking. -#}
{% macro person_key(customers) -%}
coalesce('R:' || {{ customers }}.resident_id, 'C:' || {{ customers }}.customer_id)
{%- endmacro %}


{#- Pre-hook of dim_customer (incremental runs): the persons to recompute, and their stored rows
    deleted. A person is recomputed when one of their numbers has a new customer or contact
    version; so is the person a changed number belonged to before (a number that leaves a
    person, by a new resident ID or by erasure, changes the golden record of the numbers left).
    crm_dim_customer_person_keys(person_key): the current keys of both; the model rebuilds every
    number with one of these keys. -#}
{% macro dim_customer_plan() -%}
{% if is_incremental() %}
drop table if exists pg_temp.crm_dim_customer_changed;
create temporary table crm_dim_customer_changed as
select customer_id from {{ ref('stg_corebank__customers') }} where {{ new_batches_filter(this) }}
union
select customer_id from {{ ref('stg_corebank__contact_details') }} where {{ new_batches_filter(this) }};
analyze crm_dim_customer_changed;

drop table if exists pg_temp.crm_dim_customer_person_keys;
create temporary table crm_dim_customer_person_keys as
with numbers as (
    -- The changed numbers, and every number stored with a person one of them belonged to.
    select customer_id from crm_dim_customer_changed
    union
    select stored.customer_id
    from {{ this }} as stored
    where stored.person_id in (
        select before.person_id
        from crm_dim_customer_changed as changed
        inner join {{ this }} as before on changed.customer_id = before.customer_id
    )
)
select distinct {{ person_key('customers') }} as person_key
from numbers
inner join {{ ref('stg_corebank__customers') }} as customers on numbers.customer_id = customers.customer_id;
analyze crm_dim_customer_person_keys;

delete from {{ this }} as stored
using {{ ref('stg_corebank__customers') }} as customers
where stored.customer_id = customers.customer_id
  and {{ person_key('customers') }} in (select person_key from crm_dim_customer_person_keys);
{% endif %}
{%- endmacro %}
