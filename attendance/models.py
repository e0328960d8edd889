"""Database models (SQLAlchemy 2 typed mappings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Punch times are compared and keyed to the second: store them in SQLite without the
# microsecond suffix so the bulk path (plain strings) and the ORM agree byte for byte.
SecondDateTime = DateTime().with_variant(
    sqlite.DATETIME(
        storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d",
        regexp=r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)",
    ),
    "sqlite",
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic needs them on SQLite)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Unit(Base):
    """An administrative unit: province, district, commune, hamlet, office."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Schedule(Base):
    """One effective-dated schedule version (rules.md §2), attached to units."""

    __tablename__ = "schedule"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    weekdays: Mapped[list[Any]]  # ["mon", ...]
    sessions: Mapped[list[Any]]  # [["07:00", "11:30"], ...]
    grace_late_minutes: Mapped[int] = mapped_column(default=5)
    grace_early_minutes: Mapped[int] = mapped_column(default=5)
    checkin_window_before_minutes: Mapped[int] = mapped_column(default=60)
    checkout_window_after_minutes: Mapped[int] = mapped_column(default=120)
    punch_policy: Mapped[str] = mapped_column(String(20), default="per_session")


class ScheduleUnit(Base):
    """Which units a schedule is attached to (and, through them, their descendants)."""

    __tablename__ = "schedule_unit"
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)


class Staff(Base):
    """A person whose attendance is checked."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    employed_from: Mapped[dt.date | None]
    employed_to: Mapped[dt.date | None]
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedule.id"))


class StaffAssignment(Base):
    """A staff member's unit over an inclusive date range (None: open)."""

    __tablename__ = "staff_assignment"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]


class Device(Base):
    """An attendance terminal (or a file source) of a unit."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    kind: Mapped[str] = mapped_column(String(20), default="file")
    name: Mapped[str] = mapped_column(String(200), default="")
    serial: Mapped[str | None] = mapped_column(String(64), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # port, baudrate, host, comm_key...
    push_stamp: Mapped[str | None] = mapped_column(String(40))  # ADMS ATTLOGStamp of the last stored upload
    last_contact_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)  # last pull or push request


class DeviceClockOffset(Base):
    """Effective-dated clock offset of a terminal: device clock minus true time, seconds."""

    __tablename__ = "device_clock_offset"
    __table_args__ = (UniqueConstraint("device_id", "valid_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    valid_from: Mapped[dt.date]
    seconds: Mapped[int] = mapped_column(default=0)


class Enrollment(Base):
    """A device user id (PIN) on a device that belongs to a staff member."""

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("device_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)


class CalendarOverride(Base):
    """A dated working_day/day_off decision with its legal reference."""

    __tablename__ = "calendar_override"
    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(200), default="")


class ExcuseDocument(Base):
    """A scanned decision or certificate (PDF, JPEG, PNG), kept once per sha256."""

    __tablename__ = "excuse_document"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(40))  # recognised from the bytes, not as declared
    data: Mapped[bytes] = mapped_column(LargeBinary)


# Only live excuses must be unique: a withdrawn one keeps its row (and its history) and the
# same leave may be entered again afterwards.
LIVE_EXCUSE = text("withdrawn_at IS NULL")


class Excuse(Base):
    """Leave, business trip, training...: the half-open local interval [start, end).

    A withdrawn excuse keeps its row (who withdrew it, when and why) but counts for nothing.
    """

    __tablename__ = "excuse"
    __table_args__ = (Index("uq_excuse_live", "staff_id", "kind", "start", "end", unique=True,
                            sqlite_where=LIVE_EXCUSE, postgresql_where=LIVE_EXCUSE),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    start: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    end: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    reference: Mapped[str] = mapped_column(String(200), default="")
    document_sha256: Mapped[str | None] = mapped_column(ForeignKey("excuse_document.sha256"), index=True)
    document_name: Mapped[str | None] = mapped_column(String(255))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(100))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)


class Setting(Base):
    """Service-wide settings (country calendar, double-tap window)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RawContent(Base):
    """Bytes as they arrived (a file, a pull's records, a push body, a run of serial lines).

    Kept once per sha256 (zlib-compressed) however often the same content is imported,
    pulled or resent; every batch that read it points here.
    """

    __tablename__ = "raw_content"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportBatch(Base):
    """One import of punches (a file, a pull, a push body, a run of serial lines) with its counts.

    ``finished_at`` stays NULL until the last part is committed: a file import commits in
    parts, so an interrupted one is visible as unfinished (its stored punches are valid).
    """

    __tablename__ = "import_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # file | pull | push | serial
    filename: Mapped[str] = mapped_column(String(500), default="")  # the file, or a label for the others
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(default=0)
    format: Mapped[str] = mapped_column(String(40), default="")
    encoding: Mapped[str] = mapped_column(String(20), default="")
    started_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    unknown_users: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    # A voided batch (a file imported onto the wrong terminal, a bad pull) keeps its punches
    # in the append-only ledger, but they count for nothing until the batch is restored.
    voided_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(100))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # The raw content this batch read (NULL only for a batch whose content was never kept).
    content_sha256: Mapped[str | None] = mapped_column(ForeignKey("raw_content.sha256"), index=True)


