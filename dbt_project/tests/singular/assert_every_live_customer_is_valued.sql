-- Every customer who is not erased is valued, once: the value model is built in two halves split
-- at the median customer number, read when each half compiles. Built in one invocation they meet;
-- a half built alone after the customers changed could leave a gap between them, which no key
-- would show (mart_customer_value's primary key shows an overlap). A side mart, not the tier
-- rules, carries the check, so it does not wait on the path to the tiers.
with live_customers as (
    select count(*) as customers from {{ ref('stg_corebank__customers') }}
    where not is_erased
),

valued_customers as (
    select count(*) as customers from {{ ref('mart_customer_value') }}
)

select
    live_customers.customers as live_customers,
    valued_customers.customers as valued_customers
from live_customers
cross join valued_customers
where live_customers.customers <> valued_customers.customers
