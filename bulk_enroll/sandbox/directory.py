"""The sandbox's seeded account: users, departments and courses.

Everything is derived from fixed name lists and uuid5 IDs, so every run, test and sample file
sees the same IDs without a database or a random seed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache

#: Fixed namespace of every sandbox ID; changing it changes every ID in the samples.
SANDBOX_NAMESPACE = uuid.UUID("6f1c2a7e-2b1d-5c3e-9a0f-1e2d3c4b5a69")

ACTIVE = "active"
INACTIVE = "inactive"

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

# Department sizes add up to 240; users are assigned in blocks, in this order.
_DEPARTMENTS = (
    ("Engineering", 70),
    ("Sales", 56),
    ("Customer Support", 50),
    ("Operations", 24),
    ("Finance", 18),
    ("Human Resources", 12),
    ("Legal", 10),
)
_INACTIVE_EVERY = 30  # users 29, 59, ..., 239 have left the company: 8 inactive users

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
    status: str  # ACTIVE or INACTIVE

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


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

    def __post_init__(self) -> None:
        # Frozen, so the derived lookups are set once here and never change.
        object.__setattr__(self, "user_by_id", {u.user_id: u for u in self.users})
        object.__setattr__(self, "course_by_id", {c.content_id: c for c in self.courses})
        object.__setattr__(self, "department_by_id", {d.department_id: d for d in self.departments})


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
    for i, department in enumerate(department_of_index):
        first = _FIRST_NAMES[i % len(_FIRST_NAMES)]
        last = _LAST_NAMES[i % len(_LAST_NAMES)]
        base_login = (first[0] + last).lower()
        login, n = base_login, 1
        while login in taken_logins:  # Anna and Adam Kowalski: akowalski, akowalski2
            n += 1
            login = f"{base_login}{n}"
        taken_logins.add(login)
        email = f"{first}.{last}@example.com".lower()
        users.append(
            User(
                user_id=sandbox_id("user", email),
                login=login,
                email=email,
                first_name=first,
                last_name=last,
                department_id=department.department_id,
                status=INACTIVE if i % _INACTIVE_EVERY == _INACTIVE_EVERY - 1 else ACTIVE,
            )
        )
    return tuple(users)


@cache
def default_directory() -> Directory:
    """The seeded account every sandbox starts with (about 240 users, 14 courses)."""
    departments = tuple(
        Department(sandbox_id("department", name), name) for name, _ in _DEPARTMENTS
    )
    courses = tuple(
        Course(sandbox_id("course", f"{n}/{title}"), title)
        for n, title in enumerate(_COURSE_TITLES, start=1)
    )
    return Directory(departments=departments, users=_build_users(departments), courses=courses)
