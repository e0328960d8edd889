"""Checklist templates: the default one and reading templates as plain data.

``DEFAULT_TEMPLATE_V1`` is what migration 0010 writes (frozen: a changed default is a new
version, never an edit of this one). ``ensure_default_template`` writes it where it is
missing, for schemas made some other way than the migrations.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance.errors import NotFound
from attendance.i18n import _

from .models import ChecklistItem, ChecklistTemplate

#: (code, Vietnamese label, English label, scope, weight, scored)
DEFAULT_ITEMS_V1: tuple[tuple[str, str, str, str, float, bool], ...] = (
    ("badge_worn", "Đeo thẻ công chức", "Civil-servant badge worn", "person", 1.0, True),
    ("attire", "Trang phục đúng quy định", "Proper attire", "person", 1.0, True),
    ("nameplate", "Biển tên chức danh trên bàn làm việc", "Desk nameplate", "person", 1.0, True),
    ("attitude", "Thái độ, tác phong khi tiếp công dân", "Attitude toward citizens", "person", 1.0, True),
    ("smoking_drinking", "Hút thuốc, uống rượu bia trong giờ làm việc", "Smoking or drinking in working hours",
     "person", 1.0, True),
    ("hours_posted", "Niêm yết thời gian làm việc", "Working hours posted", "unit", 1.0, True),
    ("procedures_posted", "Niêm yết thủ tục hành chính, phí và lệ phí", "Administrative procedures and fees posted",
     "unit", 1.0, True),
    ("hotline_posted", "Niêm yết số điện thoại đường dây nóng", "Hotline number posted", "unit", 1.0, True),
    ("reception_schedule", "Lịch tiếp công dân được cập nhật", "Citizen-reception schedule up to date", "unit",
     1.0, True),
    ("onestop_staffed", "Bộ phận một cửa có người trực và lãnh đạo trực", "One-stop desk staffed, a leader on duty",
     "unit", 1.0, True),
    ("dossier_book", "Sổ theo dõi hồ sơ", "Dossier tracking book kept", "unit", 1.0, True),
    ("overdue_dossiers", "Hồ sơ trễ hạn (số lượng, đã gửi thư xin lỗi)", "Overdue dossiers (count, apology letters sent)",
     "unit", 1.0, True),
    ("tidy", "Trụ sở, nơi làm việc gọn gàng, sạch sẽ", "Office tidy", "unit", 1.0, True),
)
DEFAULT_TEMPLATE_V1 = {"code": "default", "version": 1, "title": "Kiểm tra công vụ (mặc định)",
                       "items": DEFAULT_ITEMS_V1}


def ensure_default_template(session: Session) -> bool:
    """Write the default template (version 1) unless it exists; True when it was written."""
    exists = session.scalar(select(ChecklistTemplate.id).where(
        ChecklistTemplate.code == DEFAULT_TEMPLATE_V1["code"], ChecklistTemplate.version == DEFAULT_TEMPLATE_V1["version"]))
    if exists is not None:
        return False
    template = ChecklistTemplate(code="default", version=1, title=str(DEFAULT_TEMPLATE_V1["title"]))
    template.items = [ChecklistItem(position=i, code=code, label_vi=vi, label_en=en, scope=scope, weight=weight,
                                    scored=scored)
                      for i, (code, vi, en, scope, weight, scored) in enumerate(DEFAULT_ITEMS_V1)]
    session.add(template)
    session.flush()
    return True


def template_document(template: ChecklistTemplate) -> dict[str, Any]:
    """A template as the API shows it."""
    return {"code": template.code, "version": template.version, "title": template.title,
            "items": [{"code": i.code, "label_vi": i.label_vi, "label_en": i.label_en, "scope": i.scope,
                       "weight": i.weight, "scored": i.scored} for i in template.items]}


def find_template(session: Session, code: str, version: int) -> ChecklistTemplate | None:
    """The template (code, version), or None."""
    return session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.code == code,
                                                          ChecklistTemplate.version == version))


def get_template(session: Session, code: str, version: int) -> dict[str, Any]:
    """The template (code, version) as plain data; NotFound when there is none."""
    template = find_template(session, code, version)
    if template is None:
        raise NotFound(_("no checklist template {code!r} version {version}", code=code[:40], version=version))
    return template_document(template)


def current_templates(session: Session) -> list[dict[str, Any]]:
    """The newest version of every template, by code."""
    newest: dict[str, ChecklistTemplate] = {}
    for template in session.scalars(select(ChecklistTemplate).order_by(ChecklistTemplate.code,
                                                                       ChecklistTemplate.version)):
        newest[template.code] = template
    return [template_document(t) for t in newest.values()]
