"""Accounts (issue 10, items 9, 10, 13 and 15): who may sign in today, throttled sign-in and
tokens, the set-password and forgot-password pages with links made only when a mail is sent,
the installation's secret key and the HTTPS settings. Mail goes to a real SMTP server (aiosmtpd)
on loopback; `registrar init` runs as a real process in a temporary folder."""

import io
import os
import re
import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks_db.models import DBTaskResult

from registrar import settings as registrar_settings
from registrar.api.models import ApiToken
from registrar.core import throttle
from registrar.directory import permissions
from registrar.directory.models import User
from registrar.notify import outbox
from registrar.notify.models import OutboxMail
from registrar.notify.password_links import PLACEHOLDER
from registrar.routers import separate_jobs_db

from . import factories as f
from .portal_fixtures import BOTH, run_jobs
from .test_unenrolments import Collector, _point_at, free_port

pytestmark = pytest.mark.django_db(databases=BOTH)

BASE = "http://127.0.0.1:8000"
LINK = re.compile(re.escape(BASE) + r"(/set-password/[^/\s]+/[^/\s]+/)")
NEW_PASSWORD = "a-long-and-new-passphrase-42"


@pytest.fixture
def smtp(settings):
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    _point_at(settings, controller.port)
    handler.port = controller.port
    yield handler
    controller.stop()


def today():
    return timezone.localdate()


def sign_in(login: str, password: str, address: str = "127.0.0.1"):
    """Post the portal's sign-in form; (response, client)."""
    c = Client(REMOTE_ADDR=address)
    return c.post("/login/", {"username": login, "password": password}), c


def signed_in(r) -> bool:
    return r.status_code == 302 and r.url == "/"


def page(r) -> str:
    return r.content.decode()


def moved(monkeypatch, seconds: float) -> None:
    """Move the throttle's clock forward."""
    real = throttle.now
    monkeypatch.setattr(throttle, "now", lambda: real() + seconds)


# --- item 9: only accounts active today -----------------------------------------------------


@pytest.mark.parametrize(
    "dates",
    [
        {"expiration_date": "yesterday"},
        {"activation_date": "tomorrow"},
    ],
)
def test_item9_expired_or_not_yet_active_user_cannot_sign_in(world, dates):
    day = {"yesterday": today() - timedelta(days=1), "tomorrow": today() + timedelta(days=1)}
    User.objects.filter(pk=world.eu_admin.pk).update(**{k: day[v] for k, v in dates.items()})
    r, c = sign_in("eu.admin", "eu-pass")
    assert r.status_code == 200 and "did not match" in page(r)  # nothing said about the account
    assert c.get("/imports/").status_code == 302


def test_item9_account_works_on_its_activation_and_expiration_days(world):
    User.objects.filter(pk=world.eu_admin.pk).update(
        activation_date=today(), expiration_date=today()
    )
    assert User.objects.get(pk=world.eu_admin.pk).is_active
    assert signed_in(sign_in("eu.admin", "eu-pass")[0])


def test_item9_session_of_a_user_who_expires_is_signed_out(world):
    r, c = sign_in("eu.admin", "eu-pass")
    assert signed_in(r) and c.get("/imports/").status_code == 200
    User.objects.filter(pk=world.eu_admin.pk).update(expiration_date=today() - timedelta(days=1))
    r = c.get("/imports/")
    assert r.status_code == 302 and r.url.startswith("/login/")


def test_item9_api_token_of_an_expired_user_answers_401(world, tokens):
    headers = {"Authorization": f"Bearer {tokens.eu}"}
    assert Client().get("/api/kinds", headers=headers).status_code == 200
    User.objects.filter(pk=world.eu_admin.pk).update(expiration_date=today() - timedelta(days=1))
    assert Client().get("/api/kinds", headers=headers).status_code == 401
    User.objects.filter(pk=world.eu_admin.pk).update(
        expiration_date=None, activation_date=today() + timedelta(days=3)
    )
    assert Client().get("/api/kinds", headers=headers).status_code == 401


def test_item9_permissions_give_an_expired_user_nothing(world):
    assert permissions.grants(User.objects.get(pk=world.admin.pk))
    User.objects.filter(pk=world.admin.pk).update(expiration_date=today() - timedelta(days=1))
    assert permissions.grants(User.objects.get(pk=world.admin.pk)) == []


