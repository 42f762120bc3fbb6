"""Hooks the fault-injection tests use to hold a load open mid-COPY. Inert unless set.

``CRM_INGEST_TEST_BLOCK_DELAY_SECONDS``: sleep this long after each block streamed by COPY, so a
test can kill the process or the server connection while the batch is half written.
"""
from __future__ import annotations

import os
import time

ENV_BLOCK_DELAY = "CRM_INGEST_TEST_BLOCK_DELAY_SECONDS"


def block_delay() -> float:
    return float(os.environ.get(ENV_BLOCK_DELAY) or 0)


def pause_after_block(delay: float) -> None:
    if delay > 0:
        time.sleep(delay)
