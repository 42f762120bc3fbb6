"""Chinese identity numbers: resident IDs (GB 11643-1999) and mainland mobile numbers.

Pure functions plus vectorised generators; no database, no global random state.
"""

from __future__ import annotations

from datetime import date

import numpy as np

RESIDENT_ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11

# Prefixes of the three operators' mainland mobile ranges (China Mobile / Unicom / Telecom).
MOBILE_PREFIXES: tuple[str, ...] = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "198",
    "199",
)

_WEIGHTS = np.array(RESIDENT_ID_WEIGHTS, dtype=np.int64)
_CHECK_LOOKUP = np.array(list(CHECK_CHARS))


def resident_id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID for its first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(ch) * w for ch, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def is_valid_resident_id(rid: str) -> bool:
    """18 characters, a real calendar birth date, and the right check digit (upper-case X)."""
    if not isinstance(rid, str) or len(rid) != 18:
        return False
    first17 = rid[:17]
    if not (first17.isascii() and first17.isdigit()) or first17[0] == "0":
        return False
    try:
        date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))
    except ValueError:
        return False
    return resident_id_check_digit(first17) == rid[17]


def resident_id_check_digits(first17: np.ndarray) -> np.ndarray:
    """Vectorised check digits for an array of 17-digit strings."""
    if len(first17) == 0:
        return np.array([], dtype="<U1")
    raw = np.frombuffer("".join(first17.tolist()).encode("ascii"), dtype=np.uint8)
    digits = raw.reshape(-1, 17).astype(np.int64) - ord("0")
    return _CHECK_LOOKUP[(digits @ _WEIGHTS) % 11]


def _sequence_codes(rng: np.random.Generator, is_male: np.ndarray) -> np.ndarray:
    """3-digit order code; the last digit is odd for men and even for women."""
    n = len(is_male)
    head = rng.integers(0, 100, size=n)
    tail = rng.integers(0, 5, size=n) * 2 + is_male.astype(np.int64)
    return head * 10 + tail


def make_resident_ids(
    rng: np.random.Generator,
    region_codes: np.ndarray,
    birth_dates: np.ndarray,
    is_male: np.ndarray,
    *,
    unique: bool = True,
) -> np.ndarray:
    """Resident IDs: region code (6 digits) + birth date YYYYMMDD + order code + check digit.

    ``unique`` redraws the order code wherever two people would collide (same region and birth
    date), as the police registry would never hand out one number twice.
    """
    if len(region_codes) == 0:
        return np.array([], dtype="<U18")
    region = np.asarray(region_codes).astype(str)
    births = np.datetime_as_string(np.asarray(birth_dates, dtype="datetime64[D]"), unit="D")
    births = np.char.replace(births, "-", "")
    male = np.asarray(is_male, dtype=bool)
    seq = _sequence_codes(rng, male)
    for _ in range(100):
        first17 = np.char.add(np.char.add(region, births), np.char.zfill(seq.astype(str), 3))
        if not unique:
            break
        _, first_idx = np.unique(first17, return_index=True)
        dup = np.ones(len(first17), dtype=bool)
        dup[first_idx] = False
        if not dup.any():
            break
        seq[dup] = _sequence_codes(rng, male[dup])
    else:  # pragma: no cover - would need ~500 people sharing a region and birthday
        raise RuntimeError("could not make unique resident IDs")
    return np.char.add(first17, resident_id_check_digits(first17))


def make_mobiles(rng: np.random.Generator, n: int, *, unique: bool = True) -> np.ndarray:
    """11-digit mainland mobile numbers."""
    if n == 0:
        return np.array([], dtype="<U11")
    prefixes = np.array(MOBILE_PREFIXES)
    pick = rng.integers(0, len(prefixes), size=n)
    rest = rng.integers(0, 100_000_000, size=n)
    for _ in range(100):
        numbers = np.char.add(prefixes[pick], np.char.zfill(rest.astype(str), 8))
        if not unique:
            break
        _, first_idx = np.unique(numbers, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first_idx] = False
        if not dup.any():
            break
        rest[dup] = rng.integers(0, 100_000_000, size=int(dup.sum()))
    return numbers


def is_valid_mobile(number: str) -> bool:
    return (
        isinstance(number, str)
        and len(number) == 11
        and number.isascii()
        and number.isdigit()
        and number[:3] in MOBILE_PREFIXES
    )
