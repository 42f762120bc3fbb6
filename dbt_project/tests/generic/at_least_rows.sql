{#- The model (or the part its `where` selects) holds at least min_rows rows: an empty build
    date fails instead of passing every row test vacuously. -#}
{% test at_least_rows(model, min_rows) %}
select count(*) as found
from {{ model }}
having count(*) < {{ min_rows }}
{% endtest %}
