-- The build dates this warehouse was built for, one row each, with the dbt invocation that last
-- built it: what the tier history reads to refuse an earlier date and what its movements name
-- as the previous build date; a pre-build date check may read it too. A model with no parent:
-- it records the run itself, so it is built first.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        unlogged=false,
        on_schema_change='fail',
    )
}}

with final as (
    select
        {{ as_of_date() }} as as_of_date,
        '{{ invocation_id }}'::text as invocation_id,
        now() as built_at
)

select * from final
