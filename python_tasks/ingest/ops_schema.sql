-- Operational bookkeeping of the loads: watermarks, audit, quarantine, file registry.
create schema if not exists raw;
create schema if not exists ops;

create table if not exists ops.watermarks (
    source        text not null,
    logical_date  date not null,
    low_wm        timestamptz not null,   -- exclusive lower bound of updated_at moved for this date
    high_wm       timestamptz not null,   -- inclusive upper bound
    rows_moved    bigint not null,
    run_id        text not null,
    loaded_at     timestamptz not null default now(),
    primary key (source, logical_date)
);

create table if not exists ops.load_audit (
    audit_id          bigserial primary key,
    run_id            text not null,
    logical_date      date not null,
    source            text not null,
    rows_read         bigint not null,
    rows_loaded       bigint not null,
    rows_quarantined  bigint not null,
    status            text not null,
    detail            text,
    started_at        timestamptz not null,
    finished_at       timestamptz not null default now(),
    constraint read_equals_loaded_plus_quarantined
        check (rows_read = rows_loaded + rows_quarantined)
);
create index if not exists load_audit_date_idx on ops.load_audit (logical_date, source);

create table if not exists ops.quarantine (
    quarantine_id  bigserial primary key,
    run_id         text not null,
    logical_date   date not null,
    source         text not null,
    source_file    text,
    line_number    bigint,
    raw_line       text,
    reason_code    text not null,
    detail         text,
    quarantined_at timestamptz not null default now()
);
create index if not exists quarantine_date_idx on ops.quarantine (logical_date, source);

create table if not exists ops.file_registry (
    sha256        text primary key,
    feed          text not null,
    logical_date  date not null,
    path          text not null,
    bytes         bigint not null,
    run_id        text not null,
    registered_at timestamptz not null default now()
);

-- The watermark is a position (updated_at, key) so rows sharing one updated_at at a boundary are
-- split by key, never lost or moved twice. Databases created before the key existed get it here.
alter table ops.watermarks add column if not exists low_key text not null default '';
alter table ops.watermarks add column if not exists high_key text not null default '';

-- Source schemas that changed under us: the load continues, the change is kept as a warning.
create table if not exists ops.schema_drift (
    drift_id      bigserial primary key,
    run_id        text not null,
    logical_date  date not null,
    source        text not null,
    source_file   text,
    change        text not null,          -- extra_column | missing_column | column_added_to_raw
    column_name   text not null,
    detail        text,
    severity      text not null default 'warning',
    detected_at   timestamptz not null default now()
);
create index if not exists schema_drift_date_idx on ops.schema_drift (logical_date, source);

-- Does a text parse as a type? PostgreSQL 16+ has pg_input_is_valid (fast, no subtransaction);
-- older servers (CRM_PG_DSN may point at 14 or 15) get the same answer from a cast attempt.
do $outer$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute $fn$
            create or replace function ops.input_is_valid(value text, type_name text) returns boolean
            language sql stable strict parallel safe
            as 'select pg_input_is_valid(value, type_name)'
        $fn$;
    else
        execute $fn$
            create or replace function ops.input_is_valid(value text, type_name text) returns boolean
            language plpgsql stable strict parallel safe
            as $body$
            begin
                execute format('select %L::%s', value, type_name);
                return true;
            exception when others then
                return false;
            end
            $body$
        $fn$;
    end if;
end
$outer$;
