"""registrar demo: load a realistic demo organisation (Acme) into an empty database.

Organisations, users, the catalogue and the historical completions are written as CSV files and
imported by the bulk engine, like any customer's files; audiences, roles, assignments and the
learners' own progress are written through the journal in one `demo` operation. The data is
deterministic for a given size and day, and contains everything the import templates refer to.
"""

import csv
import random
import sys
import tempfile
import time as clock
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.utils import timezone

from registrar.bulk import engine, imports
from registrar.bulk.codes import CODES
from registrar.bulk.io.readers import FileError
from registrar.catalogue.models import (
    CertificateTemplate,
    ClassroomSession,
    Competency,
    Course,
    CourseCredit,
    Curriculum,
    CurriculumCourse,
    Lesson,
    Programme,
    ProgrammeCurriculum,
    SessionSlot,
)
from registrar.directory.models import (
    Audience,
    ListMember,
    Organisation,
    Role,
    RoleGrant,
    User,
    UserList,
)
from registrar.journal import service, writes
from registrar.journal.models import Operation
from registrar.learning.models import (
    Certificate,
    CourseAssignment,
    CourseRecord,
    CourseStatus,
    CreditAward,
    CurriculumAssignment,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    LessonStatus,
    ProgrammeAssignment,
    ProgrammeRecord,
    Seat,
    Source,
)

from ..reporting import Progress, warnings_text

SEED = 20240615
MIN_USERS = 50
ADMIN = ("admin", "admin")
LEARNER_PASSWORD = "demo"
DOMAIN = "example.com"

# ---------------------------------------------------------------------------------------------
# The organisation: a group, a European region, five countries, a logistics division.


@dataclass(frozen=True)
class Country:
    extid: str
    label: str
    parent: str
    short: str
    city: str
    zipcode: str
    address: str
    country: str
    language: str
    names: str  # fr, en, or ca (both)
    weight: int
    departments: tuple[str, ...]
    phone: str
    mobile: str


DEPARTMENTS = {  # code: (English label, French label, audience)
    "HR": ("Human Resources", "Ressources humaines", "Office staff"),
    "FIN": ("Finance", "Finance", "Office staff"),
    "SAL": ("Sales", "Ventes", "Sales force"),
    "OPS": ("Operations", "Opérations", "Field staff"),
    "IT": ("Information Technology", "Informatique", "Office staff"),
    "LEG": ("Legal and Compliance", "Juridique et conformité", "Office staff"),
    "MKT": ("Marketing", "Marketing", "Office staff"),
    "CS": ("Customer Service", "Service client", "Office staff"),
    "RD": ("Research and Development", "Recherche et développement", "Office staff"),
    "WH": ("Warehouses", "Entrepôts", "Field staff"),
    "TR": ("Transport", "Transport", "Field staff"),
}

COUNTRIES = [
    Country(
        "ACME-FR",
        "Acme France",
        "ACME-EU",
        "France",
        "Paris",
        "75008",
        "18 rue de Surène",
        "France",
        "fr-FR",
        "fr",
        32,
        ("HR", "FIN", "SAL", "OPS", "IT", "LEG"),
        "+33 1 {} {} {} {}",
        "+33 6 {} {} {} {}",
    ),
    Country(
        "ACME-BE",
        "Acme Belgique",
        "ACME-EU",
        "Belgique",
        "Bruxelles",
        "1050",
        "Avenue Louise 231",
        "Belgium",
        "fr-BE",
        "fr",
        9,
        ("SAL", "OPS", "CS", "FIN"),
        "+32 2 5{} {} {}",
        "+32 470 {} {} {}",
    ),
    Country(
        "ACME-CH",
        "Acme Suisse",
        "ACME-EU",
        "Suisse",
        "Genève",
        "1204",
        "Rue du Marché 12",
        "Switzerland",
        "fr-CH",
        "fr",
        7,
        ("RD", "SAL", "FIN", "HR"),
        "+41 22 3{} {} {}",
        "+41 79 5{} {} {}",
    ),
    Country(
        "ACME-UK",
        "Acme United Kingdom",
        "ACME-EU",
        "UK",
        "London",
        "EC2A 4NE",
        "100 Worship Street",
        "United Kingdom",
        "en-GB",
        "en",
        20,
        ("SAL", "CS", "FIN", "HR", "MKT"),
        "+44 20 79{} {}{}",
        "+44 7700 90{}{}",
    ),
    Country(
        "ACME-CA",
        "Acme Canada",
        "ACME",
        "Canada",
        "Montréal",
        "H3B 2Y5",
        "1000 rue De La Gauchetière Ouest",
        "Canada",
        "en-CA",
        "ca",
        16,
        ("SAL", "CS", "OPS", "IT", "MKT"),
        "+1 514 555 01{}",
        "+1 438 555 01{}",
    ),
]
# The organisations template's division: its departments are added by the demo.
LOGISTICS = Country(
    "ACME-LOG",
    "Acme Logistics",
    "ACME-EU",
    "Logistique",
    "Lyon",
    "69007",
    "",
    "France",
    "",
    "fr",
    9,
    ("WH", "TR"),
    "+33 4 72 {} {} {}",
    "+33 6 {} {} {} {}",
)

# ---------------------------------------------------------------------------------------------
# People.


def words(s: str) -> list[str]:
    return s.split()


FR_WOMEN = words(
    "Camille Léa Manon Chloé Inès Sarah Julie Emma Louise Clara Marie Sophie Nathalie Isabelle "
    "Céline Aurélie Émilie Claire Hélène Margaux Anaïs Pauline Lucie Élodie Valérie Sandrine "
    "Juliette Agathe Charlotte Mathilde Amandine Laure Delphine Morgane Océane"
)
FR_MEN = words(
    "Thomas Nicolas Julien Antoine Maxime Lucas Hugo Louis Pierre Alexandre Romain Guillaume "
    "Mathieu Sébastien Olivier François Jérôme Laurent Philippe Benoît Vincent Arnaud Étienne "
    "Théo Baptiste Quentin Cédric Yann Damien Rémi Karim Mehdi Adrien Florian Gaël"
)
FR_LAST = words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre "
    "Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefebvre Mercier Dupont "
    "Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guérin Muller Henry "
    "Roussel Nicolas Perrin Morin Mathieu Clément Gauthier Dumont Lopez Fontaine Chevalier Robin "
    "Masson Sanchez Gérard Nguyen Boyer Denis Lemaire Duval Joly Gaillard Brunet Schmitt Dupuis "
    "Lacroix Fabre Marchand Benali Haddad Peeters Janssens Maes Favre Rochat"
)
EN_WOMEN = words(
    "Emily Olivia Sophie Charlotte Amelia Jessica Hannah Lucy Grace Chloe Emma Sarah Rebecca "
    "Laura Rachel Katherine Helen Victoria Eleanor Megan Jennifer Amy Claire Alice Ruth Priya "
    "Aisha Fiona Siobhan Natalie"
)
EN_MEN = words(
    "James Oliver Harry Jack George William Thomas Daniel Matthew David Michael Andrew "
    "Christopher Richard Peter Paul Mark Simon Benjamin Samuel Joseph Edward Robert Stephen Ian "
    "Rajesh Omar Liam Connor Gareth"
)
EN_LAST = words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker "
    "White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason Mitchell "
    "Rose Davis Cox Campbell Stewart Murray Kelly O'Brien MacDonald Scott Hughes Turner Cooper "
    "Harris Ward Morris King Baker Bell Clark Edwards Singh Chen"
)
CA_LAST = words(
    "Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet Pelletier "
    "Bélanger Lévesque Bergeron Leblanc Paquette Girard Simard Boucher"
)
CONTRACTS = ["Permanent"] * 8 + ["Fixed-term", "Apprentice"]


