with source as (
    {{ latest_version(source('channel', 'campaign_responses'), 'response_id', '_loaded_at desc, _source_line desc') }}
),

final as (
    select
        response_id,
        campaign_code,
        customer_id,
        response_ts::timestamptz as response_ts,
        response,
        _logical_date
    from source
)

select * from final
