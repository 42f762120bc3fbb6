"""Entry point: fit or reuse a model, score every customer of a date, profile the clusters."""
from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any, Sequence

import psycopg
from psycopg import sql

from python_tasks.clustering import store
from python_tasks.clustering.features import DATE_COLUMN, FEATURES, SOURCE_TABLE
from python_tasks.clustering.fit import build_model, fit_sample, load_sample, should_refit
from python_tasks.clustering.labels import stable_cluster_ids
from python_tasks.clustering.model import ClusterModel
from python_tasks.clustering.score import score_customers
from python_tasks.clustering.summarise import refresh_profiles

log = logging.getLogger(__name__)


def _has_rows(conn: psycopg.Connection, as_of_date: date) -> bool:
    query = sql.SQL("select exists (select 1 from {} where {} = %s)").format(
        sql.Identifier(*SOURCE_TABLE), sql.Identifier(DATE_COLUMN)
    )
    row = conn.execute(query, (as_of_date,)).fetchone()
    return bool(row and row[0])


def _fit_new_model(
    conn: psycopg.Connection,
    as_of_date: date,
    anchor: ClusterModel | None,
    *,
    k: int | None,
    k_range: Sequence[int],
    sample_size: int,
    seed: int,
) -> ClusterModel:
    started = time.perf_counter()
    frame = load_sample(conn, as_of_date, sample_size=sample_size, seed=seed, features=FEATURES)
    fit = fit_sample(frame, k=k, k_range=k_range, seed=seed, features=FEATURES)
    ids = stable_cluster_ids(
        fit.kmeans.cluster_centers_,
        fit.scaler.mean_,
        fit.scaler.scale_,
        anchor,
        features_match=anchor is not None and tuple(anchor.features) == tuple(FEATURES),
        next_free_id=store.next_free_cluster_id(conn),
    )
    model = build_model(fit, as_of_date, ids, FEATURES)
    store.save_model(conn, model)
    log.info(
        "fitted %s: k=%d silhouette=%s on %d customers in %.2fs",
        model.model_id, model.k, model.silhouette, model.sample_size,
        time.perf_counter() - started,
    )
    return model


def run_clustering(
    dsn: str,
    as_of_date: date,
    *,
    k: int | None = None,
    k_range: range = range(3, 9),
    sample_size: int = 20_000,
    seed: int = 42,
    refit_after_days: int = 7,
) -> dict[str, Any]:
    """Cluster the customers of ``as_of_date`` in ``marts.mart_customer_features``.

    Refits only when there is no model on or before the date, the latest is older than
    ``refit_after_days``, or a pinned ``k`` differs from it; new models inherit cluster ids
    from the previous one. Then every customer of the date is scored in SQL and the clusters
    are profiled, all in one transaction, so re-running a date replaces it cleanly.
    """
    if sample_size < 1:
        raise ValueError("sample_size must be positive")
    with psycopg.connect(dsn, autocommit=True) as conn:
        store.ensure_schema(conn)
        with conn.transaction():
            store.lock_run(conn)
            if not _has_rows(conn, as_of_date):
                raise ValueError(
                    f"no rows in {'.'.join(SOURCE_TABLE)} for {as_of_date}: build the features first"
                )
            latest = store.latest_model(conn, as_of_date)
            refit, reason = should_refit(
                latest, as_of_date, k=k, refit_after_days=refit_after_days, features=FEATURES
            )
            log.info("%s for %s: %s", "refitting" if refit else "reusing model", as_of_date, reason)
            if refit:
                # Ids follow the model this date would otherwise have used; with none on or
                # before the date (a backfill), the newest model of any date.
                anchor = latest or store.latest_model(conn)
                model = _fit_new_model(
                    conn, as_of_date, anchor,
                    k=k, k_range=k_range, sample_size=sample_size, seed=seed,
                )
            else:
                assert latest is not None
                model = latest
            scored = score_customers(conn, model, as_of_date)
            clusters = refresh_profiles(conn, as_of_date, model.model_id)

    return {
        "model_id": model.model_id,
        "refitted": refit,
        "k": model.k,
        "silhouette": model.silhouette,
        "selection": model.selection,
        "scored": scored,
        "clusters": [
            {
                "cluster_id": p.cluster_id,
                "customers": p.customers,
                "label": name.label,
                "standard_offer": name.standard_offer,
            }
            for p, name in clusters
        ],
    }
