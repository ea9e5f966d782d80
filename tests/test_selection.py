"""Selections of bulk actions (SPEC §5): one test per rule."""

import codecs
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registrar.bulk import selection as S
from registrar.bulk.selection import Selection, check, preview, resolve
from registrar.catalogue.models import Category, Folder
from registrar.core.errors import FileError
from registrar.directory import tree
from registrar.directory.models import (
    Audience,
    ListFolder,
    ListMember,
    User,
    UserAudience,
    UserList,
)

from . import factories as f


@pytest.fixture
def world(db):
    """ACME ⊃ ACME-EU ⊃ ACME-FR, and OTHER beside it; users with varied fields."""
    acme = f.org("ACME")
    eu = f.org("ACME-EU", parent=acme)
    fr = f.org("ACME-FR", parent=eu)
    other = f.org("OTHER")
    boss = f.user("boss", organisation=acme, last_name="Chef", city="Lyon", country="FR")
    f.user(
        "amartin",
        organisation=eu,
        extid="E1",
        last_name="Martin",
        first_name="Alice",
        email="Alice.Martin@Example.com",
        city="Paris",
        country="FR",
        culture="fr-FR",
        custom1="blue",
        activation_date=date(2024, 1, 15),
        manager=boss,
    )
    f.user(
        "bdurand",
        organisation=fr,
        extid="",
        last_name="Durand",
        first_name="Bob",
        city="Marseille",
        country="FR",
        activation_date=date(2024, 6, 1),
        expiration_date=date(2025, 12, 31),
        manager=boss,
    )
    f.user(
        "cmeyer",
        organisation=other,
        extid="E3",
        last_name="Meyer",
        first_name="Carl",
        city="Berlin",
        country="DE",
        custom1="Blue sky",
    )
    f.user("ddisabled", organisation=eu, last_name="Martinez", disabled=True, country="FR")
    sales, it = Audience.objects.create(name="Sales"), Audience.objects.create(name="IT")
    for login, aud in [("amartin", sales), ("bdurand", it), ("cmeyer", sales), ("cmeyer", it)]:
        UserAudience.objects.create(user=User.objects.get(login=login), audience=aud)
    return {"acme": acme, "eu": eu, "fr": fr, "other": other}


def logins(sel: Selection, scope_ids=None) -> set[str]:
    r = resolve(sel, scope_ids)
    assert r.ids == sorted(r.ids)
    return set(User.objects.filter(pk__in=r.ids).values_list("login", flat=True))


def users(*where: str, **kw) -> set[str]:
    scope = kw.pop("scope", None)
    return logins(Selection.from_args("users", list(where), **kw), scope)


def raises(sel: Selection) -> FileError:
    with pytest.raises(FileError) as e:
        check(sel)
    return e.value


def where_error(*where: str, target="users") -> str:
    """The reason a selection is refused, whether when read (syntax) or when checked."""
    with pytest.raises(FileError) as caught:
        check(Selection.from_args(target, list(where)))
    e = caught.value
    assert (e.code, e.params["key"]) == ("invalid_parameter", "where")
    return e.params["reason"]


ENABLED = {"boss", "amartin", "bdurand", "cmeyer"}


# Nothing given, disabled items


def test_nothing_given_selects_every_enabled_user(world):
    sel = Selection.from_args("users")
    assert sel.is_empty_request()
    assert logins(sel) == ENABLED


def test_disabled_users_are_left_out_unless_include_disabled(world):
    assert "ddisabled" not in users("lname:contains:mart")
    assert users("lname:contains:mart", include_disabled=True) == {"amartin", "ddisabled"}


def test_a_criterion_on_disabled_selects_disabled_users_without_the_flag(world):
    assert users("disabled:eq:true") == {"ddisabled"}
    assert users("disabled:eq:no") == ENABLED


# Text fields


def test_text_eq_is_exact_and_case_sensitive(world):
    assert users("lname:eq:Martin") == {"amartin"}
    assert users("lname:eq:martin") == set()


def test_text_contains_is_case_insensitive(world):
    assert users("lname:contains:MAR") == {"amartin"}
    assert users("udtf1:contains:BLUE") == {"amartin", "cmeyer"}


