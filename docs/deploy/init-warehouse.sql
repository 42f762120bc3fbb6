-- The CRM warehouse database and its login roles, created once beside Airflow's metadata DB.
-- Passwords are set by the DBA afterwards (ALTER ROLE ... PASSWORD), never committed.
create database crm;
create role crm_transform login;
create role crm_bi_reader nologin;
create role crm_marketing_export nologin;
create role crm_relationship_manager nologin;
grant all privileges on database crm to crm_transform;