def test_item9_admin_sign_in_refuses_an_expired_staff_user(world):
    User.objects.filter(pk=world.admin.pk).update(expiration_date=today() - timedelta(days=1))
    c = Client()
    r = c.post("/admin/login/", {"username": "admin", "password": "admin-pass"})
    assert r.status_code == 200
    assert c.get("/admin/").status_code == 302


# --- item 10: throttled sign-in and tokens -------------------------------------------------


def test_item10_forty_wrong_passwords_then_the_right_one_is_refused(world):
    for _ in range(40):
        r, _c = sign_in("eu.admin", "wrong")
        assert r.status_code == 200
    r, c = sign_in("eu.admin", "eu-pass")
    assert r.status_code == 200 and not signed_in(r)
    assert 'role="alert"' in page(r) and "Too many failed sign-ins" in page(r)
    assert "15 minutes" in page(r)
    assert c.get("/imports/").status_code == 302


def test_item10_the_account_lock_starts_after_ten_failures(world):
    for _ in range(9):
        sign_in("eu.admin", "wrong")
    assert signed_in(sign_in("eu.admin", "eu-pass")[0])  # 9 failures: still allowed
    for _ in range(10):
        sign_in("eu.admin", "wrong")
    assert "Too many failed sign-ins" in page(sign_in("eu.admin", "eu-pass")[0])


def test_item10_guesses_sent_in_parallel_are_refused_past_the_limit(world, monkeypatch):
    """Attempts are counted before their password is checked: while 30 guesses are still being
    checked (none has failed yet), no more than the limit get to try."""
    from django.contrib.auth.backends import ModelBackend

    from registrar.portal.auth import ThrottledModelBackend

    tried, results = [], []
    real = ModelBackend.authenticate

    def slow(self, request, username=None, password=None, **kw):
        tried.append(password)
        if len(tried) <= 30:  # the guesses in flight: each re-enters sign-in before failing
            results.append(ThrottledModelBackend().authenticate(None, "eu.admin", f"g{len(tried)}"))
        return real(self, request, username, password, **kw)

    monkeypatch.setattr(ModelBackend, "authenticate", slow)
    ThrottledModelBackend().authenticate(None, "eu.admin", "g0")
    assert len(tried) == 10  # the limit, not 31
    assert all(r is None for r in results)


def test_item10_the_lock_is_per_account_and_counts_unknown_logins(world):
    for _ in range(10):
        sign_in("EU.Admin ", "wrong")  # case and spaces do not make another account
    assert "Too many failed sign-ins" in page(sign_in("eu.admin", "eu-pass")[0])
    assert signed_in(sign_in("us.admin", "us-pass")[0])  # another account is not locked
    for _ in range(10):
        sign_in("nobody-at-all", "wrong")
    r = sign_in("nobody-at-all", "wrong")[0]
    assert "Too many failed sign-ins" in page(r)  # the same answer as for an account that exists


def test_item10_the_lock_ends_after_its_time(world, monkeypatch):
    for _ in range(12):
        sign_in("eu.admin", "wrong")
    moved(monkeypatch, 14 * 60)
    assert "Too many failed sign-ins" in page(sign_in("eu.admin", "eu-pass")[0])
    moved(monkeypatch, 15 * 60 + 1)
    assert signed_in(sign_in("eu.admin", "eu-pass")[0])


def test_item10_a_success_clears_the_accounts_count_not_the_addresss(world, settings):
    settings.REGISTRAR_THROTTLE = {**settings.REGISTRAR_THROTTLE, "signin_address": 12}
    for _ in range(6):
        sign_in("eu.admin", "wrong")
    assert signed_in(sign_in("eu.admin", "eu-pass")[0])
    for _ in range(6):
        sign_in("eu.admin", "wrong")
    # The account counts 6 since its success; the address counts all 12 failures.
    assert "Too many failed sign-ins" in page(sign_in("us.admin", "us-pass")[0])
    assert signed_in(sign_in("eu.admin", "eu-pass", address="10.0.0.9")[0])


def test_item10_per_address_lock_covers_every_account(world, settings):
    settings.REGISTRAR_THROTTLE = {**settings.REGISTRAR_THROTTLE, "signin_address": 5}
    for i in range(5):
        sign_in(f"guess{i}", "wrong", address="192.0.2.7")
    r = sign_in("admin", "admin-pass", address="192.0.2.7")[0]
    assert not signed_in(r) and "Too many failed sign-ins" in page(r)
    assert signed_in(sign_in("admin", "admin-pass", address="192.0.2.8")[0])


