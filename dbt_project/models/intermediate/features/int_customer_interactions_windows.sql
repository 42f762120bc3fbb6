-- Contact-centre, campaign, consent and relationship-manager events per customer and feature
-- date, as the bank knew them: an event counts when it happened on or before the date AND the
-- channel file that carried it is dated on or before it (a late file shows up in later dates).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='feature_date',
        unlogged=false,
        indexes=[{'columns': ['feature_date', 'customer_id'], 'unique': true}],
    )
}}

with feature_dates as (
    {{ feature_dates_to_build() }}
),

contact_centre as (
    select * from {{ ref('stg_channel__contact_centre_interactions') }}
),

campaign_responses as (
    select * from {{ ref('stg_channel__campaign_responses') }}
),

consent_changes as (
    select * from {{ ref('stg_channel__consent_changes') }}
),

rm_interactions as (
    select * from {{ ref('stg_channel__rm_interactions') }}
),

events as (
    select
        customer_id,
        (interaction_ts at time zone 'Asia/Shanghai')::date as event_date,
        _logical_date as known_on,
        'contact' as kind,
        reason in ('complaint', 'fee_dispute') as is_complaint,
        reason in ('product_enquiry', 'loan_enquiry') as is_enquiry
    from contact_centre
    union all
    select
        customer_id,
        (response_ts at time zone 'Asia/Shanghai')::date,
        _logical_date,
        case when response = 'opted_out' then 'opt_out' else 'response' end,
        false,
        false
    from campaign_responses
    union all
    select
        customer_id,
        (changed_at at time zone 'Asia/Shanghai')::date,
        _logical_date,
        case when consent = 'withdrawn' then 'withdrawal' else 'consent' end,
        false,
        false
    from consent_changes
    union all
    select
        customer_id,
        (interaction_ts at time zone 'Asia/Shanghai')::date,
        _logical_date,
        'rm',
        false,
        false
    from rm_interactions
),

known as (
    select
        feature_dates.feature_date,
        events.customer_id,
        feature_dates.feature_date - events.event_date as days_before,
        events.kind,
        events.is_complaint,
        events.is_enquiry
    from feature_dates
    inner join events
        on events.event_date <= feature_dates.feature_date
        and events.known_on <= feature_dates.feature_date
),

final as (
    select
        feature_date,
        customer_id,
        count(*) filter (where kind = 'contact' and days_before < 90) as contacts_90d,
        count(*) filter (where kind = 'contact' and is_complaint and days_before < 90) as complaints_90d,
        count(*) filter (where kind = 'contact' and is_enquiry and days_before < 90) as product_enquiries_90d,
        count(*) filter (where kind = 'response' and days_before < 180) as campaign_responses_180d,
        count(*) filter (where kind = 'opt_out' and days_before < 365) as campaign_opt_outs_365d,
        count(*) filter (where kind = 'withdrawal' and days_before < 365) as consent_withdrawals_365d,
        count(*) filter (where kind = 'rm' and days_before < 90) as rm_contacts_90d,
        min(days_before) filter (where kind = 'rm') as days_since_rm_contact
    from known
    group by feature_date, customer_id
)

select * from final
