-- The feed of snap_contact_preferences: contact details whose current version is newer than
-- the snapshot's last capture (macros/since_last_snapshot.sql).
select * from {{ ref('stg_corebank__contact_details') }}  -- noqa: AM04
{{ since_last_snapshot('snap_contact_preferences') }}
