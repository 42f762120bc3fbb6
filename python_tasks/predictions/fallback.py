"""Rule scores for an installation without enough history to train on: today's value rules
(mart_customer_value's retention rate, risk signals and predicted profit), clearly labelled
score_source = 'rules' wherever they go."""
from __future__ import annotations

from datetime import date

import psycopg

RULE_SCORES = """
insert into ml.customer_scores (as_of_date, customer_id, score_source, churn_probability, churn_reasons_en,
    churn_reasons_zh, current_profit_90d_cny, predicted_profit_90d_cny, predicted_annual_uplift_cny,
    value_reasons_en, value_reasons_zh)
select
    as_of_date,
    customer_id,
    'rules',
    1 - annual_retention,
    nullif(concat_ws('; ',
        case when risk_balance_falling then 'rule: balance falling' end,
        case when risk_activity_fading then 'rule: activity fading' end), ''),
    nullif(concat_ws('；',
        case when risk_balance_falling then '规则：余额下降' end,
        case when risk_activity_fading then '规则：交易活跃度下降' end), ''),
    profit_contribution_cny / 4.0,
    predicted_annual_profit_cny / 4.0,
    predicted_annual_profit_cny - profit_contribution_cny,
    'rule: balance trend extrapolated',
    '规则：按余额趋势外推'
from marts.mart_customer_value
where as_of_date = %s
"""


def score_with_rules(conn: psycopg.Connection, as_of: date) -> int:
    """Replace the date's scores with rule scores; returns the customers scored."""
    conn.execute("delete from ml.customer_scores where as_of_date = %s", (as_of,))
    if conn.execute("select to_regclass('marts.mart_customer_value') is null").fetchone()[0]:
        return 0
    return conn.execute(RULE_SCORES, (as_of,)).rowcount
