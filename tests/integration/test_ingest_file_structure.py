"""Malformed channel files against a real Postgres and the real loader: every physical line is
accounted for (loaded or quarantined with its line number and reason), or the whole file is
rejected with an audit row and an error naming it. Never a silent merge, never a bare server error."""
from __future__ import annotations

import codecs
from datetime import date

import pytest

from python_tasks.ingest.landing import FileRejectedError, load_landing
from tests.integration.test_ingest_landing import FEED, HEADER, D, audit, good, load, one, quarantine, rows, write

pytestmark = pytest.mark.integration


def data_lines(path) -> int:
    """Physical lines after the header line, as a reader of the file would count them."""
    return len(path.read_bytes().splitlines()) - 1


def test_unbalanced_quote_quarantines_its_line_and_loads_the_rest(fresh_db, tmp_path):
    body = [good(i) for i in range(1, 19)]
    body[2] = 'E00003,C3,2026-09-30T10:00:00+08:00,"an opening quote never closed\n'  # line 4
    path = write(tmp_path, HEADER + "".join(body))
    result = load(fresh_db, FEED, path)
    assert (result.read, result.loaded, result.quarantined) == (18, 17, 1)
    assert quarantine(fresh_db) == [(4, "unbalanced_quote")]
    assert one(fresh_db, "select raw_line from ops.quarantine") == body[2].rstrip("\n")
    assert one(fresh_db, "select count(*) from raw.channel__events") == 17
    assert audit(fresh_db) == [(18, 17, 1, "loaded_with_quarantine")]


def test_quoted_field_spanning_lines_is_still_one_record_beside_an_unbalanced_quote(fresh_db, tmp_path):
    text = (HEADER + good(1) + 'E00002,C2,2026-09-30T10:00:00+08:00,"two\nlines"\n'
            + 'E00003,C3,2026-09-30T10:00:00+08:00,bad"quote\n' + good(4))
    result = load(fresh_db, FEED, write(tmp_path, text))
    assert (result.read, result.loaded, result.quarantined) == (4, 3, 1)
    assert quarantine(fresh_db) == [(5, "unbalanced_quote")]
    assert rows(fresh_db, "select event_id, _source_line from raw.channel__events order by 1") == [
        ("E00001", 2), ("E00002", 3), ("E00004", 6)]


@pytest.mark.parametrize("prefix", ["\n", "\r\n\n"], ids=["one_blank_line", "crlf_and_lf_blank_lines"])
def test_blank_lines_before_the_header_are_quarantined_and_the_data_loaded(fresh_db, tmp_path, prefix):
    path = write(tmp_path, prefix + HEADER + "".join(good(i) for i in range(1, 7)))
    blanks = prefix.count("\n")
    result = load(fresh_db, FEED, path)
    assert (result.read, result.loaded, result.quarantined) == (6 + blanks, 6, blanks)
    assert quarantine(fresh_db) == [(n, "blank_line") for n in range(1, blanks + 1)]
    assert one(fresh_db, "select min(_source_line) from raw.channel__events") == blanks + 2


def test_blank_and_junk_lines_in_the_data_are_quarantined(fresh_db, tmp_path):
    body = [good(i) for i in range(1, 9)]
    body[2] = "\n"  # line 4
    body[5] = "----- end of page 1 -----\n"  # line 7
    path = write(tmp_path, HEADER + "".join(body) + "\n")  # line 10: a trailing blank line
    result = load(fresh_db, FEED, path)
    assert result.read == data_lines(path) == 9
    assert (result.loaded, result.quarantined) == (6, 3)
    assert quarantine(fresh_db) == [(4, "blank_line"), (7, "wrong_column_count"), (10, "blank_line")]


def test_junk_lines_before_the_header_are_quarantined_with_their_line_numbers(fresh_db, tmp_path):
    path = write(tmp_path, "Contact centre export\nGenerated 2026-10-01 02:00\n" + HEADER
                 + "".join(good(i) for i in range(1, 5)))
    result = load(fresh_db, FEED, path)
    assert (result.read, result.loaded, result.quarantined) == (6, 4, 2)
    assert quarantine(fresh_db) == [(1, "before_header"), (2, "before_header")]
    assert one(fresh_db, "select min(_source_line) from raw.channel__events") == 4


def test_duplicate_header_name_never_loads_one_columns_values_into_another(fresh_db, tmp_path):
    header = "event_id,customer_id,event_ts,note,customer_id\n"
    body = "".join(good(i).rstrip("\n") + f",X{i}\n" for i in range(1, 6))
    result = load(fresh_db, FEED, write(tmp_path, header + body))
    assert (result.read, result.loaded, result.quarantined) == (5, 0, 5)
    assert quarantine(fresh_db) == [(n, "duplicate_column") for n in range(2, 7)]
    assert one(fresh_db, "select count(*) from raw.channel__events") == 0
    assert rows(fresh_db, "select change, column_name, severity from ops.schema_drift") == [
        ("duplicate_column", "customer_id", "error")]


