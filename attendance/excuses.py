"""Excuses (leave, business trip, training, ...) as use cases: create, edit, withdraw, list.

Each function takes an open ``Session``; the caller commits (one transaction per use case).
Every change is audited (entity ``excuse``, key ``STAFFCODE:ID``). A withdrawn excuse keeps
its row with who withdrew it, when and why, but counts for nothing: the rules engine's loader
and ``api.excuses`` leave it out. A scanned document (PDF, JPEG or PNG, recognised by its
first bytes, at most ``MAX_DOCUMENT_BYTES``) is kept once per sha256 in ``excuse_document``.

Overlaps: the engine merges one person's excuses into their union (rules.md §6), so
overlapping excuses are allowed (a business trip inside a training course counts once);
only an exact duplicate of a live excuse (same person, kind, start and end) is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.parsers import DEFAULT_PLAUSIBLE_YEARS

from . import models as m
from .audit import record_change
from .bundle import _Invalid, _show, _text, column_limit
from .engine import EXCUSE_KINDS
from .errors import Conflict, InvalidInput, NotFound, UnknownStaff
from .i18n import _
from .verdicts import mark_excuse

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024  # a scanned decision of a few pages; larger is not a scan
MAX_REASON = 1000  # characters: a reason is a sentence, not a file
MAX_NAME = column_limit(m.Excuse.document_name)

#: Content types recognised by their first bytes, with the names browsers also send for them.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
           "application/x-pdf": "application/pdf"}
UNDECLARED = {"", "application/octet-stream", "binary/octet-stream"}
_NAME_JUNK = re.compile(r"[\x00-\x1f\x7f]")


class UnknownExcuse(NotFound):
    """No excuse with that id."""


@dataclass(frozen=True)
class DocumentUpload:
    """A scanned document as it arrives from a form: bytes, the file's name, the declared type."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class StoredDocument:
    """A stored document, ready to be sent back: name, recognised content type, bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ExcuseRecord:
    """One excuse as plain data, withdrawn or not (``live`` says whether it counts)."""

    id: int
    staff_code: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    reference: str
    document_name: str | None
    document_type: str | None
    document_size: int | None
    document_sha256: str | None
    live: bool
    withdrawn_at: dt.datetime | None
    withdrawn_by: str | None
    withdraw_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (times as ISO text)."""
        return {k: (v.isoformat(timespec="seconds") if isinstance(v, dt.datetime) else v)
                for k, v in asdict(self).items()}


# ------------------------------------------------------------------ validation


