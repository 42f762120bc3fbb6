{#- Post-hook of every snapshot: null the columns listed in the snapshot's meta.personal_columns
    in every version of every erased customer. The staging table is named through its schema
    (stg is fixed by generate_schema_name) because snapshot hooks cannot take a ref(); the
    snapshots are built after it (they select from staging). -#}
{% macro anonymise_erased() -%}
    {%- set columns = model.config.get('meta', {}).get('personal_columns', []) -%}
    {%- if columns -%}
    update {{ this }}
       set {% for c in columns %}{{ c }} = null{% if not loop.last %}, {% endif %}{% endfor %}
     where customer_id in (
            select customer_id
            from {{ api.Relation.create(database=target.database, schema='stg', identifier='stg_corebank__customers') }}
            where is_erased
         )
       and ({% for c in columns %}{{ c }} is not null{% if not loop.last %} or {% endif %}{% endfor %})
    {%- else -%}
    select 1 /* {{ this }} lists no personal columns */
    {%- endif -%}
{%- endmacro %}
