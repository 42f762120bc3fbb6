"""Run the dbt project (staging, intermediate, marts) against the warehouse."""
