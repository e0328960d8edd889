"""Organisation set-up: apply a validated bundle to the database in one transaction."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import models as m
from .audit import record_change
from .bundle import DEVICE_SETTING_KEYS, Bundle, BundleError
from .i18n import _
from .kinds import DeviceKind
from .ledger import recompute_corrected_times
from .verdicts import mark_dirty, mark_excuse, mark_schedule, mark_user_id, staff_of_units

#: Settings the rules engine reads for every day (loader.load_input).
VERDICT_SETTINGS = ("country", "dedupe_seconds")


@dataclass
class LoadReport:
    """What a bundle load changed, by entity."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, entity: str) -> None:
        """Add one to a counter."""
        bucket = getattr(self, kind)
        bucket[entity] = bucket.get(entity, 0) + 1

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Plain data for --json."""
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted}


#: "no unit 'X'" and the like, for a code the bundle refers to that neither it nor the database has.
_MISSING = {
    "unit": lambda code: _("no unit {code!r}", code=code),
    "schedule": lambda code: _("no schedule {code!r}", code=code),
    "device": lambda code: _("no device {code!r}", code=code),
    "staff member": lambda code: _("no staff member {code!r}", code=code),
}

class _Loader:
    def __init__(self, session: Session, bundle: Bundle, actor: str):
        self.s = session
        self.b = bundle
        self.actor = actor
        self.report = LoadReport()
        self.errors: list[str] = []
        self.units = {u.code: u for u in session.scalars(select(m.Unit))}
        self.schedules = {x.code: x for x in session.scalars(select(m.Schedule))}
        self.devices = {d.code: d for d in session.scalars(select(m.Device))}
        self.staff = {p.code: p for p in session.scalars(select(m.Staff))}

    # -- generic upsert with audit
    def _upsert(self, entity: str, obj: Any | None, cls: type, key: str, values: dict[str, Any],
                before: dict[str, Any] | None = None) -> Any:
        """Create or update ``obj``; ``before`` gives old values already overwritten on the object."""
        if obj is None:
            obj = cls(**values)
            self.s.add(obj)
            self.s.flush()
            self._invalidate(entity, obj, values)
            record_change(self.s, self.actor, "create", entity, key, {k: [None, v] for k, v in values.items()})
            self.report.count("created", entity)
            return obj
        old = {k: (before or {}).get(k, getattr(obj, k)) for k in values}
        changes = {k: [old[k], v] for k, v in values.items() if old[k] != v}
        if changes:
            self._invalidate(entity, obj, old)  # what the old values decided...
            for k, (_old, new) in changes.items():
                setattr(obj, k, new)
            self.s.flush()
            self._invalidate(entity, obj, values)  # ...and what the new ones decide
            record_change(self.s, self.actor, "update", entity, key, changes)
            self.report.count("updated", entity)
        return obj

    def _invalidate(self, entity: str, obj: Any, values: dict[str, Any]) -> None:
        """Queue the stored verdicts a change to one record of the bundle may alter (same transaction)."""
        day = dt.timedelta(days=1)
        if entity == "calendar_override":
            date = values.get("date", obj.date)  # a deleted override passes no values
            mark_dirty(self.s, None, date - day, date + day)
        elif entity == "schedule":
            links = set(self.s.scalars(select(m.ScheduleUnit.unit_id).where(m.ScheduleUnit.schedule_id == obj.id)))
            mark_schedule(self.s, obj.id, links, None, None)
        elif entity == "staff":
            mark_dirty(self.s, [obj.id], None, None)
        elif entity == "assignment":
            mark_dirty(self.s, [obj.staff_id], None, None)
        elif entity == "enrollment":
            mark_user_id(self.s, obj.device_id, obj.user_id)
        elif entity == "excuse":
            mark_excuse(self.s, obj.staff_id, values.get("start", obj.start), values.get("end", obj.end))
        # clock offsets: recompute_corrected_times queues the days its punches leave and reach.

    def _delete(self, entity: str, obj: Any, key: str, values: dict[str, Any]) -> None:
        self._invalidate(entity, obj, {})
        record_change(self.s, self.actor, "delete", entity, key, {k: [v, None] for k, v in values.items()})
        self.s.delete(obj)
        self.report.count("deleted", entity)

    def _ref(self, table: dict[str, Any], code: str | None, what: str, path: str) -> Any | None:
        if code is None:
            return None
        if code not in table:
            self.errors.append(f"{path}: " + _MISSING[what](code))
            return None
        return table[code]

    # -- sections
    def load_settings(self) -> None:
        values = dict(self.b.settings)
        if self.b.country:
            values["country"] = self.b.country
        for key, value in values.items():
            current = self.s.get(m.Setting, key)
            # Structured settings (the report's alert thresholds) are kept as JSON text.
            text = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
            if current is None:
                self.s.add(m.Setting(key=key, value=text))
                record_change(self.s, self.actor, "create", "setting", key, {"value": [None, text]})
            elif current.value != text:
                record_change(self.s, self.actor, "update", "setting", key, {"value": [current.value, text]})
                current.value = text
            else:
                continue
            if key in VERDICT_SETTINGS:  # the calendar or the double-tap window of every day
                mark_dirty(self.s, None, None, None)

    def load_units(self) -> None:
        records = self.b.units or []
        for r in records:  # create first so parents may come later in the list
            self.units[r["code"]] = self._upsert(
                "unit", self.units.get(r["code"]), m.Unit, r["code"],
                {"code": r["code"], "name": r["name"], "kind": r.get("kind", ""),
                 **({"timezone": r["timezone"]} if "timezone" in r else {})},
            )
        for r in records:
            parent = self._ref(self.units, r.get("parent"), "unit", f"{r['_path']}.parent")
            unit = self.units[r["code"]]
            parent_id = parent.id if parent is not None else None
            if unit.parent_id != parent_id:
                record_change(self.s, self.actor, "update", "unit", r["code"], {"parent_id": [unit.parent_id, parent_id]})
                # The schedules inherited under the unit may change: everyone ever placed below it.
                mark_dirty(self.s, staff_of_units(self.s, [unit.id]), None, None)
                unit.parent_id = parent_id
        self.s.flush()
        for r in records:  # a unit may not be its own ancestor
            seen, current = set(), self.units[r["code"]]
            while current is not None and current.parent_id is not None:
                if current.id in seen:
                    self.errors.append(f"{r['_path']}.parent: " + _("the unit tree has a cycle through {code!r}",
                                                                     code=r["code"]))
                    break
                seen.add(current.id)
                current = self.s.get(m.Unit, current.parent_id)

    def load_schedules(self) -> None:
        for r in self.b.schedules or []:
            values = {k: r[k] for k in (
                "valid_from", "valid_to", "sessions", "grace_late_minutes", "grace_early_minutes",
                "checkin_window_before_minutes", "checkout_window_after_minutes", "punch_policy") if k in r}
            values.setdefault("valid_from", None)
            values.setdefault("valid_to", None)
            values["weekdays"] = r.get("weekdays", ["mon", "tue", "wed", "thu", "fri"])
            for k, default in (("grace_late_minutes", 5), ("grace_early_minutes", 5),
                               ("checkin_window_before_minutes", 60), ("checkout_window_after_minutes", 120),
                               ("punch_policy", "per_session")):
                values.setdefault(k, default)
            sched = self._upsert("schedule", self.schedules.get(r["code"]), m.Schedule, r["code"], {"code": r["code"], **values})
            self.schedules[r["code"]] = sched
            if "units" in r:
                wanted = set()
                for i, code in enumerate(r["units"]):
                    unit = self._ref(self.units, code, "unit", f"{r['_path']}.units[{i}]")
                    if unit is not None:
                        wanted.add(unit.id)
                have = set(self.s.scalars(select(m.ScheduleUnit.unit_id).where(m.ScheduleUnit.schedule_id == sched.id)))
                for unit_id in wanted - have:
                    self.s.add(m.ScheduleUnit(schedule_id=sched.id, unit_id=unit_id))
                for unit_id in have - wanted:
                    self.s.execute(delete(m.ScheduleUnit).where(
                        m.ScheduleUnit.schedule_id == sched.id, m.ScheduleUnit.unit_id == unit_id))
                if wanted != have:
                    mark_schedule(self.s, sched.id, wanted ^ have, None, None)
                    record_change(self.s, self.actor, "update", "schedule", r["code"],
                                  {"unit_ids": [sorted(have), sorted(wanted)]})

    def load_overrides(self) -> None:
        if self.b.overrides is None:
            return
        existing = {o.date: o for o in self.s.scalars(select(m.CalendarOverride))}
        listed = set()
        for r in self.b.overrides:
            listed.add(r["date"])
            self._upsert("calendar_override", existing.get(r["date"]), m.CalendarOverride, r["date"].isoformat(),
                         {"date": r["date"], "kind": r["kind"], "reference": r.get("reference", "")})
        # The bundle's override list is the calendar: dates no longer listed are removed.
        for day, obj in existing.items():
            if day not in listed:
                self._delete("calendar_override", obj, day.isoformat(), {"kind": obj.kind, "reference": obj.reference})

    def load_devices(self) -> None:
        records = self.b.devices or []
        # A serial is unique: compare the serials every device will have once the bundle is in.
        final = {code: d.serial for code, d in self.devices.items()}
        final.update({r["code"]: r.get("serial") for r in records if "serial" in r or r["code"] not in self.devices})
        holders: dict[str, list[str]] = {}
        for code, serial in final.items():
            if serial is not None:
                holders.setdefault(serial, []).append(code)
        taken = set()
        for r in records:
            others = [c for c in holders.get(r.get("serial") or "", []) if c != r["code"]]
            if "serial" in r and others:
                taken.add(r["code"])  # reported; the rest still loads so later references resolve
                self.errors.append(f"{r['_path']}.serial: " + _("{serial!r} is already the serial of device {devices}",
                                                                 serial=r["serial"], devices=", ".join(others)))
        # Serials that move between devices (a swap) are let go first so no flush sees one twice.
        before: dict[str, dict[str, Any]] = {}
        for r in records:
            current = self.devices.get(r["code"])
            if current is not None and "serial" in r and r["code"] not in taken \
                    and current.serial not in (None, r["serial"]):
                before[r["code"]] = {"serial": current.serial}
                current.serial = None
        if before:
            self.s.flush()
        for r in records:
            unit = self._ref(self.units, r.get("unit"), "unit", f"{r['_path']}.unit")
            current = self.devices.get(r["code"])
            settings = {k: r[k] for k in DEVICE_SETTING_KEYS if k in r}
            values: dict[str, Any] = {"code": r["code"], "unit_id": unit.id if unit else None,
                                      "kind": str(r.get("kind", DeviceKind.FILE)), "name": r.get("name", ""),
                                      "settings": settings}
            # A serial approved by an administrator (push terminals) stays unless the bundle names one.
            if ("serial" in r or current is None) and r["code"] not in taken:
                values["serial"] = r.get("serial")
            device = self._upsert("device", current, m.Device, r["code"], values, before.get(r["code"]))
            self.devices[r["code"]] = device
            if "clock_offsets" in r:
                self._clock_offsets(device, r["clock_offsets"])

    def _clock_offsets(self, device: m.Device, offsets: list[dict[str, Any]]) -> None:
        existing = {o.valid_from: o for o in self.s.scalars(
            select(m.DeviceClockOffset).where(m.DeviceClockOffset.device_id == device.id))}
        before = {d: o.seconds for d, o in existing.items()}
        listed = {}
        for r in offsets:
            listed[r["valid_from"]] = r["seconds"]
            key = f"{device.code}@{r['valid_from'].isoformat()}"
            self._upsert("clock_offset", existing.get(r["valid_from"]), m.DeviceClockOffset, key,
                         {"device_id": device.id, "valid_from": r["valid_from"], "seconds": r["seconds"]})
        for day, obj in existing.items():
            if day not in listed:
                self._delete("clock_offset", obj, f"{device.code}@{day.isoformat()}", {"seconds": obj.seconds})
        if before != listed:
            self.s.flush()
            recompute_corrected_times(self.s, device.id)

    def load_staff_members(self) -> None:
        claimed: dict[tuple[int, str], str] = {}
        plans: list[tuple[m.Staff, dict[tuple[int, str], tuple[m.Device, dict[str, Any]]]]] = []
        for r in self.b.staff or []:
            schedule = self._ref(self.schedules, r.get("schedule"), "schedule", f"{r['_path']}.schedule")
            values = {"code": r["code"], "name": r["name"], "position": r.get("position", ""),
                      "employed_from": r.get("employed_from"), "employed_to": r.get("employed_to"),
                      "schedule_id": schedule.id if schedule else None}
            person = self._upsert("staff", self.staff.get(r["code"]), m.Staff, r["code"], values)
            self.staff[r["code"]] = person
            self._assignments(person, r)
            if "enrollments" in r:
                plans.append((person, self._wanted_enrollments(person, r["enrollments"], claimed)))
        self.s.flush()
        # Every enrollment is given (or moved) before any is taken away, so that dropping a user id
        # from one person and listing it under another is seen as the move it is.
        for person, wanted in plans:
            self._enrol(person, wanted)
        for person, wanted in plans:
            self._unenrol(person, wanted)

    def _assignments(self, person: m.Staff, r: dict[str, Any]) -> None:
        if "assignments" in r:
            wanted_raw = [(a.get("unit"), a.get("valid_from"), a.get("valid_to"), a["_path"]) for a in r["assignments"]]
        elif "unit" in r:
            wanted_raw = [(r["unit"], None, None, f"{r['_path']}.unit")]
        else:
            return
        wanted = set()
        for code, start, end, path in wanted_raw:
            unit = self._ref(self.units, code, "unit", path if path.endswith(".unit") else f"{path}.unit")
            if unit is not None:
                wanted.add((unit.id, start, end))
        existing = list(self.s.scalars(select(m.StaffAssignment).where(m.StaffAssignment.staff_id == person.id)))
        have = {(a.unit_id, a.valid_from, a.valid_to): a for a in existing}
        if wanted != set(have):
            mark_dirty(self.s, [person.id], None, None)
        for key in wanted - set(have):
            self.s.add(m.StaffAssignment(staff_id=person.id, unit_id=key[0], valid_from=key[1], valid_to=key[2]))
            record_change(self.s, self.actor, "create", "assignment", person.code,
                          {"unit_id": [None, key[0]], "valid_from": [None, key[1]], "valid_to": [None, key[2]]})
        for key in set(have) - wanted:
            self._delete("assignment", have[key], person.code,
                         {"unit_id": key[0], "valid_from": key[1], "valid_to": key[2]})

    def _wanted_enrollments(self, person: m.Staff, items: list[dict[str, Any]],
                            claimed: dict[tuple[int, str], str]) -> dict[tuple[int, str], tuple[m.Device, dict[str, Any]]]:
        wanted: dict[tuple[int, str], tuple[m.Device, dict[str, Any]]] = {}
        for e in items:
            device = self._ref(self.devices, e.get("device"), "device", f"{e['_path']}.device")
            if device is None:
                continue
            key = (device.id, e["user_id"])
            if key in claimed:
                self.errors.append(f"{e['_path']}.user_id: " + _("{user!r} on {device} is already enrolled for {staff}",
                                                                 user=e["user_id"], device=device.code,
                                                                 staff=claimed[key]))
                continue
            claimed[key] = person.code
            wanted[key] = (device, e)
        return wanted

    def _enrol(self, person: m.Staff, wanted: dict[tuple[int, str], tuple[m.Device, dict[str, Any]]]) -> None:
        for key, (device, e) in wanted.items():
            self._ref(self.staff, e.get("transfer_from"), "staff member", f"{e['_path']}.transfer_from")
            current = self.s.scalar(select(m.Enrollment).where(
                m.Enrollment.device_id == key[0], m.Enrollment.user_id == key[1]))
            label = f"{device.code}:{key[1]}"
            if current is None:
                self._upsert("enrollment", None, m.Enrollment, label,
                             {"device_id": key[0], "user_id": key[1], "staff_id": person.id})
            elif current.staff_id != person.id:
                self._transfer(person, current, label, e)

    def _transfer(self, person: m.Staff, enrollment: m.Enrollment, label: str, e: dict[str, Any]) -> None:
        """Move an enrollment (and with it the punches of that user id) only when the bundle says from whom."""
        owner = self.s.get(m.Staff, enrollment.staff_id)
        assert owner is not None  # a foreign key
        device_code, user_id = label.split(":", 1)
        if e.get("transfer_from") != owner.code:
            said = _(" (transfer_from names {code})", code=e["transfer_from"]) if e.get("transfer_from") else ""
            self.errors.append(f"{e['_path']}.user_id: " + _(
                "{user!r} on {device} is enrolled for {owner} ({owner_name}){said}; giving it to {staff} "
                "({staff_name}) would move {owner}'s punch history: add transfer_from: {owner} to this "
                "enrollment to move it", user=user_id, device=device_code, owner=owner.code, owner_name=owner.name,
                said=said, staff=person.code, staff_name=person.name))
            return
        record_change(self.s, self.actor, "update", "enrollment", label,
                      {"staff": [owner.code, person.code], "staff_id": [owner.id, person.id]})
        mark_user_id(self.s, enrollment.device_id, enrollment.user_id)
        enrollment.staff_id = person.id
        self.s.flush()
        mark_user_id(self.s, enrollment.device_id, enrollment.user_id)
        self.report.count("updated", "enrollment")

    def _unenrol(self, person: m.Staff, wanted: dict[tuple[int, str], tuple[m.Device, dict[str, Any]]]) -> None:
        codes = {d.id: d.code for d in self.devices.values()}
        for enrollment in self.s.scalars(select(m.Enrollment).where(m.Enrollment.staff_id == person.id)):
            if (enrollment.device_id, enrollment.user_id) not in wanted:
                label = f"{codes.get(enrollment.device_id, enrollment.device_id)}:{enrollment.user_id}"
                self._delete("enrollment", enrollment, label, {"staff": person.code, "staff_id": person.id})

    def load_excuses(self) -> None:
        if self.b.excuses is None:
            return
        # Withdrawn excuses are history, not the bundle's business: left as they are.
        existing = {(x.staff_id, x.kind, x.start, x.end): x
                    for x in self.s.scalars(select(m.Excuse).where(m.Excuse.withdrawn_at.is_(None)))}
        listed = set()
        for r in self.b.excuses:
            person = self._ref(self.staff, r.get("staff"), "staff member", f"{r['_path']}.staff")
            if person is None:
                continue
            key = (person.id, r["kind"], r["start"], r["end"])
            if key in listed:
                continue
            listed.add(key)
            label = f"{person.code}:{r['kind']}:{r['start']:%Y-%m-%dT%H:%M}"
            self._upsert("excuse", existing.get(key), m.Excuse, label,
                         {"staff_id": person.id, "kind": r["kind"], "start": r["start"], "end": r["end"],
                          "reference": r.get("reference", "")})
        # The bundle's excuse list is authoritative: an excuse no longer listed is withdrawn.
        codes = {p.id: p.code for p in self.staff.values()}
        for key, obj in existing.items():
            if key not in listed:
                # Keyed by the person's code, as when it was created: a database id means nothing to a reader.
                self._delete("excuse", obj, f"{codes.get(key[0], key[0])}:{key[1]}:{key[2]:%Y-%m-%dT%H:%M}",
                             {"start": key[2], "end": key[3], "reference": obj.reference})


def load_bundle(session: Session, bundle: Bundle, actor: str = "cli") -> LoadReport:
    """Apply a validated bundle; raise BundleError (and write nothing) on any bad reference."""
    loader = _Loader(session, bundle, actor)
    loader.load_settings()
    loader.load_units()
    loader.load_schedules()
    loader.load_overrides()
    loader.load_devices()
    loader.load_staff_members()
    loader.load_excuses()
    if loader.errors:
        raise BundleError(loader.errors)
    session.flush()
    return loader.report
