with source as (
    {{ latest_version(source('channel', 'consent_changes'), 'change_id', '_loaded_at desc, _source_line desc') }}
),

final as (
    select
        change_id,
        customer_id,
        channel,
        consent,
        changed_at::timestamptz as changed_at,
        _logical_date
    from source
)

select * from final
