-- mart_customer_tier_history is built from mart_customer_tier's inputs, beside it rather than
-- after it: on the build date both must hold the same grade, reasons and relationship manager for
-- every customer. Returns the rows only one of them holds.
{%- set columns = 'as_of_date, customer_id, tier_code, tier_rank, policy_version, reason_codes,
    relationship_manager_id, aum_cny, profit_contribution_cny' %}
with tier as (
    select {{ columns }} from {{ ref('mart_customer_tier') }}
),

history as (
    select {{ columns }} from {{ ref('mart_customer_tier_history') }}
    where as_of_date = {{ as_of_date() }}
),

only_in_tier as (
    select * from tier
    except all
    select * from history
),

only_in_history as (
    select * from history
    except all
    select * from tier
)

select 'mart_customer_tier' as only_in, * from only_in_tier
union all
select 'mart_customer_tier_history', * from only_in_history
