with source as (
    {{ latest_version(source('corebank', 'contact_details'), 'customer_id') }}
),

final as (
    select
        customer_id,
        mobile,
        email,
        address,
        preferred_channel,
        do_not_contact,
        updated_at
    from source
)

select * from final
