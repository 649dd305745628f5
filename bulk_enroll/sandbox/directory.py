"""The sandbox's seeded account: users, departments and courses.

Everything is derived from fixed name lists and uuid5 IDs, so every run, test and sample file
sees the same IDs without a database or a random seed.

The first 240 users (seven office departments) and the first 14 courses are the ones the sample
files and many tests name by ID: they never change. The account then grows to 6,000 users in
four more departments, with the quirks a real directory has: repeated names (so numbered
emails and logins), emails stored with capitals, people who left (inactive, terminated), a
second duplicated course title and a title with a comma.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache

#: Fixed namespace of every sandbox ID; changing it changes every ID in the samples.
SANDBOX_NAMESPACE = uuid.UUID("6f1c2a7e-2b1d-5c3e-9a0f-1e2d3c4b5a69")

ACTIVE = "active"
INACTIVE = "inactive"  # deactivated by an administrator
TERMINATED = "terminated"  # employment ended

#: The REST API's `UserStatus` codes ("1 - active, 3 - inactive, 5 - terminated").
STATUS_CODES = {ACTIVE: 1, INACTIVE: 3, TERMINATED: 5}

# 48 first names and 41 last names: coprime lengths, so user i gets the pair
# (i % 48, i % 41) and the first 48 * 41 users all have distinct full names.
_FIRST_NAMES = (
    "Anna",
    "James",
    "Maria",
    "Lukas",
    "Sofia",
    "Daniel",
    "Emma",
    "Mateo",
    "Olivia",
    "Noah",
    "Chloe",
    "Ethan",
    "Isabella",
    "Liam",
    "Amelia",
    "Oliver",
    "Mia",
    "Jakub",
    "Charlotte",
    "Leo",
    "Hannah",
    "Samuel",
    "Grace",
    "Adam",
    "Zoe",
    "Tomasz",
    "Ella",
    "Marco",
    "Lucia",
    "Henrik",
    "Ingrid",
    "Pavel",
    "Elena",
    "David",
    "Sara",
    "Jonas",
    "Nora",
    "Victor",
    "Aisha",
    "Ravi",
    "Priya",
    "Kenji",
    "Yuki",
    "Omar",
    "Leila",
    "Carlos",
    "Ines",
    "Felix",
)
_LAST_NAMES = (
    "Kowalski",
    "Smith",
    "Garcia",
    "Muller",
    "Rossi",
    "Johnson",
    "Nowak",
    "Fischer",
    "Martin",
    "Brown",
    "Silva",
    "Jensen",
    "Novak",
    "Dubois",
    "Lopez",
    "Weber",
    "Taylor",
    "Costa",
    "Andersson",
    "Moreau",
    "Schneider",
    "Wilson",
    "Romano",
    "Horvat",
    "Larsen",
    "Petrov",
    "Kim",
    "Tanaka",
    "Patel",
    "Haddad",
    "Murphy",
    "Becker",
    "Ivanova",
    "Santos",
    "Nielsen",
    "Walker",
    "Hughes",
    "Bianchi",
    "Lindqvist",
    "Okafor",
    "Fernandes",
)

# Department sizes; users are assigned in blocks, in this order. The first seven add up to the
# 240 users the samples use; the rest make the account a realistic size for lookups.
_DEPARTMENTS = (
    ("Engineering", 70),
    ("Sales", 56),
    ("Customer Support", 50),
    ("Operations", 24),
    ("Finance", 18),
    ("Human Resources", 12),
    ("Legal", 10),
    ("Retail Stores", 2400),
    ("Warehouse and Logistics", 1560),
    ("Field Service", 1000),
    ("Manufacturing", 800),
)
ORIGINAL_USERS = 240  # the users of the sample files: their IDs, logins and statuses are fixed
_INACTIVE_EVERY = 30  # users 29, 59, ..., 239, ... were deactivated: 8 of the first 240
_TERMINATED_EVERY = 50  # beyond the first 240, users 290, 340, ... have left (unless inactive)
_CAPITALISED_EVERY = 25  # beyond the first 240, every 25th email is stored as typed: Anna.Smith@

_COURSE_TITLES = (
    "Onboarding: Welcome to the Company",
    "Information Security Basics",
    "Code of Conduct 2027",
    "Fire Safety",
    "GDPR Essentials",
    "Anti-Bribery and Corruption",
    "Workplace Harassment Prevention",
    "Health and Safety at Work",
    "First Aid Awareness",
    "Effective Feedback for Managers",
    "Customer Service Excellence",
    "Excel for Business",
    # Two courses with one title (an old and a new version): title lookups must notice.
    "Product Knowledge: Core Platform",
    "Product Knowledge: Core Platform",
    # Added after the samples were made (appended, so the first 14 keep their IDs).
    "Leadership Essentials",
    "Data Protection for Managers",
    "Warehouse Safety",
    "Forklift Operation",
    "Retail Cash Handling",
    "Leadership Essentials",  # a second duplicated title, far from the first
    "Health, Safety and Environment",  # a comma in a title: one course, not two
)


@dataclass(frozen=True)
class Department:
    department_id: str
    name: str


@dataclass(frozen=True)
class User:
    user_id: str
    login: str
    email: str
    first_name: str
    last_name: str
    department_id: str
    status: str  # ACTIVE, INACTIVE or TERMINATED

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    @property
    def status_code(self) -> int:
        return STATUS_CODES[self.status]


@dataclass(frozen=True)
class Course:
    content_id: str
    title: str


@dataclass(frozen=True)
class Directory:
    """An account's people and content, with the lookups the emulated endpoints need."""

    departments: tuple[Department, ...]
    users: tuple[User, ...]
    courses: tuple[Course, ...]
    user_by_id: dict[str, User] = field(init=False, repr=False, compare=False)
    course_by_id: dict[str, Course] = field(init=False, repr=False, compare=False)
    department_by_id: dict[str, Department] = field(init=False, repr=False, compare=False)
    #: Case-folded email / login -> users (lists: a directory may hold the same one twice).
    users_by_email: dict[str, list[User]] = field(init=False, repr=False, compare=False)
    users_by_login: dict[str, list[User]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen, so the derived lookups are set once here and never change.
        object.__setattr__(self, "user_by_id", {u.user_id: u for u in self.users})
        object.__setattr__(self, "course_by_id", {c.content_id: c for c in self.courses})
        object.__setattr__(self, "department_by_id", {d.department_id: d for d in self.departments})
        by_email: dict[str, list[User]] = {}
        by_login: dict[str, list[User]] = {}
        for user in self.users:
            by_email.setdefault(user.email.casefold(), []).append(user)
            by_login.setdefault(user.login.casefold(), []).append(user)
        object.__setattr__(self, "users_by_email", by_email)
        object.__setattr__(self, "users_by_login", by_login)


def sandbox_id(kind: str, key: str) -> str:
    """The stable ID of one sandbox object (also used to make IDs that are known to be absent)."""
    return str(uuid.uuid5(SANDBOX_NAMESPACE, f"{kind}/{key}"))


def _build_users(departments: tuple[Department, ...]) -> tuple[User, ...]:
    department_of_index = [
        department
        for department, (_, size) in zip(departments, _DEPARTMENTS, strict=True)
        for _ in range(size)
    ]
    users: list[User] = []
    taken_logins: set[str] = set()
    taken_emails: set[str] = set()
    for i, department in enumerate(department_of_index):
        first = _FIRST_NAMES[i % len(_FIRST_NAMES)]
        last = _LAST_NAMES[i % len(_LAST_NAMES)]
        login = _unique(f"{first[0]}{last}".lower(), taken_logins)  # akowalski, akowalski2
        email = _unique(f"{first}.{last}".lower(), taken_emails) + "@example.com"
        stored_email = email
        if i >= ORIGINAL_USERS and i % _CAPITALISED_EVERY == 0:
            local, _, domain = email.partition("@")
            stored_email = f"{local.title()}@{domain.title()}"  # Chloe.Rossi2@Example.Com
        users.append(
            User(
                user_id=sandbox_id("user", email),
                login=login,
                email=stored_email,
                first_name=first,
                last_name=last,
                department_id=department.department_id,
                status=_status(i),
            )
        )
    return tuple(users)


def _unique(base: str, taken: set[str]) -> str:
    """`base`, or `base2`, `base3`... whichever is free first; marks it taken."""
    value, n = base, 1
    while value in taken:
        n += 1
        value = f"{base}{n}"
    taken.add(value)
    return value


def _status(i: int) -> str:
    if i % _INACTIVE_EVERY == _INACTIVE_EVERY - 1:
        return INACTIVE
    if i >= ORIGINAL_USERS and i % _TERMINATED_EVERY == 40:
        return TERMINATED
    return ACTIVE


@cache
def default_directory() -> Directory:
    """The seeded account every sandbox starts with (6,000 users, 21 courses)."""
    departments = tuple(
        Department(sandbox_id("department", name), name) for name, _ in _DEPARTMENTS
    )
    courses = tuple(
        Course(sandbox_id("course", f"{n}/{title}"), title)
        for n, title in enumerate(_COURSE_TITLES, start=1)
    )
    return Directory(departments=departments, users=_build_users(departments), courses=courses)
