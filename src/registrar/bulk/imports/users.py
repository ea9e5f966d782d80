"""users (SPEC §4.6, seed 003): the 37 columns of the French LMS, plus training_access."""

from typing import TYPE_CHECKING

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from registrar.directory import hashers, passwords
from registrar.directory import lists as dir_lists
from registrar.directory.models import (
    Audience,
    ListFolder,
    ListMember,
    Organisation,
    Role,
    RoleGrant,
    User,
    UserAudience,
    UserList,
)
from registrar.journal import writes
from registrar.notify import mail

from .. import lookups, parsers
from ..diff import differences, incoming, keeps
from ..kind import CREATED, REJECTED, UNCHANGED, UPDATED, Column, ImportKind, Option

if TYPE_CHECKING:
    from ..columnar import Columns


def password_hash(s: str) -> str:
    """A hash another system made, in the form its hasher stores (directory.hashers)."""
    stored = hashers.normalise(s)
    if stored is None:
        raise parsers.CellError(
            "invalid_format",
            format=_("$6$… (SHA-512 crypt), $2y$… (bcrypt) or a Django hash"),
            detail="",
        )
    return stored


ROLE_FIELDS = ("id", "permissions", "site_admin", "content_admin")  # what the grant check reads

FIELDS = {  # column -> User field
    "user_lname": "last_name",
    "user_fname": "first_name",
    "user_tname": "title",
    "user_email": "email",
    "user_disable": "disabled",
    "user_culture": "culture",
    "birth_date": "birth_date",
    "user_activation_date": "activation_date",
    "user_expiration_date": "expiration_date",
    "user_address1": "address1",
    "user_address2": "address2",
    "user_zip": "zipcode",
    "user_city": "city",
    "user_country": "country",
    "user_phone": "phone",
    "user_cellphone": "cellphone",
    "user_hourly_cost": "hourly_cost",
    "job_position_id": "job_position",
    "training_access": "training_access",
    **{f"user_udtf{i}": f"custom{i}" for i in range(1, 11)},
}
EMPTY = {
    "disabled": False,
    "training_access": True,
    "birth_date": None,
    "activation_date": None,
    "expiration_date": None,
    "hourly_cost": None,
}
MANAGERS = {
    "user_manager_extid": "manager_id",
    "user_alternate_manager_extid": "alternate_manager_id",
}
TITLES = {t.value: t.value for t in User.Title} | {
    "m": "M.",
    "mr": "M.",
    "mme": "Mme",
    "mlle": "Mlle",
    "dr": "Dr.",
    "pr": "Pr.",
}


def _role(s: str) -> tuple[str, str | None]:
    name, _, scope = s.partition(":")
    return name.strip(), scope.strip() or None


