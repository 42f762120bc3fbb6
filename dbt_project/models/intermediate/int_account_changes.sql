-- Account and product records that change the valued balances of customer-days already stored,
-- with the batch that brought each: int_customer_balance_days recomputes those customers' days
-- from from_date (null: from the first stored day). A view: that model reads only the new batches,
-- and its filter on _logical_date reaches the raw versions' index.
{{ config(materialized='view') }}

with versions as not materialized (
    select * from {{ ref('stg_corebank__account_versions') }}
),

accounts as not materialized (
    select * from {{ ref('stg_corebank__accounts') }}
),

products as not materialized (
    select * from {{ ref('stg_corebank__products') }}
),

moved_accounts as (
    -- A version whose owner or product differs from an earlier one.
    select distinct new_version.account_id, new_version._logical_date
    from versions as new_version
    inner join versions as old_version
        on new_version.account_id = old_version.account_id
       and old_version._logical_date < new_version._logical_date
    where (old_version.customer_id, old_version.product_code)
          is distinct from (new_version.customer_id, new_version.product_code)
),

final as (
    -- Every owner a moved account ever had.
    select owners.customer_id, null::date as from_date, moved_accounts._logical_date
    from moved_accounts
    inner join versions as owners on moved_accounts.account_id = owners.account_id
    union all
    -- An account record that arrives after its balances: they were left out since it opened.
    select first_version.customer_id, first_version.opened_on, first_version._logical_date
    from versions as first_version
    where not exists (
        select 1 from versions as old_version
        where old_version.account_id = first_version.account_id
          and old_version._logical_date < first_version._logical_date
    )
    union all
    -- A product whose terms changed: everyone who holds it.
    select accounts.customer_id, null::date, products._logical_date
    from accounts
    inner join products on accounts.product_code = products.product_code
)

select * from final