def test_item10_ipv6_clients_count_by_their_64_network(world, settings):
    settings.REGISTRAR_THROTTLE = {**settings.REGISTRAR_THROTTLE, "signin_address": 3}
    for i in range(3):
        sign_in(f"guess{i}", "wrong", address=f"2001:db8:1:2::{i + 1}")
    assert not signed_in(sign_in("admin", "admin-pass", address="2001:db8:1:2::ff")[0])
    assert signed_in(sign_in("admin", "admin-pass", address="2001:db8:1:3::1")[0])


def test_item10_behind_a_proxy_the_forwarded_address_counts(world, settings):
    settings.REGISTRAR_BEHIND_PROXY = True
    settings.REGISTRAR_THROTTLE = {**settings.REGISTRAR_THROTTLE, "signin_address": 3}
    for i in range(3):
        Client(REMOTE_ADDR="10.0.0.1").post(
            "/login/",
            {"username": f"guess{i}", "password": "x"},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
    r = Client(REMOTE_ADDR="10.0.0.1").post(
        "/login/",
        {"username": "admin", "password": "admin-pass"},
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.5"},  # the proxy's entry is last
    )
    assert "Too many failed sign-ins" in page(r)
    r = Client(REMOTE_ADDR="10.0.0.1").post(
        "/login/",
        {"username": "admin", "password": "admin-pass"},
        headers={"X-Forwarded-For": "203.0.113.6"},
    )
    assert signed_in(r)


def test_item10_the_admin_sign_in_is_throttled_too(world):
    for _ in range(10):
        Client().post("/admin/login/", {"username": "admin", "password": "wrong"})
    c = Client()
    c.post("/admin/login/", {"username": "admin", "password": "admin-pass"})
    assert c.get("/admin/").status_code == 302


def test_item10_the_sign_in_page_states_the_rule(world):
    assert "After 10 failed sign-ins within 15 minutes" in page(Client().get("/login/"))


def test_item10_failed_tokens_lock_the_address_with_429(world, tokens):
    for i in range(30):
        r = Client().get("/api/kinds", headers={"Authorization": f"Bearer rgt_guess{i}"})
        assert r.status_code == 401
    good = {"Authorization": f"Bearer {tokens.admin}"}
    r = Client().get("/api/kinds", headers=good)
    assert r.status_code == 429
    assert 0 < int(r["Retry-After"]) <= 900
    assert "Too many failed token attempts" in r.json()["detail"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/api/kinds", headers=good).status_code == 200


def test_item10_a_revoked_token_counts_as_a_failure(world, tokens, settings):
    settings.REGISTRAR_THROTTLE = {**settings.REGISTRAR_THROTTLE, "token_address": 2}
    ApiToken.objects.update(revoked=True)
    row, token = ApiToken.issue(world.admin, "fresh")
    for _ in range(2):
        r = Client().get("/api/kinds", headers={"Authorization": f"Bearer {tokens.admin}"})
        assert r.status_code == 401
    r = Client().get("/api/kinds", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 429 and r.has_header("Retry-After")


def test_item10_limits_are_settings_and_zero_turns_one_off(world, settings):
    settings.REGISTRAR_THROTTLE = {**settings.REGISTRAR_THROTTLE, "signin_account": 0}
    for _ in range(12):
        sign_in("eu.admin", "wrong")
    assert signed_in(sign_in("eu.admin", "eu-pass")[0])


def test_item10_failures_are_counted_in_the_jobs_database(world):
    sign_in("eu.admin", "wrong")
    with connections["jobs"].cursor() as c:  # where the router sends the cache
        c.execute("SELECT COUNT(*) FROM registrar_throttle")
        assert c.fetchone()[0] == 2  # the account and the address
    if separate_jobs_db():
        with connections["default"].cursor() as c:
            tables = connections["default"].introspection.table_names(c)
        assert "registrar_throttle" not in tables


# --- item 13: set-password and forgot-password pages; links made when sent -----------------


def _new_user_with_welcome_mail(run_import, django_capture_on_commit_callbacks, **cells):
    f.org("EU")
    row = {
        "user_lname": "Newbie",
        "user_fname": "Nina",
        "user_login": "newbie",
        "org_extid": "EU",
        "user_email": "newbie@example.com",
        **cells,
    }
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import.dicts(
            "users", [row], options={"welcome_mail": "yes", "generate_passwords": "yes"}
        )
    assert [r["result"] for r in rep.rows] == ["created"]
    return rep


def _link_in(message) -> str:
    found = LINK.search(message.get_content())
    assert found, message.get_content()
    return found.group(1)


def test_item13_the_welcome_link_lets_the_new_user_set_a_password_and_sign_in(
    run_import, smtp, django_capture_on_commit_callbacks
):
    _new_user_with_welcome_mail(run_import, django_capture_on_commit_callbacks)
    run_jobs()  # the delivery task the import queued once it committed
    mail = OutboxMail.objects.get()
    assert mail.state == "sent" and len(smtp.messages) == 1
    link = _link_in(smtp.messages[0])
    c = Client()
    r = c.get(link)
    assert r.status_code == 302 and r.url.endswith("/set-password/")  # token out of the address
    r = c.get(r.url)
    assert r.status_code == 200 and 'name="new_password1"' in page(r)
    r = c.post(
        r.request["PATH_INFO"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert r.status_code == 302 and r.url == "/set-password/done/"
    assert "Your password is set" in page(c.get(r.url))
    assert signed_in(sign_in("newbie", NEW_PASSWORD)[0])
    # The link worked once.
    assert "This link does not work" in page(Client().get(link, follow=True))


def test_item13_the_outbox_row_holds_no_working_token(
    run_import, smtp, django_capture_on_commit_callbacks
):
    _new_user_with_welcome_mail(run_import, django_capture_on_commit_callbacks)
    queued = OutboxMail.objects.get()
    assert PLACEHOLDER in queued.body and "/set-password/" not in queued.body
    run_jobs()
    link = _link_in(smtp.messages[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    sent = OutboxMail.objects.get()
    assert sent.state == "sent"
    row = " ".join(str(v) for v in OutboxMail.objects.values().get().values())
    assert token not in row and "/set-password/" not in row and PLACEHOLDER in sent.body
    user = User.objects.get(login="newbie")
    assert default_token_generator.check_token(user, token)  # the mailed link works


def test_item13_a_mail_sent_again_gets_a_fresh_working_link(
    run_import, smtp, settings, django_capture_on_commit_callbacks
):
    _new_user_with_welcome_mail(run_import, django_capture_on_commit_callbacks)
    _point_at(settings, free_port())  # the server is down: the try fails, the mail waits
    assert outbox.deliver() == (0, 1)
    waiting = OutboxMail.objects.get()
    assert (waiting.state, waiting.attempts) == ("queued", 1)
    assert PLACEHOLDER in waiting.body and "set-password" not in waiting.error
    _point_at(settings, smtp.port)
    call_command("send_mail", stdout=io.StringIO())  # sends the waiting mails now
    assert OutboxMail.objects.get().state == "sent"
    link = _link_in(smtp.messages[0])
    c = Client()
    r = c.get(link, follow=True)
    r = c.post(
        r.request["PATH_INFO"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert r.status_code == 302 and signed_in(sign_in("newbie", NEW_PASSWORD)[0])


def test_item13_no_link_goes_to_an_address_the_account_no_longer_has(
    run_import, smtp, django_capture_on_commit_callbacks
):
    """Found in review: a retried or edited mail would carry a fresh working link to wherever
    its row points."""
    _new_user_with_welcome_mail(run_import, django_capture_on_commit_callbacks)
    User.objects.filter(login="newbie").update(email="new.address@example.com")
    run_jobs()
    mail = OutboxMail.objects.get()
    assert mail.state == "failed" and "email address changed" in mail.error
    assert all("/set-password/" not in m.get_content() for m in smtp.messages)


def test_item13_welcome_mail_of_a_french_user_is_in_french(
    run_import, django_capture_on_commit_callbacks
):
    _new_user_with_welcome_mail(
        run_import, django_capture_on_commit_callbacks, user_culture="fr-FR"
    )
    mail = OutboxMail.objects.get()
    assert mail.subject == "Votre compte de formation"
    assert "Identifiant : newbie" in mail.body


def test_item13_the_old_reset_address_still_works(world):
    user = User.objects.get(pk=world.eve.pk)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    c = Client()
    r = c.get(f"/reset/{uid}/{default_token_generator.make_token(user)}/")
    assert r.status_code == 302 and r.url == f"/reset/{uid}/set-password/"
    r = c.post(r.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert r.status_code == 302 and r.url == "/set-password/done/"
    assert signed_in(sign_in("eve", NEW_PASSWORD)[0])


def test_item13_a_weak_password_is_refused(world):
    user = User.objects.get(pk=world.eve.pk)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    c = Client()
    r = c.get(f"/set-password/{uid}/{default_token_generator.make_token(user)}/", follow=True)
    r = c.post(r.request["PATH_INFO"], {"new_password1": "12345", "new_password2": "12345"})
    assert r.status_code == 200 and 'role="alert"' in page(r)
    assert not User.objects.get(pk=user.pk).has_usable_password()


def test_item13_a_link_of_an_expired_account_does_not_work(world):
    User.objects.filter(pk=world.eve.pk).update(expiration_date=today() - timedelta(days=1))
    user = User.objects.get(pk=world.eve.pk)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    r = Client().get(f"/set-password/{uid}/{default_token_generator.make_token(user)}/")
    assert r.status_code == 200 and "This link does not work" in page(r)


def _with_password(user: User) -> User:
    user.set_password("old-password-of-eve")
    user.save()
    return user


def test_item13_forgot_password_end_to_end(world, smtp):
    _with_password(world.eve)
    r = Client().get("/login/")
    assert 'href="/forgot-password/"' in page(r)
    c = Client()
    r = c.post("/forgot-password/", {"email": "EVE@example.com"})
    assert r.status_code == 302 and r.url == "/forgot-password/sent/"
    assert "If an account that may sign in uses this address" in page(c.get(r.url))
    assert not OutboxMail.objects.exists()  # nothing queued, nothing sent in the request
    assert DBTaskResult.objects.count() == 1
    run_jobs()
    mail = OutboxMail.objects.get()
    assert (mail.to, mail.user_id, mail.state) == ("eve@example.com", world.eve.pk, "sent")
    assert PLACEHOLDER in mail.body
    link = _link_in(smtp.messages[0])
    c = Client()
    r = c.get(link, follow=True)
    r = c.post(
        r.request["PATH_INFO"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert r.status_code == 302
    assert signed_in(sign_in("eve", NEW_PASSWORD)[0])
    assert not signed_in(sign_in("eve", "old-password-of-eve")[0])


def test_item13_an_unknown_address_gets_the_same_page_and_no_mail(world, smtp):
    _with_password(world.eve)
    known = Client().post("/forgot-password/", {"email": "eve@example.com"}, follow=True)
    unknown = Client().post("/forgot-password/", {"email": "nobody@example.com"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain == [("/forgot-password/sent/", 302)]
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')
    assert strip.sub("", page(known)) == strip.sub("", page(unknown))
    OutboxMail.objects.all().delete()
    smtp.envelopes.clear()
    DBTaskResult.objects.all().delete()
    Client().post("/forgot-password/", {"email": "nobody@example.com"})
    run_jobs()
    assert not OutboxMail.objects.exists() and smtp.envelopes == []


def test_item13_forgot_password_reaches_only_users_who_may_sign_in(world, smtp):
    _with_password(world.eve)
    User.objects.filter(pk=world.eve.pk).update(expiration_date=today() - timedelta(days=1))
    Client().post("/forgot-password/", {"email": "eve@example.com"})
    run_jobs()
    assert not OutboxMail.objects.exists() and smtp.envelopes == []


def test_item13_forgot_password_is_throttled_per_address_and_per_email(world, smtp, settings):
    _with_password(world.eve)
    settings.REGISTRAR_THROTTLE = {**settings.REGISTRAR_THROTTLE, "reset_address": 4}
    for _ in range(4):
        r = Client().post("/forgot-password/", {"email": "eve@example.com"})
        assert r.status_code == 302
    r = Client().post("/forgot-password/", {"email": "eve@example.com"})
    assert r.status_code == 200 and "Too many requests" in page(r)
    run_jobs()
    assert OutboxMail.objects.count() == 3  # REGISTRAR_RESETS_PER_EMAIL: the 4th queued nothing
    r = Client(REMOTE_ADDR="10.9.9.9").post("/forgot-password/", {"email": "eve@example.com"})
    assert r.status_code == 302


# --- item 15: the installation's secret key, HTTPS ------------------------------------------


def registrar(*args, cwd, env=None):
    """Run the real command line in `cwd` (SQLite files there), with a clean environment."""
    return _run([sys.executable, "-m", "registrar.cli", *args], cwd, env)


def settings_say(code: str, cwd, env=None) -> str:
    """What a fresh process's settings say (the last line `code` prints)."""
    setup = "import django; django.setup(); from django.conf import settings as s; "
    p = _run([sys.executable, "-c", setup + code], cwd, env)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()[-1]


def _run(argv, cwd, env):
    full = dict(os.environ)
    for name in ("DATABASE_URL", "REGISTRAR_SECRET_KEY", "REGISTRAR_DEBUG", "REGISTRAR_DB"):
        full.pop(name, None)
    full |= {"REGISTRAR_DATA": str(cwd / "data"), "DJANGO_SETTINGS_MODULE": "registrar.settings"}
    full |= env or {}
    return subprocess.run(
        argv,
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_item15_init_writes_a_private_key_once_and_serving_accepts_it(tmp_path):
    before = registrar("worker", "--batch", cwd=tmp_path)
    assert before.returncode == 2
    init = registrar("init", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    key_file = tmp_path / "data" / "secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 50 and key != registrar_settings.DEV_SECRET_KEY
    assert key not in init.stdout + init.stderr
    again = registrar("init", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert key_file.read_text().strip() == key  # written once
    same = (
        "import pathlib; print(s.SECRET_KEY == pathlib.Path(s.SECRET_KEY_FILE).read_text().strip())"
    )
    assert settings_say(same, tmp_path) == "True"
    worker = registrar("worker", "--batch", cwd=tmp_path)  # refuses the published key only
    assert worker.returncode == 0, worker.stderr
    missing = registrar(
        "worker", "--batch", cwd=tmp_path, env={"REGISTRAR_SECRET_KEY_FILE": str(tmp_path / "x")}
    )
    assert missing.returncode == 2 and "published development key" in missing.stderr


def test_item15_init_creates_the_throttle_table_in_the_jobs_file_only(tmp_path):
    assert registrar("init", cwd=tmp_path).returncode == 0
    assert registrar("init", cwd=tmp_path).returncode == 0  # idempotent

    def tables(name):
        with sqlite3.connect(tmp_path / name) as db:
            return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    assert "registrar_throttle" in tables("registrar-jobs.sqlite3")
    assert "registrar_throttle" not in tables("registrar.sqlite3")


def test_item15_an_environment_key_writes_no_file(tmp_path):
    p = registrar("init", cwd=tmp_path, env={"REGISTRAR_SECRET_KEY": "from-the-environment-x"})
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "data" / "secret-key").exists()


def test_item15_https_settings_from_the_environment(tmp_path):
    assert registrar_settings.https_settings({}) == {}
    on = registrar_settings.https_settings({"REGISTRAR_HTTPS": "1", "REGISTRAR_HSTS_SECONDS": "60"})
    assert on == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 60,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    }
    proxy = registrar_settings.https_settings({"REGISTRAR_BEHIND_PROXY": "1"})
    assert proxy == {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}
    said = settings_say(
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)",
        tmp_path,
        env={"REGISTRAR_HTTPS": "1"},
    )
    assert said == "True True True 31536000 None"
    said = settings_say(
        "print(s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)", tmp_path
    )
    assert said == "False 0 None"


@pytest.fixture
def https(settings):
    for name, value in registrar_settings.https_settings(
        {"REGISTRAR_HTTPS": "1", "REGISTRAR_BEHIND_PROXY": "1"}
    ).items():
        setattr(settings, name, value)


def test_item15_over_https_cookies_are_secure_and_hsts_is_sent(world, https):
    assert Client().get("/login/").status_code == 301  # plain HTTP goes to HTTPS
    c = Client()
    r = c.get("/login/", secure=True)
    assert r.status_code == 200 and r["Strict-Transport-Security"] == "max-age=31536000"
    assert r.cookies["csrftoken"]["secure"]
    r = c.post("/login/", {"username": "admin", "password": "admin-pass"}, secure=True)
    assert r.status_code == 302 and r.cookies["sessionid"]["secure"]


def test_item15_a_trusted_proxy_says_the_request_was_https(world, https):
    r = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and r.has_header("Strict-Transport-Security")