C = Column
COLUMNS = [
    C(
        "user_lname",
        parsers.text(150),
        required=True,
        aliases=("last_name", "lastname", "nom"),
        help=_("Last name."),
        example="Martin",
    ),
    C(
        "user_fname",
        parsers.text(150),
        required=True,
        aliases=("first_name", "firstname", "prenom"),
        help=_("First name."),
        example="Alice",
    ),
    C(
        "user_tname",
        parsers.choice(TITLES, "M., Mme, Mlle, Dr., Pr."),
        aliases=("title",),
        help=_("M., Mme, Mlle, Dr. or Pr."),
        example="Mme",
    ),
    C(
        "user_login",
        parsers.text(150),
        required=True,
        aliases=("login", "username"),
        help=_("Unique login; the match key unless match_on=extid."),
        example="amartin",
    ),
    C(
        "user_password",
        parsers.text(128),
        secret=True,
        aliases=("password",),
        help=_(
            "Password, hashed with Argon2 and never written anywhere else. A new user without a password or a hash gets none they could sign in with, and a mail with a link to choose one (unless generate_passwords)."
        ),
        example="Change-me-2024",
    ),
    C(
        "user_password_hash",
        password_hash,
        secret=True,
        aliases=("password_hash",),
        help=_(
            "A password hash from another system, taken as it is: SHA-512 crypt ($6$…, Moodle), bcrypt ($2y$…, $2b$…) or Django's formats. Checked at sign-in and upgraded to Argon2 then. Not with user_password on the same row."
        ),
        example="",
    ),
    C(
        "org_extid",
        parsers.text(100),
        required=True,
        aliases=("organisation_extid",),
        help=_("External id of the user's organisation."),
        example="ACME-EU",
    ),
    C(
        "user_email",
        parsers.email,
        aliases=("email",),
        help=_("Email (not unique)."),
        example="alice.martin@example.com",
    ),
    C(
        "user_extid",
        parsers.text(100),
        aliases=("extid",),
        help=_("Second unique id, optional; the match key with match_on=extid."),
        example="E1001",
    ),
    C(
        "user_disable",
        parsers.flag,
        aliases=("user_disabled",),
        help=_("1 inactive; 0 or empty active."),
        example="0",
    ),
    C(
        "user_culture",
        parsers.culture,
        aliases=("culture", "language"),
        help=_("Language tag: en-GB, fr-FR, es-ES…"),
        example="fr-FR",
    ),
    C(
        "birth_date",
        parsers.date_(past=True),
        help=_("YYYY/MM/DD or YYYY-MM-DD."),
        example="1985/04/12",
    ),
    C(
        "user_activation_date",
        parsers.date_(),
        help=_("Account activation date."),
        example="2024/01/01",
    ),
    C("user_expiration_date", parsers.date_(), help=_("Account expiration date."), example=""),
    C(
        "user_manager_extid",
        parsers.text(100),
        help=_(
            "extid of the manager; may be defined later in the file (warning manager_not_found otherwise)."
        ),
        example="",
    ),
    C(
        "user_alternate_manager_extid",
        parsers.text(100),
        help=_("extid of the alternate manager."),
        example="",
    ),
    C("user_address1", parsers.text(255), help=_("Address line 1."), example=""),
    C("user_address2", parsers.text(255), help=_("Address line 2."), example=""),
    C("user_zip", parsers.text(20), help=_("Postcode."), example=""),
    C("user_city", parsers.text(100), help=_("City."), example="Lyon"),
    C("user_country", parsers.text(100), help=_("Country."), example="France"),
    C("user_phone", parsers.text(50), help=_("Phone."), example=""),
    C("user_cellphone", parsers.text(50), help=_("Cellphone."), example=""),
    C(
        "user_hourly_cost",
        parsers.money(10),
        help=_("Hourly cost: a number with at most 2 decimals."),
        example="35.50",
    ),
    *[
        C(
            f"user_udtf{i}",
            parsers.text(255),
            help=format_lazy(_("Custom field {n}."), n=i),
            example="",
        )
        for i in range(1, 11)
    ],
    C(
        "user_audiences",
        parsers.multi(parsers.text(150)),
        help=_("Audiences, A||B; each must exist."),
        example="Managers",
    ),
    C(
        "user_roles",
        parsers.multi(_role),
        help=_("Roles with scope, Role1:ORG1||Role2:ORG2 (no scope: the whole platform)."),
        example="",
    ),
    C(
        "job_position_id",
        parsers.text(100),
        aliases=("job_position",),
        help=_("Job position id."),
        example="J-12",
    ),
    C(
        "list_name",
        parsers.multi(parsers.text(150)),
        aliases=("list_names",),
        help=_("Static lists, A||B; a missing list is created (warning list_created)."),
        example="",
    ),
    C(
        "training_access",
        parsers.flag,
        help=_("1 or empty: may take training; 0: in the organisation without training access."),
        example="1",
    ),
]


