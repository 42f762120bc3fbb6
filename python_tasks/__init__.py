"""Bank CRM warehouse: the work behind the Airflow DAGs.

Nothing in this package imports Airflow; each DAG task is a thin adapter over a function here.
"""
