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

-- The file each feed's current batch of a date came from. A file is its date, feed and content:
-- the same bytes under two dates are both loaded, and reported in ops.misfiled_files.
create table if not exists ops.file_registry (
    feed          text not null,
    logical_date  date not null,
    sha256        text not null,
    path          text not null,
    bytes         bigint not null,
    rows_read     bigint not null default 0,
    run_id        text not null,
    registered_at timestamptz not null default now(),
    primary key (feed, logical_date)
);
-- Registries keyed by sha256 alone (one row per content ever loaded) keep each date's latest file.
alter table ops.file_registry add column if not exists rows_read bigint not null default 0;
do $$
begin
    if exists (select 1 from pg_constraint where conrelid = 'ops.file_registry'::regclass and contype = 'p'
               and pg_get_constraintdef(oid) = 'PRIMARY KEY (sha256)') then
        delete from ops.file_registry r using ops.file_registry newer
        where newer.feed = r.feed and newer.logical_date = r.logical_date
          and (newer.registered_at, newer.ctid) > (r.registered_at, r.ctid);
        update ops.file_registry set rows_read = 1;  -- unknown: assume it had data lines
        alter table ops.file_registry drop constraint file_registry_pkey;
        alter table ops.file_registry add primary key (feed, logical_date);
    end if;
end
$$;
create index if not exists file_registry_sha256_idx on ops.file_registry (sha256);

-- A file whose bytes are also the current file of another date of the same feed: one of the two
-- folders holds the wrong file. Both dates are loaded; re-running a date replaces its rows here.
create table if not exists ops.misfiled_files (
    misfiled_id        bigserial primary key,
    run_id             text not null,
    logical_date       date not null,
    source             text not null,
    source_file        text not null,
    sha256             text not null,
    other_logical_date date not null,
    other_source_file  text not null,
    detected_at        timestamptz not null default now()
);
create index if not exists misfiled_files_date_idx on ops.misfiled_files (logical_date, source);

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

-- One row per file batch loaded into a raw.channel__* partition. Raw rows carry only _load_id;
-- the run, the file and its sha256 are here (raw.channel__<feed>__with_meta joins them back).
create table if not exists ops.load_batches (
    load_id       bigint generated by default as identity primary key,
    run_id        text not null,
    source        text not null,
    logical_date  date not null,
    source_file   text not null,
    file_sha256   text not null,
    path_taken    text not null,
    rows_loaded   bigint not null,
    loaded_at     timestamptz not null default now()
);
create index if not exists load_batches_date_idx on ops.load_batches (source, logical_date);
