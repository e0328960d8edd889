"""Saved column-mapping profiles for delimited exports we do not know by heart."""

from __future__ import annotations

from pathlib import Path

from devices.parsers import MappingProfile

from .bundle import BundleError, read_bundle_file

PROFILE_KEYS = set(MappingProfile.__dataclass_fields__)


def read_profile(path: str | Path) -> MappingProfile:
    """A MappingProfile from a YAML/JSON file; unknown keys are errors that name the key."""
    data = read_bundle_file(path)
    unknown = sorted(set(data) - PROFILE_KEYS)
    if unknown:
        raise BundleError([f"{path}: {key}: unknown key (allowed: {', '.join(sorted(PROFILE_KEYS))})" for key in unknown])
    data.setdefault("name", Path(path).stem)
    if "user_id" not in data:
        raise BundleError([f"{path}: user_id: missing"])
    return MappingProfile(**{k: (str(v) if k not in ("has_header",) and v is not None else v) for k, v in data.items()})
