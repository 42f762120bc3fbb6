"""Training with a time split, validation on a later date beside naive baselines.

Dates (feature dates of the table, H = the label horizon):
- labelled dates: D with D + H also a feature date (the label is complete);
- validation date V: the latest labelled date;
- the validation model is fitted on labelled dates D with D + H <= the calibration date C, and
  calibrated on C, the latest date with C + H <= V: nothing it learns was known after V;
- the production model is refitted the same way on every labelled date (calibrated on V).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from python_tasks.predictions import labels, metrics, reasons
from python_tasks.predictions.drift import reference_bins
from python_tasks.predictions.features import in_population, product_types
from python_tasks.predictions.labels import HORIZON_DAYS
from python_tasks.predictions.model import CHURN, NEXT_BEST_PRODUCT, VALUE, ModelBundle, PlattCalibrated

log = logging.getLogger(__name__)

MIN_LEAVERS = 20          # fewer leavers in the training dates than this: not enough to learn from
MIN_OPENINGS = 10         # per product; products with fewer openings are not recommended
REASON_FEATURES = 8       # features whose contributions are computed per customer
RETENTION_LIST_SHARE = 0.10


class InsufficientHistory(RuntimeError):
    """Too little history to train and validate: the caller falls back to rule scores."""


@dataclass(frozen=True)
class SplitPlan:
    fit_dates: list[date]
    calibration_date: date
    validation_date: date
    final_fit_dates: list[date]

    @property
    def final_calibration_date(self) -> date:
        return self.validation_date


def _span(dates: list[date]) -> str:
    return f"{dates[0]}..{dates[-1]}" if dates else "none"


def plan_split(dates: list[date], horizon_days: int = HORIZON_DAYS) -> SplitPlan:
    dates = sorted(set(dates))
    known = set(dates)
    h = timedelta(days=horizon_days)
    labelled = [d for d in dates if d + h in known]
    if not labelled:
        raise InsufficientHistory(
            f"no feature date has its {horizon_days}-day outcome yet (feature dates {_span(dates)}): "
            f"models need at least {3 * horizon_days + 30} days of feature history")
    validation = labelled[-1]
    before = [d for d in labelled if d + h <= validation]
    if len(before) < 2:
        raise InsufficientHistory(
            f"only {len(before)} labelled feature date(s) end before the validation date {validation}: "
            f"models need at least {3 * horizon_days + 30} days of feature history ({_span(dates)} held)")
    calibration = before[-1]
    fit = [d for d in before if d + h <= calibration] or before[:-1]
    final_fit = [d for d in labelled if d < validation]
    return SplitPlan(fit, calibration, validation, final_fit)


def data_hash(frame: pd.DataFrame, features: list[str]) -> str:
    hashed = pd.util.hash_pandas_object(frame[["feature_date", "customer_id", *features]], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


def _booster(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.06, max_leaf_nodes=31,
                                          min_samples_leaf=40, l2_regularization=1.0,
                                          early_stopping=True, validation_fraction=0.15,
                                          n_iter_no_change=20, random_state=seed)


def _classifier(fit: pd.DataFrame, y_fit: np.ndarray, cal: pd.DataFrame, y_cal: np.ndarray,
                features: list[str], seed: int) -> PlattCalibrated:
    fill = {f: -1.0 for f in features if fit[f].isna().all()}
    model = PlattCalibrated(None, features, fill)  # type: ignore[arg-type]
    model.booster = _booster(seed).fit(model.inputs(fit), y_fit)
    return model.calibrate(cal, y_cal)


def _medians(frame: pd.DataFrame, features: list[str]) -> dict[str, float]:
    med = frame[features].median(numeric_only=True)
    return {f: float(med.get(f, 0.0)) if pd.notna(med.get(f)) else 0.0 for f in features}


def _top_reason_features(predict, sample: pd.DataFrame, features: list[str], medians: dict[str, float]) -> list[str]:
    contrib = reasons.contributions(predict, sample, features, medians)
    strength = np.abs(contrib).mean(axis=0)
    order = np.argsort(-strength, kind="stable")
    return [features[j] for j in order[:REASON_FEATURES] if strength[j] > 0]


def rule_flags(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Today's rule signals (mart_customer_value) reproduced on the feature table, which that mart
    flags only for the dates it is built: falling balances (deposits 20 % or more below 90 days
    earlier: deposit_balance_trend_90d < 0.8) and fading activity (transactions in the last 90
    days under half of the 90 days before: txn_count_trend_90d < 0.5). Flags whose columns the
    table lacks are left out."""
    flags: dict[str, np.ndarray] = {}
    if "deposit_balance_trend_90d" in frame:
        flags["risk_balance_falling"] = frame["deposit_balance_trend_90d"].fillna(1).to_numpy() < 0.80
    if "txn_count_trend_90d" in frame:
        flags["risk_activity_fading"] = frame["txn_count_trend_90d"].fillna(1).to_numpy() < 0.50
    if flags:
        flags["at_risk"] = np.logical_or.reduce(list(flags.values()))
    return flags


