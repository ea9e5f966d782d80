"""Issue 10 item 11: uploads deleted once imported (and all after the retention), operation files
deleted after N days, `registrar purge`; pages and the API say what is gone, without a 500."""

import json
import os
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from registrar.jobs import retention, service
from registrar.jobs.models import Job, PurgedFiles, Upload
from registrar.journal.models import Operation

from .portal_fixtures import BOTH, COMPLETIONS, run_jobs
from .test_api import Api
from .test_portal import signed_in, text

pytestmark = pytest.mark.django_db(databases=BOTH)
# A users file with a password column: what must not stay on disk.
USERS = (
    "user_login;user_lname;user_fname;user_tname;org_extid;user_password\r\n"
    "zoe;Zed;Zoe;Mme;ACME-EU;S3cret-pass!\r\n"
)


def upload(user, body=COMPLETIONS, kind="completions") -> Upload:
    return service.save_upload(user, kind, [body.encode()], "file.csv")


def run(user, up: Upload, verify_only=False) -> Job:
    job = service.start_import(user, up, {}, verify_only=verify_only)
    run_jobs()
    job.refresh_from_db()
    return job


def _folder(up: Upload) -> Path:
    return Path(settings.DATA_DIR) / "uploads" / str(up.pk)


def test_item11_upload_is_deleted_once_its_import_ends(world):
    up = upload(world.admin, USERS, "users")
    assert _folder(up).is_dir() and "S3cret" in Path(up.path).read_text()
    job = run(world.admin, up)
    assert job.status == "done" and job.result["created"] == 1
    up.refresh_from_db()
    assert up.purged_at is not None and up.path == ""
    assert not _folder(up).exists()  # the password with it


def test_item11_upload_is_deleted_when_its_import_fails_too(world):
    up = upload(world.admin, "course_id;completion_date\r\nSAFE-101;2024-06-15\r\n")
    job = run(world.admin, up)
    assert job.status == "failed" and job.error.startswith("missing_column")
    up.refresh_from_db()
    assert up.purged_at and not _folder(up).exists()


def test_item11_verify_only_keeps_the_upload_for_the_real_run_which_deletes_it(world):
    c = signed_in("admin")
    up = upload(world.admin)
    check = run(world.admin, up, verify_only=True)
    assert check.result["status"] == "verified"
    up.refresh_from_db()
    assert up.purged_at is None and _folder(up).is_dir()
    r = c.post(f"/jobs/{check.pk}/run/")
    assert r.status_code == 302
    run_jobs()
    real = Job.objects.exclude(pk=check.pk).get()
    assert real.status == "done" and real.result["created"] == 2
    up.refresh_from_db()
    assert up.purged_at and not _folder(up).exists()
    # The verification's page says the file is gone instead of offering to import it again.
    html = text(c.get(f"/jobs/{check.pk}/"))
    assert "The uploaded file was deleted on" in html and "Import now" not in html
    r = c.post(f"/jobs/{check.pk}/run/")
    assert r.status_code == 410 and "upload it again" in text(r)


def test_item11_a_deleted_upload_is_refused_by_the_api_and_previewed_as_gone(world, tokens):
    up = upload(world.admin)
    run(world.admin, up)
    api = Api(tokens.admin)
    r = api.post(f"/api/uploads/{up.pk}/run", {})
    assert r.status_code == 410 and "upload it again" in r.json()["detail"]
    preview = api.get(f"/api/uploads/{up.pk}").json()["preview"]
    assert "was deleted on" in preview["error"]["message"]
    assert signed_in("admin").get(f"/uploads/{up.pk}/").status_code == 200


def test_item11_uploads_are_purged_after_the_retention_whatever_became_of_them(world, settings):
    settings.REGISTRAR_UPLOAD_RETENTION_HOURS = 24
    old = timezone.now() - timedelta(hours=25)
    verified = upload(world.admin)
    run(world.admin, verified, verify_only=True)
    never_used, recent, waiting = upload(world.admin), upload(world.admin), upload(world.admin)
    service.start_import(world.admin, waiting, {}, verify_only=False)  # queued, not run
    Upload.objects.exclude(pk=recent.pk).update(created_at=old)
    stray = Path(settings.DATA_DIR) / "uploads" / "0b7c8c4e-0000-4000-8000-000000000000"
    stray.mkdir(parents=True)
    (stray / "left.csv").write_text("x;y\r\n")
    os.utime(stray, (old.timestamp(), old.timestamp()))

    done = retention.purge_uploads()

    assert done["uploads"] == 3 and done["upload_bytes"] > 0
    purged = set(Upload.objects.filter(purged_at__isnull=False).values_list("pk", flat=True))
    assert purged == {verified.pk, never_used.pk}
    assert not stray.exists()
    assert _folder(recent).is_dir() and _folder(waiting).is_dir()  # too recent; a job waits on it
    assert retention.purge_uploads()["uploads"] == 0  # nothing left to do


