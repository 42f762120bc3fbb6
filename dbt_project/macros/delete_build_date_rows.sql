{#- Pre-hook of the date-effective incremental marts: a re-run of a build date first removes that
    date's rows, so the append that follows leaves exactly one run's worth (idempotent per date). -#}
{% macro delete_build_date_rows() -%}
    {% if is_incremental() %}delete from {{ this }} where as_of_date = {{ as_of_date() }}{% endif %}
{%- endmacro %}