def test_text_in_selects_one_of_the_values(world):
    assert users("city:in:Paris||Berlin") == {"amartin", "cmeyer"}
    assert users("country:in: DE || XX ") == {"cmeyer"}


def test_empty_true_selects_empty_or_null_values_and_false_the_others(world):
    # boss has extid NULL, bdurand ''.
    assert users("extid:empty:true") == {"boss", "bdurand"}
    assert users("extid:empty") == users("extid:empty:") == {"boss", "bdurand"}
    assert users("extid:empty:false") == {"amartin", "cmeyer"}
    assert users("culture:empty:no") == {"amartin"}


def test_every_user_text_field_is_selectable(world):
    assert users("login:eq:cmeyer") == {"cmeyer"}
    assert users("extid:eq:E1") == {"amartin"}
    assert users("fname:eq:Bob") == {"bdurand"}
    assert users("culture:eq:fr-FR") == {"amartin"}
    assert users("city:contains:seill") == {"bdurand"}
    assert users("udtf1:eq:blue") == {"amartin"}
    assert users("udtf10:empty:true") == ENABLED


def test_email_eq_and_in_are_case_insensitive(world):
    assert users("email:eq:alice.martin@example.COM") == {"amartin"}
    assert users("email:in:ALICE.MARTIN@example.com||cmeyer@EXAMPLE.com") == {
        "amartin",
        "cmeyer",
    }
    assert users("email:contains:@example.com") == ENABLED


# Organisation, audience, manager


def test_org_eq_is_that_organisation_only(world):
    assert users("org:eq:ACME-EU") == {"amartin"}


def test_org_in_is_the_subtree_of_the_organisation(world):
    assert users("org:in:ACME-EU") == {"amartin", "bdurand"}
    assert users("org:in:ACME") == {"boss", "amartin", "bdurand"}
    assert users("org:in:ACME-FR||OTHER") == {"bdurand", "cmeyer"}


def test_audience_eq_in_and_empty(world):
    assert users("audience:eq:Sales") == {"amartin", "cmeyer"}
    assert users("audience:in:Sales||IT") == {"amartin", "bdurand", "cmeyer"}
    assert users("audience:empty:true") == {"boss"}
    assert users("audience:empty:false") == {"amartin", "bdurand", "cmeyer"}


def test_manager_eq_is_the_managers_login_and_empty_means_no_manager(world):
    assert users("manager:eq:boss") == {"amartin", "bdurand"}
    assert users("manager:empty:true") == {"boss", "cmeyer"}


# Dates


def test_dates_before_and_after_are_strict_and_eq_is_the_day(world):
    assert users("activation_date:before:2024-06-01") == {"amartin"}
    assert users("activation_date:after:2024-01-15") == {"bdurand"}
    assert users("activation_date:eq:2024/06/01") == {"bdurand"}
    assert users("expiration_date:after:2025-01-01") == {"bdurand"}


def test_a_date_with_a_time_uses_its_day_in_the_platform_time_zone(world):
    assert users("activation_date:eq:2024-01-15T10:00:00") == {"amartin"}


def test_date_empty_selects_users_without_that_date(world):
    assert users("activation_date:empty:true") == {"boss", "cmeyer"}
    assert users("expiration_date:empty:false") == {"bdurand"}


# All or any


def test_criteria_are_combined_with_all_by_default(world):
    assert users("country:eq:FR", "city:eq:Paris") == {"amartin"}


def test_any_selects_items_matching_one_criterion(world):
    assert users("city:eq:Paris", "country:eq:DE", any=True) == {"amartin", "cmeyer"}


def test_any_still_leaves_disabled_users_out(world):
    assert users("country:eq:FR", "city:eq:Berlin", any=True) == {
        "boss",
        "amartin",
        "bdurand",
        "cmeyer",
    }


# Lists


def _list(name, kind="static", criteria=None, members=()):
    folder = ListFolder.objects.get(name="Default", parent=None)
    ul = UserList.objects.create(name=name, folder=folder, kind=kind, criteria=criteria or {})
    for login in members:
        ListMember.objects.create(user_list=ul, user=User.objects.get(login=login))
    return ul


