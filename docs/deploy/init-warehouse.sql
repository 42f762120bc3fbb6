-- The CRM warehouse database and its roles, created once beside Airflow's metadata DB.
-- Run by init-warehouse.sh (psql -v): the password comes from .env (CRM_TRANSFORM_PASSWORD),
-- never from this file.
create database crm;
create role crm_transform login password :'transform_password';
-- Group roles dbt grants the marts to; people and tools log in as roles that are members.
create role crm_bi_reader nologin;
create role crm_marketing_export nologin;
create role crm_relationship_manager nologin;
grant all privileges on database crm to crm_transform;
\connect crm
grant create, usage on schema public to crm_transform;
