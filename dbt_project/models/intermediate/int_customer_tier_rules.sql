-- The tier rules of the policy in force applied to every valued customer, with the reasons.
-- A person is graded once: the rules read the totals over all of a person's customer numbers
-- (dim_customer.person_id), and every number of the person gets the person's tier. Two numbers
-- of 600,000 each are one gold customer of 1,200,000, not two below the line.
-- mart_customer_tier adds the relationship manager; the rules live here so mart_rm_book can
-- read the gold customers without a cycle.
with customer_value as (
    select * from {{ ref('int_customer_value') }}
),

people as (
    select
        customer_id,
        person_id
    from {{ ref('dim_customer') }}
),

policy as (
    select
        parameter,
        value
    from {{ ref('tier_policy_parameters') }}
    where policy_version = '{{ var("tier_policy_version") }}'
),

tiers as (
    select *
    from {{ ref('tier_definitions') }}
    where policy_version = '{{ var("tier_policy_version") }}'
),

valued as (
    -- Only the columns the rules and the mart need.
    select
        customer_value.as_of_date,
        customer_value.customer_id,
        customer_value.city,
        customer_value.branch_code,
        customer_value.aum_cny,
        customer_value.profit_contribution_cny,
        customer_value.predicted_annual_profit_cny,
        customer_value.lifetime_value_cny,
        customer_value.risk_balance_falling,
        customer_value.risk_activity_fading,
        people.person_id
    from customer_value
    inner join people on customer_value.customer_id = people.customer_id
),

shared_people as (
    -- People with more than one valued number, about 1 % of them: only they need a sum. A
    -- window over every person sorted the whole valued table by person_id instead. Two steps, not
    -- one group by with the sums: the million-group hash table then holds a count, not three
    -- numeric sums.
    select person_id from valued
    group by person_id
    having count(*) > 1
),

shared_totals as (
    select
        person_id,
        count(*) as person_numbers,
        sum(aum_cny) as person_aum_cny,
        sum(profit_contribution_cny) as person_profit_contribution_cny,
        sum(predicted_annual_profit_cny) as person_predicted_annual_profit_cny
    from valued
    where person_id in (select shared_people.person_id from shared_people)
    group by person_id
),

person_totals as (
    select
        valued.*,
        coalesce(shared_totals.person_numbers, 1) as person_numbers,
        coalesce(shared_totals.person_aum_cny, valued.aum_cny) as person_aum_cny,
        coalesce(shared_totals.person_profit_contribution_cny, valued.profit_contribution_cny)
            as person_profit_contribution_cny,
        coalesce(shared_totals.person_predicted_annual_profit_cny, valued.predicted_annual_profit_cny)
            as person_predicted_annual_profit_cny
    from valued
    left join shared_totals on valued.person_id = shared_totals.person_id
),

tests as (
    select
        person_totals.*,
        person_totals.person_aum_cny >= {{ tier_param('policy', 'gold_min_aum_cny') }} as hits_gold_aum,
        person_totals.person_profit_contribution_cny
        >= {{ tier_param('policy', 'gold_min_annual_profit_cny') }} as hits_gold_profit,
        person_totals.person_profit_contribution_cny
        >= {{ tier_param('policy', 'profit_min_annual_profit_cny') }} as hits_profit,
        person_totals.person_predicted_annual_profit_cny
        >= {{ tier_param('policy', 'potential_min_predicted_profit_cny') }}
        and person_totals.person_predicted_annual_profit_cny
        >= {{ tier_param('policy', 'potential_min_uplift_ratio') }}
        * greatest(person_totals.person_profit_contribution_cny, 1)
            as hits_potential,
        person_totals.person_profit_contribution_cny < {{ tier_param('policy', 'unprofitable_max_annual_profit_cny') }}
            as hits_unprofitable
    from person_totals
),

graded as (
    select
        *,
        -- The first rule that holds decides; the order is the policy's.
        case
            when hits_gold_aum or hits_gold_profit then 'gold'
            when hits_profit then 'profit'
            when hits_potential then 'potential'
            when hits_unprofitable then 'unprofitable'
            else 'common'
        end as tier_code,
        array_to_string(array_remove(array[
            case when hits_gold_aum then 'AUM_AT_OR_ABOVE_GOLD' end,
            case when hits_gold_profit then 'PROFIT_AT_OR_ABOVE_GOLD' end,
            case when hits_profit and not (hits_gold_aum or hits_gold_profit) then 'PROFIT_AT_OR_ABOVE_PROFIT_TIER' end,
            case
                when hits_potential and not (hits_gold_aum or hits_gold_profit or hits_profit)
                    then 'PREDICTED_PROFIT_UPLIFT'
            end,
            case
                when hits_unprofitable and not (hits_gold_aum or hits_gold_profit or hits_profit or hits_potential)
                    then 'NEGATIVE_PROFIT_NO_POTENTIAL'
            end,
            case
                when not (hits_gold_aum or hits_gold_profit or hits_profit or hits_potential or hits_unprofitable)
                    then 'BELOW_PROFIT_TIER_NON_NEGATIVE'
            end,
            case when person_numbers > 1 then 'GRADED_AS_PERSON_OF_' || person_numbers || '_NUMBERS' end,
            case when risk_balance_falling then 'RISK_BALANCE_FALLING' end,
            case when risk_activity_fading then 'RISK_ACTIVITY_FADING' end
        ], null), ',') as reason_codes
    from tests
),

final as (
    select
        graded.as_of_date,
        graded.customer_id,
        graded.person_id,
        graded.city,
        graded.branch_code,
        graded.tier_code,
        tiers.tier_rank,
        tiers.display_name_en as tier_name_en,
        tiers.display_name_zh as tier_name_zh,
        tiers.service_model,
        graded.reason_codes,
        '{{ var("tier_policy_version") }}'::text as policy_version,
        graded.aum_cny,
        graded.profit_contribution_cny,
        graded.predicted_annual_profit_cny,
        graded.lifetime_value_cny,
        graded.person_numbers,
        graded.person_aum_cny,
        graded.person_profit_contribution_cny,
        graded.risk_balance_falling or graded.risk_activity_fading as at_risk
    from graded
    -- Left, not inner: a policy version whose tier_definitions lack a tier must fail the
    -- history's tier_rank not-null constraint, not drop that tier's customers from the grade.
    left join tiers on graded.tier_code = tiers.tier_code
)

select * from final
