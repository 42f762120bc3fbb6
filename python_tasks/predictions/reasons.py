"""Reasons a person reads: which features moved a customer's score, in English and Chinese.

Method (documented in docs/predictions.md): a feature's contribution for one customer is the
change in the model's prediction when that feature alone is set to its training median. The
features that pushed the score most in the score's direction (up for churn risk, up for value)
are named with the customer's own value and whether it is high or low against the median.
It is a one-feature-at-a-time view: it ignores interactions, and says so in the docs.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

_WINDOW = re.compile(r"_(\d+)d$")

# Column stems and their words. A window suffix (_90d) is read into the sentence.
_WORDS: dict[str, tuple[str, str]] = {
    "txn_count": ("transactions in the last {w} days", "近{w}天交易笔数"),
    "txn_amount": ("amount transacted in the last {w} days", "近{w}天交易金额"),
    "months_inactive": ("months without activity", "不活跃月数"),
    "days_since_last_txn": ("days since the last transaction", "距上次交易天数"),
    "products_opened": ("products opened in the last {w} days", "近{w}天新开产品数"),
    "products_closed": ("products closed in the last {w} days", "近{w}天关闭产品数"),
    "product_count": ("products held", "持有产品数"),
    "tenure_days": ("days as a customer", "客户关系天数"),
    "age_years": ("age", "年龄"),
    "contacts": ("contact-centre contacts in the last {w} days", "近{w}天客服联系次数"),
    "complaints": ("complaints in the last {w} days", "近{w}天投诉次数"),
    "campaign_responses": ("campaign responses in the last {w} days", "近{w}天营销响应次数"),
    "consent_withdrawals": ("consents withdrawn in the last {w} days", "近{w}天撤回授权次数"),
    "days_since_rm_contact": ("days since the relationship manager's last contact", "距客户经理上次联系天数"),
    "profit": ("profit in the last {w} days", "近{w}天利润贡献"),
    "is_active": ("active", "活跃"),
    "card_utilisation": ("card utilisation", "信用卡额度使用率"),
    "card_utilization": ("card utilisation", "信用卡额度使用率"),
    "loan_balance": ("loan balance", "贷款余额"),
    "txn_count_trend": ("activity trend over {w} days (now against before)", "近{w}天交易笔数环比"),
    "txn_amount_trend": ("spending trend over {w} days (now against before)", "近{w}天交易金额环比"),
    "inflow": ("money in over the last {w} days", "近{w}天资金流入"),
    "outflow": ("money out over the last {w} days", "近{w}天资金流出"),
    "salary_credits": ("salary credits in the last {w} days", "近{w}天代发工资笔数"),
    "digital_share": ("share of digital transactions ({w} days)", "近{w}天线上交易占比"),
    "branch_share": ("share of branch transactions ({w} days)", "近{w}天网点交易占比"),
    "atm_share": ("share of ATM transactions ({w} days)", "近{w}天ATM交易占比"),
    "pos_share": ("share of card payments ({w} days)", "近{w}天刷卡交易占比"),
    "deposit_balance": ("deposits held", "存款及理财余额"),
    "wealth_balance": ("wealth products held", "理财余额"),
    "deposit_balance_change": ("change in deposits over {w} days", "近{w}天存款余额变化"),
    "deposit_balance_trend": ("deposits now against {w} days ago", "存款余额与{w}天前之比"),
    "card_balance": ("credit card balance owed", "信用卡欠款"),
    "card_limit": ("credit card limit", "信用卡额度"),
    "product_enquiries": ("product enquiries in the last {w} days", "近{w}天产品咨询次数"),
    "campaign_opt_outs": ("campaign opt-outs in the last {w} days", "近{w}天退订营销次数"),
    "rm_contacts": ("relationship-manager contacts in the last {w} days", "近{w}天客户经理联系次数"),
    "fee_income": ("fees paid in the last {w} days", "近{w}天手续费收入"),
    "current": ("a current account", "活期账户"),
    "term_deposit": ("a term deposit", "定期存款"),
    "wealth": ("a wealth product", "理财产品"),
    "mortgage": ("a mortgage", "住房贷款"),
    "consumer_loan": ("a consumer loan", "消费贷款"),
    "credit_card": ("a credit card", "信用卡"),
}
_PARTS: dict[str, tuple[str, str]] = {
    "balance": ("balance", "余额"), "deposit": ("deposit", "存款"), "wealth": ("wealth", "理财"),
    "total": ("total", "总"), "change": ("change", "变化"), "trend": ("trend", "趋势"),
    "ratio": ("ratio", "比率"), "share": ("share", "占比"), "channel": ("channel", "渠道"),
    "app": ("app", "手机银行"), "branch": ("branch", "网点"), "atm": ("ATM", "ATM"),
    "online": ("online", "网银"), "pos": ("card payments", "刷卡"), "phone": ("phone", "电话"),
    "card": ("card", "信用卡"), "loan": ("loan", "贷款"), "txn": ("transaction", "交易"),
    "count": ("count", "笔数"), "amount": ("amount", "金额"), "digital": ("digital", "线上"),
    "credit": ("credit", "信用"), "mortgage": ("mortgage", "房贷"), "savings": ("savings", "储蓄"),
    "current": ("current account", "活期"), "fund": ("fund", "基金"), "insurance": ("insurance", "保险"),
    "term": ("term deposit", "定期"), "cny": ("(CNY)", "（元）"), "utilisation": ("utilisation", "使用率"),
}


def words(feature: str) -> tuple[str, str]:
    """English and Chinese words for a feature column."""
    if feature.startswith("has_"):
        en, zh = words(feature.removeprefix("has_"))
        return f"holds {en}", f"持有{zh}"
    m = _WINDOW.search(feature)
    stem = feature[: m.start()] if m else feature
    window = m.group(1) if m else ""
    if stem in _WORDS:
        en, zh = _WORDS[stem]
        if "{w}" not in en and window:
            en, zh = f"{en} ({window} days)", f"{zh}（{window}天）"
        return en.format(w=window), zh.format(w=window)
    parts = stem.split("_")
    en = " ".join(_PARTS.get(p, (p, p))[0] for p in parts)
    zh = "".join(_PARTS[p][1] if p in _PARTS else f" {p} " for p in parts).strip().replace("  ", " ")
    if window:
        en, zh = f"{en} ({window} days)", f"{zh}（{window}天）"
    return en, zh


def contributions(predict: Callable[[pd.DataFrame], np.ndarray], frame: pd.DataFrame,
                  features: list[str], medians: dict[str, float]) -> np.ndarray:
    """rows x features: prediction minus prediction with that one feature at its median."""
    base = predict(frame)
    out = np.empty((len(frame), len(features)), dtype="float32")
    for j, f in enumerate(features):
        probe = frame.copy()
        probe[f] = np.float32(medians.get(f, 0.0))
        out[:, j] = base - predict(probe)
    return out


def _fmt(v: float) -> str:
    if v != v:  # NaN
        return "unknown"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")


def sentences(frame: pd.DataFrame, features: list[str], contrib: np.ndarray, medians: dict[str, float],
              top: int = 3, min_effect: float = 0.0) -> tuple[list[str], list[str]]:
    """Per row, the ``top`` features that pushed the prediction up by more than ``min_effect``,
    as '; '-joined EN and ZH text (empty when nothing moved it that much)."""
    glossary = [words(f) for f in features]
    en_out: list[str] = []
    zh_out: list[str] = []
    values = frame[features].to_numpy(dtype="float64")
    for i in range(len(frame)):
        order = np.argsort(-contrib[i], kind="stable")[:top]
        en, zh = [], []
        for j in order:
            if not contrib[i, j] > min_effect:
                break
            v = values[i, j]
            f = features[j]
            if f.startswith("has_") or f == "is_active":
                en.append(f"{glossary[j][0]}: {'yes' if v > 0 else 'no'}")
                zh.append(f"{glossary[j][1]}：{'是' if v > 0 else '否'}")
                continue
            high = v > medians.get(f, 0.0)
            en.append(f"{glossary[j][0]} {_fmt(v)} ({'high' if high else 'low'})")
            zh.append(f"{glossary[j][1]} {_fmt(v)}（{'偏高' if high else '偏低'}）")
        en_out.append("; ".join(en))
        zh_out.append("；".join(zh))
    return en_out, zh_out
