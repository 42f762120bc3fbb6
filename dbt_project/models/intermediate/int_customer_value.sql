-- The value of every (not erased) customer as of the build date, one row per customer: every
-- trailing-window figure (balances with AUM as an average daily balance, last-day exposures and
-- trend; transaction behaviour for RFM, digital share and fading; the annualised profit
-- contribution with its parts) and the value built on them (risk signals, retention, predicted
-- profit, lifetime value). The tier rules grade it and the Pareto mart ranks it;
-- mart_customer_value adds the RFM scores for BI beside the tier rules rather than before them:
-- their three million-row sorts and the wide logged table are off the path to the tiers.
-- Each window figure is the difference of two running totals of int_customer_days, read on the
-- few dates that bound the windows and their halves: the cost follows the number of customers,
-- not the days. Each bound date is read once (four reads of a million rows at 1M customers), an
-- earlier one with the late corrections its stored totals lack (customer_day_corrections.sql).
-- One model, not the window figures and then the value: the daily build's path to the tiers
-- then writes, reads and tests one million-row table fewer (docs/BENCHMARKS.md, session 15).
-- Built in two halves of the customers, side by side (int_customer_value__first_half and
-- __second_half, one query in macros/customer_value_query.sql): this is their union.
{{ config(materialized='view') }}

with first_half as (
    select * from {{ ref('int_customer_value__first_half') }}
),

second_half as (
    select * from {{ ref('int_customer_value__second_half') }}
)

select * from first_half
union all
select * from second_half
