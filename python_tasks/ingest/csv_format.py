"""What a dropped file looks like before a single data line is loaded: encoding, delimiter, header.

Only the first bytes are read here; the data lines are streamed later by the loader.

The header is the first of the first ``HEADER_SEARCH_LINES`` non-blank lines that names every
column of the feed (else the first non-blank line, and the loader quarantines the file for the
columns it lacks). Lines above it are kept in ``pre_header`` so the loader can quarantine them.
A file that is not text in an ASCII-compatible encoding (UTF-16 or UTF-32, a zip, an image) is
rejected whole: :class:`FileRejectedError`.
"""
from __future__ import annotations

import codecs
import csv
import logging
from dataclasses import dataclass
from pathlib import Path

from python_tasks.ingest.feeds import AUTO_ENCODING, Feed

log = logging.getLogger(__name__)

SAMPLE_BYTES = 1 << 16
HEADER_SEARCH_LINES = 10
WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
DELIMITERS = (",", ";", "\t", "|")
FALLBACK_ENCODING = "gb18030"  # a superset of GBK: what legacy Chinese systems write when not UTF-8

# Python codec -> Postgres client encoding, for COPY ... (encoding ...).
PG_ENCODINGS = {
    "utf-8": "UTF8",
    "utf_8": "UTF8",
    "utf8": "UTF8",
    "gbk": "GBK",
    "gb18030": "GB18030",
    "latin-1": "LATIN1",
    "latin1": "LATIN1",
    "iso-8859-1": "LATIN1",
    "cp1252": "WIN1252",
}


class FileRejectedError(ValueError):
    """The file is not a text CSV at all (binary, UTF-16): nothing of it can be read as lines."""


@dataclass(frozen=True)
class FileFormat:
    encoding: str  # Python codec used to decode
    delimiter: str
    header: tuple[str, ...] | None  # None: no header line (an empty file, or only blank lines)
    data_offset: int  # byte offset of the first data line
    newline: bytes  # b"\n" or b"\r\n", as the header line ends
    header_line: int = 1  # physical line number of the header
    pre_header: tuple[tuple[int, bytes], ...] = ()  # (line number, bytes) of the lines above the header

    @property
    def first_data_line(self) -> int:
        return self.header_line + 1

    @property
    def pg_encoding(self) -> str | None:
        return PG_ENCODINGS.get(codecs.lookup(self.encoding).name)


def detect_encoding(sample: bytes) -> str:
    """BOM first, then strict UTF-8 on the sample, else GB18030. Declared encodings win over this."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a multibyte character cut at the sample end is fine
        return "utf-8"
    except UnicodeDecodeError:
        return FALLBACK_ENCODING


def detect_delimiter(header_line: str, expected: tuple[str, ...]) -> str:
    """The delimiter that splits the header into the most expected column names (ties: the most fields).

    The header is the one line whose content we know, so it beats guessing from data lines.
    """
    def score(d: str) -> tuple[int, int]:
        fields = next(csv.reader([header_line], delimiter=d), [])
        return (len({f.strip() for f in fields} & set(expected)), len(fields))

    return max(DELIMITERS, key=score)


def _not_text(sample: bytes) -> str | None:
    """Why the sample cannot be a CSV in an ASCII-compatible encoding, or None."""
    if sample.startswith(WIDE_BOMS):
        return "it starts with a UTF-16/UTF-32 byte order mark; re-export it as UTF-8"
    first_line = sample.split(b"\n", 1)[0]
    if b"\x00" in first_line:
        return "its first line holds NUL bytes: binary data or UTF-16/UTF-32 text; re-export it as UTF-8 CSV"
    if b"\n" not in sample and b"\r" in sample.rstrip(b"\r"):
        return "its lines end in a bare carriage return (classic Mac OS); re-export it with LF or CRLF line ends"
    if b"\n" not in sample and len(sample) == SAMPLE_BYTES:
        return f"no line break in its first {SAMPLE_BYTES} bytes"
    return None


def _parse_header(line: bytes, encoding: str, feed: Feed) -> tuple[str, tuple[str, ...]]:
    text = line.decode(encoding, errors="replace").rstrip("\r\n")
    try:
        delimiter = detect_delimiter(text, feed.columns)
        return delimiter, tuple(h.strip() for h in next(csv.reader([text], delimiter=delimiter), []))
    except csv.Error:  # not a CSV line at all (a stray carriage return, say): names no column
        return ",", (text,)


def read_format(path: Path, feed: Feed) -> FileFormat:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if reason := _not_text(sample):
        raise FileRejectedError(f"{path} is not a text CSV file: {reason}. Nothing of it was loaded.")
    encoding = detect_encoding(sample) if feed.encoding == AUTO_ENCODING else feed.encoding
    offset = len(codecs.BOM_UTF8) if sample.startswith(codecs.BOM_UTF8) else 0
    # (line number, start offset, bytes) of the sample's first lines
    lines: list[tuple[int, int, bytes]] = []
    non_blank = 0
    while offset < len(sample) and non_blank < HEADER_SEARCH_LINES:
        end = sample.find(b"\n", offset)
        end = len(sample) - 1 if end < 0 else end
        line = sample[offset:end + 1]
        lines.append((len(lines) + 1, offset, line))
        non_blank += bool(line.strip())
        offset = end + 1
    candidates = [entry for entry in lines if entry[2].strip()]
    if not candidates:
        return FileFormat(encoding, ",", None, len(sample), b"\n", len(lines) + 1,
                          tuple((n, raw) for n, _, raw in lines))
    named = [e for e in candidates if set(feed.columns) <= set(_parse_header(e[2], encoding, feed)[1])]
    chosen = named[0] if named else candidates[0]
    if b"\x00" in (sample[:chosen[1]] if named else sample):
        raise FileRejectedError(f"{path} is not a text CSV file: NUL bytes "
                                + ("above its header" if named else "and no header naming the feed's columns")
                                + ". Nothing of it was loaded.")
    number, start, raw_header = chosen
    newline = b"\r\n" if raw_header.endswith(b"\r\n") else b"\n"
    delimiter, header = _parse_header(raw_header, encoding, feed)
    if feed.encoding == AUTO_ENCODING:
        log.info("%s: detected encoding %s", path, encoding)
    pre_header = tuple((n, raw) for n, _, raw in lines[:number - 1])
    return FileFormat(encoding, delimiter, header, start + len(raw_header), newline, number, pre_header)
