{#- Pre-hook of an incremental mart whose row rules are its table's own guards (not null and
    check constraints, a unique index) instead of tests after every append. dbt creates those
    guards only with the table, so a table created before they were declared would take bad rows
    silently: refuse to append to it, and say how to give it its guards. Reads the catalog only.
    not_null: columns that must be declared not null; checks: how many check constraints at
    least; unique: the columns of a unique index, in index order. -#}
{% macro require_table_guards(not_null=[], checks=0, unique=[]) -%}
{%- if execute and is_incremental() -%}
{%- set guards_sql -%}
select
    (select count(*) from pg_attribute
     where attrelid = '{{ this }}'::regclass and attnotnull and not attisdropped
       and attname in ({% for c in not_null %}'{{ c }}'{{ ', ' if not loop.last }}{% endfor %}{% if not not_null %}null{% endif %})),
    (select count(*) from pg_constraint where conrelid = '{{ this }}'::regclass and contype = 'c'),
    (select count(*) from pg_index
     where indrelid = '{{ this }}'::regclass and indisunique
       and array(select attname::text from unnest(indkey::int2[]) with ordinality as k(attnum, n)
                 join pg_attribute on attrelid = indrelid and pg_attribute.attnum = k.attnum
                 order by n) = array[{% for c in unique %}'{{ c }}'{{ ', ' if not loop.last }}{% endfor %}]::text[])
{%- endset -%}
{%- set row = run_query(guards_sql).rows[0] -%}
{%- if row[0] < not_null | length or row[1] < checks or (unique and row[2] == 0) -%}
{{ exceptions.raise_compiler_error(
    this ~ " lacks the guards its rows are checked by (not null on " ~ not_null | join(', ') ~ ": "
    ~ row[0] ~ " of " ~ not_null | length ~ "; check constraints: " ~ row[1] ~ " of " ~ checks
    ~ "; a unique index on (" ~ unique | join(', ') ~ "): " ~ ('yes' if row[2] > 0 else 'no')
    ~ "). It was created before they were declared: add them as the model's yml declares them (ALTER "
    ~ "TABLE ... ALTER COLUMN ... SET NOT NULL, ADD CHECK (...), CREATE UNIQUE INDEX ... (...)), then run "
    ~ "again. A --full-refresh would give them too, but drops the history the table holds.") }}
{%- endif -%}
{%- endif -%}
{%- endmacro %}
