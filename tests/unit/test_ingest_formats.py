"""Reading a drop's shape (encoding, delimiter, header) and the extract's window predicate."""
from __future__ import annotations

from datetime import date, datetime

from python_tasks.ingest import watermarks as wm
from python_tasks.ingest.corebank import key_expression, window_predicate
from python_tasks.ingest.csv_format import detect_delimiter, detect_encoding, read_format
from python_tasks.ingest.feeds import FEEDS, Feed

FEED = Feed("events", "auto", ("event_id", "customer_id", "event_ts", "note"), "event_id")


def test_delimiter_is_the_one_that_splits_the_header_into_known_columns():
    assert detect_delimiter("event_id;customer_id;event_ts;note", FEED.columns) == ";"
    assert detect_delimiter("event_id\tcustomer_id\tevent_ts\tnote", FEED.columns) == "\t"
    assert detect_delimiter("event_id,customer_id,event_ts,note", FEED.columns) == ","


def test_encoding_detection_prefers_bom_then_utf8_then_gb18030():
    assert detect_encoding(b"\xef\xbb\xbfid\n") == "utf-8"
    assert detect_encoding("备注".encode()) == "utf-8"
    assert detect_encoding("讨论理财产品配置".encode("gbk")) == "gb18030"
    assert detect_encoding("备注".encode()[:-1]) == "utf-8"  # cut mid-character at the sample end


def test_header_with_bom_and_crlf_is_read(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"\xef\xbb\xbfevent_id,customer_id,event_ts,note\r\nE1,C1,2026-09-30,x\r\n")
    fmt = read_format(path, FEED)
    assert fmt.header == FEED.columns and fmt.newline == b"\r\n" and fmt.delimiter == ","
    assert path.read_bytes()[fmt.data_offset:].startswith(b"E1,")


def test_empty_file_has_no_header(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"")
    assert read_format(path, FEED).header is None


def test_timestamp_columns_are_checked_by_default():
    assert FEEDS["consent_changes"].column_types() == {"changed_at": "timestamptz"}
    assert Feed("p", "utf-8", ("id", "amount"), "id", types=(("amount", "numeric"),)).column_types() == \
        {"amount": "numeric"}


def test_window_after_a_watermark_breaks_ties_by_key_and_is_half_open_at_the_cutoff():
    key = key_expression(["account_id", "balance_date"])
    window = wm.Window(low=wm.Position(datetime(2026, 9, 1, tzinfo=wm.BANK_TZ), "A1"), high=None,
                       cutoff=wm.end_of_day(date(2026, 9, 2)))
    text = window_predicate(window, key).as_string(None)
    assert "(updated_at, (concat_ws(" in text and ") > (" in text
    assert "updated_at < '2026-09-03 00:00:00+08:00'" in text


def test_positions_order_by_time_then_key():
    t = datetime(2026, 9, 1, tzinfo=wm.BANK_TZ)
    assert wm.Position(t, "") < wm.Position(t, "k1") < wm.Position(t, "k2")
