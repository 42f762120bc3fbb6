"""Build each campaign's list in Postgres: tier rules, suppression, channel, frequency cap."""
from __future__ import annotations

import logging
from datetime import date
from importlib.resources import files

from python_tasks.db import connect
from python_tasks.exports.catalog import Campaign, load_catalog
from python_tasks.exports.cell_safety import FORMULA_PATTERN, PHONE_PATTERN, sql_formula_safe

log = logging.getLogger(__name__)

# Candidates of a campaign with the first reason each would be left off (null = goes on the list).
_CANDIDATES = """
with candidates as (
    select
        tier.as_of_date,
        tier.customer_id,
        tier.tier_code,
        tier.reason_codes,
        contact.full_name,
        contact.mobile,
        contact.preferred_channel,
        clusters.cluster_id,
        profiles.standard_offer,
        scores.score_source,
        scores.churn_probability,
        scores.next_best_product,
        scores.next_best_product_probability,
        case %(rank_by)s::text
            when 'expected_profit_lost' then scores.churn_probability * greatest(tier.profit_contribution_cny, 0)
            when 'predicted_uplift' then scores.predicted_annual_uplift_cny
        end as priority_cny,
        case %(rank_by)s::text
            when 'predicted_uplift' then coalesce(scores.value_reasons_en, '')
            else coalesce(scores.churn_reasons_en, '')
        end as score_reasons_en,
        case %(rank_by)s::text
            when 'predicted_uplift' then coalesce(scores.value_reasons_zh, '')
            else coalesce(scores.churn_reasons_zh, '')
        end as score_reasons_zh,
        case
            when contact.customer_id is null then 'no_contactability_record'
            when not contact.is_contactable then contact.suppression_reason
            when not (contact.preferred_channel = any(%(channels)s::text[])) then 'channel_not_used_by_campaign'
            when exists (
                select 1 from exports.campaign_members prev
                where prev.campaign_code = %(code)s::text
                  and prev.customer_id = tier.customer_id
                  and prev.as_of_date < %(as_of)s::date
                  and prev.as_of_date > %(as_of)s::date - %(cap)s::integer
            ) then 'frequency_cap'
            when %(rank_by)s::text = 'predicted_uplift' and not coalesce(scores.predicted_annual_uplift_cny > 0, false)
                then 'no_predicted_uplift'
        end as left_off_because
    from marts.mart_customer_tier as tier
    left join marts.mart_customer_contactability as contact
        on contact.customer_id = tier.customer_id
    left join ml.customer_clusters as clusters
        on clusters.customer_id = tier.customer_id and clusters.as_of_date = tier.as_of_date
    left join ml.cluster_profiles as profiles
        on profiles.cluster_id = clusters.cluster_id and profiles.as_of_date = clusters.as_of_date
    left join ml.customer_scores as scores
        on scores.customer_id = tier.customer_id and scores.as_of_date = tier.as_of_date
    where tier.as_of_date = %(as_of)s::date
      and tier.tier_code = any(%(tiers)s::text[])
      and (%(only_at_risk)s::boolean is null or tier.at_risk = %(only_at_risk)s::boolean)
)
"""


def _ensure_schema(conn) -> None:
    conn.execute(files("python_tasks.exports").joinpath("exports_schema.sql").read_text())
    conn.execute(files("python_tasks.predictions").joinpath("schema.sql").read_text())


def ensure_exports_schema(dsn: str) -> None:
    """Create the list and suppression tables (idempotent): dbt's campaign-list views read them."""
    with connect(dsn) as conn:
        _ensure_schema(conn)


def build_campaign_members(dsn: str, as_of_date: date, campaigns: list[Campaign] | None = None) -> dict[str, int]:
    """Replace the lists of ``as_of_date`` (idempotent). Returns members per campaign."""
    campaigns = campaigns if campaigns is not None else load_catalog()
    counts: dict[str, int] = {}
    with connect(dsn) as conn:
        _ensure_schema(conn)
        conn.execute("delete from exports.campaign_members where as_of_date = %s", (as_of_date,))
        conn.execute("delete from ops.export_suppressions where as_of_date = %s", (as_of_date,))
        for c in campaigns:
            params = {
                "code": c.code,
                "as_of": as_of_date,
                "cap": c.frequency_cap_days,
                "tiers": list(c.tiers),
                "channels": list(c.channels),
                "only_at_risk": c.only_at_risk,
                "reason": c.reason,
                "use_offer": c.use_cluster_offer,
                "use_product": c.offer_next_best_product,
                "rank_by": c.rank_by,
                "capacity": c.capacity,
                # Names and reasons a spreadsheet would evaluate are stored defused (cell_safety).
                "formula": FORMULA_PATTERN,
                "phone": PHONE_PATTERN,
            }
            conn.execute(
                _CANDIDATES
                + """
                insert into exports.campaign_members
                    (as_of_date, campaign_code, customer_id, full_name, mobile, channel, tier_code, cluster_id, reason,
                     score_source, churn_probability, priority_cny, next_best_product, next_best_product_probability,
                     score_reasons_en, score_reasons_zh)
                select as_of_date, %(code)s::text, customer_id,
                       """ + sql_formula_safe("full_name") + """,
                       """ + sql_formula_safe("mobile", keep_phone_numbers=True) + """,
                       preferred_channel, tier_code, cluster_id,
                       """ + sql_formula_safe("""concat_ws('; ', %(reason)s::text,
                                 case when %(use_product)s::boolean and next_best_product is not null
                                      then 'offer: ' || next_best_product
                                      when %(use_offer)s::boolean then 'offer: ' || standard_offer end,
                                 case when %(use_product)s::boolean and %(use_offer)s::boolean
                                      then 'cluster offer: ' || standard_offer end,
                                 reason_codes)""") + """,
                       coalesce(score_source, 'none'), round(churn_probability::numeric, 4),
                       round(priority_cny::numeric, 2), next_best_product,
                       round(next_best_product_probability::numeric, 4),
                       nullif(score_reasons_en, ''), nullif(score_reasons_zh, '')
                from candidates
                where left_off_because is null
                -- Highest priority first, up to the campaign's capacity (limit null: everyone).
                order by priority_cny desc nulls last, customer_id
                limit %(capacity)s
                """,
                params,
            )
            conn.execute(
                _CANDIDATES
                + """
                insert into ops.export_suppressions (as_of_date, campaign_code, reason, customers)
                select %(as_of)s::date, %(code)s::text, left_off_because, count(*)
                from candidates
                where left_off_because is not null
                group by left_off_because
                """,
                params,
            )
            counts[c.code] = conn.execute(
                "select count(*) from exports.campaign_members where as_of_date = %s and campaign_code = %s",
                (as_of_date, c.code),
            ).fetchone()[0]
            if c.capacity is not None:
                over = conn.execute(_CANDIDATES + "select count(*) from candidates where left_off_because is null",
                                    params).fetchone()[0] - counts[c.code]
                if over > 0:
                    conn.execute(
                        "insert into ops.export_suppressions (as_of_date, campaign_code, reason, customers) "
                        "values (%s, %s, 'over_capacity', %s)", (as_of_date, c.code, over))
    log.info("campaign lists for %s: %s", as_of_date, counts)
    return counts
