{#- Relationship managers see their own customers only. An RM logs in as the lower-cased rm_id
    (Postgres folds unquoted role names), as a member of crm_relationship_manager. The table
    owner (the transform role) is not subject to the policies. -#}
{% macro rm_row_level_security(relation, bi_role) -%}
    alter table {{ relation }} enable row level security;
    drop policy if exists rm_own_customers on {{ relation }};
    create policy rm_own_customers on {{ relation }} for select to crm_relationship_manager
        using (relationship_manager_id = upper(current_user));
    drop policy if exists bi_reads_all on {{ relation }};
    create policy bi_reads_all on {{ relation }} for select to {{ bi_role }} using (true)
{%- endmacro %}
