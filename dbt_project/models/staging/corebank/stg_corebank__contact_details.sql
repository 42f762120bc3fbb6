with source as (
    {{ latest_version(source('corebank', 'contact_details'), 'customer_id') }}
),

customers as (
    select customer_id, is_erased from {{ ref('stg_corebank__customers') }}
),

final as (
    select
        source.customer_id,
        -- Erasure: contact data goes too, whatever the contact system still holds.
        case when customers.is_erased then null else source.mobile end as mobile,
        case when customers.is_erased then null else source.email end as email,
        case when customers.is_erased then null else source.address end as address,
        source.preferred_channel,
        source.do_not_contact,
        source.updated_at
    from source
    left join customers on source.customer_id = customers.customer_id
)

select * from final
