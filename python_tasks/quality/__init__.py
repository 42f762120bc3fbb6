"""Data-quality gate run before anything is exported to marketing.

Great Expectations is imported lazily (inside :func:`run_quality_gate`), so importing this package
stays cheap for DAG parsing. Nothing here imports Airflow.
"""
from python_tasks.quality.gate import GateResult, QualityGateFailed, enforce, run_quality_gate

__all__ = ["GateResult", "QualityGateFailed", "enforce", "run_quality_gate"]