def _sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=min(n, len(frame)), random_state=seed) if len(frame) else frame


def train_churn(frame: pd.DataFrame, features: list[str], plan: SplitPlan, horizon_days: int,
                seed: int = 42) -> ModelBundle:
    y_all = labels.churn_label(frame, horizon_days)
    rows = frame[in_population(frame) & y_all.notna().to_numpy()]
    y = y_all.loc[rows.index].to_numpy()
    d = rows["feature_date"].to_numpy()
    fit, cal, val = np.isin(d, plan.fit_dates), d == plan.calibration_date, d == plan.validation_date
    if y[fit].sum() < MIN_LEAVERS:
        raise InsufficientHistory(f"only {int(y[fit].sum())} leavers in the training dates; need {MIN_LEAVERS}")
    model = _classifier(rows[fit], y[fit], rows[cal], y[cal], features, seed)
    p_val = model.predict(rows[val])
    y_val = y[val]
    figures = {"model": metrics.ranking(y_val, p_val)}
    figures["model"]["mean_predicted"] = float(p_val.mean())
    for name, flag in rule_flags(rows[val]).items():
        figures[f"rule:{name}"] = metrics.ranking(y_val, flag.astype(float))
    singles = {}
    for f in features:
        x = rows.loc[val, f].fillna(rows.loc[val, f].median()).to_numpy(dtype=float)
        if np.nanstd(x) == 0:
            continue
        r = metrics.ranking(y_val, x)
        if r["roc_auc"] < 0.5:  # the feature ranks the other way round
            r = metrics.ranking(y_val, -x)
            f = f"-{f}"
        singles[f] = r
    best = max(singles, key=lambda k: singles[k]["roc_auc"]) if singles else None
    if best:
        figures[f"best_single_feature:{best}"] = singles[best]
    figures["retention_list"] = _retention_figures(rows[val], y_val, p_val, rule_flags(rows[val]).get("at_risk"))

    final_fit = np.isin(d, plan.final_fit_dates)
    final_cal = val
    production = _classifier(rows[final_fit], y[final_fit], rows[final_cal], y[final_cal], features, seed)
    medians = _medians(rows[final_fit], features)
    sample = _sample(rows[final_cal], 2000, seed)
    reason_features = _top_reason_features(production.predict, sample, features, medians)
    ref_rows = rows[final_cal]
    return ModelBundle(
        name=CHURN, features=features, estimators={CHURN: production}, medians=medians,
        reason_features=reason_features, training_from=min(plan.final_fit_dates),
        training_to=plan.validation_date, validation_date=plan.validation_date, horizon_days=horizon_days,
        data_hash=data_hash(rows, features), training_rows=int(final_fit.sum() + final_cal.sum()),
        metrics={"validation_rows": int(val.sum()), "leavers_in_validation": int(y_val.sum()), **figures},
        reference=reference_bins(ref_rows, features, production.predict(ref_rows)),
    )


def _retention_figures(val: pd.DataFrame, y: np.ndarray, p: np.ndarray, at_risk: np.ndarray | None) -> dict:
    """The retention list as marketing would call it: profitable customers, the top 10 % by
    expected profit lost (churn probability x profit); its leaver rate against the base rate of
    profitable customers and against today's rule list of the same size."""
    profit = val["profit_90d"].fillna(0).to_numpy() if "profit_90d" in val else np.ones(len(val))
    profitable = profit > 0
    if profitable.sum() == 0:
        return {}
    size = max(1, int(RETENTION_LIST_SHARE * profitable.sum()))
    yp, pp, pr = y[profitable], p[profitable], profit[profitable]
    out = {
        "list_size": size,
        "base_rate": float(yp.mean()),
        "model_leaver_rate": metrics.list_leaver_rate(yp, pp * pr, size),
    }
    if at_risk is not None:
        # The rule list: flagged customers first, then the most profitable (as the tier mart sorts).
        out["rule_leaver_rate"] = metrics.list_leaver_rate(yp, at_risk[profitable] * 1e12 + pr, size)
    return out


