{#- dbt grants select on each relation; roles also need usage on the schema to reach it.
    Roles that do not exist yet (a dev database without python_tasks.access.ensure_roles) are skipped,
    and so is a schema not built yet: under Cosmos every node is its own dbt invocation, and the
    first ones (seeds, staging) finish before any mart exists. -#}
{% macro grant_schema_usage(schema_name, roles) -%}
    do $grant$
    declare role_name text;
    begin
        -- Cosmos tasks running at once each end with this grant; concurrent grants on one schema
        -- fail with "tuple concurrently updated". One at a time, until the transaction ends.
        perform pg_advisory_xact_lock(hashtext('crm_warehouse.grant_schema_usage'));
        if not exists (select 1 from pg_namespace where nspname = '{{ schema_name }}') then
            return;
        end if;
        foreach role_name in array array[{% for r in roles %}'{{ r }}'{% if not loop.last %}, {% endif %}{% endfor %}]
        loop
            if exists (select 1 from pg_roles where rolname = role_name) then
                execute format('grant usage on schema %I to %I', '{{ schema_name }}', role_name);
            end if;
        end loop;
    end
    $grant$
{%- endmacro %}
