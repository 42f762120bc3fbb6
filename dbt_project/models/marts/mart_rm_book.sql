-- The relationship manager of every gold customer, per build date. A person is served by one
-- RM: all gold numbers of a person (dim_customer.person_id) get the same RM, and an RM's load
-- counts people. Deterministic, in order:
--   1. existing_relationship: the roster RM of the person's latest RM interaction (any number);
--   2. kept_from_previous_day: the RM this book gave the customer on the previous build date;
--   3. balanced_new: the least loaded RM of the customer's city (load = customers / capacity,
--      counting 1 and 2 first), customers placed by AUM descending. A city without an RM on the
--      roster draws from all RMs.
-- Incremental, delete+insert on the build date: its rows are replaced, earlier dates stay.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['as_of_date', 'customer_id'], 'unique': true},
            {'columns': ['relationship_manager_id']},
        ],
    )
}}

with tier_rules as (
    select * from {{ ref('int_customer_tier_rules') }}
),

roster as (
    select * from {{ ref('rm_roster') }}
    where is_active
),

rm_interactions as (
    select * from {{ ref('stg_channel__rm_interactions') }}
    where (interaction_ts at time zone 'Asia/Shanghai')::date <= {{ as_of_date() }}
),

gold as (
    select customer_id, coalesce(person_id, customer_id) as person_id, city, aum_cny
    from tier_rules
    where tier_code = 'gold'
),

gold_people as (
    -- A person's city is that of their largest number; people are placed by their total AUM.
    select distinct on (gold.person_id)
        gold.person_id,
        gold.city,
        sum(gold.aum_cny) over (partition by gold.person_id) as person_aum_cny
    from gold
    order by gold.person_id, gold.aum_cny desc, gold.customer_id
),

last_rm as (
    select distinct on (gold.person_id) gold.person_id, rm_interactions.rm_id
    from rm_interactions
    inner join roster on rm_interactions.rm_id = roster.rm_id
    inner join gold on rm_interactions.customer_id = gold.customer_id
    order by gold.person_id, rm_interactions.interaction_ts desc, rm_interactions.interaction_id desc
),

previous as (
    -- Yesterday's RM of the person (through any of today's gold numbers; the lowest number wins).
    {% if is_incremental() %}
    select distinct on (gold.person_id) gold.person_id, book.relationship_manager_id
    from {{ this }} as book
    inner join gold on book.customer_id = gold.customer_id
    where book.as_of_date = (select max(as_of_date) from {{ this }} where as_of_date < {{ as_of_date() }})
      and book.relationship_manager_id in (select rm_id from roster)
    order by gold.person_id, book.customer_id
    {% else %}
    select null::text as person_id, null::text as relationship_manager_id where false
    {% endif %}
),

kept as (
    select
        gold_people.person_id,
        coalesce(last_rm.rm_id, previous.relationship_manager_id) as relationship_manager_id,
        case when last_rm.rm_id is not null then 'existing_relationship' else 'kept_from_previous_day' end
            as assignment_reason
    from gold_people
    left join last_rm on gold_people.person_id = last_rm.person_id
    left join previous on gold_people.person_id = previous.person_id
    where coalesce(last_rm.rm_id, previous.relationship_manager_id) is not null
),

rm_load as (
    select roster.rm_id, roster.city, roster.capacity, count(kept.person_id) as kept_customers
    from roster
    left join kept on roster.rm_id = kept.relationship_manager_id
    group by roster.rm_id, roster.city, roster.capacity
),

to_place as (
    select
        person_id,
        pool,
        row_number() over (partition by pool order by aum_cny desc, person_id) as place_rank
    from (
        select
            gold_people.person_id,
            gold_people.person_aum_cny as aum_cny,
            case when gold_people.city in (select city from roster) then gold_people.city else '*' end as pool
        from gold_people
        where gold_people.person_id not in (select person_id from kept)
    ) as unplaced
),

slots as (
    -- Slot k of an RM is its k-th new customer; taking slots in order of the load they leave
    -- behind is the greedy "give the next customer to the least loaded RM", done as one sort.
    select
        pool_sizes.pool,
        rm_load.rm_id,
        row_number() over (
            partition by pool_sizes.pool
            order by (rm_load.kept_customers + slot.k)::numeric / rm_load.capacity, slot.k, rm_load.rm_id
        ) as slot_rank
    from (select pool, count(*) as customers from to_place group by pool) as pool_sizes
    inner join rm_load on pool_sizes.pool in (rm_load.city, '*')
    cross join lateral generate_series(1, pool_sizes.customers) as slot(k)
),

placed as (
    select to_place.person_id, slots.rm_id as relationship_manager_id, 'balanced_new' as assignment_reason
    from to_place
    inner join slots on to_place.pool = slots.pool and to_place.place_rank = slots.slot_rank
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        gold.customer_id,
        assigned.relationship_manager_id,
        roster.rm_name_zh,
        roster.city as rm_city,
        roster.branch_code as rm_branch_code,
        assigned.assignment_reason,
        gold.city as customer_city,
        gold.aum_cny,
        gold.person_id
    from gold
    left join (select * from kept union all select * from placed) as assigned
        on gold.person_id = assigned.person_id
    left join roster on assigned.relationship_manager_id = roster.rm_id
)

select * from final
