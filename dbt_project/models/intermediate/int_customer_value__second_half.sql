-- int_customer_value for the second half of the customers (macros/customer_value_query.sql).
{{ config(pre_hook="{{ read_dates_by_index() }}", post_hook="{{ read_dates_by_index(false) }}") }}

{{ customer_value_query(2) }}
