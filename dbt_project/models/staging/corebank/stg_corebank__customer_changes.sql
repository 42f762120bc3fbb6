-- The feed of snap_customer_profile: customers whose current version is newer than the
-- snapshot's last capture (macros/since_last_snapshot.sql).
-- Scheduling, not lineage: ready only once int_customer_txn_days is built, so that this side
-- work runs beside int_customer_days instead of taking a thread from the facts and the
-- transaction days ahead of it. A run whose transactions fail
-- their tests leaves this for the re-run, as it leaves every customer-day and mart.
-- depends_on: {{ ref('int_customer_txn_days') }}
-- And once int_customer_balance_day is: otherwise this and its snapshot, ready first, go to dbt's
-- thread pool ahead of int_customer_days and start before it (1.7 s of the daily build at 1M
-- customers, on a replay of dbt's queue: bench/dbt_schedule_replay.py).
-- depends_on: {{ ref('int_customer_balance_day') }}
select * from {{ ref('stg_corebank__customers') }}  -- noqa: AM04
{{ since_last_snapshot('snap_customer_profile') }}
