"""Tables of spot checks, on the attendance declarative base (one metadata, one Alembic chain).

Units and staff are referred to by their codes, the stable public identifiers, never by
foreign keys into attendance tables. A spot check keeps every version of its content as
received (``SpotCheckVersion``, UNIQUE (spot check, version): the database, not Python,
makes a replayed or racing PUT idempotent); the rows of headcount, findings, actions and
attachments are derived from the current version so that reports and screens can query them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from attendance.api import Base

CODE = 40  # as the attendance code columns
USERNAME = 64


class SpotCheck(Base):
    """One unannounced inspection of a unit, identified by the UUID the tablet minted."""

    __tablename__ = "spot_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    unit_code: Mapped[str] = mapped_column(String(CODE), index=True)
    state: Mapped[str] = mapped_column(String(12))  # draft | submitted | locked
    version: Mapped[int] = mapped_column(Integer)  # the current version's number
    template_code: Mapped[str] = mapped_column(String(CODE))
    template_version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # device time, as written
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    headcount_at: Mapped[dt.datetime] = mapped_column(DateTime)
    lead: Mapped[str] = mapped_column(String(USERNAME))
    team: Mapped[list[Any]] = mapped_column(default=list)  # usernames as given
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)  # server receipt time of version 1
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    locked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    versions: Mapped[list[SpotCheckVersion]] = relationship(back_populates="spot_check",
                                                            order_by="SpotCheckVersion.version")


class SpotCheckVersion(Base):
    """One version of a spot check's content, exactly as received, with its canonical digest."""

    __tablename__ = "spot_check_version"
    __table_args__ = (UniqueConstraint("spot_check_id", "version", name="uq_spot_check_version_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column()
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical JSON: replays compare it
    actor: Mapped[str] = mapped_column(String(100))
    tablet_id: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)  # a correction's reason
    replaces_version: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # server receipt time
    spot_check: Mapped[SpotCheck] = relationship(back_populates="versions")


class HeadcountLine(Base):
    """One person's observation in the current version's headcount."""

    __tablename__ = "spot_check_headcount"
    __table_args__ = (UniqueConstraint("spot_check_id", "staff_code", name="uq_spot_check_headcount_staff"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # index in the content's list
    staff_code: Mapped[str] = mapped_column(String(CODE), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    left_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Finding(Base):
    """One checklist result of the current version, for the unit (staff null) or a person."""

    __tablename__ = "spot_check_finding"
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(CODE), index=True)
    staff_code: Mapped[str | None] = mapped_column(String(CODE), index=True)
    result: Mapped[str] = mapped_column(String(20))  # pass | fail | not_applicable
    score: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    count: Mapped[int | None] = mapped_column(Integer)  # e.g. how many dossiers are overdue
    apology_sent: Mapped[bool | None] = mapped_column(Boolean)  # overdue dossiers: apology letters sent


class FollowUpAction(Base):
    """A corrective action of the current version; being overdue is derived from due and status."""

    __tablename__ = "spot_check_action"
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    assignee_code: Mapped[str | None] = mapped_column(String(CODE), index=True)
    due: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # open | done | cancelled
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Attachment(Base):
    """A file announced by the content; its bytes arrive later by their own idempotent upload."""

    __tablename__ = "spot_check_attachment"
    __table_args__ = (UniqueConstraint("spot_check_id", "name", name="uq_spot_check_attachment_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    item_code: Mapped[str | None] = mapped_column(String(CODE))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # None until uploaded
    uploaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ChecklistTemplate(Base):
    """A versioned checklist; a spot check pins (code, version)."""

    __tablename__ = "checklist_template"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_checklist_template_code_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[ChecklistItem]] = relationship(back_populates="template", order_by="ChecklistItem.position")


class ChecklistItem(Base):
    """One item of a template: labels in both languages, unit or person, weight, scored or not."""

    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("template_id", "code", name="uq_checklist_item_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_template.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(CODE))
    label_vi: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    scope: Mapped[str] = mapped_column(String(10))  # unit | person
    weight: Mapped[float] = mapped_column(Float)
    scored: Mapped[bool] = mapped_column(Boolean)
    template: Mapped[ChecklistTemplate] = relationship(back_populates="items")


class Resolution(Base):
    """A person's resolution of one reconciliation mismatch (kept, never overwritten)."""

    __tablename__ = "spot_check_resolution"
    __table_args__ = (UniqueConstraint("spot_check_id", "staff_code", "kind", name="uq_spot_check_resolution"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    staff_code: Mapped[str] = mapped_column(String(CODE))
    kind: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class SendBack(Base):
    """A team lead's comment when sending a submitted spot check back to draft."""

    __tablename__ = "spot_check_send_back"
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class DisciplineDecision(Base):
    """A discipline decision against a staff member, as issued (annulled ones are kept, marked)."""

    __tablename__ = "discipline_decision"
    # The database makes a replayed entry idempotent: one row per (decision number, person).
    __table_args__ = (UniqueConstraint("number", "staff_code", name="uq_discipline_decision_number_staff"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_code: Mapped[str] = mapped_column(String(CODE), index=True)
    # The person's unit on the decision date: the list stays with the unit that disciplined them.
    unit_code: Mapped[str] = mapped_column(String(CODE), index=True)
    number: Mapped[str] = mapped_column(String(60))          # "15/QĐ-UBND"
    decided_on: Mapped[dt.date] = mapped_column(Date, index=True)
    form: Mapped[str] = mapped_column(String(30))            # a code of inspections.discipline.FORMS
    issued_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    spot_check_uuid: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    annulled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    annulled_by: Mapped[str | None] = mapped_column(String(100))
    annul_reason: Mapped[str | None] = mapped_column(Text)


class ReportJob(Base):
    """A monthly report built in the background for the page, with its progress and, once done, the file.

    In the database rather than in memory so that any application server can answer for it
    (progress and download); ``heartbeat_at`` tells a job still being worked on from one whose
    process died. Jobs are deleted after a day (the file can be rebuilt at any time).
    """

    __tablename__ = "report_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME), index=True)  # who asked for it
    unit_code: Mapped[str | None] = mapped_column(String(CODE))  # None: every unit
    month: Mapped[str] = mapped_column(String(7))
    format: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12))  # queued | running | done | failed
    step: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[int] = mapped_column(Integer, default=1)
    label: Mapped[str] = mapped_column(String(200), default="")  # what the step is doing
    error: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(100), default="")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # the file, once done
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime)
