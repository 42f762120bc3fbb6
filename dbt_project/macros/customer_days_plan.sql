{#- Pre-hook of int_customer_days (incremental runs): decide once what this run recomputes, keep
    it in two temporary tables the model reads, and delete the stored rows it will write again.
    * crm_customer_days_plan.first_date: the earliest balance date of a fct_daily_balances batch
      not consumed yet (or of the build date's own batch), and never later than the day after the
      last stored day, so a day without balances does not break the chain of running totals;
    * crm_customer_days_changed: customers valued from their first day again, because their own
      record, one of their accounts (every owner it ever had) or a product they hold changed in a
      new batch: a day is valued with today's records, as a full rebuild would value it.
    Both deletes go through indexes (balance_date; customer_id, balance_date): no history scan. -#}
{% macro customer_days_plan() -%}
{% if is_incremental() %}
drop table if exists pg_temp.crm_customer_days_plan;
create temporary table crm_customer_days_plan as
select
    least(min(new_rows.balance_date), (select max(balance_date) + 1 from {{ this }})) as first_date,
    greatest(max(new_rows._logical_date), (select max(_logical_date) from {{ this }})) as batch_date
from (
    -- offset 0 keeps this a scan of the new batches (by the _logical_date index); asked for
    -- min(balance_date) directly, the planner walks the balance_date index through all history.
    select balance_date, _logical_date
    from {{ ref('fct_daily_balances') }}
    where {{ new_batches_filter(this) }}
    offset 0
) as new_rows;

drop table if exists pg_temp.crm_customer_days_changed;
create temporary table crm_customer_days_changed as
select customer_id from {{ source('corebank', 'customers') }}
where {{ new_batches_filter(this) }} and customer_id is not null
union
select customer_id from {{ source('corebank', 'accounts') }}
where account_id in (
    select account_id from {{ source('corebank', 'accounts') }} where {{ new_batches_filter(this) }}
) and customer_id is not null
union
select accounts.customer_id
from {{ ref('stg_corebank__accounts') }} as accounts
where accounts.product_code in (
    select product_code from {{ source('corebank', 'products') }} where {{ new_batches_filter(this) }}
) and accounts.customer_id is not null;
analyze crm_customer_days_changed;

delete from {{ this }} where balance_date >= (select first_date from crm_customer_days_plan);
delete from {{ this }} where customer_id in (select customer_id from crm_customer_days_changed);
{% endif %}
{%- endmacro %}
