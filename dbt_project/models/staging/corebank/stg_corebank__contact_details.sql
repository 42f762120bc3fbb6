-- Current contact details of each customer (incremental: macros/current_versions.sql). Erasure
-- reaches rows written earlier through the post-hook: a customer erased in a new batch keeps
-- the key, not the contact data.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key='customer_id',
        pre_hook="{{ delete_superseded_versions(source('corebank', 'contact_details'), 'customer_id') }}",
        post_hook="{{ erase_contact_details() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['customer_id'], 'unique': true}, {'columns': ['_logical_date']}],
    )
}}

with source as (
    {{ current_versions(source('corebank', 'contact_details'), 'customer_id') }}
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
        source.updated_at,
        source._logical_date,
        source._loaded_at
    from source
    left join customers on source.customer_id = customers.customer_id
)

select * from final
