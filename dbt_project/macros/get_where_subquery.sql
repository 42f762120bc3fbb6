{#- A test's `where` may name the build date as {as_of_date}. dbt renders test configs when it
    parses the project, when the date is not known (see as_of_date.sql); this runs when the test
    does. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('{as_of_date}', as_of_date()) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