class Punch(Base):
    """The append-only punch ledger; the natural key is (device, user id, device time)."""

    __tablename__ = "punch"
    # The natural key's index also serves period queries: each enrollment's punches are a
    # range of device times (see loader.PUNCH_QUERY), so no second index slows imports.
    # On PostgreSQL the table is partitioned by month of device_time (migration 0013,
    # attendance.partitions) and its primary key there is (id, device_time): a partitioned
    # table's keys must hold the partition key. ids still come from one sequence.
    __table_args__ = (UniqueConstraint("device_id", "user_id", "device_time", name="uq_punch_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    device_time: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    corrected_time: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    status: Mapped[int | None]
    verify: Mapped[int | None]
    work_code: Mapped[str | None] = mapped_column(String(32))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    line_no: Mapped[int | None]


class RejectedRow(Base):
    """A line of an import that is not a punch, kept with its reason."""

    __tablename__ = "rejected_row"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int]
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)  # in English, as the parser worded it
    # the same reason as a code and values (devices.parsers.reasons), worded for each reader by
    # attendance.rejections.rejection_text; None for rows stored before there were codes
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_params: Mapped[dict[str, Any] | None]


class AuditLog(Base):
    """Append-only record of every change to people's records and settings."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # create | update | delete
    entity: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(200))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the change came from: the client address of a web or API request, "cli", a
    # scheduler... (None on rows written before it was recorded).
    origin: Mapped[str | None] = mapped_column(String(64))


class PullLog(Base):
    """One pull from a terminal: what was read and stored, its clock, how long, what failed."""

    __tablename__ = "pull_log"
    __table_args__ = (Index("ix_pull_log_device_started", "device_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    ok: Mapped[bool] = mapped_column(default=False)
    records_read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    device_clock: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    server_clock: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    skew_seconds: Mapped[int | None]
    duration_ms: Mapped[int] = mapped_column(default=0)
    log_capacity: Mapped[int | None]  # records the terminal can hold, when it says
    log_used: Mapped[int | None]
    cleared: Mapped[bool] = mapped_column(default=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    error: Mapped[str] = mapped_column(Text, default="")


# Lease times are written by the database's own clock (now() on PostgreSQL, UTC on SQLite),
# never by a scheduler's: machines whose clocks disagree still agree on who holds a lease.
LeaseDateTime = DateTime(timezone=True).with_variant(
    sqlite.DATETIME(
        storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d",
        regexp=r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)",
    ),
    "sqlite",
)


class PullLease(Base):
    """Who pulls a terminal now (if anyone, until when) and when it is next due, shared by every scheduler."""

    __tablename__ = "pull_lease"
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))  # host:pid:random of the scheduler pulling it
    acquired_at: Mapped[dt.datetime | None] = mapped_column(LeaseDateTime)  # when the latest lease was taken
    expires_at: Mapped[dt.datetime | None] = mapped_column(LeaseDateTime)  # renewed while the pull runs
    next_due_at: Mapped[dt.datetime] = mapped_column(LeaseDateTime, index=True)
    last_holder: Mapped[str | None] = mapped_column(String(120))
    last_released_at: Mapped[dt.datetime | None] = mapped_column(LeaseDateTime)


class DeviceCommand(Base):
    """A command queued for a push (ADMS) terminal, delivered on its next heartbeat."""

    __tablename__ = "device_command"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    command: Mapped[str] = mapped_column(Text)  # e.g. "DATA QUERY ATTLOG StartTime=...\tEndTime=..."
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | sent | done | failed
    created_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    return_code: Mapped[int | None]
    result: Mapped[str] = mapped_column(Text, default="")


class PendingTerminal(Base):
    """A push terminal whose serial number is not registered: kept for an administrator."""

    __tablename__ = "pending_terminal"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    first_seen: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    requests: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | approved | rejected


class SavedProfile(Base):
    """A named column-mapping profile for exports we do not know by heart."""

    __tablename__ = "saved_profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    """An account of a person who signs in (pages) or calls the API (tokens)."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")  # "" : cannot sign in
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    units: Mapped[list[UserUnit]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class UserUnit(Base):
    """One unit of a user's scope (that unit and every unit under it)."""

    __tablename__ = "app_user_unit"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[Unit] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token of the API; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)