def train_value(frame: pd.DataFrame, features: list[str], plan: SplitPlan, horizon_days: int,
                seed: int = 42) -> ModelBundle:
    y_all = labels.next_value_label(frame, horizon_days)
    rows = frame[in_population(frame) & y_all.notna().to_numpy()]
    y = y_all.loc[rows.index].to_numpy()
    d = rows["feature_date"].to_numpy()
    train, val = np.isin(d, [*plan.fit_dates, plan.calibration_date]), d == plan.validation_date

    def fit(mask: np.ndarray) -> HistGradientBoostingRegressor:
        # Absolute error: profit is heavy-tailed, and the ranking is what the tiers use.
        return HistGradientBoostingRegressor(loss="absolute_error", max_iter=300, learning_rate=0.06,
                                             min_samples_leaf=40, early_stopping=True,
                                             random_state=seed).fit(rows.loc[mask, features], y[mask])

    model = fit(train)
    current = rows.loc[val, "profit_90d"].fillna(0).to_numpy()
    figures = {
        "model": metrics.value_figures(y[val], model.predict(rows.loc[val, features]), current),
        "carry_forward": metrics.value_figures(y[val], current, current),
    }
    final = d <= plan.validation_date
    production = fit(final)
    medians = _medians(rows[final], features)
    sample = _sample(rows[val], 2000, seed)
    predict = lambda f: production.predict(f[features])  # noqa: E731
    return ModelBundle(
        name=VALUE, features=features, estimators={VALUE: production}, medians=medians,
        reason_features=_top_reason_features(predict, sample, features, medians),
        training_from=min(d), training_to=plan.validation_date, validation_date=plan.validation_date,
        horizon_days=horizon_days, data_hash=data_hash(rows, features), training_rows=int(final.sum()),
        metrics={"validation_rows": int(val.sum()), **figures},
        reference=reference_bins(rows[val], features, predict(rows[val])),
    )


def train_next_best_product(frame: pd.DataFrame, features: list[str], plan: SplitPlan, horizon_days: int,
                            seed: int = 42) -> ModelBundle:
    products = product_types(features)
    opened = labels.opened_labels(frame, horizon_days, products)
    pop = in_population(frame)
    d = frame["feature_date"].to_numpy()
    fit_m = np.isin(d, plan.fit_dates) & pop
    cal_m = (d == plan.calibration_date) & pop
    val_m = (d == plan.validation_date) & pop
    final_fit_m = np.isin(d, plan.final_fit_dates) & pop
    validation_models, production_models, popularity = {}, {}, {}
    for p in products:
        y = opened[p].to_numpy()
        ok = ~np.isnan(y)
        if np.nansum(y[fit_m & ok]) < MIN_OPENINGS or np.nansum(y[final_fit_m & ok]) < MIN_OPENINGS:
            log.info("next best product: %s left out (too few openings to learn from)", p)
            continue
        popularity[p] = float(np.nanmean(y[fit_m | cal_m]))
        validation_models[p] = _classifier(frame[fit_m & ok], y[fit_m & ok], frame[cal_m & ok], y[cal_m & ok],
                                           features, seed)
        production_models[p] = _classifier(frame[final_fit_m & ok], y[final_fit_m & ok], frame[val_m & ok],
                                           y[val_m & ok], features, seed)
    if not production_models:
        raise InsufficientHistory("no product type has enough past openings to learn from")
    kept = list(production_models)
    val = frame[val_m]
    held = np.column_stack([val[f"has_{p}"].fillna(0).to_numpy() > 0 for p in kept])
    truth = opened.loc[val.index, kept].to_numpy()
    model_scores = np.column_stack([validation_models[p].predict(val) for p in kept])
    pop_scores = np.tile(np.array([popularity[p] for p in kept]), (len(val), 1))
    figures = {
        "model": {f"precision_at_{k}": metrics.precision_at(truth, model_scores, held, k) for k in (1, 3)},
        "popularity": {f"precision_at_{k}": metrics.precision_at(truth, pop_scores, held, k) for k in (1, 3)},
        "openers_in_validation": int((np.nansum(truth, axis=1) > 0).sum()),
        "products": kept,
    }
    medians = _medians(frame[final_fit_m], features)
    return ModelBundle(
        name=NEXT_BEST_PRODUCT, features=features, estimators=production_models, medians=medians,
        reason_features=[], training_from=min(plan.final_fit_dates), training_to=plan.validation_date,
        validation_date=plan.validation_date, horizon_days=horizon_days,
        data_hash=data_hash(frame[final_fit_m | val_m], features), training_rows=int(final_fit_m.sum()),
        metrics=figures, reference={},
    )
