"""Staff photos: set, remove and read the one face kept per person (use cases, no Flask)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import warnings
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .audit import record_change
from .errors import InvalidInput, UnknownStaff
from .i18n import _

#: The largest upload taken: a phone photo fits; anything bigger is refused before decoding.
MAX_BYTES = 10 * 1024 * 1024
#: The largest picture decoded (pixels): a small file can announce a huge canvas (a "bomb").
MAX_PIXELS = 40_000_000
#: The longest side kept: enough to recognise a face on a tablet, small enough to sync.
LONGEST_SIDE = 600
#: What an upload may be, judged by its content, never by its name or the browser's word.
ACCEPTED = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Photo:
    """A stored photo: the JPEG bytes and what describes them."""

    staff_code: str
    content: bytes
    content_type: str
    sha256: str
    width: int
    height: int
    updated_at: dt.datetime
    updated_by: str


def _staff(session: Session, staff_code: str) -> m.Staff:
    person = session.scalar(select(m.Staff).where(m.Staff.code == staff_code))
    if person is None:
        raise UnknownStaff(_("no staff member {code!r}", code=staff_code[:40]))
    return person


def normalise_image(data: bytes) -> tuple[bytes, int, int]:
    """The upload re-encoded as JPEG, upright, longest side at most LONGEST_SIDE; InvalidInput says why not."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise InvalidInput(_("photo: the file is empty"))
    if len(data) > MAX_BYTES:
        raise InvalidInput(_("photo: {size} bytes, at most {limit} allowed", size=len(data), limit=MAX_BYTES))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED))
            # The header alone tells the canvas size: refuse a bomb before decoding a pixel.
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError(image.width * image.height)
            image.load()
            image = ImageOps.exif_transpose(image)  # phones store "rotate me" in EXIF; the tablet would not
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (checked on opening) or ours: either way the canvas is too large.
        raise InvalidInput(_("photo: more than {limit} pixels", limit=MAX_PIXELS)) from None
    except UnidentifiedImageError:
        raise InvalidInput(_("photo: not a JPEG, PNG or WebP image")) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidInput(_("photo: the image cannot be read ({why})", why=str(exc)[:100])) from None
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent parts become white rather than the black JPEG would make of them.
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), image.width, image.height


def set_photo(session: Session, staff_code: str, data: bytes, actor: str) -> Photo:
    """Keep ``data`` (JPEG, PNG or WebP) as the person's photo, re-encoded; audited."""
    person = _staff(session, staff_code)
    content, width, height = normalise_image(data)
    digest = hashlib.sha256(content).hexdigest()
    now = dt.datetime.now().replace(microsecond=0)
    row = session.get(m.StaffPhoto, person.id)
    old = row.sha256 if row is not None else None
    if row is None:
        row = m.StaffPhoto(staff_id=person.id)
        session.add(row)
    row.content, row.content_type, row.sha256 = content, "image/jpeg", digest
    row.width, row.height, row.updated_at, row.updated_by = width, height, now, actor[:100]
    if old != digest:
        record_change(session, actor, "update" if old else "create", "staff_photo", staff_code,
                      {"sha256": [old, digest], "size": [None, len(content)], "pixels": [None, f"{width}x{height}"]})
    session.flush()
    return Photo(staff_code, content, row.content_type, digest, width, height, now, row.updated_by)


def remove_photo(session: Session, staff_code: str, actor: str) -> bool:
    """Delete the person's photo (audited); False when there was none."""
    person = _staff(session, staff_code)
    row = session.get(m.StaffPhoto, person.id)
    if row is None:
        return False
    record_change(session, actor, "delete", "staff_photo", staff_code, {"sha256": [row.sha256, None]})
    session.delete(row)
    session.flush()
    return True


def get_photo(session: Session, staff_code: str) -> Photo | None:
    """The person's photo, or None when they have none (UnknownStaff when there is no such person)."""
    person = _staff(session, staff_code)
    row = session.get(m.StaffPhoto, person.id)
    if row is None:
        return None
    return Photo(staff_code, row.content, row.content_type, row.sha256, row.width, row.height, row.updated_at,
                 row.updated_by)


def photo_digests(session: Session, staff_codes: list[str] | None = None) -> dict[str, str]:
    """Staff code -> SHA-256 of the photo, for the people given (or everyone) who have one."""
    query = select(m.Staff.code, m.StaffPhoto.sha256).join(m.StaffPhoto, m.StaffPhoto.staff_id == m.Staff.id)
    if staff_codes is not None:
        if not staff_codes:
            return {}
        query = query.where(m.Staff.code.in_(sorted(set(staff_codes))))
    return {code: digest for code, digest in session.execute(query)}
