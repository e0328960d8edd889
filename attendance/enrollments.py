"""Enrollments as use cases: who is who on a terminal, and the user ids still waiting for someone.

An enrollment ties a device user id (PIN) on one terminal to a person; their punches count
for that person from then on, past punches included (the ledger keys punches by terminal and
user id, not by person). Giving an enrolled user id to someone else therefore moves its whole
punch history: it is refused unless the caller says ``transfer=True`` (as a bundle says
``transfer_from``). Each function takes an open ``Session``; the caller commits. Changes are
audited (entity ``enrollment``, key ``DEVICE:USERID``, as bundle loads write them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from . import models as m
from .api import StaffInfo, staff_of_unit, unit_subtree
from .audit import record_change
from .batches import live_punch
from .bundle import _Invalid, _text, column_limit
from .errors import Conflict, InvalidInput, NotFound, UnknownDevice, UnknownStaff
from .i18n import _
from .names import sort_by_name
from .verdicts import mark_user_id


@dataclass(frozen=True)
class EnrollmentInfo:
    """One enrollment: the terminal, the device user id and the person it belongs to."""

    device: str
    user_id: str
    staff_code: str
    staff_name: str


@dataclass(frozen=True)
class WaitingUserId:
    """A device user id with punches on a terminal but no enrollment: nobody's punches yet."""

    device: str
    device_name: str
    user_id: str
    punches: int
    first_punch: dt.datetime  # corrected (local) times
    last_punch: dt.datetime


def _user_id(value: object) -> str:
    try:
        return _text(value, column_limit(m.Enrollment.user_id))
    except _Invalid as exc:
        raise InvalidInput(_("user_id: {problem}", problem=exc)) from None


def _device(session: Session, device_code: str) -> m.Device:
    device = session.scalar(select(m.Device).where(m.Device.code == device_code))
    if device is None:
        raise UnknownDevice(_("no device {code!r}", code=device_code))
    return device


def _staff(session: Session, staff_code: str) -> m.Staff:
    person = session.scalar(select(m.Staff).where(m.Staff.code == staff_code))
    if person is None:
        raise UnknownStaff(_("no staff member {code!r}", code=staff_code))
    return person


def unit_enrollments(session: Session, unit_code: str, on: dt.date) -> list[StaffInfo]:
    """The people of a unit (and the units under it) on ``on`` with their enrollments, in name order.

    The same records as ``api.staff_of_unit`` (each with its sorted (device, user id) pairs),
    ordered by ``names.name_sort_key`` as lists for people are.
    """
    return sort_by_name(staff_of_unit(session, unit_code, on), lambda s: s.name)


def enrol(session: Session, device_code: str, user_id: str, staff_code: str, *, actor: str,
          transfer: bool = False) -> EnrollmentInfo:
    """Give a device user id to a person; audited. Already theirs: nothing changes.

    A user id enrolled for someone else is moved only with ``transfer=True`` (Conflict
    otherwise): its punches, past ones included, then count for the new person.
    """
    uid = _user_id(user_id)
    device = _device(session, device_code)
    person = _staff(session, staff_code)
    label = f"{device.code}:{uid}"
    current = session.scalar(select(m.Enrollment).where(m.Enrollment.device_id == device.id,
                                                        m.Enrollment.user_id == uid).with_for_update())
    if current is None:
        session.add(m.Enrollment(device_id=device.id, user_id=uid, staff_id=person.id))
        session.flush()
        mark_user_id(session, device.id, uid)  # the punches waiting for this user id now count
        record_change(session, actor, "create", "enrollment", label,
                      {"device": [None, device.code], "user_id": [None, uid], "staff": [None, person.code],
                       "staff_id": [None, person.id]})
    elif current.staff_id != person.id:
        owner = session.get(m.Staff, current.staff_id)
        assert owner is not None  # a foreign key
        if not transfer:
            raise Conflict(_("user_id: {uid} on {device} is enrolled for {owner} ({owner_name}); giving it to {staff}"
                             " ({staff_name}) would move {owner}'s punch history: confirm the transfer to move it",
                             uid=repr(uid), device=device.code, owner=owner.code, owner_name=owner.name,
                             staff=person.code, staff_name=person.name))
        record_change(session, actor, "update", "enrollment", label,
                      {"staff": [owner.code, person.code], "staff_id": [owner.id, person.id]})
        mark_user_id(session, device.id, uid)  # the former owner's days lose these punches
        current.staff_id = person.id
        session.flush()
        mark_user_id(session, device.id, uid)
    session.flush()
    return EnrollmentInfo(device.code, uid, person.code, person.name)


def unenrol(session: Session, device_code: str, user_id: str, *, actor: str) -> EnrollmentInfo:
    """Take a device user id away from its person (its punches stay, waiting again); audited."""
    uid = _user_id(user_id)
    device = _device(session, device_code)
    current = session.scalar(select(m.Enrollment).where(m.Enrollment.device_id == device.id,
                                                        m.Enrollment.user_id == uid).with_for_update())
    if current is None:
        raise NotFound(_("user_id: {uid} is not enrolled on {device}", uid=repr(uid), device=device.code))
    owner = session.get(m.Staff, current.staff_id)
    assert owner is not None  # a foreign key
    record_change(session, actor, "delete", "enrollment", f"{device.code}:{uid}",
                  {"device": [device.code, None], "user_id": [uid, None], "staff": [owner.code, None],
                   "staff_id": [owner.id, None]})
    mark_user_id(session, device.id, uid)
    session.delete(current)
    session.flush()
    return EnrollmentInfo(device.code, uid, owner.code, owner.name)


def waiting_user_ids(session: Session, unit_code: str | None = None) -> list[WaitingUserId]:
    """User ids with punches but no enrollment on the terminals of a unit and the units under it
    (every terminal when None), by terminal then user id. Punches of voided batches do not count."""
    query = (
        select(m.Device.code, m.Device.name, m.Punch.user_id, func.count(), func.min(m.Punch.corrected_time),
               func.max(m.Punch.corrected_time))
        .join(m.Device, m.Device.id == m.Punch.device_id)
        .outerjoin(m.Enrollment, and_(m.Enrollment.device_id == m.Punch.device_id,
                                      m.Enrollment.user_id == m.Punch.user_id))
        .where(m.Enrollment.id.is_(None), live_punch(session))
        .group_by(m.Device.code, m.Device.name, m.Punch.user_id)
        .order_by(m.Device.code, m.Punch.user_id)
    )
    if unit_code is not None:
        codes = [u.code for u in unit_subtree(session, unit_code)]
        query = query.where(m.Device.unit_id.in_(select(m.Unit.id).where(m.Unit.code.in_(codes))))
    return [WaitingUserId(code, name, uid, int(n), first, last) for code, name, uid, n, first, last in session.execute(query)]