def test_a_static_list_selects_its_enabled_members(world):
    _list("Newcomers", members=["amartin", "cmeyer", "ddisabled"])
    assert users(list="Newcomers") == {"amartin", "cmeyer"}
    assert users(list="Newcomers", include_disabled=True) == {"amartin", "cmeyer", "ddisabled"}


def test_a_dynamic_list_is_evaluated_when_used(world):
    _list("French", kind="dynamic", criteria={"where": [["country", "eq", "FR"]]})
    assert users(list="French") == {"boss", "amartin", "bdurand"}
    f.user("enew", organisation=world["other"], country="FR")
    assert users(list="French") == {"boss", "amartin", "bdurand", "enew"}


def test_a_dynamic_list_may_use_any_and_string_criteria(world):
    _list(
        "Either", kind="dynamic", criteria={"where": ["city:eq:Paris", "city:eq:Berlin"], "any": 1}
    )
    e = raises(Selection.from_args("users", list="Either"))
    assert (e.code, e.params["key"]) == ("invalid_parameter", "list")
    UserList.objects.filter(name="Either").update(
        criteria={"where": ["city:eq:Paris", "city:eq:Berlin"], "any": True}
    )
    assert users(list="Either") == {"amartin", "cmeyer"}


def test_a_dynamic_list_on_disabled_selects_disabled_users(world):
    _list("Leavers", kind="dynamic", criteria={"where": [["disabled", "eq", "true"]]})
    assert users(list="Leavers") == {"ddisabled"}


def test_criteria_narrow_a_list(world):
    _list("Newcomers", members=["amartin", "bdurand", "cmeyer"])
    assert users("country:eq:FR", list="Newcomers") == {"amartin", "bdurand"}


def test_a_dynamic_list_with_unusable_criteria_is_refused_naming_the_list(world):
    _list("Broken", kind="dynamic", criteria={"where": [["shoe_size", "eq", "42"]]})
    e = raises(Selection.from_args("users", list="Broken"))
    assert (e.code, e.params["key"]) == ("invalid_parameter", "list")
    assert "'Broken'" in e.params["reason"] and "shoe_size" in e.params["reason"]
    _list("Extra", kind="dynamic", criteria={"where": [], "ids": ["amartin"]})
    e = raises(Selection.from_args("users", list="Extra"))
    assert "'ids'" in e.params["reason"]


def test_an_empty_list_name_is_refused_rather_than_selecting_everyone(world):
    for make in (
        lambda: Selection.from_args("users", list=" "),
        lambda: Selection.from_json("users", {"list": ""}),
    ):
        with pytest.raises(FileError) as e:
            make()
        assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "list")


def test_an_unknown_list_is_refused(world):
    e = raises(Selection.from_args("users", list="Nope"))
    assert (e.code, e.params["key"]) == ("invalid_parameter", "list")
    assert "'Nope'" in e.params["reason"]


def test_a_list_cannot_select_courses(world):
    e = raises(Selection.from_args("courses", list="Newcomers"))
    assert (e.code, e.params["key"]) == ("invalid_parameter", "list")


# Explicit identifiers and exclusions


def test_explicit_ids_select_those_users_and_report_the_missing_in_order(world):
    r = resolve(Selection.from_args("users", ids="cmeyer, zz9,amartin,,cmeyer,aa1"))
    assert r.missing == ["zz9", "aa1"]
    assert r.ids == sorted(
        User.objects.filter(login__in=["cmeyer", "amartin"]).values_list("pk", flat=True)
    )


def test_explicit_ids_keep_disabled_users_since_they_were_named(world):
    assert logins(Selection.from_args("users", ids="ddisabled,amartin")) == {
        "ddisabled",
        "amartin",
    }


def test_empty_explicit_ids_select_nothing_never_everything(world):
    sel = Selection.from_args("users", ids="")
    assert not sel.is_empty_request()
    assert resolve(sel).ids == []
    assert resolve(Selection.from_json("users", {"ids": []})).ids == []


def test_exclusions_trim_explicit_ids_and_are_not_reported_missing(world):
    r = resolve(Selection.from_args("users", ids="amartin,cmeyer,zz9", exclude="cmeyer,zz9"))
    assert r.missing == []
    assert r.ids == [User.objects.get(login="amartin").pk]


