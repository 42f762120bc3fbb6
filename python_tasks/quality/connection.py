"""Turn the libpq DSN the rest of the project uses into a SQLAlchemy URL for GX.

The driver is psycopg 3 (``postgresql+psycopg``): it is the project's driver, it accepts exactly the
libpq keywords the DSN may carry, and GX 1.24 treats it like psycopg2 (see
``great_expectations.expectations.metrics.util.attempt_allowing_relative_error``).

GX's Postgres data source validates the URL with pydantic's ``PostgresDsn``, which demands a
network host. A unix-socket directory cannot be a URL host, so it goes in the ``host`` query
parameter, where SQLAlchemy's psycopg dialect lets it override the URL host; the URL host is then
only a placeholder that satisfies the validator and never reaches libpq.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict

DRIVERNAME = "postgresql+psycopg"
_PLACEHOLDER_HOST = "localhost"
# A host that can sit in a URL's authority: a DNS name or IPv4 address. Socket directories
# ("/run/postgresql"), abstract sockets ("@name"), host lists ("a,b") and IPv6 go to the query.
_URL_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")


def effective_params(dsn: str, connected: Mapping[str, object] | None = None) -> dict[str, str]:
    """The DSN's keywords, with host/port/user/dbname filled in from a live connection.

    ``connected`` holds what libpq actually used (``psycopg.Connection.info``); it matters when the
    DSN leaves a part to libpq defaults or ``PG*`` variables, because the SQLAlchemy URL built
    from it must not fall back to different defaults (a URL without a host means TCP localhost
    once the placeholder is in, whereas libpq would use its default socket).
    """
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    for key in ("host", "port", "user", "dbname"):
        if not params.get(key) and connected and connected.get(key):
            params[key] = str(connected[key])
    return params


def sqlalchemy_url(params: Mapping[str, str]) -> str:
    """A ``postgresql+psycopg`` URL string equivalent to the libpq keywords in ``params``.

    Built by hand rather than with ``sqlalchemy.URL.render_as_string``: SQLAlchemy leaves spaces
    and some other characters in passwords unescaped, which SQLAlchemy itself parses back fine but
    GX's pydantic validator rejects. Every component is percent-encoded here and SQLAlchemy's
    ``make_url`` decodes it again. The result carries the password: never log it.
    """
    rest = dict(params)
    user = rest.pop("user", None) or None
    password = rest.pop("password", None) or None
    dbname = rest.pop("dbname", None) or None
    host = rest.pop("host", None) or None
    port = rest.pop("port", None) or None
    if host and _URL_HOST.match(host) and (port is None or port.isdigit()):
        authority = host + (f":{port}" if port else "")
    else:
        authority = _PLACEHOLDER_HOST
        # Socket directory / host list / IPv6 and its port(s) go to libpq via the query.
        rest.update({k: v for k, v in (("host", host), ("port", port)) if v})
    if user:
        userinfo = quote(user, safe="")
        if password:
            userinfo += ":" + quote(password, safe="")
        authority = f"{userinfo}@{authority}"
    path = "/" + quote(dbname, safe="") if dbname else "/"
    # Everything else (sslmode, hostaddr, options, application_name, ...) passes straight through
    # to psycopg as connection keywords.
    query = ("?" + urlencode(sorted(rest.items()), quote_via=quote)) if rest else ""
    return f"{DRIVERNAME}://{authority}{path}{query}"
