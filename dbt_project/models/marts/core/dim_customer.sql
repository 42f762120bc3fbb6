-- One row per customer number, resolved to the person behind it (person_id) with a golden
-- record of person attributes. Survivorship rules: see _core__models.yml.
-- Incremental: a run recomputes only the persons whose numbers changed (macros/
-- dim_customer_plan.sql), every number of each, and replaces their rows; the rest stay as built.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key='customer_id',
        on_schema_change='fail',
        pre_hook="{{ dim_customer_plan() }}",
        indexes=[{'columns': ['person_id']}],
    )
}}

with customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

contacts as (
    select * from {{ ref('stg_corebank__contact_details') }}
),

keyed as (
    select
        customers.*,
        {{ person_key('customers') }} as person_key
    from customers
    {% if is_incremental() %}
    where {{ person_key('customers') }} in (select person_key from crm_dim_customer_person_keys)
    {% endif %}
),

shared_keys as (
    -- Persons with more than one number (about 1 in 100): only they need the survivorship rules;
    -- every other number is its own golden record, taken as it is without aggregating.
    select person_key from keyed group by person_key having count(*) > 1
),

shared as (
    select keyed.* from keyed inner join shared_keys on keyed.person_key = shared_keys.person_key
),

primaries as (
    -- The primary number is the one onboarded first (then the lowest number): it never changes
    -- when the person opens another number later, so person_id is stable.
    select distinct on (person_key)
        person_key,
        customer_id as primary_customer_id
    from shared
    order by person_key, onboarded_on, customer_id
),

person_profile as (
    select
        person_key,
        count(*) as person_customer_count,
        min(onboarded_on) as person_first_onboarded_on,
        bool_or(customer_status = 'active') as person_is_active,
        -- Latest non-null value wins, by the record's updated_at (then the higher number).
        (array_agg(full_name order by updated_at desc, customer_id desc) filter (where full_name is not null))[1]
            as full_name,
        (array_agg(gender order by updated_at desc, customer_id desc) filter (where gender is not null))[1]
            as gender,
        (array_agg(birth_date order by updated_at desc, customer_id desc) filter (where birth_date is not null))[1]
            as birth_date,
        (array_agg(city order by updated_at desc, customer_id desc) filter (where city is not null))[1]
            as city,
        (array_agg(occupation order by updated_at desc, customer_id desc) filter (where occupation is not null))[1]
            as occupation
    from shared
    group by person_key
),

person_contact as (
    select
        shared.person_key,
        (array_agg(contacts.mobile order by contacts.updated_at desc, contacts.customer_id desc)
            filter (where contacts.mobile is not null))[1] as mobile,
        (array_agg(contacts.email order by contacts.updated_at desc, contacts.customer_id desc)
            filter (where contacts.email is not null))[1] as email,
        (array_agg(contacts.address order by contacts.updated_at desc, contacts.customer_id desc)
            filter (where contacts.address is not null))[1] as address,
        -- The channel of the most recently changed contact record.
        (array_agg(contacts.preferred_channel order by contacts.updated_at desc, contacts.customer_id desc))[1]
            as preferred_channel,
        -- The strictest wish wins: do-not-contact on any number holds for the person.
        bool_or(contacts.do_not_contact) as do_not_contact
    from shared
    inner join contacts on shared.customer_id = contacts.customer_id
    -- Erased numbers never share a person (no resident ID): this holds for the singles below too.
    where not shared.is_erased
    group by shared.person_key
),

persons as (
    -- One golden record per person key: the shared persons by the rules above ...
    select
        shared_keys.person_key,
        primaries.primary_customer_id,
        person_profile.person_customer_count,
        person_profile.person_first_onboarded_on,
        person_profile.person_is_active,
        person_profile.full_name,
        person_profile.gender,
        person_profile.birth_date,
        person_profile.city,
        person_profile.occupation,
        person_contact.mobile,
        person_contact.email,
        person_contact.address,
        person_contact.preferred_channel,
        person_contact.do_not_contact
    from shared_keys
    inner join primaries on shared_keys.person_key = primaries.person_key
    inner join person_profile on shared_keys.person_key = person_profile.person_key
    left join person_contact on shared_keys.person_key = person_contact.person_key
    union all
    -- ... and every other number as it is: the same rules applied to one record.
    select
        keyed.person_key,
        keyed.customer_id,
        1,
        keyed.onboarded_on,
        keyed.customer_status = 'active',
        keyed.full_name,
        keyed.gender,
        keyed.birth_date,
        keyed.city,
        keyed.occupation,
        case when not keyed.is_erased then contacts.mobile end,
        case when not keyed.is_erased then contacts.email end,
        case when not keyed.is_erased then contacts.address end,
        case when not keyed.is_erased then contacts.preferred_channel end,
        case when not keyed.is_erased then contacts.do_not_contact end
    from keyed
    left join contacts on keyed.customer_id = contacts.customer_id
    where not exists (select 1 from shared_keys where shared_keys.person_key = keyed.person_key)
),

final as (
    select
        keyed.customer_id,
        'P' || persons.primary_customer_id as person_id,
        persons.primary_customer_id,
        keyed.customer_id = persons.primary_customer_id as is_primary_customer_id,
        persons.person_customer_count::integer as person_customer_count,
        keyed.is_erased,
        case when keyed.is_erased then null else persons.full_name end as full_name,
        case when keyed.is_erased then null else persons.gender::text end as gender,
        case when keyed.is_erased then null else persons.birth_date end as birth_date,
        case when keyed.is_erased then null else persons.city end as city,
        case when keyed.is_erased then null else persons.occupation end as occupation,
        case when keyed.is_erased then null else persons.mobile end as mobile,
        case when keyed.is_erased then null else persons.email end as email,
        case when keyed.is_erased then null else persons.address end as address,
        persons.preferred_channel,
        coalesce(persons.do_not_contact, false) as do_not_contact,
        keyed.branch_code,
        keyed.onboarded_on,
        persons.person_first_onboarded_on,
        keyed.customer_status,
        case when persons.person_is_active then 'active' else 'closed' end as person_status,
        keyed.updated_at,
        {{ as_of_date() }} as _logical_date
    from keyed
    inner join persons on keyed.person_key = persons.person_key
)

select * from final
