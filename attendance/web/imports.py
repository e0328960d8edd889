"""Nhập dữ liệu: upload exported files, follow the import's progress, read a batch's result, void it.

The upload is the one route that accepts large bodies (``IMPORT_MAX_CONTENT_LENGTH``): it is
left out of the app-wide CSRF check, which would parse the body under the smaller app-wide
limit, and checks the token itself once the limit is raised.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from devices.parsers import FORMATS

from .. import batches
from .. import import_jobs as jobs
from ..accounts import Permission, require_device, require_permission
from ..errors import InvalidInput, UnknownBatch, UnknownDevice
from ..i18n import _
from .auth import actor, current_account
from .pages import bp
from .session import get_session

_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")
_WORKER_LOCK = threading.Lock()


def init_imports(app: Flask) -> None:
    """Leave the upload out of the app-wide CSRF check: it checks the token itself (see the module)."""
    app.extensions["csrf"].exempt(f"{__name__}.import_upload")


def worker(app: Flask) -> jobs.ImportWorker:
    """The application's import worker (started on first use)."""
    with _WORKER_LOCK:
        found = app.extensions.get("import_worker")
        if found is None:
            found = app.extensions["import_worker"] = jobs.ImportWorker(app.config["DATABASE_URL"])
        return found


@bp.route("/imports")
def imports() -> str:
    """Nhập dữ liệu: the upload form and the recent batches of the terminals in scope."""
    account = current_account()
    require_permission(account, Permission.IMPORT)
    session = get_session()
    return render_template(
        "imports.html", devices=jobs.devices_in_scope(session, account), formats=FORMATS,
        profiles=jobs.profile_names(session), batches=jobs.recent_batches(session, account),
        running=[j for j in jobs.recent_jobs(session, account) if j.state != "done"],
        limit_mib=int(current_app.config["IMPORT_MAX_CONTENT_LENGTH"]) // (1024 * 1024), max_files=jobs.MAX_FILES,
    )


def _suffix(filename: str) -> str:
    # The parsers may look at the extension (.xlsx, .csv): the temporary file keeps a plain one.
    suffix = Path(filename).suffix
    return suffix if _SUFFIX.fullmatch(suffix) else ""


@bp.route("/imports", methods=["POST"])
def import_upload() -> Response:
    """Receive one or several files for a terminal and queue their imports (form: device, format, profile, files)."""
    request.max_content_length = int(current_app.config["IMPORT_MAX_CONTENT_LENGTH"])
    current_app.extensions["csrf"].protect()
    account = current_account()
    session = get_session()
    device = (request.form.get("device") or "").strip()
    require_device(session, account, device)  # outside the scope: 404, like a terminal that does not exist
    require_permission(account, Permission.IMPORT)
    fmt = request.form.get("format") or "auto"
    profile = (request.form.get("profile") or "").strip() or None
    files = [f for f in request.files.getlist("files") if f.filename]
    if not files:
        raise InvalidInput(_("files: choose at least one exported file to import"))
    if len(files) > jobs.MAX_FILES:
        raise InvalidInput(_("files: at most {n} files at a time, got {count}", n=jobs.MAX_FILES, count=len(files)))
    folder = current_app.config.get("IMPORT_UPLOAD_FOLDER") or None
    queued: list[tuple[int, str]] = []
    try:
        for upload in files:
            name = jobs.clean_filename(upload.filename)
            handle, path = tempfile.mkstemp(prefix="attendance-upload-", suffix=_suffix(name), dir=folder)
            queued.append((0, path))
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(upload.stream, out, 1 << 20)
            job_id = jobs.create_job(session, account, device, name, os.path.getsize(path), fmt, profile)
            queued[-1] = (job_id, path)
        session.commit()
    except BaseException:
        session.rollback()
        for _job, path in queued:
            Path(path).unlink(missing_ok=True)
        raise
    importer = worker(current_app._get_current_object())  # type: ignore[attr-defined]
    for job_id, path in queued:
        importer.submit(job_id, path)
    if len(queued) == 1:
        return redirect(url_for(".import_job", job_id=queued[0][0]), 303)
    flash(_("{count} files are being imported.", count=len(queued)))
    return redirect(url_for(".imports"), 303)


def _job(job_id: int) -> jobs.JobInfo:
    account = current_account()
    info = jobs.job_info(get_session(), account, job_id)  # outside the scope: 404
    require_permission(account, Permission.IMPORT)
    return info


@bp.route("/imports/jobs/<int:job_id>")
def import_job(job_id: int) -> str:
    """The progress of one uploaded file (refreshes itself until the import has finished)."""
    return render_template("import_job.html", job=_job(job_id))


@bp.route("/imports/jobs/<int:job_id>.json")
def import_job_json(job_id: int) -> Response:
    """The progress of one uploaded file as JSON (polled by job_progress.js)."""
    info = _job(job_id)
    body = info.as_dict()
    body["batch_url"] = url_for(".import_batch", batch_id=info.batch) if info.batch else None
    return jsonify(body)


def _batch(batch_id: int) -> batches.BatchInfo:
    session = get_session()
    info = batches.get_batch(session, batch_id)
    try:
        require_device(session, current_account(), info.device)
    except UnknownDevice:
        raise UnknownBatch(_("no import batch {id}", id=batch_id)) from None  # the same answer as a missing one
    return info


@bp.route("/imports/batches/<int:batch_id>")
def import_batch(batch_id: int) -> str:
    """The result of one import: counts, rejected lines with their reasons, unknown users, void or restore."""
    info = _batch(batch_id)
    session = get_session()
    rejects, rejected = jobs.rejected_rows(session, batch_id)
    unknown, unknown_count = jobs.unknown_user_punches(session, batch_id)
    return render_template("import_batch.html", batch=info, uploader=jobs.batch_uploader(session, batch_id),
                           rejects=rejects, rejected=rejected, unknown=unknown, unknown_count=unknown_count)


def _void_or_restore(batch_id: int, restore: bool) -> Response:
    _batch(batch_id)
    require_permission(current_account(), Permission.IMPORT)
    session = get_session()
    reason = request.form.get("reason") or ""
    if restore:
        batches.restore_batch(session, batch_id, reason, actor())
    else:
        batches.void_batch(session, batch_id, reason, actor())
    session.commit()
    flash(_("Batch {id} restored.", id=batch_id) if restore else _("Batch {id} voided.", id=batch_id))
    return redirect(url_for(".import_batch", batch_id=batch_id), 303)


@bp.route("/imports/batches/<int:batch_id>/void", methods=["POST"])
def void_batch(batch_id: int) -> Response:
    """Void a wrong batch (form: reason): its punches count for nothing; audited."""
    return _void_or_restore(batch_id, restore=False)


@bp.route("/imports/batches/<int:batch_id>/restore", methods=["POST"])
def restore_batch(batch_id: int) -> Response:
    """Restore a voided batch (form: reason); audited."""
    return _void_or_restore(batch_id, restore=True)
