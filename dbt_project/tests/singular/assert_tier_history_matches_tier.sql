-- mart_customer_tier_history is built from mart_customer_tier's inputs, beside it rather than
-- after it: after the build, the version in force for every customer must hold the mart's grade,
-- reasons and relationship manager, and no one else may have a version in force. Returns the
-- customers where they differ, or that only one of them holds.
-- One hash join on the key: comparing whole rows both ways (except all) sorted two million rows
-- and took 11 s at 1M customers.
with tier as (
    select * from {{ ref('mart_customer_tier') }}
),

history as (
    select * from {{ ref('mart_customer_tier_history') }}
    where valid_to is null
)

select coalesce(tier.customer_id, history.customer_id) as customer_id
from tier
full join history on tier.customer_id = history.customer_id
where
    tier.customer_id is null
    or history.customer_id is null
    or history.valid_from > tier.as_of_date
    or (tier.tier_code, tier.tier_rank, tier.policy_version, tier.reason_codes, tier.relationship_manager_id)
    is distinct from
    (
        history.tier_code, history.tier_rank, history.policy_version, history.reason_codes,
        history.relationship_manager_id
    )
