"""The REST API (/api/): every endpoint, its token auth, its roles and organisation scopes."""

import os
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client

from registrar.api.models import ApiToken, digest
from registrar.bulk.io.readers import open_table
from registrar.jobs.models import Job, Upload
from registrar.journal.models import Operation
from registrar.learning.models import CourseRecord
from registrar.routers import separate_jobs_db

from . import factories as f
from .portal_fixtures import BOTH, COMPLETIONS, run_jobs

pytestmark = pytest.mark.django_db(databases=BOTH)

COMPLETION_COLUMNS = ["course_id", "user_email", "completion_date", "course_title"]
MISSING_COLUMN = "course_id;completion_date;colour\r\nSAFE-101;2024-06-15;blue\r\n"


class Api:
    """A program calling the API with a bearer token."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, url: str, **params):
        return self.client.get(url, params, headers=self.headers)

    def post(self, url: str, body: dict | None = None):
        return self.client.post(
            url, body or {}, content_type="application/json", headers=self.headers
        )

    def upload(self, text: str = COMPLETIONS, kind: str = "completions", name: str = "c.csv"):
        f = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
        return self.client.post("/api/uploads", {"kind": kind, "file": f}, headers=self.headers)

    def start(self, action: str = "run", text: str = COMPLETIONS, **body) -> dict:
        """Upload, queue `action` (verify or run), run the worker: the finished job."""
        r = self.upload(text)
        assert r.status_code == 201, r.content
        r = self.post(f"/api/uploads/{r.json()['id']}/{action}", body)
        assert r.status_code == 202, r.content
        run_jobs()
        r = self.get(f"/api/jobs/{r.json()['id']}")
        assert r.status_code == 200, r.content
        return r.json()


def content(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def api(tokens):
    return {"admin": Api(tokens.admin), "eu": Api(tokens.eu), "us": Api(tokens.us)}


# --- authentication ------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/kinds"),
    ("get", "/api/kinds/completions"),
    ("get", "/api/kinds/completions/template"),
    ("post", "/api/uploads"),
    ("get", f"/api/uploads/{uuid.uuid4()}"),
    ("post", f"/api/uploads/{uuid.uuid4()}/verify"),
    ("post", f"/api/uploads/{uuid.uuid4()}/run"),
    ("get", f"/api/jobs/{uuid.uuid4()}"),
    ("get", "/api/operations"),
    ("get", "/api/operations/1"),
    ("get", "/api/operations/1/rows"),
    ("get", "/api/operations/1/files/log"),
    ("post", "/api/operations/1/undo"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_refuses_a_call_without_token_401(world, method, url):
    r = getattr(Api(None), method)(url)
    assert r.status_code == 401
    assert r.json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_refuses_a_wrong_token_401(world, method, url):
    r = getattr(Api("rgt_" + "x" * 43), method)(url)
    assert r.status_code == 401


def test_revoked_token_is_refused_401(world, tokens):
    assert Api(tokens.eu).get("/api/kinds").status_code == 200
    ApiToken.objects.filter(user_id=world.eu_admin.pk).update(revoked=True)
    assert Api(tokens.eu).get("/api/kinds").status_code == 401


def test_inactive_users_token_is_refused_401(world, tokens):
    world.eu_admin.disabled = True
    world.eu_admin.save()
    assert Api(tokens.eu).get("/api/kinds").status_code == 401
    assert Api(tokens.us).get("/api/kinds").status_code == 200


def test_token_must_come_as_bearer_401(world, tokens):
    c = Client()
    assert c.get("/api/kinds", headers={"Authorization": f"Token {tokens.eu}"}).status_code == 401
    assert c.get("/api/kinds", headers={"Authorization": tokens.eu}).status_code == 401
    assert c.get("/api/kinds", {"token": tokens.eu}).status_code == 401


def test_signed_in_session_without_token_is_refused_401(world, client):
    # The API takes tokens only: a browser's session cookie gives nothing (no CSRF surface).
    assert client.login(username="admin", password="admin-pass")
    assert client.get("/api/kinds").status_code == 401
    assert client.get("/imports/").status_code == 200


def test_token_calls_need_no_csrf_token(world, tokens):
    c = Client(enforce_csrf_checks=True)
    f = SimpleUploadedFile("c.csv", COMPLETIONS.encode())
    r = c.post(
        "/api/uploads",
        {"kind": "completions", "file": f},
        headers={"Authorization": f"Bearer {tokens.eu}"},
    )
    assert r.status_code == 201


def test_token_use_is_recorded_in_last_used_at(world, tokens):
    row = ApiToken.objects.get(user_id=world.eu_admin.pk)
    assert row.last_used_at is None
    Api(tokens.eu).get("/api/kinds")
    row.refresh_from_db()
    assert row.last_used_at is not None
    assert ApiToken.objects.get(user_id=world.us_admin.pk).last_used_at is None


def test_token_text_is_never_stored_only_its_hash(world, tokens, api, data_dir):
    row = ApiToken.objects.get(user_id=world.eu_admin.pk)
    assert row.key_hash == digest(tokens.eu) and len(row.key_hash) == 64
    assert tokens.eu.startswith("rgt_") and tokens.eu.startswith(row.hint)
    assert len(row.hint) < len(tokens.eu) // 2
    # Use the token everywhere that writes: uploads, jobs, the journal, an undo.
    job = api["eu"].start("run")
    api["eu"].post(f"/api/operations/{job['operation']}/undo", {"verify_only": False})
    run_jobs()
    secrets = [tokens.admin, tokens.eu, tokens.us]
    aliases = ["default", "jobs"] if separate_jobs_db() else ["default"]
    scanned = 0
    for alias in aliases:
        conn = connections[alias]
        with conn.cursor() as c:
            for table in conn.introspection.table_names(c):
                c.execute(f"SELECT * FROM {conn.ops.quote_name(table)}")
                for record in c.fetchall():
                    text = repr(record)
                    scanned += 1
                    assert not any(s in text or s[4:] in text for s in secrets), table
    assert scanned > 20
    for folder, _, files in os.walk(data_dir):
        for name in files:
            data = Path(folder, name).read_bytes()
            assert not any(s.encode() in data for s in secrets), name


# --- docs ----------------------------------------------------------------------------------


def test_docs_and_openapi_schema_are_public_and_document_bearer_auth(world):
    c = Client()
    r = c.get("/api/docs")
    assert r.status_code == 200 and b"swagger" in r.content.lower()
    r = c.get("/api/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "Registrar API"
    assert set(schema["paths"]) >= {
        "/api/kinds",
        "/api/kinds/{kind}",
        "/api/kinds/{kind}/template",
        "/api/uploads",
        "/api/uploads/{upload_id}",
        "/api/uploads/{upload_id}/verify",
        "/api/uploads/{upload_id}/run",
        "/api/jobs/{job_id}",
        "/api/operations",
        "/api/operations/{op_id}",
        "/api/operations/{op_id}/rows",
        "/api/operations/{op_id}/files/{name}",
        "/api/operations/{op_id}/undo",
    }
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(schemes.values())).items()
    # Every operation requires the token.
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            assert spec.get("security"), (method, path)


# --- kinds ---------------------------------------------------------------------------------


def test_scoped_admin_lists_only_directory_and_learning_kinds(api):
    kinds = api["eu"].get("/api/kinds").json()
    assert {k["domain"] for k in kinds} == {"directory", "learning"}
    names = {k["name"] for k in kinds}
    assert {"users", "organisations", "completions", "course-records"} <= names
    assert not names & {"catalogue", "classroom-sessions"}
    assert all(k["title"] and k["description"] for k in kinds)


def test_site_admin_lists_every_kind_catalogue_included(api):
    kinds = api["admin"].get("/api/kinds").json()
    assert {k["domain"] for k in kinds} == {"directory", "catalogue", "learning"}
    assert {"catalogue", "classroom-sessions"} <= {k["name"] for k in kinds}


def test_kind_detail_has_its_columns_and_options(api):
    r = api["eu"].get("/api/kinds/completions")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "completions" and body["domain"] == "learning"
    assert body["title"] == "Course completions"
    assert [c["name"] for c in body["columns"]] == COMPLETION_COLUMNS
    required = {c["name"]: c["required"] for c in body["columns"]}
    assert required == {
        "course_id": True,
        "user_email": True,
        "completion_date": True,
        "course_title": False,
    }
    assert all(c["help"] for c in body["columns"])
    users = api["eu"].get("/api/kinds/users").json()
    assert users["options"], "the users kind has options"
    assert all({"name", "default", "choices", "help"} <= o.keys() for o in users["options"])


def test_unknown_kind_is_404(api):
    r = api["eu"].get("/api/kinds/nope")
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]
    assert api["eu"].get("/api/kinds/nope/template").status_code == 404


def test_kind_outside_the_roles_is_403(api):
    assert api["eu"].get("/api/kinds/catalogue").status_code == 403
    assert api["admin"].get("/api/kinds/catalogue").status_code == 200


def test_template_csv_has_the_kinds_columns_as_header(api):
    r = api["eu"].get("/api/kinds/completions/template", format="csv")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert 'filename="completions-template.csv"' in r["Content-Disposition"]
    lines = content(r).decode("utf-8-sig").splitlines()
    assert lines[0].split(";") == COMPLETION_COLUMNS
    assert len(lines) >= 2  # example rows


def test_template_csv_is_the_default_format(api):
    r = api["eu"].get("/api/kinds/completions/template")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")


def test_template_xlsx_is_a_spreadsheet_with_the_kinds_columns(api, tmp_path):
    r = api["eu"].get("/api/kinds/completions/template", format="xlsx")
    assert r.status_code == 200
    assert r["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="completions-template.xlsx"' in r["Content-Disposition"]
    data = content(r)
    assert data[:2] == b"PK"
    path = tmp_path / "t.xlsx"
    path.write_bytes(data)
    table = open_table(str(path))
    try:
        assert table.headers == COMPLETION_COLUMNS
        assert len(list(table.rows())) >= 1
    finally:
        table.close()


def test_template_in_another_format_is_refused_422(api):
    assert api["eu"].get("/api/kinds/completions/template", format="pdf").status_code == 422


def test_template_of_a_kind_outside_the_roles_is_403(api):
    assert api["eu"].get("/api/kinds/catalogue/template").status_code == 403


# --- uploads -------------------------------------------------------------------------------


def test_upload_answers_201_with_the_first_row_preview(world, api):
    r = api["eu"].upload()
    assert r.status_code == 201
    body = r.json()
    assert body["kind"] == "completions" and body["name"] == "c.csv"
    assert body["size"] == len(COMPLETIONS.encode())
    preview = body["preview"]
    assert preview["row"] == 2 and preview["format"] == "csv" and preview["delimiter"] == ";"
    cols = {c["column"]: c for c in preview["columns"]}
    assert cols["course_id"]["value"] == "SAFE-101" and cols["course_id"]["status"] == "ok"
    assert cols["user_email"]["value"] == "eve@example.com"
    assert cols["completion_date"]["status"] == "ok"
    assert cols["course_title"]["status"] == "absent"
    assert preview["unknown_columns"] == [] and preview["missing_columns"] == []
    up = Upload.objects.get(pk=body["id"])
    assert up.user_id == world.eu_admin.pk and up.kind == "completions"
    assert Path(up.path).read_bytes() == COMPLETIONS.encode()


def test_upload_preview_names_missing_and_unknown_columns(api):
    r = api["eu"].upload(MISSING_COLUMN)
    assert r.status_code == 201
    preview = r.json()["preview"]
    assert preview["missing_columns"] == ["user_email"]
    assert preview["unknown_columns"] == ["colour"]
    cols = {c["column"]: c["status"] for c in preview["columns"]}
    assert cols["user_email"] == "missing_column"


def test_upload_over_the_size_limit_is_413_and_nothing_is_kept(api, settings, data_dir):
    settings.REGISTRAR_MAX_UPLOAD_BYTES = 10
    r = api["eu"].upload()
    assert r.status_code == 413
    assert "10 bytes" in r.json()["detail"]
    assert Upload.objects.count() == 0
    uploads = data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_upload_with_a_bad_extension_is_400(api):
    r = api["eu"].upload(name="completions.exe")
    assert r.status_code == 400
    assert "completions.exe" in r.json()["detail"]
    assert Upload.objects.count() == 0


def test_upload_for_a_kind_outside_the_roles_is_403_and_unknown_kind_404(api):
    assert api["eu"].upload(kind="catalogue").status_code == 403
    assert api["eu"].upload(kind="nope").status_code == 404
    assert Upload.objects.count() == 0


def test_upload_is_readable_by_its_owner_only(api):
    up = api["eu"].upload().json()
    r = api["eu"].get(f"/api/uploads/{up['id']}")
    assert r.status_code == 200
    assert r.json()["preview"] == up["preview"] and r.json()["size"] == up["size"]
    assert api["us"].get(f"/api/uploads/{up['id']}").status_code == 404
    assert api["eu"].get(f"/api/uploads/{uuid.uuid4()}").status_code == 404


def test_another_users_upload_cannot_be_verified_or_run_404(api):
    up = api["eu"].upload().json()
    assert api["us"].post(f"/api/uploads/{up['id']}/verify").status_code == 404
    assert api["us"].post(f"/api/uploads/{up['id']}/run").status_code == 404
    assert Job.objects.count() == 0


# --- verify and run ------------------------------------------------------------------------


def test_verify_queues_a_job_that_writes_nothing(world, api):
    up = api["admin"].upload().json()
    r = api["admin"].post(f"/api/uploads/{up['id']}/verify", {})
    assert r.status_code == 202
    job = r.json()
    assert job["status"] == "queued" and job["verify_only"] is True
    assert job["what"] == "import" and job["kind"] == "completions"
    assert job["operation"] is None and job["result"] == {}
    run_jobs()
    done = api["admin"].get(f"/api/jobs/{job['id']}").json()
    assert done["status"] == "done"
    assert done["result"]["status"] == "verified"
    assert (done["result"]["created"], done["result"]["rejected"]) == (2, 1)
    assert CourseRecord.objects.count() == 0
    assert Operation.objects.get(pk=done["operation"]).verify_only


def test_run_imports_and_the_job_reports_progress_and_result(world, api):
    job = api["admin"].start("run")
    assert job["status"] == "done" and job["verify_only"] is False
    assert job["rows_done"] == 3 and job["fraction"] == 1.0
    assert job["seconds_left"] is None and job["finished_at"] is not None
    assert job["error"] == ""
    result = job["result"]
    assert (result["created"], result["rejected"], result["status"]) == (2, 1, "done")
    op = Operation.objects.get(pk=job["operation"])
    assert op.actor == world.admin and op.scope_id is None and not op.verify_only
    assert set(CourseRecord.objects.values_list("user__login", flat=True)) == {"eve", "sam"}


def test_run_takes_options_and_all_or_nothing(world, api):
    # all_or_nothing: one rejected row and nothing is written.
    job = api["admin"].start("run", all_or_nothing=True)
    assert job["result"]["status"] == "aborted"
    assert CourseRecord.objects.count() == 0
    # options reach the engine: a wrong separator makes the file unreadable as completions.
    job = api["admin"].start("run", options={"delimiter": ","})
    assert job["status"] == "failed" and job["error"].startswith("missing_column")
    assert Job.objects.get(pk=job["id"]).options == {"delimiter": ","}
    assert CourseRecord.objects.count() == 0


def test_unknown_or_wrong_option_is_refused_with_400_before_any_job(api):
    up = api["admin"].upload().json()
    for options, words in (
        ({"colour": "blue"}, "colour"),
        ({"header": "perhaps"}, "header"),
        ({"delimiter": "|"}, "delimiter"),
    ):
        r = api["admin"].post(f"/api/uploads/{up['id']}/run", {"options": options})
        assert r.status_code == 400, r.content
        assert "invalid_option" in r.json()["detail"] and words in r.json()["detail"]
    assert Job.objects.count() == 0


def test_boolean_and_number_options_are_taken_as_json_values(api):
    job = api["admin"].start("verify", options={"header": True})
    assert job["status"] == "done" and job["result"]["created"] == 2
    assert Job.objects.get(pk=job["id"]).options == {"header": "yes"}


def test_unusable_file_fails_the_job_with_its_code(api):
    job = api["admin"].start("run", text=MISSING_COLUMN)
    assert job["status"] == "failed" and job["operation"] is None
    assert job["error"].startswith("missing_column") and "user_email" in job["error"]


def test_scoped_admin_asking_another_organisations_scope_is_403(api):
    up = api["eu"].upload().json()
    for action in ("verify", "run"):
        r = api["eu"].post(f"/api/uploads/{up['id']}/{action}", {"scope": "ACME-US"})
        assert r.status_code == 403
        r = api["eu"].post(f"/api/uploads/{up['id']}/{action}", {"scope": "ACME"})
        assert r.status_code == 403
    assert Job.objects.count() == 0


def test_scoped_admin_may_name_their_own_organisation_as_scope(api):
    job = api["eu"].start("verify", scope="ACME-EU")
    assert Job.objects.get(pk=job["id"]).scope == "ACME-EU"
    assert (job["result"]["created"], job["result"]["rejected"]) == (1, 2)


def test_scoped_admin_import_without_scope_is_confined_to_their_organisation(world, api):
    job = api["eu"].start("run", scope="")
    assert Job.objects.get(pk=job["id"]).scope == "ACME-EU"
    op = Operation.objects.get(pk=job["operation"])
    assert op.scope == world.eu
    assert (job["result"]["created"], job["result"]["rejected"]) == (1, 2)
    rows = api["eu"].get(f"/api/operations/{op.pk}/rows", result="rejected").json()["rows"]
    by_user = {r["user_email"]: r["codes"] for r in rows}
    assert by_user["sam@example.com"] == "out_of_scope"
    assert list(CourseRecord.objects.values_list("user__login", flat=True)) == ["eve"]


def test_site_admin_may_scope_an_import_and_an_unknown_organisation_is_400(world, api):
    job = api["admin"].start("run", scope="ACME-US")
    assert Operation.objects.get(pk=job["operation"]).scope == world.us
    assert list(CourseRecord.objects.values_list("user__login", flat=True)) == ["sam"]
    up = api["admin"].upload().json()
    r = api["admin"].post(f"/api/uploads/{up['id']}/run", {"scope": "NOWHERE"})
    assert r.status_code == 400 and "NOWHERE" in r.json()["detail"]


# --- jobs ----------------------------------------------------------------------------------


def test_job_of_another_user_is_404_but_the_site_admin_sees_it(api):
    job = api["eu"].start("verify")
    assert api["us"].get(f"/api/jobs/{job['id']}").status_code == 404
    assert api["eu"].get(f"/api/jobs/{uuid.uuid4()}").status_code == 404
    r = api["admin"].get(f"/api/jobs/{job['id']}")
    assert r.status_code == 200 and r.json()["id"] == job["id"]


def test_queued_job_reports_queued_without_progress(api):
    up = api["eu"].upload().json()
    job = api["eu"].post(f"/api/uploads/{up['id']}/run").json()
    r = api["eu"].get(f"/api/jobs/{job['id']}").json()
    assert (r["status"], r["rows_done"], r["fraction"], r["finished_at"]) == (
        "queued",
        0,
        None,
        None,
    )


# --- operations ----------------------------------------------------------------------------


@pytest.fixture
def three_operations(world, api):
    """An unscoped import by the site admin (for ann, of the root organisation), and one by each
    scoped admin (eve's for eu, sam's for us; the other rows rejected): their operation ids."""
    f.user("ann", world.root, email="ann@example.com")
    ann = "course_id;user_email;completion_date\r\nSAFE-101;ann@example.com;2024-06-18\r\n"
    return {
        "admin": api["admin"].start("run", text=ann)["operation"],
        "us": api["us"].start("run")["operation"],
        "eu": api["eu"].start("run")["operation"],
    }


def test_operations_list_only_those_inside_the_callers_scope(api, three_operations):
    ops = three_operations
    eu = api["eu"].get("/api/operations").json()
    assert [o["id"] for o in eu] == [ops["eu"]]
    assert eu[0]["scope"] == "ACME-EU" and eu[0]["actor"] == "eu.admin"
    assert [o["id"] for o in api["us"].get("/api/operations").json()] == [ops["us"]]
    everything = api["admin"].get("/api/operations").json()
    assert [o["id"] for o in everything] == [ops["eu"], ops["us"], ops["admin"]]  # newest first
    assert everything[2]["scope"] is None


def test_operations_list_pages_and_filters_by_kind(api, three_operations):
    admin = api["admin"]
    assert len(admin.get("/api/operations", limit=1).json()) == 1
    assert [o["id"] for o in admin.get("/api/operations", limit=1, offset=2).json()] == [
        three_operations["admin"]
    ]
    assert len(admin.get("/api/operations", name="completions").json()) == 3
    assert admin.get("/api/operations", name="users").json() == []


def test_operations_and_rows_clamp_an_out_of_range_offset_and_limit(api):
    op = api["admin"].start("run")["operation"]
    r = api["admin"].get("/api/operations", offset=-1, limit=0)
    assert r.status_code == 200 and [o["id"] for o in r.json()] == [op]
    assert api["admin"].get("/api/operations", offset=10**6).json() == []
    r = api["admin"].get(f"/api/operations/{op}/rows", offset=-3, limit=0)
    assert r.status_code == 200
    assert r.json()["offset"] == 0 and r.json()["total"] == 3
    assert [row["row"] for row in r.json()["rows"]] == [2]


def test_operation_detail_inside_scope_and_404_outside(world, api, three_operations):
    ops = three_operations
    r = api["eu"].get(f"/api/operations/{ops['eu']}")
    assert r.status_code == 200
    body = r.json()
    assert (body["kind"], body["name"], body["status"]) == ("import", "completions", "done")
    assert body["actor"] == "eu.admin" and body["scope"] == "ACME-EU"
    assert body["file_name"] == "c.csv" and body["verify_only"] is False
    assert body["counts"]["rows"] == 3 and body["counts"]["created"] == 1
    assert body["counts"]["rejected"] == 2
    assert api["eu"].get(f"/api/operations/{ops['us']}").status_code == 404
    assert api["eu"].get(f"/api/operations/{ops['admin']}").status_code == 404
    assert api["eu"].get("/api/operations/999999").status_code == 404
    assert api["admin"].get(f"/api/operations/{ops['eu']}").status_code == 200


def test_operation_rows_filtered_on_rejected_have_codes_and_messages(api):
    op = api["admin"].start("run")["operation"]
    r = api["admin"].get(f"/api/operations/{op}/rows", result="rejected")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["offset"] == 0
    (row,) = body["rows"]
    assert row["course_id"] == "NOPE-999" and row["row"] == 4
    assert row["result"] == "rejected" and row["codes"] == "course_not_found"
    assert "NOPE-999" in row["message"]
    created = api["admin"].get(f"/api/operations/{op}/rows", result="created").json()
    assert created["total"] == 2 and {r["result"] for r in created["rows"]} == {"created"}
    everything = api["admin"].get(f"/api/operations/{op}/rows", offset=1, limit=1).json()
    assert everything["total"] == 3 and [r["row"] for r in everything["rows"]] == [3]
    assert api["admin"].get(f"/api/operations/{op}/rows", result="bogus").status_code == 422


def test_operation_rows_outside_scope_are_404(api, three_operations):
    r = api["eu"].get(f"/api/operations/{three_operations['us']}/rows", result="rejected")
    assert r.status_code == 404


def test_operation_files_download_results_rejects_and_log(api):
    op = api["admin"].start("run")["operation"]
    r = api["admin"].get(f"/api/operations/{op}/files/results")
    assert r.status_code == 200 and 'filename="results.csv"' in r["Content-Disposition"]
    results = content(r).decode("utf-8-sig").splitlines()
    assert results[0] == "course_id;user_email;completion_date;row;result;codes;message"
    assert len(results) == 4 and results[1].startswith("SAFE-101;eve@example.com;")
    r = api["admin"].get(f"/api/operations/{op}/files/rejects")
    assert r.status_code == 200
    rejects = content(r).decode("utf-8-sig").splitlines()
    assert rejects == [
        "course_id;user_email;completion_date",
        "NOPE-999;eve@example.com;2024-06-17",
    ]
    r = api["admin"].get(f"/api/operations/{op}/files/log")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    assert b"row 4" in content(r) and b"course_not_found" in content(
        api["admin"].get(f"/api/operations/{op}/files/log")
    )
    assert api["admin"].get(f"/api/operations/{op}/files/secrets").status_code == 422


def test_operation_files_outside_scope_are_404(api, three_operations):
    for name in ("results", "rejects", "log"):
        r = api["eu"].get(f"/api/operations/{three_operations['us']}/files/{name}")
        assert r.status_code == 404
    r = api["eu"].get(f"/api/operations/{three_operations['eu']}/files/log")
    assert r.status_code == 200


def test_operation_file_gone_from_disk_is_404(api):
    op = Operation.objects.get(pk=api["admin"].start("run")["operation"])
    os.remove(op.log_path)
    assert api["admin"].get(f"/api/operations/{op.pk}/files/log").status_code == 404


# --- undo ----------------------------------------------------------------------------------


def test_undo_is_verify_only_by_default_and_changes_nothing(api):
    op = api["admin"].start("run")["operation"]
    r = api["admin"].post(f"/api/operations/{op}/undo")
    assert r.status_code == 202
    job = r.json()
    assert job["what"] == "undo" and job["verify_only"] is True and job["status"] == "queued"
    run_jobs()
    done = api["admin"].get(f"/api/jobs/{job['id']}").json()
    assert done["status"] == "done" and done["result"]["deleted"] >= 2
    assert done["result"]["conflict_count"] == 0
    assert CourseRecord.objects.count() == 2
    assert Operation.objects.get(pk=op).undone_by_id is None


def test_undo_with_verify_only_false_undoes(api):
    op = api["admin"].start("run")["operation"]
    r = api["admin"].post(f"/api/operations/{op}/undo", {"verify_only": False})
    assert r.status_code == 202 and r.json()["verify_only"] is False
    run_jobs()
    done = api["admin"].get(f"/api/jobs/{r.json()['id']}").json()
    assert done["status"] == "done" and done["result"]["deleted"] >= 2
    assert CourseRecord.objects.count() == 0
    assert Operation.objects.get(pk=op).undone_by_id == done["operation"]
    undo = api["admin"].get(f"/api/operations/{done['operation']}").json()
    assert undo["kind"] == "undo" and undo["undo_of"] == op
    assert api["admin"].get(f"/api/operations/{op}").json()["undone_by"] == done["operation"]
    # once undone, it cannot be undone again, and the answer says why
    again = api["admin"].post(f"/api/operations/{op}/undo", {"verify_only": False})
    assert again.status_code == 409
    assert f"already undone by #{done['operation']}" in again.json()["detail"]


def test_undo_of_a_verify_only_operation_is_409(api):
    op = api["admin"].start("verify")["operation"]
    r = api["admin"].post(f"/api/operations/{op}/undo", {"verify_only": False})
    assert r.status_code == 409
    assert "only a completed operation" in r.json()["detail"]
    assert Job.objects.filter(what=Job.UNDO).count() == 0


def test_undo_outside_scope_is_404(api, three_operations):
    for op in (three_operations["us"], three_operations["admin"]):
        assert (
            api["eu"].post(f"/api/operations/{op}/undo", {"verify_only": False}).status_code == 404
        )
    assert Job.objects.filter(what=Job.UNDO).count() == 0
    assert CourseRecord.objects.count() == 3


def test_scoped_admins_undo_is_theirs_to_see_and_no_one_elses(api, three_operations):
    r = api["eu"].post(f"/api/operations/{three_operations['eu']}/undo", {"verify_only": False})
    run_jobs()
    undo_op = api["eu"].get(f"/api/jobs/{r.json()['id']}").json()["operation"]
    assert undo_op in [o["id"] for o in api["eu"].get("/api/operations").json()]
    assert undo_op not in [o["id"] for o in api["us"].get("/api/operations").json()]
    assert api["us"].get(f"/api/operations/{undo_op}").status_code == 404
    assert not CourseRecord.objects.filter(user__login="eve", course__code="SAFE-101").exists()
    assert set(CourseRecord.objects.values_list("user__login", flat=True)) == {"sam", "ann"}
