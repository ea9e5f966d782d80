"""Password hashes from another system (issue 15, users import `user_password_hash`): taken as
they are, checked at sign-in by their hasher, upgraded to Argon2 then; never echoed."""

import bcrypt
import pytest
from django.contrib.auth.hashers import make_password

from registrar.directory.hashers import normalise, sha512_crypt
from registrar.directory.models import Organisation, User
from registrar.journal.undo import undo
from registrar.notify.password_links import users_for_email

from . import factories as f
from .conftest import read_results

H = ["user_lname", "user_fname", "user_login", "org_extid", "user_email", "user_password_hash"]
MOODLE = sha512_crypt("moodle-secret", "k2Lq8s0aZ1")  # Moodle's fast hash: $6$ with 5,000 rounds


@pytest.fixture
def world(db):
    return f.org("EU")


def row(login: str, hash_: str) -> list[str]:
    return [login.title(), "Test", login, "EU", f"{login}@example.com", hash_]


def results(rep) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in rep.rows]


def test_sha512_crypt_matches_the_specification_vectors():
    assert sha512_crypt("Hello world!", "saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCo"
        "EOfaS35inz1"
    )
    assert sha512_crypt("Hello world!", "saltstringsaltstring", 10000) == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOu"
        "ZeHBy/YTBmSK6H9qs/y3RnOaw5v."
    )


def test_a_moodle_sha512_crypt_hash_signs_in_and_is_upgraded_to_argon2(run_import, world):
    rep = run_import("users", H, [row("moodler", MOODLE)])
    assert results(rep) == [("created", "")]
    user = User.objects.get(login="moodler")
    assert user.password == f"sha512_crypt${MOODLE}"
    assert not user.check_password("wrong")
    assert user.check_password("moodle-secret")
    user.refresh_from_db()
    assert user.password.startswith("argon2$") and user.check_password("moodle-secret")


def test_a_php_bcrypt_2y_hash_signs_in_and_is_upgraded_to_argon2(run_import, world):
    php = bcrypt.hashpw(b"php-secret", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)
    assert results(run_import("users", H, [row("phpuser", php)])) == [("created", "")]
    user = User.objects.get(login="phpuser")
    assert user.check_password("php-secret")
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


def test_a_django_hash_is_taken_as_it_is(run_import, world):
    theirs = make_password("django-secret", hasher="pbkdf2_sha1")
    assert results(run_import("users", H, [row("djangoer", theirs)])) == [("created", "")]
    user = User.objects.get(login="djangoer")
    assert user.password == theirs and user.check_password("django-secret")


@pytest.mark.parametrize(
    "bad",
    [
        "5f4dcc3b5aa765d61d8327deb882cf99",  # unsalted MD5
        "$6$salt$tooshort",
        "$6$rounds=999999$salt$" + "a" * 86,  # would make every sign-in slow
        "$2y$31$" + "a" * 53,  # bcrypt cost beyond the bound
        "!unusable",
        "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99",
    ],
)
def test_a_hash_that_cannot_be_checked_is_rejected_invalid_format_and_never_echoed(
    run_import, world, bad
):
    rep = run_import("users", H, [row("badhash", bad)])
    rows = read_results(rep.results_path)
    assert [(r["result"], r["codes"]) for r in rows] == [("rejected", "invalid_format")]
    assert bad not in rows[0]["message"] and "user_password_hash" in rows[0]["message"]
    for path in (rep.results_path, rep.rejects_path, rep.log_path):
        with open(path, encoding="utf-8-sig") as written:
            assert bad not in written.read()
    assert not User.objects.filter(login="badhash").exists()


def test_a_password_and_a_hash_on_one_row_are_conflicting_columns(run_import, world):
    rep = run_import("users", [*H, "user_password"], [[*row("both", MOODLE), "clear-secret"]])
    assert results(rep) == [("rejected", "conflicting_columns")]
    assert not User.objects.filter(login="both").exists()


def test_keep_passwords_leaves_the_hash_of_an_existing_user(run_import, world):
    run_import("users", H, [row("moodler", MOODLE)])
    other = sha512_crypt("new-secret", "abcdefgh")
    rep = run_import("users", H, [row("moodler", other)])
    assert results(rep) == [("unchanged", "")]
    assert User.objects.get(login="moodler").check_password("moodle-secret")


def test_a_new_hash_replaces_the_password_when_keep_passwords_is_off_and_undo_restores(
    run_import, world
):
    run_import("users", H, [row("moodler", MOODLE)])
    other = sha512_crypt("new-secret", "abcdefgh")
    rep = run_import("users", H, [row("moodler", other)], options={"keep_passwords": False})
    assert results(rep) == [("updated", "")]
    assert User.objects.get(login="moodler").password == f"sha512_crypt${other}"
    again = run_import("users", H, [row("moodler", other)], options={"keep_passwords": False})
    assert results(again) == [("unchanged", "")]
    op, conflicts = undo(rep.operation.pk)
    assert conflicts == [] and op.updated == 1, (op.counts(), conflicts)
    assert User.objects.get(login="moodler").password == f"sha512_crypt${MOODLE}"


def test_normalise_keeps_bcrypt_2b_and_maps_2y(db):
    b = bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode()
    assert normalise(b) == f"bcrypt${b}"
    assert normalise(b.replace("$2b$", "$2y$", 1)) == f"bcrypt${b}"


def test_forgot_password_reaches_an_imported_user_without_a_password(run_import, world):
    run_import("users", H[:5], [row("newbie", "")[:5]])
    user = User.objects.get(login="newbie")
    assert not user.has_usable_password()
    assert users_for_email("newbie@example.com") == [user]
    User.objects.filter(pk=user.pk).update(externally_managed=True)
    assert users_for_email("newbie@example.com") == []
    assert Organisation.objects.count() == 1
