"""The attendance rules engine (rules.md): plain functions on plain data, no Flask, no ORM."""

from .evaluate import evaluate, summarize
from .types import (
    EXCUSE_KINDS,
    SUMMARY_FIELDS,
    Assignment,
    CalendarOverride,
    EngineInput,
    Evaluation,
    Excuse,
    ScheduleVersion,
    StaffMember,
)

__all__ = [
    "EXCUSE_KINDS",
    "SUMMARY_FIELDS",
    "Assignment",
    "CalendarOverride",
    "EngineInput",
    "Evaluation",
    "Excuse",
    "ScheduleVersion",
    "StaffMember",
    "evaluate",
    "summarize",
]