def test_exclusions_trim_criteria_and_list_selections(world):
    assert users("country:eq:FR", exclude="boss, bdurand") == {"amartin"}
    _list("Newcomers", members=["amartin", "cmeyer"])
    assert users(list="Newcomers", exclude="cmeyer") == {"amartin"}


def test_ids_with_criteria_or_a_list_are_refused(world):
    e = raises(Selection.from_args("users", ["country:eq:FR"], ids="amartin"))
    assert (e.code, e.params["first"], e.params["second"]) == (
        "invalid_combination",
        "ids",
        "where",
    )
    e = raises(Selection(list="Newcomers", ids=["amartin"]))
    assert (e.code, e.params["second"]) == ("invalid_combination", "list")


def test_ids_from_a_file_one_a_line_blank_lines_ignored(world, tmp_path):
    p = tmp_path / "ids.txt"
    p.write_bytes(codecs.BOM_UTF8 + b"amartin\r\n\r\n  cmeyer  \n\nzz9\n")
    sel = Selection.from_args("users", ids=f"@{p}")
    assert sel.ids == ["amartin", "cmeyer", "zz9"]
    assert resolve(sel).missing == ["zz9"]


def test_ids_file_in_utf16_is_read(world, tmp_path):
    p = tmp_path / "ids.txt"
    p.write_bytes("amartin\nbdurand\n".encode("utf-16"))
    assert Selection.from_args("users", ids=f"@{p}").ids == ["amartin", "bdurand"]


def test_ids_file_missing_or_too_large_is_refused(world, tmp_path, settings):
    with pytest.raises(FileError) as e:
        Selection.from_args("users", ids=f"@{tmp_path / 'none.txt'}")
    assert e.value.code == "unreadable_file"
    p = tmp_path / "big.txt"
    p.write_text("a\n" * 100)
    settings.REGISTRAR_MAX_IDS_BYTES = 50
    with pytest.raises(FileError) as e:
        Selection.from_args("users", ids=f"@{p}")
    assert e.value.code == "file_too_large"


def test_explicit_ids_beyond_one_chunk_are_all_resolved(world, monkeypatch):
    monkeypatch.setattr(S, "RAW_CHUNK", 2)
    r = resolve(Selection.from_args("users", ids="amartin,zz1,bdurand,cmeyer,boss"))
    assert len(r.ids) == 4 and r.missing == ["zz1"]


# Scope


def test_criteria_and_lists_are_confined_to_the_scope(world):
    scope = tree.subtree(world["eu"].pk)
    assert users("country:in:FR||DE", scope=scope) == {"amartin", "bdurand"}
    assert users(scope=scope) == {"amartin", "bdurand"}
    _list("Newcomers", members=["amartin", "cmeyer"])
    assert users(list="Newcomers", scope=scope) == {"amartin"}
    _list("All", kind="dynamic", criteria={"where": []})
    assert users(list="All", scope=scope) == {"amartin", "bdurand"}


def test_explicit_ids_are_not_confined_to_the_scope(world):
    # The engine rejects cmeyer's row with out_of_scope (SPEC §2.9): it must reach the engine.
    scope = tree.subtree(world["eu"].pk)
    assert logins(Selection.from_args("users", ids="cmeyer,amartin"), scope) == {
        "cmeyer",
        "amartin",
    }


def test_courses_are_not_confined_to_a_users_scope(world):
    f.course("C1")
    assert len(resolve(Selection(target="courses"), scope_ids=set()).ids) == 1


# Courses and curricula


@pytest.fixture
def catalogue(world):
    safety = Category.objects.create(name="Safety")
    Category.objects.create(name="Sales skills")
    hr = Folder.objects.create(name="HR", path="HR")
    onb = Folder.objects.create(name="Onboarding", parent=hr, path="HR/Onboarding")
    Folder.objects.create(name="HRX", path="HRX")
    sales = Audience.objects.get(name="Sales")
    c1 = f.course("SAFE-1", "Fire safety", category=safety, folder=hr, provider="Acme Learning")
    c1.audiences.add(sales)
    f.course("SAFE-2", "Chemical safety", category=safety, folder=onb, extref="X-2")
    f.course("WELCOME", "Welcome", published=False)
    f.course("OLD", "Old safety course", disabled=True, folder=onb)
    f.curriculum("PATH-1", title="Safety path", category=safety).audiences.add(sales)
    f.curriculum("PATH-2", title="Other path", published=False)