@dataclass
class Person:
    login: str
    first: str
    last: str
    email: str
    extid: str
    org: str
    dept: str | None
    kind: str  # ceo, head, manager, staff, template
    women: bool = False
    hired: date | None = None
    newcomer: bool = False
    disabled: bool = False
    training: bool = True
    shared_email: bool = False
    safety_officer: bool = False
    manager: str | None = None
    row: dict = field(default_factory=dict)
    uid: int = 0

    @property
    def leads(self) -> bool:
        return self.kind in ("ceo", "head", "manager")


def ascii_name(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(ch for ch in s.lower() if ch.isalnum())


# ---------------------------------------------------------------------------------------------
# The catalogue. Lesson types: L lesson, A assignment, W webinar, T classroom, E resource.

PROGRAMMES = [
    ("PRG-COMPLIANCE", "Compliance programme", "Safety, ethics and data protection: mandatory."),
    ("PRG-LEADERSHIP", "Leadership programme", "For managers, from first team to leading change."),
    ("PRG-ONBOARDING", "Onboarding programme", "The first weeks at Acme."),
]
CURRICULA = [  # code, title, programmes
    ("CUR-SAFETY", "Safety journey", "PRG-COMPLIANCE"),
    ("CUR-ETHICS", "Ethics and integrity", "PRG-COMPLIANCE"),
    ("CUR-DATA", "Data protection", "PRG-COMPLIANCE||PRG-ONBOARDING"),
    ("CUR-MANAGER", "First-time managers", "PRG-LEADERSHIP"),
    ("CUR-LEAD", "Leading teams", "PRG-LEADERSHIP"),
    ("CUR-COACH", "Coaching and feedback", "PRG-LEADERSHIP"),
    ("CUR-WELCOME", "Welcome to Acme", "PRG-ONBOARDING"),
    ("CUR-TOOLS", "Our tools", "PRG-ONBOARDING"),
    ("CUR-SALES", "Sales fundamentals", ""),
    ("CUR-CUSTOMER", "Customer service excellence", ""),
]
_S = ("Safety", "Compliance/Safety", "SafeWork Institute")
_E = ("Compliance", "Compliance/Ethics", "Acme Academy")
_D = ("Compliance", "Compliance/Data protection", "Acme Academy")
_M = ("Leadership", "Leadership/Management", "Leadership Lab")
_C = ("Leadership", "Leadership/Coaching", "Leadership Lab")
_O = ("Onboarding", "Onboarding", "Acme Academy")
_T = ("Tools", "Onboarding/Tools", "Acme IT")
_SA = ("Sales", "Business skills/Sales", "Acme Academy")
_CS = ("Customer service", "Business skills/Customer service", "Acme Academy")
_L = ("Languages", "Languages", "LinguaPro")
COURSES = [  # code, title, curricula, (category, folder, provider), modality, credits, lessons
    ("SAFE-101", "Workplace safety", "CUR-SAFETY||CUR-WELCOME", _S, "e-learning", "CPD:1", "LLAE"),
    ("SAFE-102", "Manual handling", "CUR-SAFETY", _S, "e-learning", "CPD:1", "LLAE"),
    ("SAFE-201", "Fire safety", "CUR-SAFETY", _S, "e-learning", "CPD:1.5", "LLA"),
    ("SAFE-202", "First aid at work", "CUR-SAFETY", _S, "classroom", "CPD:7", "ETTA"),
    ("SAFE-301", "Working at height", "CUR-SAFETY", _S, "classroom", "CPD:3.5", "LTA"),
    ("ETH-101", "Code of conduct", "CUR-ETHICS", _E, "e-learning", "", "LLLAE"),
    ("ETH-102", "Anti-bribery and corruption", "CUR-ETHICS", _E, "e-learning", "CPE:1", "LLAE"),
    ("ETH-103", "Conflicts of interest", "CUR-ETHICS", _E, "e-learning", "", "LLAE"),
    ("ETH-201", "Speaking up: whistleblowing", "CUR-ETHICS", _E, "webinar", "", "WEA"),
    ("DATA-101", "GDPR essentials", "CUR-DATA", _D, "e-learning", "CPD:1", "LLAE"),
    ("DATA-102", "Information security basics", "CUR-DATA", _D, "e-learning", "", "LLAE"),
    ("DATA-103", "Phishing awareness", "CUR-DATA", _D, "e-learning", "", "LLAE"),
    ("DATA-201", "Personal data in HR", "CUR-DATA", _D, "e-learning", "CPD:2", "LLEA"),
    ("LEAD-101", "The manager's role", "CUR-MANAGER", _M, "blended", "SHRM-PDC:2", "LWTA"),
    ("LEAD-102", "Effective one-to-ones", "CUR-MANAGER", _M, "e-learning", "", "LLLA"),
    ("LEAD-103", "Delegating well", "CUR-MANAGER", _M, "e-learning", "", "LLEA"),
    ("LEAD-104", "Managing performance", "CUR-MANAGER", _M, "blended", "SHRM-PDC:3", "LWAE"),
    ("LEAD-201", "Leading change", "CUR-LEAD", _M, "classroom", "SHRM-PDC:7", "TTAE"),
    ("LEAD-202", "Building trust", "CUR-LEAD", _M, "e-learning", "", "LLAE"),
    ("LEAD-203", "Inclusive leadership", "CUR-LEAD", _M, "e-learning", "SHRM-PDC:1", "LWAE"),
    ("LEAD-204", "Leading remote teams", "CUR-LEAD", _M, "webinar", "", "WWAE"),
    ("COACH-101", "Giving feedback", "CUR-COACH||CUR-MANAGER", _C, "e-learning", "", "LLLA"),
    ("COACH-102", "Coaching conversations", "CUR-COACH", _C, "blended", "", "LWTA"),
    ("COACH-103", "Difficult conversations", "CUR-COACH", _C, "classroom", "", "TAE"),
    ("ONB-101", "Welcome to Acme", "CUR-WELCOME", _O, "e-learning", "", "LLLE"),
    ("ONB-102", "Our products and services", "CUR-WELCOME", _O, "e-learning", "", "LLLA"),
    ("ONB-103", "How we work", "CUR-WELCOME", _O, "e-learning", "", "LLEA"),
    ("ONB-104", "Sustainability at Acme", "CUR-WELCOME", _O, "e-learning", "", "LLA"),
    ("TOOL-101", "Email and calendar", "CUR-TOOLS", _T, "e-learning", "", "LLE"),
    ("TOOL-102", "Collaboration tools", "CUR-TOOLS", _T, "e-learning", "", "LLE"),
    ("TOOL-103", "Expense reports", "CUR-TOOLS", _T, "e-learning", "", "LLA"),
    ("TOOL-104", "CRM basics", "CUR-TOOLS||CUR-SALES", _T, "e-learning", "", "LLAE"),
    ("TOOL-099", "Legacy timesheet tool", "", _T, "e-learning", "", "LE"),
    ("SALES-101", "Consultative selling", "CUR-SALES", _SA, "blended", "", "LWTA"),
    ("SALES-102", "Negotiation skills", "CUR-SALES", _SA, "classroom", "", "TTA"),
    ("SALES-103", "Key account management", "CUR-SALES", _SA, "e-learning", "", "LLAE"),
    ("SALES-201", "Pricing and margins", "CUR-SALES", _SA, "e-learning", "CPE:2", "LLAE"),
    ("CS-101", "Customer service essentials", "CUR-CUSTOMER", _CS, "e-learning", "", "LLLAE"),
    ("CS-102", "Handling complaints", "CUR-CUSTOMER", _CS, "blended", "", "LWA"),
    ("CS-103", "Telephone manner", "CUR-CUSTOMER", _CS, "e-learning", "", "LLAE"),
    ("LANG-101", "Business English", "", _L, "blended", "", "LLLWTE"),
    ("LANG-102", "Français professionnel", "", _L, "blended", "", "LLLWTE"),
]
DRAFTS = {"ONB-104"}  # not published yet
RETIRED = {"TOOL-099"}  # disabled and unpublished
CERTIFIED = ("SAFE-", "ETH-", "DATA-")  # courses that issue a certificate
LESSON_TITLES = {
    "L": ["introduction", "key principles", "in practice", "case studies", "going further"],
    "A": ["knowledge check"],
    "W": ["live webinar", "webinar: questions and answers"],
    "T": ["classroom workshop", "practical session"],
    "E": ["toolkit and references"],
}
MINUTES = {"L": (10, 35), "A": (5, 20), "W": (45, 90), "T": (180, 420), "E": (2, 10)}

# The unenrolments template names a course by its external reference and the progress template
# by its UUID: the demo gives them to courses that no other template uses, so that importing every
# template in turn, twice, has each file act on its own rows only.
TEMPLATE_EXTREF_COURSES = ("DATA-103", "DATA-101")
TEMPLATE_UUID_COURSES = ("DATA-102", "ETH-103")

AUDIENCES = ["Managers", "Sales force", "Field staff", "Office staff", "Safety officers"]
ROLES = {  # the demo's roles beyond the built-in ones (directory migration 0002)
    "Training manager": ["learning.*", "bulk.import"],
    "HR officer": ["directory.*"],
    "Manager": [],
}


def read_template(kind: str) -> list[dict]:
    """A kind's example rows (none when the kind does not exist)."""
    k = imports.KINDS.get(kind)
    return [dict(r) for r in k.template] if k else []


def template_references() -> dict:
    """What the other kinds' example files refer to, so that the demo can provide it."""
    extrefs = {
        r["activity_extref"] for r in read_template("unenrolments") if r.get("activity_extref")
    }
    uuids = {r["content_uuid"] for r in read_template("progress") if r.get("content_uuid")}
    made = {r.get("session_extid") for r in read_template("classroom-sessions")}
    catalogue = read_template("catalogue")  # what the catalogue template defines itself
    extrefs -= {r.get("extref") for r in catalogue}
    uuids -= {r.get("uuid") for r in catalogue}
    sessions = {
        r["session_extid"]: r["crsvname"]
        for r in read_template("course-assignments")
        if r.get("session_extid") and r.get("crsvname") and r["session_extid"] not in made
    }
    return {
        # course code -> the external reference / UUID the templates give it
        "extref": dict(zip(TEMPLATE_EXTREF_COURSES, sorted(extrefs), strict=False)),
        "uuid": dict(zip(TEMPLATE_UUID_COURSES, sorted(uuids), strict=False)),
        "sessions": sessions,  # session extid -> course code
    }


class Demo:
    """Builds the demo's files and rows, runs them, and counts what it wrote."""

    def __init__(self, users: int, tmp: Path, say=lambda line: None, meter=None):
        self.n = users
        self.tmp = tmp
        self.say = say
        self.meter = meter  # reporting.Progress on standard error, or None
        self.rng = random.Random(SEED)
        self.today = timezone.localdate()
        self.yesterday = self.today - timedelta(days=1)
        self.golive = self.today - timedelta(days=120)  # before this, records come from the old LMS
        self.written: dict[str, int] = {}  # rows inserted by the demo operation, per table
        self.updated = 0
        self.reports: list = []

    # -- plumbing --------------------------------------------------------------------------

    def write_csv(self, name: str, header: list[str], rows: list[dict]) -> Path:
        path = self.tmp / name
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(header)
            for r in rows:
                w.writerow([r.get(h, "") for h in header])
        return path

    def step(self, text: str) -> None:
        if self.meter is not None:
            self.meter.step(f"demo: {text}…")

    def run(self, kind: str, path: Path, **options) -> engine.Report:
        self.step(f"import {kind}")
        req = engine.Request(kind=kind, path=str(path), options=options, progress=self.meter)
        try:
            report = engine.run_import(req)
        except FileError as e:
            raise CommandError(
                f"demo {kind} file refused: {CODES[e.code].format(**e.params)}"
            ) from None
        if report.counts["rejected"]:
            raise CommandError(
                f"the demo's {kind} import rejected {report.counts['rejected']} rows "
                f"(a bug in the demo): see {report.log_path}"
            )
        self.reports.append(report)
        c = report.counts
        self.say(
            f"  import {kind:<14} #{report.operation.pk:<4} {c['rows']:>6,} rows: "
            f"{c['created']:,} created, {c['updated']:,} updated, "
            f"{warnings_text(c['warnings'], report.log_path)}"
        )
        return report

    def insert(self, model, rows: list[dict]) -> list[int]:
        if rows:
            self.written[model._meta.label] = self.written.get(model._meta.label, 0) + len(rows)
        return writes.insert(model, rows, self.op)

    def moment(self, d: date, hour: int | None = None) -> datetime:
        h = self.rng.randint(8, 18) if hour is None else hour
        m = self.rng.choice((0, 15, 30, 45))
        return min(timezone.make_aware(datetime.combine(d, time(h, m))), timezone.now())

    def day_between(self, a: date, b: date) -> date:
        return a if b <= a else a + timedelta(days=self.rng.randint(0, (b - a).days))

    # -- the whole load --------------------------------------------------------------------

    def load(self) -> None:
        self.op = service.start_operation(
            "action", "demo", None, options={"users": self.n, "seed": SEED}
        )
        self.audiences = dict(
            zip(AUDIENCES, self.insert(Audience, [{"name": a} for a in AUDIENCES]), strict=True)
        )
        self.roles = dict(Role.objects.values_list("name", "id"))
        todo = [n for n in ROLES if n not in self.roles]
        ids = self.insert(Role, [{"name": n, "permissions": ROLES[n]} for n in todo])
        self.roles.update(zip(todo, ids, strict=True))

        self.step("organisations and people")
        orgs = self.plan_organisations()
        kind = imports.KINDS["organisations"]
        self.run("organisations", self.write_csv("organisations.csv", names(kind), orgs))
        people = self.plan_people()
        kind = imports.KINDS["users"]
        self.run("users", self.write_csv("users.csv", names(kind), [p.row for p in people]))
        # Supervisors are users: a second pass over the tree, now that they exist. The template's
        # organisations keep none, as the template has none (importing it leaves them unchanged).
        template = {r["org_extid"] for r in read_template("organisations")}
        sup = [
            {"org_label": o["org_label"], "org_extid": o["org_extid"], "org_supervisor_extid": s}
            for o in orgs
            if (s := self.supervisors.get(o["org_extid"])) and o["org_extid"] not in template
        ]
        header = ["org_label", "org_extid", "org_supervisor_extid"]
        self.run("organisations", self.write_csv("supervisors.csv", header, sup))
        kind = imports.KINDS["catalogue"]
        self.run("catalogue", self.write_csv("catalogue.csv", names(kind), self.plan_catalogue()))

        self.step("catalogue extras and the learning plan")
        self.resolve_ids(people)
        self.admin()
        self.catalogue_extras()
        plan = self.plan_learning(people)
        self.step("assignments")
        self.assign(plan)
        header = ["course_id", "user_email", "completion_date", "course_title"]
        completions = [x for x in plan["records"] if x.get("via_import")]
        rows = [
            {
                "course_id": x["course"],
                "user_email": x["person"].email,
                "completion_date": x["date"].isoformat(),
                "course_title": self.course_titles[x["course"]],
            }
            for x in completions
        ]
        self.run("completions", self.write_csv("completions.csv", header, rows))
        self.step("learners' progress, credits and certificates")
        self.progress(plan)
        self.step("classroom sessions")
        self.classroom(plan)
        created = sum(self.written.values())
        self.say(
            f"  demo operation #{self.op.pk}: {created:,} rows written (audiences, roles, "
            "assignments, progress, credits, certificates, sessions), journalled"
        )
        service.finish_operation(
            self.op,
            Operation.Status.DONE,
            rows=created + self.updated,
            created=created,
            updated=self.updated,
        )

    # -- organisations ---------------------------------------------------------------------

    def plan_organisations(self) -> list[dict]:
        rng = self.rng
        rows = read_template("organisations")  # ACME, ACME-EU, ACME-LOG as the template has them
        known = {r["org_extid"] for r in rows}
        self.departments: list[tuple[Country, str]] = []
        for c in [*COUNTRIES, LOGISTICS]:
            if c.extid not in known:
                rows.append(
                    {
                        "org_label": c.label,
                        "org_extid": c.extid,
                        "parent_extid": c.parent,
                        "org_description": f"{c.label}, {c.country}",
                        "org_language": c.language,
                        "org_address1": c.address,
                        "org_zipcode": c.zipcode,
                        "org_city": c.city,
                        "org_country": c.country,
                        "org_code": c.extid.removeprefix("ACME-"),
                        "org_budget": f"{rng.randrange(150, 900) * 1000}",
                    }
                )
            for d in c.departments:
                en, fr, _ = DEPARTMENTS[d]
                label = fr if c.names == "fr" else en
                rows.append(
                    {
                        "org_label": f"{c.label} – {label}",
                        "org_extid": f"{c.extid}-{d}",
                        "parent_extid": c.extid,
                        "org_description": label,
                        "org_language": c.language,
                        "org_city": c.city,
                        "org_country": c.country,
                        "org_code": f"{c.extid.removeprefix('ACME-')}-{d}",
                        "org_budget": f"{rng.randrange(20, 250) * 1000}.00",
                    }
                )
                self.departments.append((c, d))
        # Children before parents on purpose: the engine settles forward references.
        first = len(known)
        rows[first:] = sorted(rows[first:], key=lambda r: -r["org_extid"].count("-"))
        return rows

    # -- people ----------------------------------------------------------------------------

    def plan_people(self) -> list["Person"]:
        rng = self.rng
        template = read_template("users")
        self.logins = {r["user_login"] for r in template} | {ADMIN[0]}
        self.emails = {r["user_email"].lower() for r in template if r.get("user_email")}
        extids = {r["user_extid"] for r in template if r.get("user_extid")}
        self.next_extid = 1000
        self.supervisors: dict[str, str] = {}

        def new_extid() -> str:
            while True:
                self.next_extid += 1
                e = f"E{self.next_extid}"
                if e not in extids:
                    extids.add(e)
                    return e

        def make(org: str, dept: str | None, kind: str, c: Country, manager: str | None) -> Person:
            style = c.names if c.names != "ca" else rng.choice(("fr", "en"))
            women = rng.random() < 0.5
            if style == "fr":
                first = rng.choice(FR_WOMEN if women else FR_MEN)
                last = rng.choice(CA_LAST if c.names == "ca" and rng.random() < 0.6 else FR_LAST)
            else:
                first = rng.choice(EN_WOMEN if women else EN_MEN)
                last = rng.choice(EN_LAST)
            base = ascii_name(first)[0] + ascii_name(last)
            login, i = base, 1
            while login in self.logins:
                i += 1
                login = f"{base}{i}"
            self.logins.add(login)
            local = f"{ascii_name(first)}.{ascii_name(last)}"
            email, i = f"{local}@{DOMAIN}", 1
            while email in self.emails:
                i += 1
                email = f"{local}{i}@{DOMAIN}"
            self.emails.add(email)
            return Person(
                login, first, last, email, new_extid(), org, dept, kind, women, manager=manager
            )

        group = Country(
            "ACME", "", "", "", "Paris", "75008", "", "France", "fr-FR", "fr", 0, (), "", ""
        )
        ceo = make("ACME", None, "ceo", group, None)
        self.supervisors["ACME"] = ceo.extid
        people = [ceo]
        for r in template:
            p = Person(
                r["user_login"],
                r["user_fname"],
                r["user_lname"],
                r.get("user_email", ""),
                r.get("user_extid", ""),
                r["org_extid"],
                None,
                "template",
                r.get("user_tname") in ("Mme", "Mlle"),
                manager=r.get("user_manager_extid") or None,
                row=r,
            )
            people.append(p)
        self.template_people = people[1:]
        alice = self.template_people[0]  # the users template's manager, in ACME-EU
        self.supervisors["ACME-EU"] = alice.extid
        heads = {}
        for c in [*COUNTRIES, LOGISTICS]:
            boss = alice.extid if c.parent == "ACME-EU" else ceo.extid
            heads[c.extid] = make(c.extid, None, "head", c, boss)
            self.supervisors[c.extid] = heads[c.extid].extid
            people.append(heads[c.extid])
        managers = {}
        for c, d in self.departments:
            m = make(f"{c.extid}-{d}", d, "manager", c, heads[c.extid].extid)
            managers[(c.extid, d)] = m
            self.supervisors[m.org] = m.extid
            people.append(m)
        if self.n < len(people):
            raise CommandError(f"--users must be at least {len(people)}", returncode=2)
        weights = [
            c.weight / len(c.departments) * (2.0 if d in ("SAL", "OPS", "WH") else 1.0)
            for c, d in self.departments
        ]
        for c, d in rng.choices(self.departments, weights, k=self.n - len(people)):
            people.append(make(f"{c.extid}-{d}", d, "staff", c, managers[(c.extid, d)].extid))
        staff = [p for p in people if p.kind == "staff"]
        for p in rng.sample(staff, max(1, len(staff) * 3 // 100)):
            p.disabled = True
        for p in rng.sample([p for p in staff if not p.disabled], max(1, len(staff) // 50)):
            p.training = False
        for c in COUNTRIES:
            pool = [p for p in staff if p.org.startswith(c.extid + "-") and p.training]
            for p in rng.sample(pool, min(len(pool), 2)):
                p.safety_officer = True
        shared = [p for p in staff if p.org == "ACME-LOG-WH" and not p.disabled and p.training]
        if len(shared) >= 2:  # a shared mailbox, as real directories have (ambiguous_user)
            for p in shared[:2]:
                p.email, p.shared_email = f"warehouse.lyon@{DOMAIN}", True
        by_country = {c.extid: c for c in [*COUNTRIES, LOGISTICS]}
        for p in people:
            if p.kind == "template":
                continue
            c = by_country.get(p.org.rsplit("-", 1)[0] if p.dept else p.org, group)
            self.person_row(p, c)
        return people

    def person_row(self, p: Person, c: Country) -> None:
        rng, today = self.rng, self.today
        years = {"ceo": 15, "head": 12, "manager": 10}.get(p.kind, 8)
        if p.kind == "staff" and rng.random() < 0.12:
            p.hired = today - timedelta(days=rng.randint(7, 180))
            p.newcomer = True
        else:
            p.hired = today - timedelta(days=rng.randint(200, 365 * years))
        born = date(today.year - rng.randint(22 if p.kind == "staff" else 32, 62), 1, 1)
        born += timedelta(days=rng.randint(0, 364))
        culture = c.language or "fr-FR"
        if c.names == "ca":
            culture = "fr-CA" if p.last in CA_LAST or p.first in FR_WOMEN + FR_MEN else "en-CA"
        audiences = []
        if p.leads:
            audiences.append("Managers")
        if p.dept:
            audiences.append(DEPARTMENTS[p.dept][2])
        if p.safety_officer:
            audiences.append("Safety officers")
        roles = []
        if p.kind == "head":
            roles.append(f"Training manager:{p.org}")
        if p.kind == "manager":
            roles.append(f"Manager:{p.org}")
            if p.dept == "HR":
                roles.append(f"HR officer:{p.org.rsplit('-', 1)[0]}")
        lists = []
        if p.newcomer:
            lists.append("Newcomers")
        if p.safety_officer:
            lists.append("Fire wardens")
        title = ("Mme" if p.women else "M.") if c.names != "en" else ""
        if p.kind in ("ceo", "head") and rng.random() < 0.3:
            title = "Dr."

        def digits(fmt: str) -> str:
            return fmt.format(*(f"{rng.randint(0, 99):02d}" for _ in range(fmt.count("{}"))))

        grade = {"ceo": 9, "head": 7, "manager": 5}.get(p.kind, rng.randint(1, 4))
        p.row = {
            "user_lname": p.last,
            "user_fname": p.first,
            "user_tname": title,
            "user_login": p.login,
            "user_password": LEARNER_PASSWORD,
            "org_extid": p.org,
            "user_email": p.email,
            "user_extid": p.extid,
            "user_disable": "1" if p.disabled else "",
            "user_culture": culture,
            "birth_date": born.isoformat(),
            "user_activation_date": p.hired.isoformat(),
            "user_expiration_date": (today - timedelta(days=rng.randint(5, 150))).isoformat()
            if p.disabled
            else "",
            "user_manager_extid": p.manager or "",
            "user_alternate_manager_extid": "",
            "user_city": c.city,
            "user_country": c.country,
            "user_phone": digits(c.phone) if c.phone else "",
            "user_cellphone": digits(c.mobile) if c.mobile and rng.random() < 0.6 else "",
            "user_hourly_cost": f"{rng.randint(22, 60) + grade * 6}.{rng.choice(('00', '50'))}",
            "user_udtf1": "Contractor" if not p.training else rng.choice(CONTRACTS),
            "user_udtf2": p.org.removeprefix("ACME-"),
            "user_audiences": "||".join(audiences),
            "user_roles": "||".join(roles),
            "job_position_id": f"J-{p.dept or 'EXEC'}-{grade}",
            "list_name": "||".join(lists),
            "training_access": "1" if p.training else "0",
        }

    # -- catalogue -------------------------------------------------------------------------

    def plan_catalogue(self) -> list[dict]:
        rng = self.rng
        refs = template_references()
        rows = read_template("catalogue")
        known = {(r["type"], r["code"]) for r in rows}
        mine = []
        for code, title, desc in PROGRAMMES:
            mine.append(
                {"type": "programme", "code": code, "title": title, "description": desc}
                | {"published": "1", "extref": f"ACME-{code}"}
            )
        for code, title, parents in CURRICULA:
            mine.append(
                {"type": "curriculum", "code": code, "title": title, "parent_codes": parents}
                | {"published": "1", "extref": f"ACME-{code}"}
            )
        titles = {  # the completions template names its courses' titles
            r["course_id"]: r["course_title"]
            for r in read_template("completions")
            if r.get("course_title")
        }
        for code, title, curricula, (cat, folder, provider), modality, credits, types in COURSES:
            title = titles.get(code, title)
            minutes = sum(rng.randint(*MINUTES[t]) for t in types)
            mine.append(
                {
                    "type": "course",
                    "code": code,
                    "title": title,
                    "parent_codes": curricula,
                    "extref": refs["extref"].get(code, f"ACME-{code}"),
                    "uuid": refs["uuid"].get(code, ""),
                    "published": "0" if code in DRAFTS | RETIRED else "1",
                    "disabled": "1" if code in RETIRED else "0",
                    "category": cat,
                    "folder": folder,
                    "provider": provider,
                    "modality": modality,
                    "description": f"{title}: a {modality} course of about {minutes} minutes.",
                    "credits": credits,
                }
            )
            seen: dict[str, int] = {}
            for i, t in enumerate(types, 1):
                names_ = LESSON_TITLES[t]
                name = names_[seen.get(t, 0) % len(names_)]
                seen[t] = seen.get(t, 0) + 1
                lcode = f"{code}-L{i}"
                mine.append(
                    {
                        "type": "lesson",
                        "code": lcode,
                        "title": f"{title}: {name}",
                        "parent_codes": code,
                        "extref": f"ACME-{lcode}",
                        "published": "1",
                        "lesson_type": t,
                        "modality": {"T": "classroom", "W": "webinar"}.get(t, "e-learning"),
                    }
                )
        rows += [r for r in mine if (r["type"], r["code"]) not in known]
        return rows

    def resolve_ids(self, people: list[Person]) -> None:
        uids = dict(User.objects.values_list("login", "id"))
        for p in people:
            p.uid = uids[p.login]
        self.courses = dict(Course.objects.values_list("code", "id"))
        self.curricula = dict(Curriculum.objects.values_list("code", "id"))
        self.programmes = dict(Programme.objects.values_list("code", "id"))
        self.lessons = dict(Lesson.objects.values_list("code", "id"))
        self.published = set(
            Course.objects.filter(published=True, disabled=False).values_list("code", flat=True)
        )
        self.course_curricula: dict[str, list[str]] = {}
        self.curriculum_courses: dict[str, list[str]] = {}
        codes = {v: k for k, v in self.courses.items()}
        cur_codes = {v: k for k, v in self.curricula.items()}
        for cur, crs in CurriculumCourse.objects.values_list("curriculum_id", "course_id"):
            self.curriculum_courses.setdefault(cur_codes[cur], []).append(codes[crs])
        self.programme_curricula: dict[str, list[str]] = {}
        prg_codes = {v: k for k, v in self.programmes.items()}
        for prg, cur in ProgrammeCurriculum.objects.values_list("programme_id", "curriculum_id"):
            self.programme_curricula.setdefault(prg_codes[prg], []).append(cur_codes[cur])
        self.credits: dict[str, list[tuple[int, Decimal]]] = {}
        for cid, ct, amount in CourseCredit.objects.values_list(
            "course_id", "credit_type_id", "amount"
        ):
            self.credits.setdefault(codes[cid], []).append((ct, amount))
        # Lessons in order, and titles, as the database has them (template rows included).
        self.lesson_types = {}
        for lesson, course, kind in Lesson.objects.values_list(
            "code", "course__code", "lesson_type"
        ):
            self.lesson_types.setdefault(course, []).append((lesson, kind))
        for types in self.lesson_types.values():
            types.sort(key=lambda x: lesson_number(x[0]))
        self.course_titles = dict(Course.objects.values_list("code", "title"))
        self.people = people

    def admin(self) -> None:
        root = Organisation.objects.get(extid="ACME")
        (uid,) = self.insert(
            User,
            [
                {
                    "login": ADMIN[0],
                    "password": make_password(ADMIN[1]),
                    "last_name": "Administrator",
                    "first_name": "Site",
                    "email": f"admin@{DOMAIN}",
                    "organisation_id": root.pk,
                    "is_staff": True,
                    "is_superuser": True,
                    "culture": "en-GB",
                }
            ],
        )
        alice = self.template_people[0]
        self.insert(
            RoleGrant,
            [
                {"user_id": uid, "role_id": self.roles["Site administrator"], "scope_id": None},
                {
                    "user_id": alice.uid,
                    "role_id": self.roles["Training manager"],
                    "scope_id": Organisation.objects.get(extid="ACME-EU").pk,
                },
            ],
        )

    def catalogue_extras(self) -> None:
        """What the catalogue file has no column for: lesson order, audiences, certificates."""
        op = self.op
        position = {
            code: i for types in self.lesson_types.values() for i, (code, _) in enumerate(types, 1)
        }
        before = {x["id"]: x for x in Lesson.objects.values("id", "code", "position", "op")}
        items = [
            (pk, {"position": position[x["code"]]}, x, None)
            for pk, x in before.items()
            if x["code"] in position
        ]
        writes.update(Lesson, items, op)
        self.updated += len(items)
        (tpl,) = self.insert(
            CertificateTemplate,
            [{"name": "Acme certificate of completion", "version": 1, "body": "{user} — {course}"}],
        )
        self.certified = {c for c in self.courses if c.startswith(CERTIFIED)}
        before = Course.objects.filter(code__in=self.certified).values(
            "id", "certificate_template_id", "op"
        )
        items = [(x["id"], {"certificate_template_id": tpl}, x, None) for x in before]
        writes.update(Course, items, op)
        self.updated += len(items)
        self.certificate_template = tpl
        # Competencies, which the users.set-competency-scores action scores.
        self.insert(
            Competency,
            [
                {"code": "COMP-SAFETY", "name": "Safety at work"},
                {"code": "COMP-SALES", "name": "Selling"},
                {"code": "COMP-LEAD", "name": "Leading a team"},
            ],
        )
        targeted = {"LEAD-": "Managers", "COACH-": "Managers", "SALES-": "Sales force"}
        self.insert(
            Course.audiences.through,
            [
                {"course_id": pk, "audience_id": self.audiences[a]}
                for code, pk in sorted(self.courses.items())
                for prefix, a in targeted.items()
                if code.startswith(prefix)
            ],
        )
        self.insert(
            Curriculum.audiences.through,
            [
                {"curriculum_id": self.curricula[c], "audience_id": self.audiences[a]}
                for c, a in (
                    ("CUR-MANAGER", "Managers"),
                    ("CUR-LEAD", "Managers"),
                    ("CUR-COACH", "Managers"),
                    ("CUR-SALES", "Sales force"),
                )
            ],
        )

    # -- learning --------------------------------------------------------------------------

    def plan_learning(self, people: list[Person]) -> dict:
        """Who is assigned what, and how far each learner got."""
        # The (user, course) pairs of the completions and course-records templates: assigned and
        # left without progress, so that importing the templates creates their records. A user
        # is named by login or email.
        reserved = {(r["user_email"].lower(), r["course_id"]) for r in read_template("completions")}
        reserved |= {
            (r["user"].lower(), r["course"])
            for r in read_template("course-records")
            if r.get("user") and r.get("course")
        }
        plan = {"courses": [], "curricula": [], "programmes": [], "records": []}
        for p in people:
            if not p.training:
                continue
            courses, curricula, programme = self.assignments_for(p, reserved)
            outcome: dict[str, tuple[str, date | None]] = {}
            for code, a in courses.items():
                target = None
                if a["option"] != "free":
                    days = 90 if a["option"] == "mandatory" else 180
                    target = a["assigned"] + timedelta(days=days)
                plan["courses"].append({"person": p, "course": code, "target": target, **a})
                if {(p.email.lower(), code), (p.login.lower(), code)} & reserved:
                    continue
                status, when = self.outcome(a)
                if status is None:
                    continue
                outcome[code] = (status, when)
                via_import = (
                    status == "C" and when < self.golive and not p.disabled and not p.shared_email
                )
                plan["records"].append(
                    {
                        "person": p,
                        "course": code,
                        "status": status,
                        "date": when,
                        "assigned": a["assigned"],
                        "via_import": via_import,
                    }
                )
            for code, a in curricula.items():
                plan["curricula"].append({"person": p, "curriculum": code, **a})
                courses_of = self.curriculum_courses.get(code, [])
                plan["records"] += self.rollup(p, "curriculum", code, outcome, courses_of)
            if programme:
                plan["programmes"].append({"person": p, **programme})
                courses_of = [
                    c
                    for cur in self.programme_curricula.get(programme["code"], [])
                    for c in self.curriculum_courses.get(cur, [])
                ]
                plan["records"] += self.rollup(
                    p, "programme", programme["code"], outcome, courses_of
                )
        return plan

    def assignments_for(self, p: Person, reserved: set) -> tuple[dict, dict, dict | None]:
        """A learner's courses, curricula and programme, by job, department and seniority."""
        rng, today = self.rng, self.today
        start = max(p.hired or today - timedelta(days=900), today - timedelta(days=730))
        strength = {"free": 0, "recommended": 1, "mandatory": 2}
        courses: dict[str, dict] = {}
        curricula: dict[str, dict] = {}

        def give(code, option, source=Source.ACTION, when=None):
            if code not in self.published:
                return
            old = courses.get(code)
            if old is not None and strength[old["option"]] >= strength[option]:
                return
            when = when or self.day_between(start, min(start + timedelta(days=20), today))
            courses[code] = {"option": option, "source": source, "assigned": when}

        def give_curriculum(code, option):
            when = self.day_between(start, min(start + timedelta(days=30), today))
            curricula[code] = {"option": option, "assigned": when}
            for c in self.curriculum_courses.get(code, []):
                give(c, option, Source.ACTION, when)

        for c in ("SAFE-101", "ETH-101", "DATA-101", "DATA-103"):
            give(c, "mandatory")
        if p.dept in ("OPS", "WH", "TR"):
            for c in ("SAFE-102", "SAFE-201"):
                give(c, "mandatory")
            give("SAFE-202", "recommended")
            if p.org.startswith("ACME-LOG"):
                give("SAFE-301", "mandatory")
        else:
            give("SAFE-201", "recommended")
        if p.safety_officer:
            give("SAFE-202", "mandatory")
        if p.dept in ("FIN", "LEG"):
            give("ETH-102", "mandatory")
            give("ETH-103", "mandatory")
        if p.dept == "HR":
            give("DATA-201", "mandatory")
        if p.dept == "SAL":
            give_curriculum("CUR-SALES", "mandatory")
        if p.dept == "CS":
            give_curriculum("CUR-CUSTOMER", "mandatory")
        if p.leads or "Managers" in p.row.get("user_audiences", ""):
            give_curriculum("CUR-MANAGER", "mandatory")
            give_curriculum("CUR-COACH", "recommended")
        if p.kind in ("ceo", "head"):
            give_curriculum("CUR-LEAD", "recommended")
        programme = None
        if p.newcomer:
            programme = {"code": "PRG-ONBOARDING", "option": "mandatory", "assigned": p.hired}
            for cur in self.programme_curricula.get("PRG-ONBOARDING", []):
                give_curriculum(cur, "mandatory")
        for who, code in reserved:
            if who in (p.email.lower(), p.login.lower()):
                give(code, "mandatory")
        if rng.random() < 0.15:
            give(rng.choice(("LANG-101", "LANG-102")), "free", Source.SELF)
        if rng.random() < 0.1:
            give(rng.choice(sorted(self.published)), "free", Source.SELF)
        return courses, curricula, programme

    def outcome(self, a: dict) -> tuple[str | None, date | None]:
        """Completed (C), in progress (I), not started with a record (N), or nothing yet."""
        rng = self.rng
        p_done = {"mandatory": 0.8, "recommended": 0.5, "free": 0.4}[a["option"]]
        if rng.random() < p_done:
            done = a["assigned"] + timedelta(days=rng.randint(1, 120))
            if done <= self.yesterday:
                return "C", done
        r = rng.random()
        if r < 0.45:
            return "I", self.day_between(a["assigned"], self.yesterday)
        if r < 0.65:
            return "N", None
        return None, None

    def rollup(self, p, what: str, code: str, outcome: dict, courses: list[str]) -> list[dict]:
        """A curriculum's or programme's record, rolled up from its assigned courses."""
        courses = [c for c in dict.fromkeys(courses) if c in outcome]
        if not courses:
            return []
        states = [outcome[c] for c in courses]
        done = [d for s, d in states if s == "C"]
        if len(done) == len(states):
            status, when = "C", max(done)
        elif done or any(s == "I" for s, _ in states):
            status, when = "I", max(d for _, d in states if d)
        else:
            return []
        pct = round(100 * len(done) / len(states))
        return [{"person": p, what: code, "status": status, "date": when, "percent": pct}]

    def assign(self, plan: dict) -> None:
        now = timezone.now()
        rows = []
        for a in plan["courses"]:
            classroom = any(t == "T" for _, t in self.lesson_types.get(a["course"], []))
            rows.append(
                {
                    "user_id": a["person"].uid,
                    "course_id": self.courses[a["course"]],
                    "option": a["option"],
                    "start_date": a["assigned"],
                    "target_date": a["target"],
                    "source": a["source"],
                    "assigned_at": self.moment(a["assigned"])
                    if a["assigned"] < self.today
                    else now,
                    "billing_mode": "course" if classroom else "",
                    "unit_cost": Decimal("350.00") if classroom else None,
                }
            )
        self.insert(CourseAssignment, rows)
        self.insert(
            CurriculumAssignment,
            [
                {
                    "user_id": a["person"].uid,
                    "curriculum_id": self.curricula[a["curriculum"]],
                    "option": a["option"],
                    "start_date": a["assigned"],
                    "target_date": a["assigned"] + timedelta(days=120),
                    "source": Source.ACTION,
                    "assigned_at": self.moment(a["assigned"]),
                }
                for a in plan["curricula"]
            ],
        )
        self.insert(
            ProgrammeAssignment,
            [
                {
                    "user_id": a["person"].uid,
                    "programme_id": self.programmes[a["code"]],
                    "option": a["option"],
                    "start_date": a["assigned"],
                    "target_date": a["assigned"] + timedelta(days=60),
                    "source": Source.ACTION,
                    "assigned_at": self.moment(a["assigned"]),
                }
                for a in plan["programmes"]
            ],
        )

    def progress(self, plan: dict) -> None:
        """The learners' own progress: in progress, not started, completed on the platform."""
        rng = self.rng
        course_rows, lesson_rows, lesson_keys, awards, certificates = [], [], [], [], []
        cur_rows, prg_rows = [], []
        for x in plan["records"]:
            p = x["person"]
            if "curriculum" in x or "programme" in x:
                row = {
                    "user_id": p.uid,
                    "status": x["status"],
                    "status_date": self.moment(x["date"]),
                    "completion_percent": x["percent"],
                    "source": Source.LEARNER,
                }
                if "curriculum" in x:
                    cur_rows.append({**row, "curriculum_id": self.curricula[x["curriculum"]]})
                else:
                    prg_rows.append({**row, "programme_id": self.programmes[x["programme"]]})
                continue
            if x["via_import"]:
                continue
            code, status = x["course"], x["status"]
            types = self.lesson_types.get(code, [])
            if status == "N":
                course_rows.append(
                    {
                        "user_id": p.uid,
                        "course_id": self.courses[code],
                        "status": CourseStatus.NOT_STARTED,
                        "enrolled_date": x["assigned"],
                        "source": Source.LEARNER,
                    }
                )
                continue
            done = len(types) if status == "C" else rng.randint(0, max(0, len(types) - 1))
            day, total_time, scores, attempts = x["assigned"], 0, [], 0
            for i, (lcode, t) in enumerate(types[: done + (status == "I")]):
                day = self.day_between(day, x["date"]) if i < done else x["date"]
                seconds = rng.randint(*MINUTES[t]) * 60
                score = None
                if i < done:
                    lstatus = LessonStatus.PASSED if t == "A" else LessonStatus.COMPLETED
                    if t == "A":
                        score = Decimal(rng.randint(60, 100))
                else:
                    lstatus = rng.choice(
                        (LessonStatus.IN_PROGRESS, LessonStatus.BROWSED)
                        if t != "A"
                        else (LessonStatus.FAILED, LessonStatus.IN_PROGRESS)
                    )
                    seconds //= 2
                    if lstatus == LessonStatus.FAILED:
                        score = Decimal(rng.randint(20, 59))
                tries = 2 if t == "A" and score is not None and rng.random() < 0.2 else 1
                total_time += seconds
                attempts += tries
                if score is not None and lstatus == LessonStatus.PASSED:
                    scores.append(score)
                lesson_rows.append(
                    {
                        "user_id": p.uid,
                        "lesson_id": self.lessons[lcode],
                        "status": lstatus,
                        "status_date": self.moment(day),
                        "score": score,
                        "time_spent": seconds,
                        "attempts": tries,
                        "completion_percent": 100 if i < done else rng.choice((25, 50, 75)),
                        "source": Source.LEARNER,
                        "present": True if t == "T" and i < done else None,
                    }
                )
                lesson_keys.append((tries, day))
            when = self.moment(x["date"])
            pct = 100 if status == "C" else round(100 * done / max(1, len(types)))
            course_rows.append(
                {
                    "user_id": p.uid,
                    "course_id": self.courses[code],
                    "status": CourseStatus.COMPLETED if status == "C" else CourseStatus.IN_PROGRESS,
                    "status_date": when,
                    "score": (sum(scores) / len(scores)).quantize(Decimal("0.01"))
                    if scores
                    else None,
                    "time_spent": total_time,
                    "attempts": attempts,
                    "completion_percent": pct,
                    "enrolled_date": x["assigned"],
                    "source": Source.LEARNER,
                }
            )
            if status == "C":
                for ct, amount in self.credits.get(code, []):
                    awards.append(
                        {
                            "user_id": p.uid,
                            "course_id": self.courses[code],
                            "credit_type_id": ct,
                            "amount": amount,
                            "awarded_on": x["date"],
                            "source": Source.LEARNER,
                        }
                    )
                if code in self.certified:
                    certificates.append(
                        {
                            "user_id": p.uid,
                            "course_id": self.courses[code],
                            "template_id": self.certificate_template,
                            "template_version": 1,
                            "issued_at": when,
                            "source": Source.LEARNER,
                        }
                    )
        self.insert(CourseRecord, course_rows)
        ids = self.insert(LessonRecord, [dict(r) for r in lesson_rows])
        attempts = []
        for pk, r, (tries, day) in zip(ids, lesson_rows, lesson_keys, strict=True):
            for n in range(1, tries + 1):
                first_failed = tries > 1 and n == 1
                attempts.append(
                    {
                        "record_id": pk,
                        "number": n,
                        "status": LessonStatus.FAILED if first_failed else r["status"],
                        "status_date": self.moment(day) if first_failed else r["status_date"],
                        "score": Decimal(rng.randint(30, 59)) if first_failed else r["score"],
                        "time_spent": r["time_spent"] // tries,
                        "present": r["present"],
                        "source": Source.LEARNER,
                    }
                )
        self.insert(LessonAttempt, attempts)
        self.insert(CreditAward, awards)
        self.insert(Certificate, certificates)
        # The completions imported earlier rolled up to some curricula and programmes already.
        for model, target, rows in (
            (CurriculumRecord, "curriculum_id", cur_rows),
            (ProgrammeRecord, "programme_id", prg_rows),
        ):
            have = set(model.objects.values_list("user_id", target))
            self.insert(model, [r for r in rows if (r["user_id"], r[target]) not in have])

    def classroom(self, plan: dict) -> None:
        """One open session per classroom course, with seats for learners who still need it."""
        officers = [p for p in self.people if p.safety_officer and not p.disabled]
        done = {
            (x["person"].login, x["course"])
            for x in plan["records"]
            if "course" in x and x["status"] == "C"
        }
        waiting: dict[str, list[Person]] = {}
        for a in plan["courses"]:
            p = a["person"]
            if not p.disabled and (p.login, a["course"]) not in done:
                waiting.setdefault(a["course"], []).append(p)
        sessions, slots, seats = [], [], []
        codes = sorted(c for c, t in self.lesson_types.items() if any(x == "T" for _, x in t))
        planned = [(f"SESS-{c}-{{:%Y%m%d}}", c) for c in codes if c in self.published]
        # Sessions the course-assignments template books seats on.
        planned += [
            (e, c) for e, c in template_references()["sessions"].items() if c in self.courses
        ]
        template_users = {p.login for p in self.template_people}
        for i, (extid, code) in enumerate(planned):
            start = self.today + timedelta(days=14 + 7 * i)
            trainer = officers[i % len(officers)] if officers else None
            sessions.append(
                {
                    "course_id": self.courses[code],
                    "extid": extid.format(start),
                    "start": self.moment(start, 9),
                    "status": ClassroomSession.Status.OPEN,
                    "max_participants": 12,
                    "immediate_confirmation": True,
                    "waiting_list": True,
                    "trainer_id": trainer.uid if trainer else None,
                    "room_extid": f"ROOM-{(i % 4) + 1}",
                    "_code": code,
                    "_start": start,
                }
            )
        meta = [(s.pop("_code"), s.pop("_start")) for s in sessions]
        ids = self.insert(ClassroomSession, sessions)
        for pk, (code, start) in zip(ids, meta, strict=True):
            hour = 9
            for lcode, t in self.lesson_types[code]:
                if t != "T":
                    continue
                slots.append(
                    {
                        "session_id": pk,
                        "lesson_id": self.lessons[lcode],
                        "start": self.moment(start, hour),
                        "end": self.moment(start, hour + 3),
                    }
                )
                hour += 4
            learners = [p for p in waiting.get(code, []) if p.login not in template_users]
            for n, p in enumerate(learners[:14]):
                seats.append(
                    {
                        "session_id": pk,
                        "user_id": p.uid,
                        "status": Seat.Status.BOOKED if n < 12 else Seat.Status.WAITING,
                    }
                )
        self.insert(SessionSlot, slots)
        self.insert(Seat, seats)


def lesson_number(code: str) -> int:
    tail = code.rsplit("-L", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def names(kind) -> list[str]:
    return [c.name for c in kind.columns]


def demo_state() -> str:
    """empty, loaded (the demo is there) or other (someone else's data)."""
    if (
        Organisation.objects.filter(extid="ACME").exists()
        and User.objects.filter(login=ADMIN[0]).exists()
    ):
        return "loaded"
    if Organisation.objects.exists() or User.objects.exists() or Course.objects.exists():
        return "other"
    return "empty"


class Command(BaseCommand):
    help = "Load a realistic demo organisation (Acme) into an empty database."

    def add_arguments(self, parser):
        parser.add_argument(
            "--users", type=int, default=2000, help="How many learners (default 2000)."
        )

    def handle(self, *args, **o):
        n = o["users"]
        if n < MIN_USERS:
            raise CommandError(f"--users must be at least {MIN_USERS}", returncode=2)
        self.ensure_schema()
        state = demo_state()
        if state == "loaded":
            self.stdout.write(
                "The demo organisation is already loaded (organisation ACME and user admin "
                "exist): nothing to do. For a fresh one, point REGISTRAR_DB or DATABASE_URL at a "
                "new database."
            )
            return
        if state == "other":
            raise CommandError(
                "The database already holds organisations, users or courses: the demo loads "
                "into an empty database only. Point REGISTRAR_DB or DATABASE_URL at a new one.",
                returncode=2,
            )
        started = clock.monotonic()
        with tempfile.TemporaryDirectory(prefix="registrar-demo-") as tmp, transaction.atomic():
            self.stdout.write(f"Loading the demo organisation with {n:,} learners…")
            demo = Demo(n, Path(tmp), self.stdout.write, Progress(sys.stderr))
            demo.load()
        self.summary(demo, clock.monotonic() - started)

    def ensure_schema(self) -> None:
        executor = MigrationExecutor(connection)
        if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return
        if User._meta.db_table in connection.introspection.table_names():
            raise CommandError(
                "The database needs upgrading: run `registrar init` first.", returncode=2
            )
        from django.core.management import call_command

        self.stdout.write("New database: running registrar init first.")
        call_command("init", stdout=self.stdout)

    def summary(self, demo: Demo, seconds: float) -> None:
        w = self.stdout.write
        users = User.objects.exclude(login=ADMIN[0])
        records = dict(
            CourseRecord.objects.values("status").annotate(n=Count("id")).values_list("status", "n")
        )
        imported = CourseRecord.objects.filter(source=Source.IMPORT).count()
        w(f"Demo organisation loaded in {seconds:.1f} s ({connection.vendor}).")
        w(
            f"  organisations {Organisation.objects.count():>7,}  "
            f"(group ACME, region ACME-EU, {len(COUNTRIES)} countries, "
            f"division ACME-LOG, {len(demo.departments)} departments)"
        )
        w(
            f"  users         {users.count():>7,}  ({users.filter(disabled=True).count()} disabled, "
            f"{users.filter(training_access=False).count()} without training access) + admin"
        )
        w(
            f"  audiences {Audience.objects.count()}, roles {Role.objects.count()}, "
            f"lists {UserList.objects.count()} ({ListMember.objects.count()} members)"
        )
        w(
            f"  catalogue     {Programme.objects.count()} programmes, "
            f"{Curriculum.objects.count()} curricula, {Course.objects.count()} courses, "
            f"{Lesson.objects.count()} lessons"
        )
        w(
            f"  assignments   {CourseAssignment.objects.count():>7,} course, "
            f"{CurriculumAssignment.objects.count():,} curriculum, "
            f"{ProgrammeAssignment.objects.count():,} programme"
        )
        w(
            f"  course records {sum(records.values()):>6,}  "
            f"({records.get('C', 0):,} completed of which {imported:,} imported, "
            f"{records.get('I', 0):,} in progress, {records.get('N', 0):,} not started)"
        )
        w(
            f"  lesson records {LessonRecord.objects.count():>6,}, credit awards "
            f"{CreditAward.objects.count():,}, certificates {Certificate.objects.count():,}"
        )
        ops = ", ".join(f"#{r.operation.pk} {r.operation.name}" for r in demo.reports)
        w(f"  operations    #{demo.op.pk} demo (audiences, roles, learning), imports {ops}")
        w(f"Sign in as {ADMIN[0]} / {ADMIN[1]} (site administrator).")
        w(
            f"Learners sign in with their login and the password {LEARNER_PASSWORD!r}; "
            "amartin and bdurand have the users template's passwords."
        )
        w("Every import template (registrar import-template KIND) imports into it cleanly.")
