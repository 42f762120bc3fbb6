create schema if not exists exports;
create schema if not exists ops;

-- Who is on which campaign list for a date. Built before the DQ gate, exported after it.
create table if not exists exports.campaign_members (
    as_of_date     date not null,
    campaign_code  text not null,
    customer_id    text not null,
    full_name      text,
    mobile         text,
    channel        text not null,
    tier_code      text not null,
    cluster_id     integer,
    reason         text,
    primary key (as_of_date, campaign_code, customer_id)
);
-- The scores behind each row (ml.customer_scores): 'model' or 'rules', and why, in words.
alter table exports.campaign_members
    add column if not exists score_source text,
    add column if not exists churn_probability double precision,
    add column if not exists priority_cny double precision,
    add column if not exists next_best_product text,
    add column if not exists next_best_product_probability double precision,
    add column if not exists score_reasons_en text,
    add column if not exists score_reasons_zh text;

-- How many were left off each list, and why: marketing asks.
create table if not exists ops.export_suppressions (
    as_of_date     date not null,
    campaign_code  text not null,
    reason         text not null,
    customers      bigint not null,
    primary key (as_of_date, campaign_code, reason)
);

create table if not exists ops.export_log (
    export_id      bigserial primary key,
    run_id         text not null,
    as_of_date     date not null,
    campaign_code  text not null,
    file_path      text not null,
    file_format    text not null,
    rows_exported  bigint not null,
    sha256         text not null,
    exported_at    timestamptz not null default now()
);

-- Marketing reads the lists and why customers were left off them (python_tasks/access.py creates
-- the role before any run; a warehouse without it grants nothing).
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'crm_marketing_export') then
        grant usage on schema exports, ops to crm_marketing_export;
        grant select on exports.campaign_members, ops.export_suppressions to crm_marketing_export;
    end if;
end
$$;