def codes(target: str, *where: str, **kw) -> set[str]:
    r = resolve(Selection.from_args(target, list(where), **kw))
    model = S._model(target)
    return set(model.objects.filter(pk__in=r.ids).values_list("code", flat=True))


def test_course_text_fields(catalogue):
    assert codes("courses", "title:contains:SAFETY") == {"SAFE-1", "SAFE-2"}
    assert codes("courses", "code:eq:WELCOME") == {"WELCOME"}
    assert codes("courses", "extref:eq:X-2") == {"SAFE-2"}
    assert codes("courses", "extref:empty:false") == {"SAFE-2"}
    assert codes("courses", "provider:contains:acme") == {"SAFE-1"}


def test_course_booleans_and_disabled(catalogue):
    assert codes("courses", "published:eq:false") == {"WELCOME"}
    assert codes("courses", "published:eq:false", include_disabled=True) == {"WELCOME"}
    assert codes("courses", "disabled:eq:true") == {"OLD"}
    assert codes("courses") == {"SAFE-1", "SAFE-2", "WELCOME"}


def test_course_category_by_name(catalogue):
    assert codes("courses", "category:eq:Safety") == {"SAFE-1", "SAFE-2"}
    assert codes("courses", "category:contains:SAF") == {"SAFE-1", "SAFE-2"}
    assert codes("courses", "category:in:Safety||Sales skills") == {"SAFE-1", "SAFE-2"}
    assert codes("courses", "category:empty:true") == {"WELCOME"}


def test_course_folder_eq_is_that_folder_and_in_its_subtree(catalogue):
    assert codes("courses", "folder:eq:HR") == {"SAFE-1"}
    assert codes("courses", "folder:in:HR") == {"SAFE-1", "SAFE-2"}  # not HRX
    assert codes("courses", "folder:in:HR", include_disabled=True) == {"SAFE-1", "SAFE-2", "OLD"}
    assert codes("courses", "folder:contains:boarding") == {"SAFE-2"}
    assert codes("courses", "folder:empty:true") == {"WELCOME"}


def test_a_folder_path_may_end_with_a_slash(catalogue):
    assert codes("courses", "folder:eq:HR/Onboarding/") == {"SAFE-2"}


def test_course_audience(catalogue):
    assert codes("courses", "audience:eq:Sales") == {"SAFE-1"}
    assert codes("courses", "audience:empty:true") == {"SAFE-2", "WELCOME"}


def test_curricula_take_the_same_fields(catalogue):
    assert codes("curricula") == {"PATH-1", "PATH-2"}
    assert codes("curricula", "category:eq:Safety") == {"PATH-1"}
    assert codes("curricula", "audience:in:Sales||IT") == {"PATH-1"}
    assert codes("curricula", "published:eq:0", "title:contains:path") == {"PATH-2"}
    r = resolve(Selection.from_args("curricula", ids="PATH-2,SAFE-1"))
    assert r.missing == ["SAFE-1"] and len(r.ids) == 1


def test_courses_explicit_ids_are_codes(catalogue):
    r = resolve(Selection.from_args("courses", ids="OLD,SAFE-1,NOPE", exclude="SAFE-1"))
    assert r.missing == ["NOPE"]
    assert codes("courses", ids="OLD,SAFE-1") == {"OLD", "SAFE-1"}


def test_user_fields_are_unknown_for_courses(catalogue):
    e = raises(Selection.from_args("courses", ["udtf1:eq:x"]))
    assert (e.code, e.params["field"]) == ("unknown_field", "udtf1")
    assert "published" in e.params["detail"] and "lname" not in e.params["detail"]


# Errors


def test_unknown_field_is_refused_naming_it_and_the_fields(world):
    e = raises(Selection.from_args("users", ["shoe_size:eq:42"]))
    assert (e.code, e.params["field"]) == ("unknown_field", "shoe_size")
    assert e.params["detail"].startswith("; fields: login, extid, lname")
    assert "udtf10" in e.params["detail"]


