-- The days that bound the trailing windows of the build date, in one row.
with balance_days as not materialized (
    select * from {{ ref('int_customer_balance_days') }}
),

txn_days as not materialized (
    select * from {{ ref('int_customer_txn_days') }}
),

calendar as (
    -- Days the warehouse holds inside the activity window (a young warehouse may hold fewer than
    -- the window); the daily load fails rather than leave a gap, so days are contiguous.
    select
        greatest(
            least((select min(balance_date) from balance_days), (select min(txn_date) from txn_days)),
            {{ as_of_date() }} - {{ var('activity_window_days') }} + 1
        ) as first_day
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        first_day,
        ({{ as_of_date() }} - first_day + 1)::integer as days_observed,
        -- The trend compares the earlier half of the observed days (up to and including this day)
        -- with the recent half.
        first_day + ({{ as_of_date() }} - first_day + 1) / 2 as earlier_half_end,
        -- The AUM window starts the day after this one.
        {{ as_of_date() }} - {{ var('aum_window_days') }} as before_aum_window
    from calendar
)

select * from final
