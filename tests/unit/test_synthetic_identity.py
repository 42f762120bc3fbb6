"""Resident IDs (GB 11643-1999) and mobile numbers from python_tasks.synthetic.identity."""

from __future__ import annotations

import numpy as np
import pytest

from python_tasks.synthetic.identity import (
    MOBILE_PREFIXES,
    is_valid_mobile,
    is_valid_resident_id,
    make_mobiles,
    make_resident_ids,
    resident_id_check_digit,
    resident_id_check_digits,
)


def test_known_valid_id() -> None:
    assert resident_id_check_digit("11010519491231002") == "X"
    assert is_valid_resident_id("11010519491231002X")


@pytest.mark.parametrize(
    "rid",
    [
        "110105194912310021",  # wrong check digit
        "11010519491231002x",  # the standard writes an upper-case X
        "11010519490230002X",  # 30 February
        "1101051949123100",  # too short
        "11010519491231002XX",  # too long
        "1101051949123A002X",  # not digits
        "01010519491231002X",  # no region starts with 0
    ],
)
def test_invalid_ids(rid: str) -> None:
    assert not is_valid_resident_id(rid)


def test_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        resident_id_check_digit("1101051949123100")


def test_vectorised_check_digits_match_scalar() -> None:
    rng = np.random.default_rng(7)
    first17 = np.array(["".join(map(str, rng.integers(0, 10, 17))) for _ in range(500)])
    batch = resident_id_check_digits(first17)
    assert [resident_id_check_digit(f) for f in first17] == batch.tolist()
    assert {"X"} <= set(batch.tolist())  # all 11 outcomes show up in 500 draws
    assert len(set(batch.tolist())) == 11


def test_generated_ids_are_valid_unique_and_encode_person() -> None:
    rng = np.random.default_rng(1)
    n = 5_000
    regions = rng.choice(np.array(["310115", "110105", "440305"]), size=n)
    births = np.datetime64("1950-01-01") + rng.integers(0, 365 * 55, size=n)
    male = rng.random(n) < 0.5
    ids = make_resident_ids(rng, regions, births, male)
    assert len(set(ids.tolist())) == n
    for rid, region, birth, m in zip(ids[:1000], regions, births, male, strict=False):
        assert is_valid_resident_id(rid)
        assert rid[:6] == region
        assert rid[6:14] == str(birth).replace("-", "")
        assert (int(rid[16]) % 2 == 1) == m  # odd = male, even = female
    assert all(is_valid_resident_id(r) for r in ids)


def test_ids_stay_unique_when_many_share_region_and_birthday() -> None:
    rng = np.random.default_rng(3)
    n = 300
    ids = make_resident_ids(
        rng, np.full(n, "320106"), np.full(n, np.datetime64("1990-05-05")), np.arange(n) % 2 == 0
    )
    assert len(set(ids.tolist())) == n


def test_mobiles() -> None:
    rng = np.random.default_rng(5)
    numbers = make_mobiles(rng, 20_000)
    assert len(set(numbers.tolist())) == len(numbers)
    assert all(is_valid_mobile(m) for m in numbers)
    assert {m[:2] for m in numbers} <= {"13", "15", "17", "18", "19"}
    assert {m[:3] for m in numbers} <= set(MOBILE_PREFIXES)
    assert not is_valid_mobile("1380013800")  # 10 digits
    assert not is_valid_mobile("12000138000")  # no such prefix


def test_generators_are_deterministic() -> None:
    a = make_mobiles(np.random.default_rng(9), 100)
    b = make_mobiles(np.random.default_rng(9), 100)
    assert a.tolist() == b.tolist()
