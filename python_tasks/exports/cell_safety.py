"""Spreadsheet formula injection (OWASP "CSV injection"): the cells Excel, LibreOffice Calc and WPS
would evaluate, and how they are defused.

A cell is evaluated when its first character other than whitespace is an operator (= + - @), in
ASCII or full width (＝ ＋ － ＠: WPS and Excel's input method read them as the ASCII ones), or
when it starts with a tab, carriage return or line feed (Excel strips them, then reads what
follows). Such a cell gets a leading apostrophe: every one of the three shows it as text. One
pattern serves Python (the CSV files) and Postgres (the list table, through `~`), so both agree.
"""
from __future__ import annotations

import re

# \s and the ideographic space (U+3000), then an operator; or a leading control character.
FORMULA_PATTERN = r"^([\s\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]|[\t\r\n])"
_FORMULA = re.compile(FORMULA_PATTERN)

# A phone number with its country code (+86...) is dialled, not typed into a spreadsheet: the list
# table keeps it as it is; the CSV, which a spreadsheet opens, still defuses it.
PHONE_PATTERN = r"^\+?[0-9][0-9 -]*$"


def excel_safe(value: object) -> object:
    """``value`` with a leading apostrophe when a spreadsheet would evaluate it; else unchanged."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def sql_formula_safe(column: str, *, keep_phone_numbers: bool = False) -> str:
    """A SQL expression: ``column`` defused as :func:`excel_safe` would (params ``formula``/``phone``)."""
    keep = f" and {column} !~ %(phone)s" if keep_phone_numbers else ""
    return f"case when {column} ~ %(formula)s{keep} then '''' || {column} else {column} end"