def test_duplicate_name_of_an_unknown_column_is_drift_and_the_known_columns_load(fresh_db, tmp_path):
    header = "event_id,customer_id,event_ts,note,extra,extra\n"
    body = "".join(good(i).rstrip("\n") + f",a{i},b{i}\n" for i in range(1, 4))
    result = load(fresh_db, FEED, write(tmp_path, header + body))
    assert (result.read, result.loaded, result.quarantined) == (3, 3, 0)
    assert one(fresh_db, "select customer_id from raw.channel__events where event_id = 'E00002'") == "C00000002"
    assert ("duplicate_column", "extra", "warning") in rows(
        fresh_db, "select change, column_name, severity from ops.schema_drift")


def test_nul_bytes_are_quarantined_with_their_line(fresh_db, tmp_path):
    body = [good(i).encode() for i in range(1, 7)]
    body[3] = b"E00004,C4,2026-09-30T10:00:00+08:00,nul\x00inside\n"  # line 5
    result = load(fresh_db, FEED, write(tmp_path, HEADER.encode() + b"".join(body)))
    assert (result.read, result.loaded, result.quarantined) == (6, 5, 1)
    assert quarantine(fresh_db) == [(5, "nul_byte")]
    assert "\x00" not in one(fresh_db, "select raw_line from ops.quarantine")


@pytest.mark.parametrize("content", [
    codecs.BOM_UTF16_LE + (HEADER + good(1) + good(2)).encode("utf-16-le"),
    (HEADER + good(1) + good(2)).encode("utf-16-le"),
    b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
    (HEADER + good(1) + good(2)).replace("\n", "\r").encode(),
], ids=["utf16_with_bom", "utf16_without_bom", "gzip", "png", "carriage_returns_only"])
def test_binary_or_utf16_file_is_rejected_whole_audited_and_named(fresh_db, tmp_path, content):
    previous = write(tmp_path, HEADER + good(1), name="yesterday.csv")
    load(fresh_db, FEED, previous)  # the date's earlier batch stays when a re-drop is rejected
    path = write(tmp_path, content)
    with pytest.raises(FileRejectedError, match=str(path)):
        load(fresh_db, FEED, path, run_id="run-2")
    assert rows(fresh_db, "select rows_read, rows_loaded, status from ops.load_audit where run_id = 'run-2'") == [
        (0, 0, "rejected")]
    assert str(path) in one(fresh_db, "select detail from ops.load_audit where run_id = 'run-2'")
    assert one(fresh_db, "select count(*) from raw.channel__events") == 1


def test_a_rejected_file_does_not_stop_the_other_feeds_and_the_run_fails_naming_it(fresh_db, tmp_path):
    from python_tasks.ingest.feeds import FEEDS

    good_feed, bad_feed = "campaign_responses", "consent_changes"
    write(tmp_path, ",".join(FEEDS[good_feed].columns) + "\nR1,CMP1,C1,2026-09-30T10:00:00+08:00,clicked\n",
          name=f"{good_feed}.csv")
    bad = write(tmp_path, ",".join(FEEDS[bad_feed].columns).encode("utf-16"), name=f"{bad_feed}.csv")
    with pytest.raises(FileRejectedError, match=str(bad)):
        load_landing(fresh_db, tmp_path, D, "run-1", feeds=(good_feed, bad_feed))
    assert one(fresh_db, "select count(*) from raw.channel__campaign_responses") == 1
    assert rows(fresh_db, "select source, status from ops.load_audit order by source") == [
        ("landing.campaign_responses", "loaded"), ("landing.consent_changes", "rejected")]


def test_read_is_the_files_lines_for_a_mix_of_every_fault(fresh_db, tmp_path):
    """The structural count: read = physical lines after the header (one record per line here)."""
    body = [good(i).encode() for i in range(1, 41)]
    body[4] = b'E00005,C5,2026-09-30T10:00:00+08:00,"open\n'
    body[9] = b"\n"
    body[14] = b"E00015,C15,2026-09-30T10:00:00+08:00,a\x00b\n"
    body[19] = "E00020,C20,2026-09-30T10:00:00+08:00,caf\u00e9".encode("latin-1") + b"\n"
    body[24] = b"E00025,C25\n"
    body[29] = b'E00030,C30,2026-09-30T10:00:00+08:00,x"y\n'
    path = write(tmp_path, b"\n" + HEADER.encode() + b"".join(body))
    result = load(fresh_db, FEED, path)
    assert result.read == data_lines(path) == 41  # the blank line before the header counts too
    assert result.read == result.loaded + result.quarantined
    assert one(fresh_db, "select count(*) from raw.channel__events") == result.loaded
    assert [r for _, r in quarantine(fresh_db)] == ["blank_line", "unbalanced_quote", "blank_line", "nul_byte",
                                                    "invalid_encoding", "wrong_column_count", "unbalanced_quote"]


def test_other_dates_are_untouched(fresh_db, tmp_path):
    other = date(2026, 10, 1)
    load(fresh_db, FEED, write(tmp_path, HEADER + good(1), d=other), d=other)
    load(fresh_db, FEED, write(tmp_path, "\n" + HEADER + good(2)))
    assert rows(fresh_db, "select _logical_date, count(*) from raw.channel__events group by 1 order by 1") == [
        (D, 1), (other, 1)]
