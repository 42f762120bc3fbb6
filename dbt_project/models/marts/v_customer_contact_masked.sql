-- Contactability with masked PII for BI: name 张**, mobile 138****5678, email z***@example.com.
-- A view owned by the transformer: crm_bi_reader reads it without any grant on the unmasked mart.
-- A value of another shape than expected (an email without a mailbox or domain, a mobile that is
-- not 11 digits, a one-character name) is masked whole: a fixed mask never shows the value.
{{ config(materialized='view') }}

with contactability as (
    select * from {{ ref('mart_customer_contactability') }}
),

final as (
    select
        as_of_date,
        customer_id,
        case
            when full_name is null then null
            when char_length(full_name) >= 2
                then left(full_name, 1) || repeat('*', char_length(full_name) - 1)
            else '*'
        end as full_name_masked,
        case
            when mobile is null then null
            when mobile ~ '^1[0-9]{10}$' then left(mobile, 3) || '****' || right(mobile, 4)
            else '****'
        end as mobile_masked,
        case
            when email is null then null
            -- A mailbox of two characters or more, one @, a domain with a dot.
            when email ~ '^[^@\s]{2,}@[^@\s]+\.[^@\s]+$'
                then left(email, 1) || '***' || substring(email from position('@' in email))
            else '***'
        end as email_masked,
        preferred_channel,
        is_contactable,
        suppression_reason
    from contactability
)

select * from final
