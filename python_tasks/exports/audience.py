"""Build each campaign's list in Postgres: tier rules, suppression, channel, frequency cap."""
from __future__ import annotations

import logging
from datetime import date
from importlib.resources import files

from python_tasks.db import connect
from python_tasks.exports.catalog import Campaign, load_catalog

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
        end as left_off_because
    from marts.mart_customer_tier as tier
    left join marts.mart_customer_contactability as contact
        on contact.customer_id = tier.customer_id
    left join ml.customer_clusters as clusters
        on clusters.customer_id = tier.customer_id and clusters.as_of_date = tier.as_of_date
    left join ml.cluster_profiles as profiles
        on profiles.cluster_id = clusters.cluster_id and profiles.as_of_date = clusters.as_of_date
    where tier.as_of_date = %(as_of)s::date
      and tier.tier_code = any(%(tiers)s::text[])
      and (%(only_at_risk)s::boolean is null or tier.at_risk = %(only_at_risk)s::boolean)
)
"""


def _ensure_schema(conn) -> None:
    conn.execute(files("python_tasks.exports").joinpath("exports_schema.sql").read_text())


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
            }
            conn.execute(
                _CANDIDATES
                + """
                insert into exports.campaign_members
                    (as_of_date, campaign_code, customer_id, full_name, mobile, channel, tier_code, cluster_id, reason)
                select as_of_date, %(code)s::text, customer_id, full_name, mobile, preferred_channel, tier_code,
                       cluster_id,
                       concat_ws('; ', %(reason)s::text,
                                 case when %(use_offer)s::boolean then 'offer: ' || standard_offer end,
                                 reason_codes)
                from candidates
                where left_off_because is null
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
    log.info("campaign lists for %s: %s", as_of_date, counts)
    return counts
