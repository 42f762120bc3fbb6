-- May we contact this customer, and on which channel? Every "no" carries its reason.
with customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

contacts as (
    select * from {{ ref('stg_corebank__contact_details') }}
),

consent_changes as (
    select * from {{ ref('stg_channel__consent_changes') }}
    where (changed_at at time zone 'Asia/Shanghai')::date <= {{ as_of_date() }}
),

responses as (
    select * from {{ ref('stg_channel__campaign_responses') }}
    where (response_ts at time zone 'Asia/Shanghai')::date <= {{ as_of_date() }}
),

latest_consent as (
    select distinct on (customer_id, channel)
        customer_id,
        channel,
        consent
    from consent_changes
    order by customer_id, channel, changed_at desc, change_id desc
),

consent_by_customer as (
    select
        customer_id,
        bool_or(channel = 'all' and consent = 'withdrawn') as withdrew_all,
        bool_or(channel = 'sms' and consent = 'withdrawn') as withdrew_sms,
        bool_or(channel = 'phone' and consent = 'withdrawn') as withdrew_phone,
        bool_or(channel = 'email' and consent = 'withdrawn') as withdrew_email,
        bool_or(channel = 'app' and consent = 'withdrawn') as withdrew_app
    from latest_consent
    group by customer_id
),

opted_out as (
    select distinct customer_id from responses where response = 'opted_out'
),

final as (
    select
        customers.customer_id,
        contacts.preferred_channel,
        case
            when customers.is_erased then 'erased'
            when customers.customer_status <> 'active' then 'closed'
            when contacts.customer_id is null then 'no_contact_details'
            when contacts.do_not_contact then 'do_not_contact'
            when coalesce(consent_by_customer.withdrew_all, false) then 'consent_withdrawn_all'
            when opted_out.customer_id is not null then 'opted_out_by_response'
            when (contacts.preferred_channel = 'sms' and coalesce(consent_by_customer.withdrew_sms, false))
              or (contacts.preferred_channel = 'phone' and coalesce(consent_by_customer.withdrew_phone, false))
              or (contacts.preferred_channel = 'email' and coalesce(consent_by_customer.withdrew_email, false))
              or (contacts.preferred_channel = 'app' and coalesce(consent_by_customer.withdrew_app, false))
                then 'consent_withdrawn_channel'
            when contacts.preferred_channel = 'email' and contacts.email is null then 'no_email'
        end as suppression_reason
    from customers
    left join contacts on customers.customer_id = contacts.customer_id
    left join consent_by_customer on customers.customer_id = consent_by_customer.customer_id
    left join opted_out on customers.customer_id = opted_out.customer_id
)

select
    *,
    suppression_reason is null as is_contactable
from final
