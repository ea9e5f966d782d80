"""The portal's pages: sign-in, the import centre (kind → upload → preview → verify → run), the
jobs, the history with its files and undo; roles, organisation scopes, CSRF and language."""

import re
import uuid
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from registrar.jobs.models import Job, Upload
from registrar.journal.models import Operation
from registrar.learning.models import CourseRecord

from .portal_fixtures import BOTH, COMPLETIONS, run_jobs

pytestmark = pytest.mark.django_db(databases=BOTH)

PASSWORDS = {"admin": "admin-pass", "eu.admin": "eu-pass", "us.admin": "us-pass"}
MISSING_COLUMN = "course_id;completion_date;colour\r\nSAFE-101;2024-06-15;blue\r\n"
# What a browser posts from the options form as shown (header ticked, the rest detected).
DEFAULT_OPTIONS = {
    "opt_delimiter": "",
    "opt_encoding": "",
    "opt_header": "on",
    "opt_date_order": "ymd",
}


def signed_in(login: str, **kw) -> Client:
    c = Client(**kw)
    assert c.login(username=login, password=PASSWORDS[login])
    return c


def text(response) -> str:
    return response.content.decode()


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def upload(c: Client, body: str = COMPLETIONS, name: str = "c.csv", kind: str = "completions"):
    f = SimpleUploadedFile(name, body.encode(), content_type="text/csv")
    return c.post(f"/imports/{kind}/", {"file": f})


def uploaded(c: Client, body: str = COMPLETIONS) -> Upload:
    r = upload(c, body)
    assert r.status_code == 302, text(r)
    m = re.fullmatch(r"/uploads/([0-9a-f-]+)/", r.url)
    assert m, r.url
    return Upload.objects.get(pk=m[1])


def job_of(response) -> Job:
    assert response.status_code == 302, text(response)
    m = re.fullmatch(r"/jobs/([0-9a-f-]+)/", response.url)
    assert m, response.url
    return Job.objects.get(pk=m[1])


def start(c: Client, action: str = "verify", body: str = COMPLETIONS, **form) -> Job:
    """Upload, post the options form with `action`, run the worker: the finished job."""
    up = uploaded(c, body)
    job = job_of(c.post(f"/uploads/{up.pk}/", {**DEFAULT_OPTIONS, "action": action, **form}))
    run_jobs()
    job.refresh_from_db()
    return job


def counts(html: str) -> dict[str, int]:
    """The counts table's figures (shown with the reader's thousands separator)."""
    found = re.findall(r'<td class="c-(\w+)">(\d[\d,\s\u00a0\u202f]*)</td>', html)
    return {k: int(re.sub(r"\D", "", v)) for k, v in found}


