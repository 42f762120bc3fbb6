"""What a dropped file looks like before a single data line is loaded: encoding, delimiter, header.

Only the first bytes are read here; the data lines are streamed later by the loader.
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


@dataclass(frozen=True)
class FileFormat:
    encoding: str  # Python codec used to decode
    delimiter: str
    header: tuple[str, ...] | None  # None: empty file (0 bytes)
    data_offset: int  # byte offset of the first data line
    newline: bytes  # b"\n" or b"\r\n", as the header line ends

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


def read_format(path: Path, feed: Feed) -> FileFormat:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample) if feed.encoding == AUTO_ENCODING else feed.encoding
    if not sample:
        return FileFormat(encoding, ",", None, 0, b"\n")
    offset = len(codecs.BOM_UTF8) if sample.startswith(codecs.BOM_UTF8) else 0
    end = sample.find(b"\n", offset)
    if end < 0:
        if len(sample) == SAMPLE_BYTES:
            raise ValueError(f"{path}: no line break in the first {SAMPLE_BYTES} bytes; is this a CSV file?")
        end = len(sample) - 1
    raw_header = sample[offset:end + 1]
    newline = b"\r\n" if raw_header.endswith(b"\r\n") else b"\n"
    header_line = raw_header.decode(encoding, errors="replace").rstrip("\r\n")
    delimiter = detect_delimiter(header_line, feed.columns)
    header = tuple(h.strip() for h in next(csv.reader([header_line], delimiter=delimiter), []))
    if feed.encoding == AUTO_ENCODING:
        log.info("%s: detected encoding %s", path, encoding)
    return FileFormat(encoding, delimiter, header, end + 1, newline)
