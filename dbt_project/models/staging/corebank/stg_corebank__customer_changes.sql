-- The feed of snap_customer_profile: customers whose current version is newer than the
-- snapshot's last capture (macros/since_last_snapshot.sql).
-- Columns are stg_corebank__customers' by design (as in stg_corebank__contact_detail_changes).
select * from {{ ref('stg_corebank__customers') }}  -- noqa: AM04
{{ since_last_snapshot('snap_customer_profile') }}
