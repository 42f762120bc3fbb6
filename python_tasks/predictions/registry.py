"""The model registry in the ``ml`` schema: save a trained bundle as a new version, load the one a
date should use. Models are joblib bytes in a bytea column beside their metadata."""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date, datetime
from importlib.resources import files

import joblib
import psycopg
import sklearn
from psycopg.types.json import Jsonb

from python_tasks.predictions.model import ModelBundle

log = logging.getLogger(__name__)

# Serialises DDL and concurrent training/scoring of the same date.
LOCK_KEY = 0x6D6C7363  # "mlsc"


def ensure_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(files("python_tasks.predictions").joinpath("schema.sql").read_text())


@dataclass(frozen=True)
class Registered:
    name: str
    version: int
    trained_as_of: date
    created_at: datetime
    bundle: ModelBundle


def _jsonable(value):
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def save(conn: psycopg.Connection, bundle: ModelBundle, trained_as_of: date) -> int:
    """Store ``bundle`` as the next version of its name; returns the version."""
    buf = io.BytesIO()
    joblib.dump(bundle, buf, compress=3)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY + 1,))
        version = conn.execute("select coalesce(max(version), 0) + 1 from ml.model_registry where model_name = %s",
                               (bundle.name,)).fetchone()[0]
        conn.execute(
            """
            insert into ml.model_registry (model_name, version, trained_as_of, training_from, training_to,
                validation_date, horizon_days, features, metrics, data_hash, training_rows, sklearn_version, model)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (bundle.name, version, trained_as_of, bundle.training_from, bundle.training_to, bundle.validation_date,
             bundle.horizon_days, Jsonb(bundle.features), Jsonb(_jsonable(bundle.metrics)), bundle.data_hash,
             bundle.training_rows, sklearn.__version__, buf.getvalue()),
        )
    log.info("registered %s version %d (%d bytes, trained as of %s)", bundle.name, version, buf.tell(), trained_as_of)
    return version


def latest(conn: psycopg.Connection, name: str, as_of: date | None = None) -> Registered | None:
    """The newest version trained on or before ``as_of`` (any date when None): a re-run of an old
    date keeps the model it had."""
    row = conn.execute(
        """
        select version, trained_as_of, created_at, sklearn_version, model from ml.model_registry
        where model_name = %s and (%s::date is null or trained_as_of <= %s::date)
        order by trained_as_of desc, version desc limit 1
        """,
        (name, as_of, as_of),
    ).fetchone()
    if row is None:
        return None
    version, trained_as_of, created_at, sk_version, blob = row
    if sk_version != sklearn.__version__:
        log.warning("%s version %d was trained with scikit-learn %s, running %s: it will be retrained",
                    name, version, sk_version, sklearn.__version__)
        return None
    return Registered(name, version, trained_as_of, created_at, joblib.load(io.BytesIO(bytes(blob))))
