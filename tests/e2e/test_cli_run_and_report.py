"""`crm run` as a person runs it, then what it leaves to look at: the report (in a real browser),
`crm status`, `crm lists`, `crm docs`, the metrics views and MetricFlow.

One small bank, two runs of the real DAG through the real CLI: the first is killed during dbt,
the second must then succeed (nothing the kill left behind breaks it).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

from python_tasks import run_watch
from python_tasks.config import REPO_ROOT, Settings
from python_tasks.synthetic.bank import GenerationSpec, generate
from tests.pgtools import create_database, drop_database

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

RUN_DATE = date(2026, 9, 30)
SPEC = GenerationSpec(customers=400, days=21, seed=11, end_date=RUN_DATE)
CHROMIUM = "/usr/bin/chromium"
# Where the browser test leaves its screenshot (docs/reporting.md names it).
SCREENSHOT = REPO_ROOT / ".crm" / "test-artifacts" / "report.png"


def _crm() -> str:
    return str(Path(sys.executable).with_name("crm"))


@pytest.fixture(scope="module")
def cli_bank(pg_admin_dsn, tmp_path_factory):
    home = tmp_path_factory.mktemp("crm_cli_home")
    warehouse = create_database(pg_admin_dsn, "cli_wh")
    source = create_database(pg_admin_dsn, "cli_src")
    env = dict(os.environ, CRM_HOME=str(home), CRM_PG_DSN=warehouse, CRM_SOURCE_DSN=source)
    env.pop("CRM_LANDING_DIR", None), env.pop("CRM_EXPORT_DIR", None), env.pop("CRM_REPORTS_DIR", None)
    settings = Settings.from_env(env)
    generate(source, settings.landing_dir, SPEC)

    # Run 1: killed (SIGTERM, as `kill` or a CI timeout sends) while dbt builds.
    killed = subprocess.Popen([_crm(), "run", "--date", RUN_DATE.isoformat()], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    killed_lines = []
    deadline = time.monotonic() + 600
    for line in killed.stdout:
        killed_lines.append(line)
        if "dbt." in line and time.monotonic() < deadline:
            break
    pgid = int((settings.home / "airflow" / "run.pgid").read_text())
    killed.send_signal(signal.SIGTERM)
    killed_rc = killed.wait(60)
    killed.stdout.close()

    # Run 2: the same date again, to the end.
    second = subprocess.run([_crm(), "run", "--date", RUN_DATE.isoformat()], env=env, capture_output=True,
                            text=True, timeout=1800)
    yield {"env": env, "settings": settings, "warehouse": warehouse, "source": source, "pgid": pgid,
           "killed_rc": killed_rc, "killed_output": "".join(killed_lines), "second": second}
    drop_database(pg_admin_dsn, warehouse)
    drop_database(pg_admin_dsn, source)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_killing_crm_stops_its_airflow_process_group(cli_bank):
    assert cli_bank["killed_rc"] != 0
    assert not _group_alive(cli_bank["pgid"]), "airflow dags test outlived the killed crm"
    records = run_watch.read_runs(cli_bank["settings"])
    assert records[0].state == "killed"


def test_the_run_after_a_kill_succeeds_and_shows_progress(cli_bank):
    second = cli_bank["second"]
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    out = second.stdout
    # One line per finished task: mark, task, state, elapsed.
    assert re.search(r"✓ extract_corebank\s+success\s+\d+\.\ds", out)
    assert re.search(r"✓ quality_gate\s+success", out)
    assert re.search(r"✓ build_report\s+success", out)
    report = cli_bank["settings"].reports_dir / RUN_DATE.isoformat() / "index.html"
    assert f"Report: {report}" in out
    assert run_watch.read_runs(cli_bank["settings"])[-1].state == "success"


def test_each_run_keeps_its_own_log(cli_bank):
    logs = sorted((cli_bank["settings"].home / "logs").glob(f"crm_daily_{RUN_DATE.isoformat()}_*.log"))
    assert len(logs) == 2
    records = run_watch.read_runs(cli_bank["settings"])
    assert [r.log_path for r in records] == [str(p) for p in logs]
    assert all(p.stat().st_size > 0 for p in logs)


def test_report_holds_aggregates_only(cli_bank):
    report = (cli_bank["settings"].reports_dir / RUN_DATE.isoformat() / "index.html").read_text(encoding="utf-8")
    with psycopg.connect(cli_bank["warehouse"]) as conn:
        people = conn.execute(
            "select customer_id, full_name, mobile from marts.mart_customer_contactability "
            "where full_name is not null order by customer_id limit 50").fetchall()
    assert people
    for customer_id, name, mobile in people:
        assert f">{customer_id}<" not in report and name not in report
        assert mobile is None or mobile not in report
    assert "The 80/20 view 二八分析" in report and "Data quality 数据质量" in report
    # Opens offline: every script is inside the page, and nothing outside a script names a URL.
    assert all("src=" not in tag for tag in re.findall(r"<script\b[^>]*>", report))
    assert "https://" not in re.sub(r"<script>.*?</script>", "", report, flags=re.S)


def test_data_docs_load_nothing_from_a_cdn(cli_bank):
    docs = cli_bank["settings"].reports_dir / "data_docs"
    pages = list(docs.rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # What a page loads by itself (scripts, styles, images); links a reader may click are fine.
        assert not re.search(r"src=\"https?://|<link[^>]+href=\"https?://", text), page
    assert (docs / "static" / "vendor" / "bootstrap-table-1.19.1.min.js").exists()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian's chromium is not installed at {CHROMIUM} "
                    "(apt-get install chromium; .ci/run installs it)")
def test_report_renders_every_chart_in_chromium(cli_bank):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a test extra: make install")
    report = cli_bank["settings"].reports_dir / RUN_DATE.isoformat() / "index.html"
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(report.as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
            charts = page.evaluate("""() => Array.from(document.querySelectorAll('.chart')).map(c => {
                const plot = c.querySelector('.js-plotly-plot');
                const points = plot && plot.data ? plot.data.reduce((n, t) =>
                    n + ((t.y || t.z || t.x || []).filter(v => v !== null && v !== 0).length), 0) : 0;
                const drawn = plot ? plot.querySelectorAll('.main-svg .trace path, .main-svg .hm image').length : 0;
                return {name: c.dataset.chart, points, drawn};
            })""")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert errors == []
    names = {c["name"] for c in charts}
    assert {"tiers", "pareto", "clusters", "campaigns", "loads"} <= names
    empty = [c for c in charts if c["points"] == 0 or c["drawn"] == 0]
    assert empty == [], f"charts drawn without data: {empty}"
    assert SCREENSHOT.stat().st_size > 50_000


def test_status_names_each_stage_of_the_date(cli_bank):
    out = subprocess.run([_crm(), "status"], env=cli_bank["env"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    runs, per_date = out.stdout.split("Per business date in the warehouse")
    assert "Warehouse server: up" in runs
    assert f"{RUN_DATE.isoformat()}  success" in runs  # the last run of the date, not the killed one
    day = per_date.split(RUN_DATE.isoformat(), 1)[1]
    assert re.search(r"loaded\s+\d+ sources, [\d,]+ rows, [\d,]+ quarantined", day)
    assert re.search(r"built\s+[\d,]+ customers graded", day)
    assert re.search(r"gated\s+PASSED", day)
    assert re.search(r"exported\s+\d+ files", day)


def test_lists_shows_sizes_and_files(cli_bank):
    out = subprocess.run([_crm(), "lists", "--date", RUN_DATE.isoformat()], env=cli_bank["env"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with psycopg.connect(cli_bank["warehouse"]) as conn:
        sizes = dict(conn.execute("select campaign_code, count(*) from exports.campaign_members "
                                  "where as_of_date = %s group by 1", (RUN_DATE,)).fetchall())
        files = [r[0] for r in conn.execute("select file_path from ops.export_log where as_of_date = %s",
                                            (RUN_DATE,))]
    for campaign, n in sizes.items():
        assert re.search(rf"{campaign}\s+{n:,} customers", out.stdout)
    assert files and all(f in out.stdout for f in files)


def test_lists_of_an_unbuilt_date_says_what_to_do(cli_bank):
    out = subprocess.run([_crm(), "lists", "--date", "2026-01-02"], env=cli_bank["env"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    assert "crm run --date 2026-01-02" in out.stdout


def test_docs_builds_a_static_site(cli_bank):
    out = subprocess.run([_crm(), "docs"], env=cli_bank["env"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    index = cli_bank["settings"].reports_dir / "dbt_docs" / "index.html"
    assert index.exists() and index.stat().st_size > 100_000
    text = index.read_text(encoding="utf-8")
    assert "mart_customer_tier" in text and "metrics_tier_summary" in text  # manifest inlined: opens offline


def test_metric_views_agree_with_the_marts_and_bi_can_read_them(cli_bank):
    with psycopg.connect(cli_bank["warehouse"]) as conn:
        tiers = dict(conn.execute("select tier_code, count(*) from marts.mart_customer_tier "
                                  "where as_of_date = %s group by 1", (RUN_DATE,)).fetchall())
        view = dict(conn.execute("select tier_code, customers from marts.metrics_tier_summary "
                                 "where as_of_date = %s", (RUN_DATE,)).fetchall())
        assert view == tiers
        share = conn.execute("select top_20pct_profit_share from marts.metrics_book_summary where as_of_date = %s",
                             (RUN_DATE,)).fetchone()[0]
        assert share == conn.execute("select top_20pct_profit_share from marts.mart_pareto_summary").fetchone()[0]
        lists = dict(conn.execute("select campaign_code, list_size from marts.metrics_campaign_list_sizes "
                                  "where as_of_date = %s", (RUN_DATE,)).fetchall())
        members = dict(conn.execute("select campaign_code, count(*) from exports.campaign_members "
                                    "where as_of_date = %s group by 1", (RUN_DATE,)).fetchall())
        assert lists == members
        with conn.transaction():
            conn.execute("set local role crm_bi_reader")
            assert conn.execute("select count(*) from marts.metrics_tier_summary").fetchone()[0] == len(tiers)
            conn.execute("select count(*) from marts.metrics_campaign_list_sizes").fetchone()


@pytest.mark.skipif(shutil.which("mf", path=str(Path(sys.executable).parent)) is None,
                    reason="dbt-metricflow is not installed (make install)")
def test_metricflow_answers_as_the_views_do(cli_bank, tmp_path):
    from python_tasks.config import DBT_PROJECT_DIR
    from python_tasks.transform.dbt_build import dbt_env, run_dbt

    # mf reads <project>/target/semantic_manifest.json, which names the database it was parsed
    # for: a project copy of its own keeps other builds' parses out of this one.
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    run_dbt(cli_bank["warehouse"], ["parse"], project_dir=project)
    env = dict(dbt_env(cli_bank["warehouse"]), DBT_PROFILES_DIR=str(project))
    mf = str(Path(sys.executable).with_name("mf"))
    out = subprocess.run([mf, "query", "--metrics", "customers,profit_cny", "--group-by", "customer__tier_code",
                          "--csv", "/dev/stdout"], env=env, cwd=project, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rows = [line.split(",") for line in out.stdout.strip().splitlines() if line.count(",") == 2]
    got = {r[0]: int(float(r[1])) for r in rows if r[0] != "customer__tier_code"}
    with psycopg.connect(cli_bank["warehouse"]) as conn:
        want = dict(conn.execute("select tier_code, customers from marts.metrics_tier_summary "
                                 "where as_of_date = %s", (RUN_DATE,)).fetchall())
    assert got == want, json.dumps({"metricflow": got, "view": want})


def test_a_failed_run_names_the_task_its_log_and_the_first_error(pg_admin_dsn, tmp_path):
    from python_tasks.warehouse import Endpoints

    # A warehouse with nothing loaded: dbt's staging models find no source tables.
    warehouse = create_database(pg_admin_dsn, "cli_fail")
    settings = Settings.from_env({"CRM_HOME": str(tmp_path), "CRM_PG_DSN": warehouse})
    endpoints = Endpoints(warehouse_dsn=warehouse, source_dsn=warehouse, embedded=False)
    try:
        with pytest.raises(run_watch.RunFailed) as failed:
            run_watch.run_dag(settings, endpoints, RUN_DATE, "crm_rebuild_marts")
    finally:
        drop_database(pg_admin_dsn, warehouse)
    record = failed.value.record
    assert record.state == "failed" and record.failed_tasks[0].startswith("dbt.")
    assert "Database Error in model " in record.first_error and "does not exist" in record.first_error
    task_log = Path(record.failed_task_log)
    assert task_log.exists() and f"starting task_id={record.failed_tasks[0]}" in task_log.read_text()
    assert run_watch.read_runs(settings)[-1].failed_tasks == record.failed_tasks
    assert record.failed_tasks[0] in str(failed.value) and record.first_error in str(failed.value)
