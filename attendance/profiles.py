"""Saved column-mapping profiles for delimited and Excel exports we do not know by heart."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.parsers import MappingProfile, ProfileError, profile_from_dict, profile_to_dict

from . import models as m
from .audit import record_change
from .bundle import BundleError, read_bundle_file
from .i18n import _
from .rejections import refusal_text


def read_profile(path: str | Path) -> MappingProfile:
    """A MappingProfile from a YAML/JSON file; unknown keys and bad values name the key."""
    data = read_bundle_file(path)
    try:
        return profile_from_dict(data, name=str(data.get("name") or Path(path).stem))
    except ProfileError as exc:
        raise BundleError([f"{path}: {refusal_text(p)}" for p in exc.problems]) from exc


def save_profile(session: Session, profile: MappingProfile, actor: str) -> None:
    """Store (or replace) a named profile so later imports can refer to it by name."""
    definition = profile_to_dict(profile)
    row = session.scalar(select(m.SavedProfile).where(m.SavedProfile.name == profile.name))
    if row is None:
        session.add(m.SavedProfile(name=profile.name, definition=definition))
        record_change(session, actor, "create", "profile", profile.name, {"definition": [None, definition]})
    elif row.definition != definition:
        record_change(session, actor, "update", "profile", profile.name, {"definition": [row.definition, definition]})
        row.definition = definition


def saved_profile(session: Session, name: str) -> MappingProfile:
    """A stored profile by name, or a clear error listing the names there are."""
    row = session.scalar(select(m.SavedProfile).where(m.SavedProfile.name == name))
    if row is None:
        names = ", ".join(session.scalars(select(m.SavedProfile.name).order_by(m.SavedProfile.name))) or _("none")
        raise BundleError([_("no saved profile {name!r} (saved: {names})", name=name, names=names)])
    try:
        return profile_from_dict(row.definition, name=name)
    except ProfileError as exc:  # stored by another version, or edited in the database by hand
        raise BundleError([_("saved profile {name!r}: {problem}", name=name, problem=refusal_text(p))
                           for p in exc.problems]) from exc
