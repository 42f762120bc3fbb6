{#- The feature dates a point-in-time feature model builds in this run.

    Always the build date. On a full build, or while the model holds no date before the build
    date, also a history: every 30 days back from the build date, as far as the warehouse holds
    at least `feature_min_history_days` of transactions before the date, at most
    `feature_history_max_dates` of them. A daily run on a table that has its history builds the
    build date only. Each feature model applies it to itself (`this`), so all of them build the
    same dates. The 30 days are fixed: the feature windows (30, 90, 180, 365 days) are counted in
    whole 30-day periods (int_customer_activity_windows). -#}
{% macro feature_dates_to_build() -%}
    select (as_of.build_date - 30 * steps.k)::date as feature_date
    from (select {{ as_of_date() }} as build_date) as as_of
    cross join generate_series(0, {{ var('feature_history_max_dates') }}) as steps (k)
    where steps.k = 0
        or (
            as_of.build_date - 30 * steps.k
                >= (select min(txn_date) from {{ ref('fct_transactions') }}) + {{ var('feature_min_history_days') }}
            {% if is_incremental() %}
            and not exists (select 1 from {{ this }} where feature_date < as_of.build_date)
            {% endif %}
        )
{%- endmacro %}
