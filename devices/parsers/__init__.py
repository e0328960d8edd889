"""Punch-log file parsers (ZK attlog.dat, delimited vendor exports); pure Python + pandas.

Typical use::

    pf = open_punch_file("attlog.dat")          # detects encoding, format, date order
    for chunk in pf.chunks():                    # bounded memory, in line order
        store(chunk.punches, chunk.rejected)     # punches: DataFrame of PUNCH_COLUMNS
"""

from .detect import open_punch_bytes, open_punch_file, parse_lines, read_all
from .encoding import decode_text, detect_encoding
from .types import (
    PUNCH_COLUMNS,
    DateOrder,
    FileInfo,
    MappingProfile,
    ParsedChunk,
    PunchFile,
    RejectedLine,
    UnsupportedFile,
)

__all__ = [
    "PUNCH_COLUMNS",
    "DateOrder",
    "FileInfo",
    "MappingProfile",
    "ParsedChunk",
    "PunchFile",
    "RejectedLine",
    "UnsupportedFile",
    "decode_text",
    "detect_encoding",
    "open_punch_bytes",
    "open_punch_file",
    "parse_lines",
    "read_all",
]
