"""The ``ml`` schema: versioned models, per-date assignments and per-date cluster profiles."""
from __future__ import annotations

import logging
from datetime import date

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from python_tasks.clustering.features import features_to_json
from python_tasks.clustering.model import ClusterModel

log = logging.getLogger(__name__)

DDL = """
create schema if not exists ml;

create table if not exists ml.cluster_models (
    model_id        text primary key,
    fitted_at       timestamptz not null default now(),
    as_of_date      date not null,
    k               int not null,
    features        jsonb not null,
    scaler          jsonb not null,
    centroids       jsonb not null,
    selection       jsonb not null,
    silhouette      double precision,
    sample_size     int not null,
    algorithm       text not null,
    sklearn_version text not null
);
create index if not exists cluster_models_as_of_idx on ml.cluster_models (as_of_date, fitted_at);

create table if not exists ml.customer_clusters (
    as_of_date  date not null,
    customer_id text not null,
    model_id    text not null,
    cluster_id  int not null,
    distance    double precision not null,
    primary key (as_of_date, customer_id)
);

create table if not exists ml.cluster_profiles (
    as_of_date           date not null,
    model_id             text not null,
    cluster_id           int not null,
    customers            int not null,
    share                double precision not null,
    median_aum_cny       numeric,
    median_profit_cny    numeric,
    avg_digital_share    numeric,
    avg_product_count    numeric,
    median_frequency_90d numeric,
    label                text,
    standard_offer       text,
    primary key (as_of_date, cluster_id)
);
"""

# One key for all clustering runs on a database: two runs at once would race on the
# delete-then-insert of a date and on fitting twice.
RUN_LOCK_KEY = 0x636C7573  # "clus"

_MODEL_COLUMNS = (
    "model_id, fitted_at, as_of_date, k, features, scaler, centroids, selection, silhouette, "
    "sample_size, algorithm, sklearn_version"
)


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the ml tables if missing (idempotent)."""
    with conn.transaction():
        # DDL races between first runs would fail on the catalog; the run lock serialises them.
        conn.execute("select pg_advisory_xact_lock(%s)", (RUN_LOCK_KEY,))
        conn.execute(DDL)


def lock_run(conn: psycopg.Connection) -> None:
    """Serialise clustering runs; must be called inside a transaction (released at its end)."""
    conn.execute("select pg_advisory_xact_lock(%s)", (RUN_LOCK_KEY,))


def save_model(conn: psycopg.Connection, model: ClusterModel) -> None:
    """Insert the model; the id is content-addressed, so a repeat insert is a no-op."""
    conn.execute(
        """
        insert into ml.cluster_models (model_id, fitted_at, as_of_date, k, features, scaler,
            centroids, selection, silhouette, sample_size, algorithm, sklearn_version)
        values (%s, coalesce(%s, now()), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (model_id) do nothing
        """,
        (
            model.model_id,
            model.fitted_at,
            model.as_of_date,
            model.k,
            Jsonb(features_to_json(model.features)),
            Jsonb(model.scaler_json()),
            Jsonb(model.centroids_json()),
            Jsonb(model.selection),
            model.silhouette,
            model.sample_size,
            model.algorithm,
            model.sklearn_version,
        ),
    )
    log.info("stored model %s (k=%d)", model.model_id, model.k)


def _one(conn: psycopg.Connection, query: str, params: tuple) -> ClusterModel | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, params).fetchone()
    return ClusterModel.from_row(row) if row else None


def get_model(conn: psycopg.Connection, model_id: str) -> ClusterModel | None:
    return _one(
        conn, f"select {_MODEL_COLUMNS} from ml.cluster_models where model_id = %s", (model_id,)
    )


def latest_model(conn: psycopg.Connection, as_of_date: date | None = None) -> ClusterModel | None:
    """Newest model fitted for ``as_of_date`` or earlier (any date when None).

    Looking only backwards keeps a re-run of an old date on the model it used then, even after
    later dates have refitted.
    """
    newest_first = "order by as_of_date desc, fitted_at desc, model_id limit 1"
    if as_of_date is None:
        return _one(conn, f"select {_MODEL_COLUMNS} from ml.cluster_models {newest_first}", ())
    query = (
        f"select {_MODEL_COLUMNS} from ml.cluster_models where as_of_date <= %s {newest_first}"
    )
    return _one(conn, query, (as_of_date,))


def next_free_cluster_id(conn: psycopg.Connection) -> int:
    """One past the largest cluster id any model ever used, so fresh ids are never recycled."""
    row = conn.execute(
        """
        select coalesce(max((c ->> 'cluster_id')::int), -1) + 1
        from ml.cluster_models m, jsonb_array_elements(m.centroids) c
        """
    ).fetchone()
    return int(row[0]) if row else 0