def test_unknown_operator_is_refused_naming_it_and_the_operators(world):
    reason = where_error("lname:like:x")
    assert "'like'" in reason and "eq, contains, before, after, empty, in" in reason


def test_an_operator_that_does_not_apply_to_the_field_is_refused(world):
    reason = where_error("lname:before:2024-01-01")
    assert "'before'" in reason and "lname" in reason and "eq, contains, in, empty" in reason
    assert "use eq" in where_error("disabled:contains:t")
    assert "eq, before, after, empty" in where_error("activation_date:contains:2024")
    assert "use eq, in" in where_error("org:contains:AC")


def test_a_date_that_does_not_parse_is_refused(world):
    reason = where_error("activation_date:before:15/06/2024")
    assert "'15/06/2024'" in reason and "not a date" in reason
    assert "not a date" in where_error("expiration_date:eq:2024-02-30")


def test_a_boolean_other_than_true_false_yes_no_1_0_is_refused(world):
    assert "not a boolean" in where_error("disabled:eq:maybe")
    assert "not a boolean" in where_error("extid:empty:perhaps")


def test_an_unknown_org_audience_or_manager_is_refused_naming_the_value(world):
    assert "'NOWHERE'" in where_error("org:in:ACME||NOWHERE")
    assert "'Marketing'" in where_error("audience:eq:Marketing")
    assert "'ghost'" in where_error("manager:eq:ghost")


def test_an_unknown_category_or_folder_is_refused(catalogue):
    assert "'Cooking'" in where_error("category:eq:Cooking", target="courses")
    assert "'HR/Nope'" in where_error("folder:in:HR/Nope", target="courses")


def test_a_criterion_needs_a_value_except_empty(world):
    assert "no value" in where_error("lname:eq:")
    assert "no value" in where_error("lname:eq")
    assert "no value" in where_error("audience:in:||")
    assert "FIELD:OP:VALUE" in where_error("lname")


def test_an_unknown_target_is_refused(world):
    e = raises(Selection(target="lessons"))
    assert (e.code, e.params["key"]) == ("invalid_parameter", "target")
    assert "users, courses, curricula" in e.params["reason"]


def test_too_many_criteria_are_refused(world):
    assert "at most" in where_error(*["lname:contains:a"] * (S.MAX_CRITERIA + 1))


def test_resolve_and_preview_check_the_selection_too(world):
    with pytest.raises(FileError):
        resolve(Selection.from_args("users", ["shoe:eq:1"]))
    with pytest.raises(FileError):
        preview(Selection.from_args("users", list="Nope"))


# Syntax


def test_where_splits_on_the_first_two_colons_only(world):
    sel = Selection.from_args("users", ["udtf2:eq:a:b:c", " LName : EQ : Martin "])
    assert sel.where == [("udtf2", "eq", "a:b:c"), ("lname", "eq", "Martin")]
    User.objects.filter(login="cmeyer").update(custom2="a:b:c")
    assert logins(sel) == set()
    assert users("udtf2:eq:a:b:c") == {"cmeyer"}


def test_json_selection_round_trips_and_takes_lists_or_strings(world):
    obj = {
        "where": [["country", "in", ["FR", "DE"]], "city:contains:r", ["disabled", "eq", False]],
        "any": False,
        "include_disabled": True,
        "exclude": ["boss"],
    }
    sel = Selection.from_json("users", obj)
    assert sel.where[0] == ("country", "in", "FR||DE")
    assert sel.where[2] == ("disabled", "eq", "false")
    assert logins(sel) == {"amartin", "bdurand", "cmeyer"}
    again = Selection.from_json("users", sel.to_json())
    assert again == sel


def test_a_selection_built_by_hand_is_normalised_like_the_cli(world):
    assert logins(Selection(where=[("LName", "EQ", " Martin ")])) == {"amartin"}
    assert logins(Selection(where=["city:eq:Paris", ("extid", "empty")], any=True)) == {
        "amartin",
        "boss",
        "bdurand",
    }


