-- The feed of snap_customer_profile: customers whose current version is newer than the
-- snapshot's last capture (macros/since_last_snapshot.sql).
select * from {{ ref('stg_corebank__customers') }}
{{ since_last_snapshot('snap_customer_profile') }}
