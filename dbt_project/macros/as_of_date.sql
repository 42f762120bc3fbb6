{#- The business date being built, as a SQL date literal.

    It comes from CRM_AS_OF_DATE (the daily runs set it), or from an explicit `--vars
    '{as_of_date: ...}'`, which wins. Not from a project var: dbt re-parses the whole project
    whenever a --vars value changes, which would be every day (about 7 s at a million customers,
    13 s on a slow machine), while the date is only needed when a node runs. So it is read at
    execution only, where dbt does not record it for partial parsing; at parse time no query
    runs and a placeholder stands in. -#}
{% macro as_of_date() -%}
    date '{{ as_of_date_text() }}'
{%- endmacro %}

{% macro as_of_date_text() -%}
    {%- if not execute -%}
        {{- return('1900-01-01') -}}
    {%- endif -%}
    {%- set day = var('as_of_date', none) or env_var('CRM_AS_OF_DATE', '') -%}
    {%- if not day -%}
        {{ exceptions.raise_compiler_error(
            "No business date: set CRM_AS_OF_DATE=YYYY-MM-DD (or pass --vars '{as_of_date: YYYY-MM-DD}')") }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('\d{4}-\d{2}-\d{2}', day | string) -%}
        {{ exceptions.raise_compiler_error("Business date " ~ day ~ " is not YYYY-MM-DD") }}
    {%- endif -%}
    {{- return(day | string) -}}
{%- endmacro %}
