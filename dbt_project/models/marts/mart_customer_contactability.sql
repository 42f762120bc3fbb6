-- Who may be contacted, how, and why not. Holds contact PII: marketing export role only.
-- Replaced in place, not swapped in: the pre-hook empties the table and the build date's rows are
-- appended in the same transaction, so readers see the old rows until the new ones commit. A table
-- swap drops the old table with `cascade`, and v_customer_contact_masked with it until the view is
-- built again (BI queries failed for about two seconds per build).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }}{% endif %}",
    )
}}

with contactability as (
    select * from {{ ref('int_customer_contactability') }}
),

customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

contacts as (
    select * from {{ ref('stg_corebank__contact_details') }}
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        contactability.customer_id,
        customers.full_name,
        -- Erasure wins over whatever the contact system still holds.
        case when customers.is_erased then null else contacts.mobile end as mobile,
        case when customers.is_erased then null else contacts.email end as email,
        contactability.preferred_channel,
        contactability.is_contactable,
        contactability.suppression_reason
    from contactability
    inner join customers on contactability.customer_id = customers.customer_id
    left join contacts on contactability.customer_id = contacts.customer_id
)

select * from final
