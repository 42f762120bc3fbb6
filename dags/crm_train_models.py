"""crm_train_models: weekly retraining of the churn, value and next-best-product models on the
history up to the logical date, registered in ml.model_registry. Wiring only; the work is in
python_tasks.predictions. crm_daily scores with the newest registered models (and trains itself
when none is fresh, so a new installation needs no separate run)."""
from __future__ import annotations

from airflow.sdk import dag, task

from crm_common import DEFAULT_ARGS, MARTS, PARAMS, START_DATE, business_date, warehouse_dsn


@dag(
    dag_id="crm_train_models",
    schedule="@weekly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["crm", "ml"],
    doc_md=__doc__,
)
def crm_train_models():
    @task(inlets=[MARTS])
    def train_models() -> dict:
        from python_tasks.predictions.run import train_models as train

        result = train(warehouse_dsn(), business_date())
        return {name: {k: v for k, v in entry.items() if k != "metrics"} if isinstance(entry, dict) else entry
                for name, entry in result.items()}

    train_models()


crm_train_models()
