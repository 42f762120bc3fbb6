with source as (
    {{ latest_version(
        source('channel', 'contact_centre_interactions'), 'interaction_id', '_loaded_at desc, _source_line desc'
    ) }}
),

final as (
    select
        interaction_id,
        customer_id,
        interaction_ts::timestamptz as interaction_ts,
        channel,
        reason,
        outcome,
        _logical_date
    from source
)

select * from final
