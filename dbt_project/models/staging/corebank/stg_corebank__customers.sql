-- Current version of each customer (incremental: macros/current_versions.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key='customer_id',
        pre_hook="{{ delete_superseded_versions(source('corebank', 'customers'), 'customer_id') }}",
        on_schema_change='fail',
        indexes=[{'columns': ['customer_id'], 'unique': true}, {'columns': ['_logical_date']}],
    )
}}

with source as (
    {{ current_versions(source('corebank', 'customers'), 'customer_id') }}
),

final as (
    select
        customer_id,
        is_deleted as is_erased,
        -- Erasure: personal data goes, the key stays so suppression and history can honour it.
        case when is_deleted then null else full_name end as full_name,
        case when is_deleted then null else gender end as gender,
        case when is_deleted then null else birth_date end as birth_date,
        case when is_deleted then null else resident_id end as resident_id,
        case when is_deleted then null else city end as city,
        case when is_deleted then null else occupation end as occupation,
        branch_code,
        onboarded_on,
        status as customer_status,
        updated_at,
        _logical_date,
        _loaded_at
    from source
)

select * from final
