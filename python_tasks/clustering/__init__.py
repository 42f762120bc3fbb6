"""Customer clustering: groups of customers who share features ("common features" customers).

``run_clustering`` fits (or reuses) a StandardScaler + KMeans model on a sample, scores every
customer of a date inside Postgres, and writes readable cluster profiles with a standard
self-service offer. No Airflow here; a DAG task calls ``run_clustering``.
"""
from python_tasks.clustering.run import run_clustering

__all__ = ["run_clustering"]
