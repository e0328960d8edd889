"""Punch-log file parsers (ZK attlog.dat, CSV/HTML/xlsx vendor exports); pure Python + pandas.

Typical use::

    pf = open_punch_file("attlog.dat")          # detects encoding, format, date order
    for chunk in pf.chunks():                    # bounded memory, in line order
        store(chunk.punches, chunk.rejected)     # punches: DataFrame of PUNCH_COLUMNS
"""

from .detect import (
    FORMATS,
    PROFILE_FORMATS,
    open_punch_bytes,
    open_punch_file,
    parse_lines,
    read_all,
)
from .encoding import decode_text, detect_encoding
from .mapping import ProfileError, profile_from_dict, profile_to_dict
from .types import (
    DEFAULT_LIMITS,
    DEFAULT_PLAUSIBLE_YEARS,
    PUNCH_COLUMNS,
    DateOrder,
    FileInfo,
    MappingProfile,
    ParsedChunk,
    ParseLimits,
    PunchFile,
    RejectedLine,
    UnsupportedFile,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_PLAUSIBLE_YEARS",
    "FORMATS",
    "PROFILE_FORMATS",
    "PUNCH_COLUMNS",
    "DateOrder",
    "FileInfo",
    "MappingProfile",
    "ParseLimits",
    "ParsedChunk",
    "ProfileError",
    "PunchFile",
    "RejectedLine",
    "UnsupportedFile",
    "decode_text",
    "detect_encoding",
    "open_punch_bytes",
    "open_punch_file",
    "parse_lines",
    "profile_from_dict",
    "profile_to_dict",
    "read_all",
]
