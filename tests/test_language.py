"""Issue 14, item 2: a language choice in the header and in the user's own settings."""

import pytest
from django.test import Client

from registrar.directory.models import User
from registrar.journal.models import Operation

from .portal_fixtures import BOTH
from .test_portal import signed_in, start, text

pytestmark = pytest.mark.django_db(databases=BOTH)


def test_the_header_switch_speaks_french_even_before_signing_in(world):
    c = Client()
    r = c.post("/language/", {"language": "fr", "next": "/login/"})
    assert r.status_code == 302 and r.url == "/login/"
    page = text(c.get("/login/"))
    assert '<html lang="fr">' in page


def test_the_header_switch_sets_a_signed_in_users_culture_as_their_own_operation(world):
    c = signed_in("eu.admin")
    c.post("/language/", {"language": "fr", "next": "/history/"})
    user = User.objects.get(login="eu.admin")
    assert user.culture == "fr-FR"
    op = Operation.objects.get(name="settings: language")
    assert (op.kind, op.actor_id, op.updated) == ("admin", user.pk, 1)
    assert '<html lang="fr">' in text(c.get("/history/"))
    c.post("/language/", {"language": "en"})
    assert User.objects.get(login="eu.admin").culture == "en-GB"
    assert '<html lang="en">' in text(c.get("/history/"))


def test_an_unknown_language_is_refused_and_changes_nothing(world):
    c = signed_in("eu.admin")
    before = User.objects.get(login="eu.admin").culture
    assert c.post("/language/", {"language": "de"}).status_code == 400
    assert c.post("/settings/", {"language": "xx"}).status_code == 400
    assert User.objects.get(login="eu.admin").culture == before


def test_the_settings_page_keeps_a_region_that_already_speaks_the_language(world):
    User.objects.filter(login="eu.admin").update(culture="fr-CA")
    c = signed_in("eu.admin")
    page = text(c.get("/settings/"))
    assert '<option value="fr" selected>' in page
    r = c.post("/settings/", {"language": "fr"})
    assert r.status_code == 200 and not Operation.objects.filter(kind="admin").exists()
    r = c.post("/settings/", {"language": "en"})
    assert 'data-testid="saved"' in text(r) and '<html lang="en">' in text(r)
    assert User.objects.get(login="eu.admin").culture == "en-GB"


def test_the_switch_never_sends_anyone_to_another_site(world):
    r = Client().post("/language/", {"language": "fr", "next": "https://evil.example/"})
    assert r.status_code == 302 and r.url == "/"


def test_row_messages_are_shown_in_the_readers_language_whatever_the_runs(world):
    User.objects.filter(login="eu.admin").update(culture="fr-FR")
    job = start(signed_in("eu.admin"), "run")
    op = Operation.objects.get(pk=job.operation_id)
    with open(op.results_path, encoding="utf-8-sig") as f:
        assert "Aucun cours ne porte l'identifiant 'NOPE-999'" in f.read()  # the run's language
    page = text(signed_in("admin").get(f"/history/{op.pk}/"))
    rejected = page[page.index('data-testid="rejected"') :]
    assert "No course has the identifier &#x27;NOPE-999&#x27;" in rejected
    assert "Aucun cours" not in rejected
    french = Client()
    french.post("/language/", {"language": "fr"})
    assert french.login(username="admin", password="admin-pass")
    rejected = text(french.get(f"/history/{op.pk}/"))
    assert "Aucun cours ne porte l&#x27;identifiant &#x27;NOPE-999&#x27;" in rejected


def test_saving_a_language_leaves_the_next_request_in_the_default_language(world):
    from django.utils import translation

    signed_in("eu.admin").post("/settings/", {"language": "fr"})
    assert translation.get_language() == "en"