class SignInAttempt(Base):
    """A failed or successful sign-in, kept a day: the per-account and per-address limits count them.

    In the database rather than in memory so that several application servers share the limits.
    """

    __tablename__ = "sign_in_attempt"
    __table_args__ = (Index("ix_sign_in_attempt_username_at", "username", "at"),
                      Index("ix_sign_in_attempt_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    succeeded: Mapped[bool] = mapped_column(default=False)


class ImportJob(Base):
    """A file uploaded through the pages, imported by a worker thread, with its progress.

    In the database rather than in memory so that any application server can answer for
    it; ``heartbeat_at`` tells a job still being worked on from one whose process died.
    """

    __tablename__ = "import_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))  # who uploaded it
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # as the browser named it (no folders)
    format: Mapped[str] = mapped_column(String(40), default="auto")
    profile: Mapped[str | None] = mapped_column(String(60))  # a saved profile's name
    state: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    done: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes of the file read so far
    total: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes of the file
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(SecondDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)


class StaffPhoto(Base):
    """A staff member's face for the inspectors' tablet: a JPEG re-encoded on upload, one per person."""

    __tablename__ = "staff_photo"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class DayVerdict(Base):
    """One person's stored verdict of one day (attendance.verdicts keeps it equal to the engine's).

    ``code`` is the month grid's day code (``outside`` for a day outside the person's employment);
    the counts are the day's share of the monthly summary (rules.md §7); ``detail`` holds the
    sessions that were not in order and the kinds of excuse that covered any, for the reason
    shown to people (None: every session in order, no excuse). ``provisional``: the day was not
    over when computed, so it is computed again once it is.
    """

    __tablename__ = "day_verdict"
    __table_args__ = (UniqueConstraint("staff_id", "day", name="uq_day_verdict_staff_day"),
                      Index("ix_day_verdict_day", "day"))
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    day: Mapped[dt.date]
    code: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None]
    schedule_id: Mapped[int | None]
    working: Mapped[bool] = mapped_column(default=False)
    day_source: Mapped[str] = mapped_column(String(20), default="")
    day_reference: Mapped[str] = mapped_column(String(200), default="")
    has_punch: Mapped[bool] = mapped_column(default=False)
    first_punch_minute: Mapped[int | None]  # minutes after midnight of the day's first kept punch
    sessions: Mapped[int] = mapped_column(default=0)
    excused_sessions: Mapped[int] = mapped_column(default=0)
    late_count: Mapped[int] = mapped_column(default=0)
    late_minutes: Mapped[int] = mapped_column(default=0)
    early_count: Mapped[int] = mapped_column(default=0)
    early_minutes: Mapped[int] = mapped_column(default=0)
    missing_punch_count: Mapped[int] = mapped_column(default=0)
    absent_sessions: Mapped[int] = mapped_column(default=0)
    absent_day: Mapped[bool] = mapped_column(default=False)
    offday_punch: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[dict[str, Any] | None]
    provisional: Mapped[bool] = mapped_column(default=False)
    computed_at: Mapped[dt.datetime] = mapped_column(SecondDateTime)


class VerdictDirty(Base):
    """A (staff, day) whose stored verdict an input change has made stale; refresh clears it."""

    __tablename__ = "verdict_dirty"
    __table_args__ = (UniqueConstraint("staff_id", "day", name="uq_verdict_dirty_staff_day"),
                      Index("ix_verdict_dirty_day", "day"))
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    day: Mapped[dt.date]
    # Bumped by a change that finds the pair already queued: the update waits for a refresh that
    # holds the row, so a change made during a refresh is never cleared by it.
    marks: Mapped[int] = mapped_column(default=1)
