"""The first test of every Airflow project: the DAG folder imports cleanly, and says what it should."""
from __future__ import annotations

import os

import pytest

from python_tasks.config import DAGS_DIR


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    from python_tasks.transform.dbt_build import parse_manifest

    parse_manifest("host=localhost dbname=crm user=postgres")  # dbt parse never connects
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import BundleDagBag

    # Like the dag processor: the bundle folder is on sys.path, so DAGs import crm_common.
    return BundleDagBag(dag_folder=str(DAGS_DIR), bundle_path=DAGS_DIR)


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}


def test_crm_daily_runs_stages_in_order(dagbag):
    dag = dagbag.dags["crm_daily"]
    assert dag is not None
    order = ["marts_ready", "cluster_customers", "score_customers", "build_campaign_lists", "quality_gate",
             "export_campaigns", "run_summary"]
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert {"extract_corebank", "load_channel_drops"} <= dag.get_task("prepare_warehouse").upstream_task_ids
    # Late data is recomputed inside the dbt build: no task after it rewrites history.
    assert "fold_late_corrections" not in dag.task_ids


def test_models_are_retrained_weekly_by_a_dag_of_their_own(dagbag):
    dag = dagbag.dags["crm_train_models"]
    assert [t.task_id for t in dag.tasks] == ["train_models"]
    assert dag.max_active_runs == 1


def test_dbt_models_are_tasks_between_load_and_marts_check(dagbag):
    dag = dagbag.dags["crm_daily"]
    dbt_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")}
    assert {"dbt.mart_customer_tier.run", "dbt.mart_customer_tier.test", "dbt.mart_customer_value.run"} <= dbt_tasks
    assert len(dbt_tasks) >= 40
    # A model's tests after the model.
    assert "dbt.mart_customer_tier.test" in dag.get_task("dbt.mart_customer_tier.run").downstream_task_ids
    before_check = dag.get_task("marts_ready").get_flat_relative_ids(upstream=True)
    assert dbt_tasks <= before_check
    assert dbt_tasks.isdisjoint(dag.get_task("prepare_warehouse").get_flat_relative_ids(upstream=True))


def test_one_dbt_build_runs_first_and_every_model_task_reports_from_it(dagbag):
    dag = dagbag.dags["crm_daily"]
    producer = dag.get_task("dbt.dbt_producer_watcher")
    assert producer.upstream_task_ids == {"prepare_warehouse"}
    assert producer.retries == 0  # a retry of the producer skips; the model tasks' retries run dbt
    sensors = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t.task_id.endswith((".run", ".test"))]
    after_build = producer.get_flat_relative_ids(upstream=False)
    assert {t.task_id for t in sensors} <= after_build
    first = [t for t in sensors if producer.task_id in t.upstream_task_ids]
    assert first and all(t.upstream_task_ids == {producer.task_id, "prepare_warehouse"} for t in first)
    assert all(t.trigger_rule == "all_done_min_one_success" for t in first)
    assert all(not getattr(t, "deferrable", False) for t in sensors)


def test_crm_daily_allows_one_build_at_a_time_and_retries(dagbag):
    dag = dagbag.dags["crm_daily"]
    assert dag.max_active_runs == 1
    retried = [t for t in dag.tasks if t.task_id != "dbt.dbt_producer_watcher"]
    assert all(t.retries == int(os.environ.get("CRM_TASK_RETRIES", "2")) for t in retried)


def test_exports_cannot_start_unless_the_gate_succeeded(dagbag):
    dag = dagbag.dags["crm_daily"]
    export = dag.get_task("export_campaigns")
    assert export.trigger_rule == "all_success"
    assert "quality_gate" in export.upstream_task_ids


def test_rebuild_marts_is_manual_and_never_exports(dagbag):
    dag = dagbag.dags["crm_rebuild_marts"]
    assert dag.schedule is None or str(dag.timetable.summary).lower() in ("none", "never")
    ids = {t.task_id for t in dag.tasks}
    assert "dbt.mart_customer_tier.run" in ids
    assert not ids & {"export_campaigns", "extract_corebank", "load_channel_drops"}
    assert dag.max_active_runs == 1


def test_dbt_tasks_get_the_business_date_from_the_environment_not_a_dbt_var(dagbag):
    # A dbt var that changes every day makes every daily build a full parse of the project.
    dag = dagbag.dags["crm_daily"]
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.") and hasattr(t, "env")]
    assert dbt_tasks
    for task in dbt_tasks:
        assert task.env.get("CRM_AS_OF_DATE") == "{{ crm_business_date(params, dag_run) }}", task.task_id
        assert "as_of_date" not in (task.vars or {}), task.task_id


@pytest.mark.parametrize("dag_id", ["crm_daily", "crm_rebuild_marts"])
def test_no_task_needs_a_logical_date(dagbag, dag_id):
    """A run triggered from the UI or the REST API has no logical date: no `ds` anywhere."""
    import inspect

    dag = dagbag.dags[dag_id]
    assert "business_date" in dag.params
    for task in dag.tasks:
        callable_ = getattr(task, "python_callable", None)
        if callable_ is not None:
            wanted = set(inspect.signature(callable_).parameters)
            assert not wanted & {"ds", "ds_nodash", "logical_date", "ts", "data_interval_start"}, task.task_id
        for field in task.template_fields:
            assert "ds }}" not in repr(getattr(task, field, None)), (task.task_id, field)


def test_a_failed_quality_gate_and_a_failed_run_alert(dagbag):
    dag = dagbag.dags["crm_daily"]

    def kinds(callbacks) -> set[str]:
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        return {getattr(c, "kind", None) for c in callbacks if c is not None}

    assert kinds(dag.on_failure_callback) == {"run_failed"}
    assert kinds(dag.get_task("quality_gate").on_failure_callback) == {"quality_gate_failed"}
    assert kinds(dagbag.dags["crm_rebuild_marts"].on_failure_callback) == {"run_failed"}


def test_build_date_is_checked_before_anything_is_loaded_or_built(dagbag):
    dag = dagbag.dags["crm_daily"]
    check = dag.get_task("check_build_date")
    assert check.upstream_task_ids == set()
    after = check.get_flat_relative_ids(upstream=False)
    assert {"extract_corebank", "wait_for_channel_drops", "prepare_warehouse", "dbt.dbt_producer_watcher"} <= after


def test_erasure_is_applied_before_the_lists_are_built(dagbag):
    dag = dagbag.dags["crm_daily"]
    erase = dag.get_task("apply_erasures")
    assert "marts_ready" in erase.upstream_task_ids
    assert "build_campaign_lists" in erase.downstream_task_ids


def test_rebuild_checks_the_build_date_before_dbt(dagbag):
    dag = dagbag.dags["crm_rebuild_marts"]
    assert "prepare_warehouse" in dag.get_task("check_build_date").downstream_task_ids
