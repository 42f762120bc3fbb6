-- The dates that bound the trailing windows of the build date, in one row: window figures are
-- running totals of int_customer_days read at the end of these days and subtracted.
with calendar as (
    -- Days of balances the warehouse holds inside the activity window (a young warehouse may hold
    -- fewer than the window); the daily load fails rather than leave a gap, so days are contiguous.
    select
        greatest(min(balance_date), {{ as_of_date() }} - {{ var('activity_window_days') }} + 1) as first_day
    from {{ ref('int_customer_days') }}
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        first_day,
        ({{ as_of_date() }} - first_day + 1)::integer as days_observed,
        first_day - 1 as before_window,
        -- The trend compares the earlier half of the observed days (up to and including this day)
        -- with the recent half.
        first_day + ({{ as_of_date() }} - first_day + 1) / 2 as earlier_half_end,
        {{ as_of_date() }} - {{ var('aum_window_days') }} as before_aum_window
    from calendar
)

select * from final