def test_json_selection_refuses_unknown_keys_and_bad_types(world):
    with pytest.raises(FileError) as e:
        Selection.from_json("users", {"wher": []})
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "wher")
    for bad in (
        {"any": "yes"},
        {"ids": "a,b"},
        {"where": "lname:eq:x"},
        {"list": 3},
        {"where": [["city", "eq", ["Paris", "Lyon"]]]},
        {"where": [["city", "eq", {"x": 1}]]},
        {"where": [[1, "eq", "x"]]},
    ):
        with pytest.raises(FileError) as e:
            Selection.from_json("users", bad)
        assert e.value.code == "invalid_parameter"


def test_is_empty_request_only_when_nothing_is_given(world):
    assert Selection.from_json("users", {}).is_empty_request()
    assert Selection.from_args("users", include_disabled=True, exclude="boss").is_empty_request()
    assert not Selection.from_args("users", ["lname:eq:x"]).is_empty_request()
    assert not Selection.from_args("users", list="L").is_empty_request()


# Preview


def test_preview_counts_and_shows_the_first_rows(world):
    n, rows = preview(Selection.from_args("users", ["country:eq:FR"]), limit=2)
    assert n == 3
    assert rows == [
        {
            "login": "amartin",
            "last_name": "Martin",
            "first_name": "Alice",
            "email": "Alice.Martin@Example.com",
            "organisation": "ACME-EU",
            "disabled": False,
        },
        {
            "login": "bdurand",
            "last_name": "Durand",
            "first_name": "Bob",
            "email": "bdurand@example.com",
            "organisation": "ACME-FR",
            "disabled": False,
        },
    ]


def test_preview_of_explicit_ids_and_of_courses(catalogue):
    n, rows = preview(Selection.from_args("users", ids="ddisabled,cmeyer,zz9"))
    assert n == 2 and [r["login"] for r in rows] == ["cmeyer", "ddisabled"]
    n, rows = preview(Selection.from_args("courses", ["title:contains:safety"]))
    assert n == 2
    assert rows[0] == {
        "code": "SAFE-1",
        "title": "Fire safety",
        "published": True,
        "disabled": False,
    }


def test_preview_takes_two_queries_for_criteria(world):
    sel = Selection.from_args("users", ["lname:contains:r"])
    with CaptureQueriesContext(connection) as q:
        preview(sel)
    assert len(q) == 2


# Scale


def _many(n: int, org) -> None:
    User.objects.bulk_create(
        User(
            login=f"u{i:05d}",
            last_name=f"Name{i}",
            first_name="X",
            email=f"u{i}@example.com",
            organisation=org,
            password="!",
            city="Lyon" if i % 2 else "Nice",
            disabled=i % 10 == 0,
        )
        for i in range(n)
    )
    sales = Audience.objects.get(name="Sales")
    UserAudience.objects.bulk_create(
        UserAudience(user_id=pk, audience=sales)
        for pk in User.objects.filter(login__startswith="u").values_list("pk", flat=True)[::3]
    )


def test_a_criteria_selection_of_2000_users_runs_in_a_bounded_number_of_queries(world):
    _many(2000, world["fr"])
    sel = Selection.from_args(
        "users", ["org:in:ACME", "city:eq:Lyon", "audience:in:Sales||IT", "lname:contains:name"]
    )
    scope = tree.subtree(world["acme"].pk)
    with CaptureQueriesContext(connection) as q:
        r = resolve(sel, scope)
    # org extids, the org tree, audience names, then the selection itself: never per user.
    assert len(q) <= 4
    expected = {
        pk
        for pk, login, city, disabled in User.objects.values_list("pk", "login", "city", "disabled")
        if login.startswith("u") and city == "Lyon" and not disabled
    } & set(UserAudience.objects.values_list("user_id", flat=True))
    assert set(r.ids) == expected and len(r.ids) > 200
    select = [x["sql"] for x in q.captured_queries if "directory_user" in x["sql"]]
    assert len(select) == 1


def test_explicit_ids_of_2000_users_take_one_query_per_chunk(world):
    _many(2000, world["fr"])
    ids = ",".join(f"u{i:05d}" for i in range(2000))
    with CaptureQueriesContext(connection) as q:
        r = resolve(Selection.from_args("users", ids=ids))
    assert len(r.ids) == 2000 and r.missing == []
    if connection.vendor == "sqlite":  # PostgreSQL's lookups run on their own cursor
        assert len(q) <= -(-2000 // S.RAW_CHUNK)
