-- Contactability with masked PII for BI: name 张**, mobile 138****5678, email z***@example.com.
-- A view owned by the transformer: crm_bi_reader reads it without any grant on the unmasked mart.
{{ config(materialized='view') }}

with contactability as (
    select * from {{ ref('mart_customer_contactability') }}
),

final as (
    select
        as_of_date,
        customer_id,
        case
            when full_name is not null
                then left(full_name, 1) || repeat('*', greatest(char_length(full_name) - 1, 1))
        end as full_name_masked,
        case
            when mobile is not null
                then left(mobile, 3) || '****' || right(mobile, 4)
        end as mobile_masked,
        case
            when email is not null
                then left(email, 1) || '***' || substring(email from position('@' in email))
        end as email_masked,
        preferred_channel,
        is_contactable,
        suppression_reason
    from contactability
)

select * from final
