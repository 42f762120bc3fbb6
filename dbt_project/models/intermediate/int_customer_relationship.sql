-- Breadth and depth of the relationship: products held, tenure, last relationship-manager contact.
-- Unique by its index, stored in customer order: int_customer_value reads it by that index in
-- step with the customers and the window bounds (a merge join, no sort of a million rows there),
-- and the index refuses a second row of a customer where a unique test read the table again.
{{ config(indexes=[{'columns': ['customer_id'], 'unique': true}]) }}
with customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

accounts as (
    select * from {{ ref('stg_corebank__accounts') }}
),

products as (
    select * from {{ ref('stg_corebank__products') }}
),

rm_interactions as (
    select * from {{ ref('stg_channel__rm_interactions') }}
),

open_products as (
    select
        accounts.customer_id,
        count(distinct products.product_type) as product_count,
        count(*) as open_accounts
    from accounts
    inner join products on accounts.product_code = products.product_code
    where accounts.opened_on <= {{ as_of_date() }}
      and (accounts.closed_on is null or accounts.closed_on > {{ as_of_date() }})
    group by accounts.customer_id
),

last_rm as (
    select
        customer_id,
        max((interaction_ts at time zone 'Asia/Shanghai')::date) as last_rm_contact_date
    from rm_interactions
    where (interaction_ts at time zone 'Asia/Shanghai')::date <= {{ as_of_date() }}
    group by customer_id
),

final as (
    select
        customers.customer_id,
        coalesce(open_products.product_count, 0) as product_count,
        coalesce(open_products.open_accounts, 0) as open_accounts,
        (extract(year from age({{ as_of_date() }}, customers.onboarded_on)) * 12
            + extract(month from age({{ as_of_date() }}, customers.onboarded_on)))::integer as tenure_months,
        extract(year from age({{ as_of_date() }}, customers.birth_date))::integer as age_years,
        {{ as_of_date() }} - last_rm.last_rm_contact_date as days_since_rm_contact
    from customers
    left join open_products on customers.customer_id = open_products.customer_id
    left join last_rm on customers.customer_id = last_rm.customer_id
    where not customers.is_erased
)

select * from final
order by customer_id