def finished_import(world, days_ago: float) -> Operation:
    job = run(world.admin, upload(world.admin))
    op = Operation.objects.get(pk=job.operation_id)
    Operation.objects.filter(pk=op.pk).update(finished_at=timezone.now() - timedelta(days=days_ago))
    op.refresh_from_db()
    return op


def test_item11_operation_files_are_purged_after_n_days_and_pages_say_so(world, settings, tokens):
    settings.REGISTRAR_OPERATION_FILE_RETENTION_DAYS = 90
    old, recent = finished_import(world, 91), finished_import(world, 89)
    folder = Path(old.results_path).parent
    assert folder.is_dir() and Path(old.log_path).exists()

    done = retention.purge_operation_files()

    # results, rejects, log and the kept issues
    assert done["operations"] == 1 and done["operation_files"] == 4
    assert done["operation_bytes"] > 0
    assert not folder.exists()
    old.refresh_from_db()
    assert (old.results_path, old.rejects_path, old.log_path) == ("", "", "")
    assert PurgedFiles.objects.get(operation_id=old.pk).files == 4
    recent.refresh_from_db()
    assert Path(recent.results_path).exists()

    c, api = signed_in("admin"), Api(tokens.admin)
    page = c.get(f"/history/{old.pk}/")
    assert page.status_code == 200 and "files were deleted on" in text(page)
    job = Job.objects.get(operation_id=old.pk)
    html = text(c.get(f"/jobs/{job.pk}/"))
    assert "files were deleted on" in html and f"/history/{old.pk}/results/" not in html
    for name in ("results", "rejects", "log"):
        r = c.get(f"/history/{old.pk}/{name}/")
        assert r.status_code == 410 and "deleted on" in text(r)
        r = api.get(f"/api/operations/{old.pk}/files/{name}")
        assert r.status_code == 410 and "deleted on" in r.json()["detail"]
    rows = api.get(f"/api/operations/{old.pk}/rows")
    assert rows.status_code == 200 and rows.json()["total"] == 0
    assert api.get(f"/api/operations/{old.pk}").status_code == 200
    assert c.get(f"/history/{recent.pk}/results/").status_code == 200
    assert c.get(f"/history/{recent.pk}/nothing/").status_code == 404


def test_item11_zero_days_keeps_operation_files_for_ever(world, settings):
    settings.REGISTRAR_OPERATION_FILE_RETENTION_DAYS = 0
    op = finished_import(world, 5000)
    assert retention.purge_operation_files()["operations"] == 0
    op.refresh_from_db()
    assert Path(op.results_path).exists()


def test_item11_purge_command_says_what_it_deleted_and_verify_only_deletes_nothing(world, settings):
    settings.REGISTRAR_OPERATION_FILE_RETENTION_DAYS = 30
    op = finished_import(world, 31)
    up = upload(world.admin)
    Upload.objects.filter(pk=up.pk).update(created_at=timezone.now() - timedelta(days=2))

    out = StringIO()
    call_command("purge", verify_only=True, json=True, stdout=out)
    planned = json.loads(out.getvalue())
    assert planned["verify_only"] is True
    assert (planned["uploads"], planned["operations"], planned["operation_files"]) == (1, 1, 4)
    assert Path(op.results_path).exists() and _folder(up).is_dir()

    out = StringIO()
    call_command("purge", stdout=out)
    assert "uploads: deleted 1" in out.getvalue()
    assert "operation files: deleted those of 1 operations (4 files" in out.getvalue()
    assert not Path(op.results_path).exists() and not _folder(up).exists()
    out = StringIO()
    call_command("purge", json=True, stdout=out)
    assert json.loads(out.getvalue())["uploads"] == 0
