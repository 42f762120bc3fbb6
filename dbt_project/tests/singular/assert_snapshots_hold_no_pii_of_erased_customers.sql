-- Erasure reaches history: no version of an erased customer keeps personal data.
with erased as (
    select customer_id from {{ ref('stg_corebank__customers') }}
    where is_erased
)

select
    'snap_customer_profile' as snapshot_name,
    customer_id
from {{ ref('snap_customer_profile') }}
where
    customer_id in (select erased.customer_id from erased)
    and (
        full_name is not null or gender is not null or birth_date is not null
        or resident_id is not null or city is not null or occupation is not null
    )

union all

select
    'snap_contact_preferences' as snapshot_name,
    customer_id
from {{ ref('snap_contact_preferences') }}
where
    customer_id in (select erased.customer_id from erased)
    and (mobile is not null or email is not null or address is not null)