class FormFields(HTMLParser):
    """The fields a browser would send from a page's POST form, as filled in when shown."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = "on"
            elif a.get("type") != "file":
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self.select, self.first_option = a["name"], None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
                self.values.setdefault(self.select, self.first_option)
            if "selected" in a:
                self.values[self.select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None


def form_fields(html: str) -> dict[str, str]:
    p = FormFields()
    p.feed(html.split("</header>", 1)[-1])  # the page's own form, not the header's switch
    p.values.pop("csrfmiddlewaretoken", None)
    return p.values


# --- sign-in -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/imports/",
        "/imports/completions/",
        "/imports/completions/template.csv",
        f"/uploads/{uuid.uuid4()}/",
        f"/jobs/{uuid.uuid4()}/",
        f"/jobs/{uuid.uuid4()}/status/",
        "/history/",
        "/history/1/",
        "/history/1/results/",
    ],
)
def test_anonymous_visitor_is_sent_to_sign_in(world, url):
    r = Client().get(url)
    assert r.status_code == 302
    assert r.url == f"/login/?next={url}"


def test_anonymous_post_is_sent_to_sign_in_and_starts_nothing(world):
    c = Client()
    assert c.post("/history/1/undo/", {"action": "undo"}).url.startswith("/login/")
    assert c.post(f"/jobs/{uuid.uuid4()}/run/").url.startswith("/login/")
    r = upload(c)
    assert r.status_code == 302 and r.url.startswith("/login/")
    assert Upload.objects.count() == 0 and Job.objects.count() == 0


def test_sign_in_page_signs_in_and_goes_to_the_dashboard(world):
    c = Client()
    r = c.get("/login/")
    assert r.status_code == 200
    assert 'name="username"' in text(r) and 'name="password"' in text(r)
    r = c.post("/login/", {"username": "eu.admin", "password": "eu-pass"})
    assert r.status_code == 302 and r.url == "/"
    r = c.get("/", follow=True)  # the home is the completion dashboard (issue 12)
    assert r.redirect_chain == [] and 'data-testid="totals"' in text(r)
    assert r.status_code == 200 and "Test Eu.Admin" in text(r)


def test_sign_in_follows_next(world):
    r = Client().post(
        "/login/?next=/history/",
        {"username": "eu.admin", "password": "eu-pass", "next": "/history/"},
    )
    assert r.status_code == 302 and r.url == "/history/"


def test_wrong_password_shows_an_error_and_signs_nobody_in(world):
    c = Client()
    r = c.post("/login/", {"username": "eu.admin", "password": "nope"})
    assert r.status_code == 200
    assert 'role="alert"' in text(r) and "did not match" in text(r)
    assert 'value="eu.admin"' in text(r)  # the login is kept for the next try
    assert c.get("/imports/").status_code == 302


def test_disabled_user_cannot_sign_in(world):
    world.eu_admin.disabled = True
    world.eu_admin.save()
    r = Client().post("/login/", {"username": "eu.admin", "password": "eu-pass"})
    assert r.status_code == 200 and "did not match" in text(r)


def test_user_disabled_while_signed_in_is_signed_out(world):
    c = signed_in("eu.admin")
    assert c.get("/imports/").status_code == 200
    world.eu_admin.disabled = True
    world.eu_admin.save()
    r = c.get("/imports/")
    assert r.status_code == 302 and r.url.startswith("/login/")


def test_sign_out_ends_the_session(world):
    c = signed_in("eu.admin")
    r = c.post("/logout/")
    assert r.status_code == 302 and r.url == "/login/"
    assert c.get("/imports/").status_code == 302


# --- language ------------------------------------------------------------------------------


def test_pages_speak_the_users_culture(world):
    assert '<html lang="fr"' in text(signed_in("us.admin").get("/imports/"))
    assert '<html lang="en"' in text(signed_in("admin").get("/imports/"))
    assert '<html lang="en"' in text(Client().get("/login/"))


# --- the import centre ---------------------------------------------------------------------


def test_imports_page_lists_the_kinds_of_the_users_roles(world):
    html = text(signed_in("eu.admin").get("/imports/"))
    assert 'href="/imports/completions/"' in html and 'href="/imports/users/"' in html
    assert "Organisations and people" in html and "Learning records" in html
    assert 'href="/imports/catalogue/"' not in html
    assert 'href="/imports/classroom-sessions/"' not in html
    html = text(signed_in("admin").get("/imports/"))
    assert 'href="/imports/catalogue/"' in html and ">Catalogue<" in html


def test_kind_page_shows_the_columns_and_the_users_organisation(world):
    r = signed_in("eu.admin").get("/imports/completions/")
    assert r.status_code == 200
    html = text(r)
    assert "Course completions" in html
    for column in ("course_id", "user_email", "completion_date", "course_title"):
        assert f"<code>{column}</code>" in html
    assert "Acme Europe (ACME-EU)" in html
    assert 'enctype="multipart/form-data"' in html


def test_kind_outside_the_roles_is_403_and_unknown_kind_404(world):
    c = signed_in("eu.admin")
    r = c.get("/imports/catalogue/")
    assert r.status_code == 403 and "catalogue" in text(r)
    assert c.get("/imports/nope/").status_code == 404
    assert upload(c, kind="catalogue").status_code == 403
    assert Upload.objects.count() == 0


def test_template_downloads_as_csv_or_xlsx(world):
    c = signed_in("eu.admin")
    r = c.get("/imports/completions/template.csv")
    assert r.status_code == 200
    assert 'filename="completions-template.csv"' in r["Content-Disposition"]
    header = streamed(r).decode("utf-8-sig").splitlines()[0]
    assert header == "course_id;user_email;completion_date;course_title"
    r = c.get("/imports/completions/template.xlsx")
    assert r.status_code == 200 and streamed(r)[:2] == b"PK"
    assert c.get("/imports/completions/template.pdf").status_code == 404
    assert c.get("/imports/catalogue/template.csv").status_code == 403


def test_upload_goes_to_its_first_row_preview(world):
    c = signed_in("eu.admin")
    up = uploaded(c)
    assert up.user_id == world.eu_admin.pk and up.original_name == "c.csv"
    r = c.get(f"/uploads/{up.pk}/")
    assert r.status_code == 200
    html = text(r)
    preview = html[html.index('data-testid="preview"') :]
    assert "<td>SAFE-101</td>" in preview and "<td>eve@example.com</td>" in preview
    assert "How rows 2 to 4 are read" in html  # every row of a short file (issue 14, item 5)
    assert "Missing columns" not in html and "Unknown columns" not in html
    assert 'name="action" value="verify"' in html and 'name="action" value="run"' in html
    assert '<option value="ACME-EU">' in html  # the scoped admin's organisation


def test_upload_preview_names_missing_and_unknown_columns(world):
    c = signed_in("eu.admin")
    html = text(c.get(f"/uploads/{uploaded(c, MISSING_COLUMN).pk}/"))
    assert "Missing columns: <code>user_email</code>" in html
    assert "Unknown columns, ignored: <code>colour</code>" in html
    assert "missing_column" in html


def test_upload_without_a_file_shows_an_error(world):
    r = signed_in("eu.admin").post("/imports/completions/", {})
    assert r.status_code == 400 and "Choose a file" in text(r)


def test_upload_with_a_bad_extension_is_400(world):
    r = upload(signed_in("eu.admin"), name="c.exe")
    assert r.status_code == 400 and "c.exe" in text(r)
    assert Upload.objects.count() == 0


def test_upload_over_the_size_limit_is_413(world, settings):
    settings.REGISTRAR_MAX_UPLOAD_BYTES = 10
    r = upload(signed_in("eu.admin"))
    assert r.status_code == 413
    assert Upload.objects.count() == 0


def test_another_users_upload_is_404(world):
    up = uploaded(signed_in("eu.admin"))
    us = signed_in("us.admin")
    assert us.get(f"/uploads/{up.pk}/").status_code == 404
    assert us.post(f"/uploads/{up.pk}/", {"action": "run"}).status_code == 404
    assert Job.objects.count() == 0


def test_a_wrong_option_is_refused_at_once_with_its_reason(world):
    c = signed_in("admin")
    up = uploaded(c)
    r = c.post(
        f"/uploads/{up.pk}/", {**DEFAULT_OPTIONS, "opt_encoding": "klingon", "action": "run"}
    )
    assert r.status_code == 400
    assert "invalid_option" in text(r) and "encoding" in text(r)
    assert Job.objects.count() == 0


def test_options_form_as_shown_verifies_the_file(world):
    c = signed_in("admin")
    up = uploaded(c)
    fields = form_fields(text(c.get(f"/uploads/{up.pk}/")))
    assert fields == DEFAULT_OPTIONS
    job = job_of(c.post(f"/uploads/{up.pk}/", {**fields, "action": "verify"}))
    assert job.verify_only and job.scope == ""
    assert job.options == {"header": "yes", "date_order": "ymd"}
    run_jobs()
    job.refresh_from_db()
    assert job.status == "done" and (job.result["created"], job.result["rejected"]) == (2, 1)


def test_verify_goes_to_the_job_page_which_shows_counts_and_rejected_rows(world):
    c = signed_in("admin")
    up = uploaded(c)
    job = job_of(c.post(f"/uploads/{up.pk}/", {**DEFAULT_OPTIONS, "action": "verify"}))
    assert job.verify_only and job.status == "queued"
    html = text(c.get(f"/jobs/{job.pk}/"))
    assert 'data-status="queued"' in html and f'hx-get="/jobs/{job.pk}/status/"' in html
    run_jobs()
    for url in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/status/"):
        r = c.get(url)
        assert r.status_code == 200
        html = text(r)
        assert 'data-status="done"' in html and "hx-get" not in html
        assert "Verified: nothing was written" in html
        assert counts(html) == {
            "created": 2,
            "updated": 0,
            "deleted": 0,
            "unchanged": 0,
            "skipped": 0,
            "rejected": 1,
        }
        rejected = html[html.index('data-testid="rejected"') :]
        assert "<td>4</td>" in rejected and "<code>course_not_found</code>" in rejected
        assert "NOPE-999" in rejected
        assert f'action="/jobs/{job.pk}/run/"' in html
    assert not text(c.get(f"/jobs/{job.pk}/status/")).lstrip().startswith("<!doctype")
    assert CourseRecord.objects.count() == 0


def test_run_after_a_verification_imports_for_real(world):
    c = signed_in("admin")
    check = start(c, "verify", all_or_nothing="", scope="")
    real = job_of(c.post(f"/jobs/{check.pk}/run/"))
    assert not real.verify_only and real.upload_id == check.upload_id
    assert real.options == check.options
    run_jobs()
    real.refresh_from_db()
    assert real.status == "done" and real.result["created"] == 2
    assert set(CourseRecord.objects.values_list("user__login", flat=True)) == {"eve", "sam"}
    html = text(c.get(f"/jobs/{real.pk}/"))
    assert "Imported." in html and counts(html)["created"] == 2
    assert f'href="/history/{real.operation_id}/"' in html


def test_run_now_imports_at_once(world):
    job = start(signed_in("admin"), "run")
    assert not job.verify_only and job.result["status"] == "done"
    assert CourseRecord.objects.count() == 2


def test_all_or_nothing_writes_nothing_when_a_row_is_rejected(world):
    c = signed_in("admin")
    job = start(c, "run", all_or_nothing="on")
    assert job.all_or_nothing and job.result["status"] == "aborted"
    assert CourseRecord.objects.count() == 0
    assert "Aborted" in text(c.get(f"/jobs/{job.pk}/"))


def test_a_file_the_import_would_refuse_starts_no_job_and_the_page_says_why(world):
    """Issue 14, item 5: a run posted for a refused file no longer ends on a failed job."""
    c = signed_in("admin")
    up = uploaded(c, MISSING_COLUMN)
    r = c.post(f"/uploads/{up.pk}/", {**DEFAULT_OPTIONS, "action": "run"})
    assert r.status_code == 400 and not Job.objects.exists()
    html = text(r)
    assert 'data-testid="refused"' in html and "missing_column" in html and "user_email" in html


def test_scoped_admins_import_is_confined_to_their_organisation(world):
    c = signed_in("eu.admin")
    job = start(c, "run", scope="ACME-EU")
    assert job.scope == "ACME-EU"
    assert (job.result["created"], job.result["rejected"]) == (1, 2)
    assert list(CourseRecord.objects.values_list("user__login", flat=True)) == ["eve"]
    html = text(c.get(f"/jobs/{job.pk}/"))
    assert "<code>out_of_scope</code>" in html and "sam@example.com" in html


def test_scoped_admin_choosing_another_organisation_is_403(world):
    c = signed_in("eu.admin")
    up = uploaded(c)
    r = c.post(f"/uploads/{up.pk}/", {**DEFAULT_OPTIONS, "action": "run", "scope": "ACME-US"})
    assert r.status_code == 403 and "ACME-US" in text(r)
    assert Job.objects.count() == 0


def test_another_users_job_is_404_but_the_site_admin_sees_it(world):
    job = start(signed_in("eu.admin"), "verify")
    us = signed_in("us.admin")
    assert us.get(f"/jobs/{job.pk}/").status_code == 404
    assert us.get(f"/jobs/{job.pk}/status/").status_code == 404
    assert us.post(f"/jobs/{job.pk}/run/").status_code == 404
    assert signed_in("admin").get(f"/jobs/{job.pk}/").status_code == 200
    assert Job.objects.count() == 1


def test_post_only_pages_refuse_get_405(world):
    c = signed_in("admin")
    job = start(c, "run")
    assert c.get(f"/jobs/{job.pk}/run/").status_code == 405
    assert c.get(f"/history/{job.operation_id}/undo/").status_code == 405
    assert c.post("/history/").status_code == 405


# --- history -------------------------------------------------------------------------------


@pytest.fixture
def eu_and_us_operations(world):
    """An import by each scoped admin: (eu's operation, us's operation)."""
    eu = start(signed_in("eu.admin"), "run")
    us = start(signed_in("us.admin"), "run")
    return Operation.objects.get(pk=eu.operation_id), Operation.objects.get(pk=us.operation_id)


def history_ids(c: Client, query: str = "") -> list[int]:
    html = text(c.get(f"/history/{query}"))
    found = re.findall(r'<td><a href="/history/(\d+)/">', html)
    return [int(n) for n in dict.fromkeys(found)]


def test_history_lists_only_operations_inside_the_users_scope(eu_and_us_operations):
    eu_op, us_op = eu_and_us_operations
    assert history_ids(signed_in("eu.admin")) == [eu_op.pk]
    assert history_ids(signed_in("us.admin")) == [us_op.pk]
    assert history_ids(signed_in("admin")) == [us_op.pk, eu_op.pk]


def test_history_filters_on_kind(eu_and_us_operations):
    eu_op, us_op = eu_and_us_operations
    c = signed_in("admin")
    assert history_ids(c, "?kind=users") == []
    assert history_ids(c, "?kind=completions") == [us_op.pk, eu_op.pk]


def test_operation_page_shows_counts_rejected_rows_and_files(eu_and_us_operations):
    eu_op, _ = eu_and_us_operations
    r = signed_in("eu.admin").get(f"/history/{eu_op.pk}/")
    assert r.status_code == 200
    html = text(r)
    assert f"#{eu_op.pk} completions" in html and "eu.admin" in html
    c = counts(html)
    assert (c["rows"], c["created"], c["rejected"]) == (3, 1, 2)
    rejected = html[html.index('data-testid="rejected"') :]
    assert "<code>out_of_scope</code>" in rejected and "<code>course_not_found</code>" in rejected
    for name in ("results", "rejects", "log"):
        assert f'href="/history/{eu_op.pk}/{name}/"' in html
    assert f'action="/history/{eu_op.pk}/undo/"' in html


def test_operation_outside_the_users_scope_is_404(eu_and_us_operations):
    _, us_op = eu_and_us_operations
    c = signed_in("eu.admin")
    assert c.get(f"/history/{us_op.pk}/").status_code == 404
    assert c.get("/history/999999/").status_code == 404
    for name in ("results", "rejects", "log"):
        assert c.get(f"/history/{us_op.pk}/{name}/").status_code == 404
    assert c.post(f"/history/{us_op.pk}/undo/", {"action": "undo"}).status_code == 404
    assert Job.objects.filter(what=Job.UNDO).count() == 0


def test_operation_files_download(eu_and_us_operations):
    eu_op, _ = eu_and_us_operations
    c = signed_in("eu.admin")
    r = c.get(f"/history/{eu_op.pk}/results/")
    assert r.status_code == 200
    assert f'filename="{eu_op.pk}-results.csv"' in r["Content-Disposition"]
    lines = streamed(r).decode("utf-8-sig").splitlines()
    assert lines[0] == "course_id;user_email;completion_date;row;result;codes;message"
    assert lines[1] == "SAFE-101;eve@example.com;2024-06-15;2;created;;"
    r = c.get(f"/history/{eu_op.pk}/rejects/")
    assert streamed(r).decode("utf-8-sig").splitlines() == [
        "course_id;user_email;completion_date",
        "SAFE-101;sam@example.com;2024-06-16",
        "NOPE-999;eve@example.com;2024-06-17",
    ]
    log = streamed(c.get(f"/history/{eu_op.pk}/log/")).decode()
    assert "row 3" in log and "out_of_scope" in log
    assert c.get(f"/history/{eu_op.pk}/secrets/").status_code == 404
    assert c.get(f"/history/{eu_op.pk}/file/").status_code == 404


def test_undo_is_checked_first_then_run(world):
    c = signed_in("admin")
    op = Operation.objects.get(pk=start(c, "run").operation_id)
    assert CourseRecord.objects.count() == 2
    check = job_of(c.post(f"/history/{op.pk}/undo/", {"action": "verify"}))
    assert check.what == Job.UNDO and check.verify_only and check.target_operation_id == op.pk
    run_jobs()
    check.refresh_from_db()
    assert check.status == "done" and check.result["deleted"] >= 2
    assert CourseRecord.objects.count() == 2  # the check changed nothing
    html = text(c.get(f"/jobs/{check.pk}/"))
    assert "Undo checked: nothing was changed" in html
    assert f'action="/jobs/{check.pk}/run/"' in html
    real = job_of(c.post(f"/jobs/{check.pk}/run/"))
    assert real.what == Job.UNDO and not real.verify_only
    run_jobs()
    real.refresh_from_db()
    assert real.status == "done" and real.result["conflict_count"] == 0
    assert CourseRecord.objects.count() == 0
    op.refresh_from_db()
    assert op.undone_by_id == real.operation_id
    assert "Undone." in text(c.get(f"/jobs/{real.pk}/"))
    # Undone once: a second undo, or running the check again, is refused.
    assert c.post(f"/history/{op.pk}/undo/", {"action": "verify"}).status_code == 409
    assert c.post(f"/jobs/{check.pk}/run/").status_code == 409
    assert Job.objects.filter(what=Job.UNDO).count() == 2


def test_scoped_admin_undoes_their_own_import(eu_and_us_operations):
    eu_op, us_op = eu_and_us_operations
    c = signed_in("eu.admin")
    check = job_of(c.post(f"/history/{eu_op.pk}/undo/", {"action": "verify"}))
    run_jobs()
    real = job_of(c.post(f"/jobs/{check.pk}/run/"))
    run_jobs()
    real.refresh_from_db()
    assert real.status == "done"
    assert list(CourseRecord.objects.values_list("user__login", flat=True)) == ["sam"]
    assert real.operation_id in history_ids(c)
    assert real.operation_id not in history_ids(signed_in("us.admin"))


def test_verification_cannot_be_undone_409(world):
    c = signed_in("admin")
    op = Operation.objects.get(pk=start(c, "verify").operation_id)
    assert op.verify_only
    assert f'action="/history/{op.pk}/undo/"' not in text(c.get(f"/history/{op.pk}/"))
    assert c.post(f"/history/{op.pk}/undo/", {"action": "verify"}).status_code == 409
    assert Job.objects.filter(what=Job.UNDO).count() == 0


# --- CSRF ----------------------------------------------------------------------------------


def test_posts_without_csrf_token_are_refused_403(world):
    c = signed_in("admin", enforce_csrf_checks=True)
    f = SimpleUploadedFile("c.csv", COMPLETIONS.encode())
    assert c.post("/imports/completions/", {"file": f}).status_code == 403
    assert Upload.objects.count() == 0
    # The same post with the token the page gave is taken.
    html = text(c.get("/imports/completions/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    f = SimpleUploadedFile("c.csv", COMPLETIONS.encode())
    r = c.post("/imports/completions/", {"file": f, "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and Upload.objects.count() == 1


def test_undo_without_csrf_token_is_refused_403(world):
    op = Operation.objects.get(pk=start(signed_in("admin"), "run").operation_id)
    c = signed_in("admin", enforce_csrf_checks=True)
    assert c.post(f"/history/{op.pk}/undo/", {"action": "undo"}).status_code == 403
    assert Job.objects.filter(what=Job.UNDO).count() == 0


def test_sign_in_without_csrf_token_is_refused_403(world):
    c = Client(enforce_csrf_checks=True)
    r = c.post("/login/", {"username": "eu.admin", "password": "eu-pass"})
    assert r.status_code == 403
    assert c.get("/imports/").status_code == 302
