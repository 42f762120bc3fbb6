{#- Post-hook of the per-customer-day models (int_customer_txn_days, int_customer_days): a
    customer erased since the previous run loses every stored day. The models never write a day
    of an erased customer, so customers erased before the previous run are gone already, and the
    cost follows the newly erased: one probe per stored day and customer through the date-first
    unique index, never a scan of the history.
    previous_batch_sql: the latest batch the model had processed before this run (remembered by
    remember_previous_batch() in the pre-hook, or the model's own plan). -#}
{% macro erase_customer_days(date_column, previous_batch_sql) -%}
{% if is_incremental() %}
drop table if exists pg_temp.crm_erased_customer_days;
create temporary table crm_erased_customer_days as
select customers.customer_id, day::date as day
from {{ ref('stg_corebank__customers') }} as customers
cross join lateral generate_series(
    (select min({{ date_column }}) from {{ this }}), (select max({{ date_column }}) from {{ this }}),
    interval '1 day') as day
where customers.is_erased
  and customers._logical_date > (select coalesce(({{ previous_batch_sql }}), date '1900-01-01'));
analyze crm_erased_customer_days;
{{ probe_indexes_only() }}
delete from {{ this }} as stored
using crm_erased_customer_days as erased
where stored.{{ date_column }} = erased.day and stored.customer_id = erased.customer_id;
{{ probe_indexes_only(false) }}
{% endif %}
{%- endmacro %}


{#- Pre-hook part: the latest batch {{ this }} holds before this run writes, for the post-hook. -#}
{% macro remember_previous_batch(table_name) -%}
{% if is_incremental() %}
drop table if exists pg_temp.{{ table_name }};
create temporary table {{ table_name }} as select max(_logical_date) as previous_batch_date from {{ this }};
{% endif %}
{%- endmacro %}


{#- Pre-hook part: the latest day {{ this }} holds before the pre-hook deletes what it replaces. -#}
{% macro remember_last_stored_date(date_column, table_name) -%}
{% if is_incremental() %}
drop table if exists pg_temp.{{ table_name }};
create temporary table {{ table_name }} as select max({{ date_column }}) as last_stored_date from {{ this }};
{% endif %}
{%- endmacro %}