class Users(ImportKind):
    name = "users"
    domain = "directory"
    title = _("Users")
    description = _(
        "Creates and updates users, matched on login (or extid). Passwords are hashed and never echoed; the rejects file leaves them empty."
    )
    columns = COLUMNS
    options = [
        Option(
            "match_on",
            "login",
            _("Match existing users on login, or on extid (which lets a file rename logins)."),
            choices=("login", "extid"),
        ),
        Option(
            "update_existing",
            True,
            _("Update users that exist; otherwise they are skipped (already_exists)."),
        ),
        Option("keep_passwords", True, _("Never change the password of an existing user.")),
        Option("generate_passwords", False, _("Generate a password when none is given.")),
        Option(
            "force_password_change",
            False,
            _("New users must change their password at first sign-in."),
        ),
        Option(
            "replace_audiences",
            False,
            _("The file's audiences replace the user's (otherwise they are added)."),
        ),
        Option(
            "replace_roles",
            False,
            _("The file's roles replace the user's (otherwise they are added)."),
        ),
        Option("update_info_if_present", False, _("An empty cell never erases an existing value.")),
        Option(
            "externally_managed", False, _("Mark imported users as managed by an external system.")
        ),
        Option(
            "welcome_mail",
            False,
            _("Send new users their login and a link to set their password, through the outbox."),
        ),
    ]
    key = ("user_login",)
    columnar = True
    columnar_secrets = ("user_password_hash",)  # stored as it comes: the lane plans it
    template = [
        {
            "user_lname": "Martin",
            "user_fname": "Alice",
            "user_tname": "Mme",
            "user_login": "amartin",
            "user_password": "Change-me-2024",
            "org_extid": "ACME-EU",
            "user_email": "alice.martin@example.com",
            "user_extid": "E1001",
            "user_culture": "fr-FR",
            "user_city": "Lyon",
            "user_audiences": "Managers",
            "training_access": "1",
        },
        {
            "user_lname": "Durand",
            "user_fname": "Bob",
            "user_tname": "M.",
            "user_login": "bdurand",
            "user_password": "Change-me-2025",
            "org_extid": "ACME-EU",
            "user_email": "bob.durand@example.com",
            "user_extid": "E1002",
            "user_manager_extid": "E1001",
            "birth_date": "1985/04/12",
            "user_hourly_cost": "35.50",
            "list_name": "Newcomers",
        },
    ]

    def resolve(self, rows, ctx):
        match_extid = ctx.options["match_on"] == "extid"
        logins = {r.values["user_login"] for r in rows}
        extids = {r.values["user_extid"] for r in rows}
        fields = [
            "id",
            "login",
            "extid",
            "password",
            "organisation_id",
            "op",
            *FIELDS.values(),
            *MANAGERS.values(),
            "externally_managed",
            "must_change_password",
            "is_superuser",
            "is_staff",
        ]
        by_login = lookups.by_key(User, "login", logins, *fields)
        by_extid = lookups.by_key(User, "extid", extids, *fields)
        managers = lookups.by_key(
            User, "extid", {r.values[c] for r in rows for c in MANAGERS}, "id"
        )
        scopes = {s for r in rows for _, s in (r.values["user_roles"] or [])}
        orgs = lookups.orgs_by_extid({r.values["org_extid"] for r in rows} | scopes)
        audiences = lookups.by_key(
            Audience, "name", {a for r in rows for a in r.values["user_audiences"] or []}, "id"
        )
        roles = lookups.by_key(
            Role, "name", {n for r in rows for n, _ in r.values["user_roles"] or []}, *ROLE_FIELDS
        )
        lists = lookups.by_key(
            UserList, "name", {n for r in rows for n in r.values["list_name"] or []}, "id"
        )
        existing_ids = [u["id"] for u in (by_extid if match_extid else by_login).values()]
        links = {"aud": {}, "role": {}, "list": set(), "grants_of": {}}
        for part in lookups.chunks(existing_ids):
            for row in UserAudience.objects.filter(user_id__in=part).values(
                "id", "user_id", "audience_id", "op"
            ):
                links["aud"][(row["user_id"], row["audience_id"])] = row
            for row in RoleGrant.objects.filter(user_id__in=part).values(
                "id", "user_id", "role_id", "scope_id", "op"
            ):
                links["role"][(row["user_id"], row["role_id"], row["scope_id"])] = row
                links["grants_of"].setdefault(row["user_id"], []).append(row)
            for row in ListMember.objects.filter(user_id__in=part).values(
                "user_id", "user_list_id"
            ):
                links["list"].add((row["user_id"], row["user_list_id"]))
        held = list(links["role"].values())
        # Roles and scopes of the grants users hold already: the grant check needs both.
        role_by_id = {x["id"]: x for x in roles.values()}
        role_by_id.update(
            lookups.by_key(Role, "id", {g["role_id"] for g in held}, "name", *ROLE_FIELDS[1:])
        )
        scope_extid = {o["id"]: extid for extid, o in orgs.items()}
        scope_extid.update(
            (pk, o["extid"])
            for pk, o in lookups.by_key(
                Organisation, "id", {g["scope_id"] for g in held} - set(scope_extid), "extid"
            ).items()
        )
        return {
            "by_login": by_login,
            "by_extid": by_extid,
            "managers": managers,
            "orgs": orgs,
            "audiences": audiences,
            "roles": roles,
            "role_by_id": role_by_id,
            "scope_extid": scope_extid,
            "lists": lists,
            "links": links,
        }

    def plan(self, rows, refs, ctx):
        o = ctx.options
        match_extid = o["match_on"] == "extid"
        claimed = ctx.state.setdefault("extids", {})  # extid -> login, across batches
        present = ctx.present
        pending_pw = []
        for r in rows:
            v = r.values
            login, extid = v["user_login"], v["user_extid"]
            if match_extid and extid is None:
                r.reject("missing_value", column="user_extid")
                continue
            old = refs["by_extid"].get(extid) if match_extid else refs["by_login"].get(login)
            if old is not None and not ctx.in_scope(old["organisation_id"]):
                r.reject("out_of_scope", what=f"User {old['login']}")
                continue
            if old is not None and not o["update_existing"]:
                r.skip("already_exists", value=login)  # left as it is, whatever the row says
                continue
            org = refs["orgs"].get(v["org_extid"])
            if org is None:
                r.reject("org_not_found", value=v["org_extid"])
            elif not ctx.in_scope(org["id"]):
                r.reject("out_of_scope", what=f"Organisation {v['org_extid']}")
            owner = refs["by_login"].get(login)
            if owner is not None and (old is None or owner["id"] != old["id"]):
                r.reject("login_in_use", value=login)
            if extid is not None:
                holder = refs["by_extid"].get(extid)
                if (
                    holder is not None and (old is None or holder["id"] != old["id"])
                ) or claimed.get(extid, login) != login:
                    r.reject("extid_in_use", value=extid)
            self._plan_links(r, refs, ctx)
            if not r.ok:
                continue
            new = {"login": login, "organisation_id": org["id"]}
            if (
                match_extid
                or extid is not None
                or "user_extid" in present
                and not o["update_info_if_present"]
            ):
                new["extid"] = extid
            keep_empty = old is not None and o["update_info_if_present"]
            new.update(incoming(v, FIELDS, present, keep_empty, EMPTY))
            if o["externally_managed"]:
                new["externally_managed"] = True
            deferred = []
            for col, fld in MANAGERS.items():
                ext = v[col]
                if ext is None:
                    if not keeps(col, v, present, keep_empty):
                        new[fld] = None
                elif ext in refs["managers"]:
                    new[fld] = refs["managers"][ext]["id"]
                else:
                    deferred.append((col, fld, ext))
            pw, pw_hash = v["user_password"], v["user_password_hash"]
            if pw is not None and pw_hash is not None:
                r.reject("conflicting_columns", first="user_password", second="user_password_hash")
                continue
            if old is None:
                if pw_hash is not None:
                    r.data["hashed"] = True  # stored as it came, never hashed again
                    new["password"] = pw_hash
                elif pw is None and not o["generate_passwords"]:
                    r.data["hashed"] = r.data["set_password_mail"] = True
                    new["password"] = passwords.unusable()
                else:
                    new["password"] = pw or passwords.generate()
                new["must_change_password"] = bool(o["force_password_change"])
            elif pw_hash is not None and not o["keep_passwords"]:
                if pw_hash != old["password"]:
                    r.data["hashed"] = True
                    new["password"] = pw_hash
            elif pw is not None and not o["keep_passwords"]:
                pending_pw.append((r, pw, old["password"]))
            r.data.update(old=old, new=new, deferred=deferred)
            if extid is not None:
                claimed[extid] = login
            if old is None:
                r.result = CREATED
            else:
                r.data["diff"] = differences(old, new)
                r.result = UPDATED if r.data["diff"] or r.data.get("links") else UNCHANGED
        if pending_pw:  # compare clear passwords with stored hashes so a re-import changes nothing
            for (r, pw, _), same in zip(
                pending_pw, passwords.check_many([(pw, h) for _, pw, h in pending_pw]), strict=True
            ):
                if not same:
                    r.data["new"]["password"] = pw
                    r.data["diff"]["password"] = pw
                    r.result = UPDATED
        if not ctx.granter.unlimited:
            for r in rows:
                if r.result == UPDATED:
                    self._check_privileged(r, refs, ctx)
        self._plan_lists(rows, refs)
        self._plan_deferred(rows, refs, ctx)

    def _plan_links(self, r, refs, ctx):
        """Audiences, roles and lists: resolve names; decide what to add and remove."""
        v, o = r.values, ctx.options
        aud_ids, grants = [], []
        for name in v["user_audiences"] or []:
            a = refs["audiences"].get(name)
            if a is None:
                r.reject("audience_not_found", value=name)
            else:
                aud_ids.append(a["id"])
        for name, scope in v["user_roles"] or []:
            role = refs["roles"].get(name)
            org = refs["orgs"].get(scope) if scope else None
            if role is None:
                r.reject("role_not_found", value=name)
            if scope and org is None:
                r.reject("org_not_found", value=scope)
            if ctx.scope_ids is not None and (org is None or org["id"] not in ctx.scope_ids):
                r.reject("out_of_scope", what=f"Role {name} on {scope or 'the whole platform'}")
            if role is not None and (not scope or org is not None):
                grants.append((role["id"], org["id"] if org else None))
        list_ids = list(v["list_name"] or [])
        r.data = {"aud": aud_ids, "grants": grants, "list_names": list_ids}
        old = (
            refs["by_extid"].get(v["user_extid"])
            if o["match_on"] == "extid"
            else refs["by_login"].get(v["user_login"])
        )
        if old is None:
            self._check_grants(r, dict.fromkeys(grants), refs, ctx)
        if old is None or not r.ok:
            return
        links = refs["links"]
        uid = old["id"]
        add_a = [a for a in dict.fromkeys(aud_ids) if (uid, a) not in links["aud"]]
        add_g = [g for g in dict.fromkeys(grants) if (uid, *g) not in links["role"]]
        del_a = del_g = []
        if o["replace_audiences"] and not keeps(
            "user_audiences", v, ctx.present, o["update_info_if_present"]
        ):
            del_a = [row for (u, a), row in links["aud"].items() if u == uid and a not in aud_ids]
        if o["replace_roles"] and not keeps(
            "user_roles", v, ctx.present, o["update_info_if_present"]
        ):
            del_g = [
                row
                for (u, ro, s), row in links["role"].items()
                if u == uid and (ro, s) not in grants
            ]
        lists = refs["lists"]
        add_l = [
            n
            for n in dict.fromkeys(list_ids)
            if n not in lists or (uid, lists[n]["id"]) not in links["list"]
        ]
        self._check_grants(r, add_g + [(g["role_id"], g["scope_id"]) for g in del_g], refs, ctx)
        r.data["links"] = bool(add_a or add_g or del_a or del_g or add_l)
        r.data.update(add_a=add_a, add_g=add_g, del_a=del_a, del_g=del_g)

    def _check_grants(self, r, grants, refs, ctx) -> None:
        """Every grant the row gives or takes away must be the actor's to give
        (directory.permissions.Granter): role_not_grantable otherwise."""
        for role_id, scope_id in grants:
            role = refs["role_by_id"][role_id]
            if not ctx.granter.may_grant(role, scope_id):
                r.reject("role_not_grantable", role=role["name"], scope=self._scope(scope_id, refs))

    def _check_privileged(self, r, refs, ctx) -> None:
        """A user holding a role the actor could not grant is changed only by one who could:
        otherwise an administrator could take over a more powerful account (its password,
        email or login) inside their organisation. A superuser or staff account (the Django
        admin's) holds the whole platform: only a site administrator changes it."""
        old = r.data["old"]
        if (old["is_superuser"] or old["is_staff"]) and not ctx.granter.site_admin:
            role = "superuser" if old["is_superuser"] else "staff (admin site)"
            r.reject(
                "privileged_user", value=old["login"], role=role, scope=_("the whole platform")
            )
            return
        for g in refs["links"]["grants_of"].get(r.data["old"]["id"], ()):
            role = refs["role_by_id"][g["role_id"]]
            if not ctx.granter.may_grant(role, g["scope_id"]):
                r.reject(
                    "privileged_user",
                    value=r.data["old"]["login"],
                    role=role["name"],
                    scope=self._scope(g["scope_id"], refs),
                )
                return

    @staticmethod
    def _scope(scope_id, refs) -> str:
        return refs["scope_extid"].get(scope_id, "?") if scope_id else _("the whole platform")

    def _plan_lists(self, rows, refs):
        """A list missing from the platform is created once: the first applied row naming it warns."""
        created = set()
        for r in rows:
            if r.result in (CREATED, UPDATED, UNCHANGED):
                for name in dict.fromkeys(r.data["list_names"]):
                    if name not in refs["lists"] and name not in created:
                        created.add(name)
                        r.warn("list_created", value=name)

    def _plan_deferred(self, rows, refs, ctx):
        """Managers not in the platform yet: settled after the last batch (finish).

        A manager that an applied row of this batch defines is a change now; one further on in
        the file is only known at the end. An existing user otherwise unchanged is linked then,
        staged here since apply never sees unchanged rows."""
        claimed = ctx.state["extids"]
        staged = ctx.pending.setdefault("deferred", {})
        for r in rows:
            deferred = r.data.get("deferred") if r.result in (UPDATED, UNCHANGED) else None
            if not deferred:
                continue
            if r.result == UNCHANGED and not ctx.granter.unlimited:
                self._check_privileged(r, refs, ctx)  # a manager linked later changes the user
                if r.result == REJECTED:
                    continue
            if r.result == UNCHANGED and any(ext in claimed for _, _, ext in deferred):
                r.result = UPDATED
            if r.result == UNCHANGED:
                ctx.pending.setdefault("unchanged_deferred", set()).add(r.number)
                for col, fld, ext in deferred:
                    staged[(r.number, col)] = (r.data["old"]["id"], fld, ext)

    def apply(self, rows, refs, ctx):
        op = ctx.op
        lists = self._create_lists(rows, refs, ctx)
        creating = [r for r in rows if r.result == CREATED]
        # Planned rows are applied again after a failed batch is split: hash into a copy.
        clear = [r for r in creating if not r.data.get("hashed")]
        hashed = dict(
            zip(
                [r.number for r in clear],
                passwords.hash_many([r.data["new"]["password"] for r in clear]),
                strict=True,
            )
        )
        ids = writes.allocate_ids(User, len(creating))
        inserts = []
        for r, pk in zip(creating, ids, strict=True):
            r.data["uid"] = pk
            password = hashed.get(r.number, r.data["new"]["password"])
            inserts.append({**r.data["new"], "id": pk, "password": password})
        writes.insert(User, inserts, op, [r.number for r in creating])
        updating = [r for r in rows if r.result == UPDATED]
        pw_rows = [r for r in updating if "password" in r.data["diff"] and not r.data.get("hashed")]
        pw_hashes = dict(
            zip(
                [r.number for r in pw_rows],
                passwords.hash_many([r.data["diff"]["password"] for r in pw_rows]),
                strict=True,
            )
        )
        # Each user as planned: its op guards the write (the before values come from that read).
        writes.update(
            User,
            [
                (
                    r.data["old"]["id"],
                    {**r.data["diff"], "password": pw_hashes[r.number]}
                    if r.number in pw_hashes
                    else r.data["diff"],
                    r.data["old"],
                    r.number,
                )
                for r in updating
                if r.data["diff"]
            ],
            op,
        )
        for r in updating:
            r.data["uid"] = r.data["old"]["id"]
        aud, grants, members, del_a, del_g = [], [], [], [], []
        for r in creating:
            uid = r.data["uid"]
            aud += [{"user_id": uid, "audience_id": a} for a in dict.fromkeys(r.data["aud"])]
            grants += [
                {"user_id": uid, "role_id": ro, "scope_id": s}
                for ro, s in dict.fromkeys(r.data["grants"])
            ]
            members += [
                {"user_id": uid, "user_list_id": lists[n]}
                for n in dict.fromkeys(r.data["list_names"])
            ]
        for r in updating:
            uid = r.data["uid"]
            aud += [{"user_id": uid, "audience_id": a} for a in r.data.get("add_a", [])]
            grants += [
                {"user_id": uid, "role_id": ro, "scope_id": s} for ro, s in r.data.get("add_g", [])
            ]
            known = refs["links"]["list"]
            members += [
                {"user_id": uid, "user_list_id": lists[n]}
                for n in dict.fromkeys(r.data["list_names"])
                if (uid, lists[n]) not in known
            ]
            del_a += r.data.get("del_a", [])
            del_g += r.data.get("del_g", [])
        writes.delete(UserAudience, [(x["id"], x, None) for x in del_a], op)
        writes.delete(RoleGrant, [(x["id"], x, None) for x in del_g], op)
        writes.insert(UserAudience, aud, op)
        writes.insert(RoleGrant, grants, op)
        # Through the lists' verb: their access properties assign the members added (SPEC §5).
        dir_lists.add_memberships(
            op, [(m["user_list_id"], m["user_id"]) for m in members], op.started_at, planned=True
        )
        # A new user without a password is sent a link to choose one, whatever welcome_mail says.
        welcome = (
            creating
            if ctx.options["welcome_mail"]
            else [r for r in creating if r.data.get("set_password_mail")]
        )
        if welcome:
            self._welcome(welcome, op)
        # Staged for finish(); the engine keeps it only if this attempt is kept.
        staged = ctx.pending.setdefault("deferred", {})
        for r in rows:
            for col, fld, ext in r.data.get("deferred", []):
                staged[(r.number, col)] = (r.data["uid"], fld, ext)

    def _create_lists(self, rows, refs, ctx) -> dict[str, int]:
        """Lists the applied rows name that the platform lacks, created in the Default folder."""
        lists = {n: x["id"] for n, x in refs["lists"].items()}
        todo = list(dict.fromkeys(n for r in rows for n in r.data["list_names"] if n not in lists))
        if todo:
            folder = ListFolder.objects.filter(
                name="Default", parent=None
            ).first() or ListFolder.objects.create(name="Default", op=ctx.op.pk)
            ids = writes.insert(
                UserList, [{"name": n, "folder_id": folder.pk} for n in todo], ctx.op
            )
            lists.update(zip(todo, ids, strict=True))
        return lists

    def _welcome(self, created, op):
        """Queue a welcome mail, in the user's language, for each new user with an address; its
        set-password link is made from the stored password hash when the mail is sent (stored
        nowhere), and a background task delivers them once the import commits."""
        new = [r.data["new"] for r in created]
        mail.welcome(
            op,
            [
                {"id": r.data["uid"], **{k: n.get(k) or "" for k in mail.USER_KEYS}}
                for r, n in zip(created, new, strict=True)
            ],
        )

    def finish(self, ctx):
        """Managers defined later in the file: link them now, or warn manager_not_found."""
        deferred = ctx.state.get("deferred", {})
        if not deferred:
            return
        found = lookups.by_key(User, "extid", {ext for _uid, _fld, ext in deferred.values()}, "id")
        full = {}
        for part in lookups.chunks({uid for uid, _fld, _ext in deferred.values()}):
            full.update({u["id"]: u for u in User.objects.filter(pk__in=part).values()})
        items: dict[int, list] = {}
        for (number, col), (uid, fld, ext) in sorted(deferred.items()):
            if uid not in full:  # its row failed after all (processing_error): nothing to link
                continue
            if ext not in found:
                ctx.amend(number, "manager_not_found", value=ext, column=col)
            elif full[uid][fld] != found[ext]["id"]:
                items.setdefault(uid, [{}, number])[0][fld] = found[ext]["id"]
                if number in ctx.state.get("unchanged_deferred", ()):
                    ctx.settle(number)
        writes.update(User, [(uid, diff, full[uid], n) for uid, (diff, n) in items.items()], ctx.op)

    def plan_columns(self, lane: "Columns", ctx) -> tuple["Columns", "Columns"]:
        """New users planned created in bulk: matched on login (the option's default) and no
        user with the login; no clear password (a hash from another system is stored as it
        is; without one a new user gets an unusable password and the set-password mail),
        unless generate_passwords; the organisation found and in scope; the
        extid, when given, held by no user and named by no other row of the batch or earlier
        row of the file; every audience and list found; no role. A manager not in the platform
        yet is settled after the last batch (finish), as on the row path. Every other row takes
        the row path, which tells why."""
        o = ctx.options
        if o["match_on"] != "login" or o["generate_passwords"]:
            return lane.take([]), lane
        v, n = lane.values, len(lane)
        logins, extids = v["user_login"], v["user_extid"]
        taken = set(lookups.by_key(User, "login", logins, "id"))
        held = set(lookups.by_key(User, "extid", extids, "id"))
        named = [x for x in extids if x is not None]
        repeated = {x for x in named if named.count(x) > 1} if len(set(named)) < len(named) else ()
        claimed = ctx.state.setdefault("extids", {})
        orgs = {
            k: x["id"]
            for k, x in lookups.orgs_by_extid(set(v["org_extid"])).items()
            if ctx.in_scope(x["id"])
        }
        audiences = lookups.by_key(
            Audience, "name", {a for x in v["user_audiences"] for a in x or ()}, "id"
        )
        lists = lookups.by_key(UserList, "name", {a for x in v["list_name"] for a in x or ()}, "id")
        managers = lookups.by_key(
            User, "extid", {e for col in MANAGERS for e in v[col] if e is not None}, "id"
        )
        index = [
            i
            for i in range(n)
            if logins[i] not in taken
            and v["user_password"][i] is None
            and v["org_extid"][i] in orgs
            and (
                extids[i] is None
                or extids[i] not in held
                and extids[i] not in repeated
                and claimed.get(extids[i], logins[i]) == logins[i]
            )
            and not v["user_roles"][i]
            and all(a in audiences for a in v["user_audiences"][i] or ())
            and all(a in lists for a in v["list_name"][i] or ())
        ]
        planned = lane.take(index)
        p, present = planned.values, ctx.present
        # The row path's values for a new user (plan): the file's columns, an empty cell the
        # field's empty value; a field the file lacks keeps its default.
        new: dict[str, list] = {
            "login": p["user_login"],
            "organisation_id": [orgs[x] for x in p["org_extid"]],
            "extid": p["user_extid"],
        }
        for col, fld in FIELDS.items():
            if col in present:
                empty = EMPTY.get(fld, "")
                new[fld] = [empty if x is None else x for x in p[col]]
        deferred = []  # a manager not in the platform yet: settled after the last batch
        for col, fld in MANAGERS.items():
            if col in present:
                new[fld] = [managers[x]["id"] if x in managers else None for x in p[col]]
                deferred += [
                    (i, col, fld, x)
                    for i, x in enumerate(p[col])
                    if x is not None and x not in managers
                ]
        planned.data = {
            "new": new,
            "audiences": [
                [audiences[a]["id"] for a in dict.fromkeys(x or ())] for x in p["user_audiences"]
            ],
            "lists": [[lists[a]["id"] for a in dict.fromkeys(x or ())] for x in p["list_name"]],
            "deferred": deferred,
            "result": [CREATED] * len(index),
        }
        for login, extid in zip(p["user_login"], p["user_extid"], strict=True):
            if extid is not None:
                claimed[extid] = login
        chosen = set(index)
        return planned, lane.take([i for i in range(n) if i not in chosen])

    def apply_columns(self, planned: "Columns", ctx) -> None:
        """The planned users, their audiences and list memberships (the lists' access
        properties assign what they assign), and the set-password (or welcome) mails."""
        op, o, d, n = ctx.op, ctx.options, planned.data, len(planned)
        ids = writes.allocate_ids(User, n)
        same = {"must_change_password": bool(o["force_password_change"])}
        if o["externally_managed"]:
            same["externally_managed"] = True
        hashes = planned.values["user_password_hash"]
        columns = {**d["new"], "password": [h or passwords.unusable() for h in hashes]}
        writes.insert_columns(User, columns, n, op, ids, same=same)
        aud = [(uid, a) for uid, x in zip(ids, d["audiences"], strict=True) for a in x]
        writes.insert_columns(
            UserAudience,
            {"user_id": [u for u, _ in aud], "audience_id": [a for _, a in aud]},
            len(aud),
            op,
        )
        dir_lists.add_memberships(
            op,
            [(lst, uid) for uid, x in zip(ids, d["lists"], strict=True) for lst in x],
            op.started_at,
            planned=True,
        )
        # Staged for finish(), as the row path stages them; kept only if this attempt is kept.
        staged = ctx.pending.setdefault("deferred", {})
        for i, col, fld, ext in d["deferred"]:
            staged[(planned.numbers[i], col)] = (ids[i], fld, ext)
        new = d["new"]
        keys = [k for k in mail.USER_KEYS if k in new]
        # A new user without a password is sent a link to choose one, whatever welcome_mail says.
        everyone = o["welcome_mail"]
        mail.welcome(
            op,
            [
                {
                    "id": uid,
                    **dict.fromkeys(mail.USER_KEYS, ""),
                    **{k: new[k][i] or "" for k in keys},
                }
                for i, uid in enumerate(ids)
                if everyone or hashes[i] is None
            ],
        )
