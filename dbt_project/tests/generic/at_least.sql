{#- Every value of the column is at least min_value (a dbt_utils-style check without the package). -#}
{% test at_least(model, column_name, min_value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }}
{% endtest %}