def _text_field(field: str, value: Any, column: Any, required: bool) -> str:
    """Text for one field, bounded by its column; the refusal names the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(_("{field}: must not be empty", field=field))
        return ""
    try:
        return _text(value, column_limit(column))
    except _Invalid as exc:
        raise InvalidInput(_("{field}: {problem}", field=field, problem=exc)) from None


def _kind(value: Any) -> str:
    kind = _text_field("kind", value, m.Excuse.kind, required=True)
    if kind not in EXCUSE_KINDS:
        raise InvalidInput(_("kind: {kind} is not a kind of excuse; expected one of {kinds}",
                             kind=_show(kind), kinds=", ".join(EXCUSE_KINDS)))
    return kind


def _moment(field: str, value: Any) -> dt.datetime:
    """A local time to the second: no time zone (times are local to the unit), no fraction."""
    if not isinstance(value, dt.datetime):
        raise InvalidInput(_("{field}: expected a date and time YYYY-MM-DDTHH:MM, got {value}",
                             field=field, value=_show(value)))
    if value.tzinfo is not None:
        raise InvalidInput(_("{field}: expected a local time without a time zone, got {value}",
                             field=field, value=value.isoformat()))
    if value.microsecond:
        raise InvalidInput(_("{field}: whole seconds only, got {value}", field=field, value=value.isoformat()))
    low, high = DEFAULT_PLAUSIBLE_YEARS
    if not low <= value.year <= high:
        raise InvalidInput(_("{field}: {value} is outside the years {low}-{high}",
                             field=field, value=value.isoformat(), low=low, high=high))
    return value


def _interval(start: Any, end: Any) -> tuple[dt.datetime, dt.datetime]:
    a, b = _moment("start", start), _moment("end", end)
    if b <= a:
        raise InvalidInput(_("end: {end} is not after start {start}",
                             end=b.isoformat(sep=" "), start=a.isoformat(sep=" ")))
    return a, b


def _reason(reason: Any) -> str:
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise InvalidInput(_("reason: a reason is required (why the excuse is withdrawn)"))
    if len(text) > MAX_REASON:
        raise InvalidInput(_("reason: at most {limit} characters, got {length}", limit=MAX_REASON, length=len(text)))
    return text


def sniff_document(data: bytes) -> tuple[str, str]:
    """(content type, file extension) of a PDF, JPEG or PNG from its first bytes; else InvalidInput."""
    for magic, content_type, extension in SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    raise InvalidInput(_("document: not a PDF, JPEG or PNG file (it starts with {start})",
                         start=_show(bytes(data[:8]))))


def _document_name(filename: Any, extension: str) -> str:
    # Browsers on Windows send a whole path; only the last part names the file.
    name = re.split(r"[\\/]", filename)[-1] if isinstance(filename, str) else ""
    name = _NAME_JUNK.sub("", name).strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(_("document: the file name is {length} characters long, at most {limit} fit",
                             length=len(name), limit=MAX_NAME))
    return name or f"document.{extension}"


def _store_document(session: Session, upload: DocumentUpload) -> tuple[str, str, str, int]:
    """Check and keep a document once per sha256: (sha256, name, content type, size)."""
    if not isinstance(upload.data, (bytes, bytearray, memoryview)):
        raise InvalidInput(_("document: expected the file's bytes"))
    size = len(upload.data)
    if size == 0:
        raise InvalidInput(_("document: the file is empty"))
    if size > MAX_DOCUMENT_BYTES:  # before hashing or sniffing: nothing more is read of it
        raise InvalidInput(_("document: {size} bytes, at most {limit} (10 MiB)", size=size, limit=MAX_DOCUMENT_BYTES))
    data = bytes(upload.data)
    content_type, extension = sniff_document(data)
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    declared = ALIASES.get(declared, declared)
    if declared not in UNDECLARED and declared != content_type:
        raise InvalidInput(_("document: declared as {declared} but the content is {content_type}",
                             declared=_show(declared), content_type=content_type))
    name = _document_name(upload.filename, extension)
    digest = hashlib.sha256(data).hexdigest()
    if session.get(m.ExcuseDocument, digest) is None:
        session.add(m.ExcuseDocument(sha256=digest, size=size, content_type=content_type, data=data))
        session.flush()
    return digest, name, content_type, size


# ------------------------------------------------------------------ reading


def _staff(session: Session, staff_code: str) -> m.Staff:
    person = session.scalar(select(m.Staff).where(m.Staff.code == staff_code))
    if person is None:
        raise UnknownStaff(_("no staff member {code!r}", code=staff_code))
    return person


def _record(excuse: m.Excuse, staff_code: str, document: tuple[str, int] | None) -> ExcuseRecord:
    return ExcuseRecord(
        id=excuse.id, staff_code=staff_code, kind=excuse.kind, start=excuse.start, end=excuse.end,
        reference=excuse.reference, document_name=excuse.document_name,
        document_type=document[0] if document else None, document_size=document[1] if document else None,
        document_sha256=excuse.document_sha256, live=excuse.withdrawn_at is None,
        withdrawn_at=excuse.withdrawn_at, withdrawn_by=excuse.withdrawn_by, withdraw_reason=excuse.withdraw_reason,
    )


def _document_facts(session: Session, digests: set[str]) -> dict[str, tuple[str, int]]:
    """Content type and size of stored documents, without loading their bytes."""
    if not digests:
        return {}
    rows = session.execute(select(m.ExcuseDocument.sha256, m.ExcuseDocument.content_type, m.ExcuseDocument.size)
                           .where(m.ExcuseDocument.sha256.in_(sorted(digests))))
    return {sha: (content_type, int(size)) for sha, content_type, size in rows}


def _excuse(session: Session, excuse_id: int, lock: bool = False) -> tuple[m.Excuse, str]:
    if isinstance(excuse_id, bool) or not isinstance(excuse_id, int):
        raise InvalidInput(_("excuse: expected an id number, got {value}", value=_show(excuse_id)))
    query = select(m.Excuse, m.Staff.code).join(m.Staff, m.Staff.id == m.Excuse.staff_id).where(m.Excuse.id == excuse_id)
    row = session.execute(query.with_for_update(of=m.Excuse) if lock else query).first()
    if row is None:
        raise UnknownExcuse(_("no excuse {id}", id=excuse_id))
    return row[0], row[1]


def _as_record(session: Session, excuse: m.Excuse, staff_code: str) -> ExcuseRecord:
    facts = _document_facts(session, {excuse.document_sha256} if excuse.document_sha256 else set())
    return _record(excuse, staff_code, facts.get(excuse.document_sha256 or ""))


def get_excuse(session: Session, excuse_id: int) -> ExcuseRecord:
    """One excuse by id, withdrawn or not (UnknownExcuse when there is none)."""
    excuse, code = _excuse(session, excuse_id)
    return _as_record(session, excuse, code)


def list_excuses(session: Session, staff_code: str, first: dt.date | None = None,
                 last: dt.date | None = None) -> list[ExcuseRecord]:
    """A person's excuses, withdrawn ones included (``live`` False), by start then id.

    With ``first``/``last`` (inclusive days) only the excuses that overlap them.
    """
    person = _staff(session, staff_code)
    query = select(m.Excuse).where(m.Excuse.staff_id == person.id)
    if first is not None:
        query = query.where(m.Excuse.end > dt.datetime.combine(first, dt.time()))
    if last is not None:
        if first is not None and last < first:
            raise InvalidInput(_("last: {last} is before first day {first}", last=last, first=first))
        query = query.where(m.Excuse.start < dt.datetime.combine(last, dt.time()) + dt.timedelta(days=1))
    rows = list(session.scalars(query.order_by(m.Excuse.start, m.Excuse.id)))
    facts = _document_facts(session, {e.document_sha256 for e in rows if e.document_sha256})
    return [_record(e, person.code, facts.get(e.document_sha256 or "")) for e in rows]


def excuse_document(session: Session, excuse_id: int) -> StoredDocument:
    """The scanned document of an excuse (NotFound when it has none)."""
    excuse, _code = _excuse(session, excuse_id)
    if excuse.document_sha256 is None:
        raise NotFound(_("excuse {id} has no document", id=excuse_id))
    doc = session.get(m.ExcuseDocument, excuse.document_sha256)
    if doc is None:  # the foreign key forbids it; a hand-edited database may not
        raise NotFound(_("excuse {id}: document {sha256} is not stored", id=excuse_id, sha256=excuse.document_sha256))
    return StoredDocument(excuse.document_name or "document", doc.content_type, doc.data)


# ------------------------------------------------------------------ changing


def _refuse_duplicate(session: Session, staff_id: int, kind: str, start: dt.datetime, end: dt.datetime,
                      staff_code: str, other_than: int | None = None) -> None:
    query = select(m.Excuse.id).where(m.Excuse.staff_id == staff_id, m.Excuse.kind == kind, m.Excuse.start == start,
                                      m.Excuse.end == end, m.Excuse.withdrawn_at.is_(None))
    if other_than is not None:
        query = query.where(m.Excuse.id != other_than)
    same = session.scalar(query.limit(1))
    if same is not None:
        raise Conflict(_("{staff} already has this excuse ({kind} {start} – {end}): excuse {id}", staff=staff_code,
                         kind=kind, start=f"{start:%Y-%m-%d %H:%M}", end=f"{end:%Y-%m-%d %H:%M}", id=same))


def create_excuse(session: Session, staff_code: str, kind: str, start: dt.datetime, end: dt.datetime,
                  reference: str, *, actor: str, document: DocumentUpload | None = None) -> ExcuseRecord:
    """Record an excuse with its document reference (and optionally the scanned document); audited."""
    kind = _kind(kind)
    start, end = _interval(start, end)
    reference = _text_field("reference", reference, m.Excuse.reference, required=True)
    person = _staff(session, staff_code)
    _refuse_duplicate(session, person.id, kind, start, end, person.code)
    excuse = m.Excuse(staff_id=person.id, kind=kind, start=start, end=end, reference=reference)
    changes: dict[str, Any] = {"staff": [None, person.code], "kind": [None, kind], "start": [None, start],
                               "end": [None, end], "reference": [None, reference]}
    if document is not None:
        digest, name, _type, _size = _store_document(session, document)
        excuse.document_sha256, excuse.document_name = digest, name
        changes.update(document_sha256=[None, digest], document_name=[None, name])
    session.add(excuse)
    session.flush()
    mark_excuse(session, person.id, start, end)
    record_change(session, actor, "create", "excuse", f"{person.code}:{excuse.id}", changes)
    return _as_record(session, excuse, person.code)


def edit_excuse(session: Session, excuse_id: int, *, actor: str, kind: str | None = None,
                start: dt.datetime | None = None, end: dt.datetime | None = None, reference: str | None = None,
                document: DocumentUpload | None = None) -> ExcuseRecord:
    """Change a live excuse's kind, interval, reference or document (None: unchanged); audited.

    A withdrawn excuse cannot be edited (Conflict): enter a new one instead.
    """
    excuse, code = _excuse(session, excuse_id, lock=True)
    if excuse.withdrawn_at is not None:
        raise Conflict(_("excuse {id} was withdrawn (at {at} by {by}): it cannot be edited", id=excuse_id,
                         at=f"{excuse.withdrawn_at:%Y-%m-%d %H:%M}", by=excuse.withdrawn_by))
    new: dict[str, Any] = {
        "kind": _kind(kind) if kind is not None else excuse.kind,
        "reference": (_text_field("reference", reference, m.Excuse.reference, required=True)
                      if reference is not None else excuse.reference),
    }
    new["start"], new["end"] = _interval(start if start is not None else excuse.start,
                                         end if end is not None else excuse.end)
    if document is not None:
        digest, name, _type, _size = _store_document(session, document)
        new["document_sha256"], new["document_name"] = digest, name
    changes = {k: [getattr(excuse, k), v] for k, v in new.items() if getattr(excuse, k) != v}
    if not changes:
        return _as_record(session, excuse, code)
    if {"kind", "start", "end"} & set(changes):
        _refuse_duplicate(session, excuse.staff_id, new["kind"], new["start"], new["end"], code, other_than=excuse.id)
    mark_excuse(session, excuse.staff_id, excuse.start, excuse.end)  # the days it covered and those it covers
    for key, (_old, value) in changes.items():
        setattr(excuse, key, value)
    mark_excuse(session, excuse.staff_id, excuse.start, excuse.end)
    session.flush()
    record_change(session, actor, "update", "excuse", f"{code}:{excuse.id}", changes)
    return _as_record(session, excuse, code)


def withdraw_excuse(session: Session, excuse_id: int, reason: str, *, actor: str) -> ExcuseRecord:
    """Withdraw an excuse: the row stays, marked with who, when and why, and counts for nothing; audited."""
    why = _reason(reason)
    excuse, code = _excuse(session, excuse_id, lock=True)
    if excuse.withdrawn_at is not None:
        raise Conflict(_("excuse {id} is already withdrawn (at {at} by {by}: {reason})", id=excuse_id,
                         at=f"{excuse.withdrawn_at:%Y-%m-%d %H:%M}", by=excuse.withdrawn_by,
                         reason=excuse.withdraw_reason))
    excuse.withdrawn_at = dt.datetime.now().replace(microsecond=0)
    excuse.withdrawn_by, excuse.withdraw_reason = actor, why
    mark_excuse(session, excuse.staff_id, excuse.start, excuse.end)
    record_change(session, actor, "withdraw", "excuse", f"{code}:{excuse.id}", {
        "reason": why, "kind": excuse.kind, "start": excuse.start, "end": excuse.end,
        "reference": excuse.reference, "withdrawn_at": [None, excuse.withdrawn_at],
    })
    session.flush()
    return _as_record(session, excuse, code)
