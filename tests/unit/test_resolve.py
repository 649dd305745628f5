"""Resolution is pure given the lookups: every reason a person can act on, one per case."""

from __future__ import annotations

from bulk_enroll.model import (
    ContentItem,
    CourseRef,
    DirectoryUser,
    DueDateType,
    DueSettings,
    InputRow,
    LearnerRef,
    NamedTwice,
    Pair,
    Request,
    RowIssue,
    SourceRef,
    UserStatus,
)
from bulk_enroll.resolve.lookups import Lookups, References, gather_references
from bulk_enroll.resolve.rows import resolve_rows
from tests.inputs import by_email, by_id, by_login, course_id, titled
from tests.support import make_id

S = DueSettings(DueDateType.UNLIMITED)
ANNA = DirectoryUser(make_id("anna"), "akowalski", "Anna.Kowalski@Example.com", UserStatus.ACTIVE)
BEN = DirectoryUser(make_id("ben"), "bsmith", "ben.smith@example.com", UserStatus.ACTIVE)
GONE = DirectoryUser(make_id("gone"), "gone", "gone@example.com", UserStatus.INACTIVE)
LEFT = DirectoryUser(make_id("left"), "left", "left@example.com", UserStatus.TERMINATED)
ODD = DirectoryUser(make_id("odd"), "odd", "odd@example.com", 7)
JDOE = DirectoryUser(make_id("jdoe"), "JDoe", "j1@example.com", UserStatus.ACTIVE)
JDOE2 = DirectoryUser(make_id("jdoe2"), "jdoe", "j2@example.com", UserStatus.ACTIVE)
TWIN1 = DirectoryUser(make_id("twin1"), "t1", "twin@example.com", UserStatus.ACTIVE)
TWIN2 = DirectoryUser(make_id("twin2"), "t2", "twin@example.com", UserStatus.ACTIVE)
FIRE = ContentItem(make_id("fire"), "Fire Safety", "Course")
GDPR = ContentItem(make_id("gdpr"), "GDPR Essentials", "Course")
OLD = ContentItem(make_id("pk-old"), "Product Knowledge", "Course")
NEW = ContentItem(make_id("pk-new"), "Product Knowledge ", "Course")
LOOKUPS = Lookups(
    users_by_email={
        "anna.kowalski@example.com": (ANNA,),
        "nobody@example.com": (),
        "gone@example.com": (GONE,),
        "left@example.com": (LEFT,),
        "odd@example.com": (ODD,),
        "twin@example.com": (TWIN1, TWIN2),
    },
    users_by_login={"bsmith": (BEN,), "jdoe": (JDOE, JDOE2), "ghost": ()},
    existing_learner_ids=frozenset({ANNA.user_id, BEN.user_id, GONE.user_id}),
    contents=(FIRE, GDPR, OLD, NEW),
    users_by_id={ANNA.user_id: ANNA, GONE.user_id: GONE},
)
COLUMNS = {
    "learner_id": "Learner ID",
    "learner_email": "E-mail",
    "learner_login": "Login",
    "course_id": "Course ID",
    "course_title": "Course",
}


def row(learner: LearnerRef, course: CourseRef, number: int = 2) -> InputRow:
    return InputRow(SourceRef("f.xlsx", number), (), requests=(Request(learner, course, S),))


def resolve_one(learner: LearnerRef, course: CourseRef) -> InputRow:
    return resolve_rows([row(learner, course)], LOOKUPS, COLUMNS)[0]


def issues(learner: LearnerRef, course: CourseRef) -> list[tuple[str | None, str]]:
    return [(i.column, i.message) for i in resolve_one(learner, course).issues]


def test_email_login_and_title_resolve_to_ids_ignoring_case_and_spaces():
    resolved = resolve_one(by_email("anna.kowalski@example.com"), titled("  fire SAFETY "))
    assert resolved.pairs == (Pair(ANNA.user_id, FIRE.content_id, S),)
    assert not resolved.issues
    assert resolve_one(by_login("bsmith"), course_id(GDPR.content_id)).pairs == (
        Pair(BEN.user_id, GDPR.content_id, S),
    )


def test_titles_match_ignoring_runs_of_spaces_and_unicode_forms():
    for written in ("GDPR   essentials", "GDPR\u00a0Essentials", "gdpr\tessentials"):
        assert resolve_one(by_email("anna.kowalski@example.com"), titled(written)).pairs == (
            Pair(ANNA.user_id, GDPR.content_id, S),
        )


def test_ids_are_checked_against_the_account():
    assert resolve_one(by_id(ANNA.user_id), course_id(FIRE.content_id)).pairs == (
        Pair(ANNA.user_id, FIRE.content_id, S),
    )
    typo = make_id("typo")
    assert issues(by_id(typo), course_id(typo)) == [
        ("Learner ID", f"no user with ID '{typo}'"),
        ("Course ID", f"no course with ID '{typo}'"),
    ]


def test_unknown_people_are_invalid_with_the_value_they_gave():
    assert issues(by_email("nobody@example.com"), titled("Fire Safety")) == [
        ("E-mail", "no user with email 'nobody@example.com'")
    ]
    assert issues(by_login("ghost"), titled("Fire Safety")) == [
        ("Login", "no user with login 'ghost'")
    ]


def test_inactive_and_terminated_users_cannot_be_enrolled_and_say_why():
    [(column, message)] = issues(by_email("gone@example.com"), titled("Fire Safety"))
    assert column == "E-mail"
    assert message == (
        f"the user with email 'gone@example.com' ({GONE.user_id}) is inactive "
        "(deactivated in the LMS) and cannot be enrolled"
    )
    [(_, message)] = issues(by_email("left@example.com"), titled("Fire Safety"))
    assert "has left the company (employment ended in the LMS)" in message
    [(_, message)] = issues(by_email("odd@example.com"), titled("Fire Safety"))
    assert "has status 7 in the LMS, not active" in message
    [(column, message)] = issues(by_id(GONE.user_id), titled("Fire Safety"))
    assert (column, message) == (
        "Learner ID",
        f"the user with ID '{GONE.user_id}' is inactive (deactivated in the LMS) "
        "and cannot be enrolled",
    )
    # An existing ID whose status is unknown (not listed) is left to the server.
    assert resolve_one(by_id(BEN.user_id), titled("Fire Safety")).pairs


def test_ambiguous_email_lists_the_candidates():
    [(_, message)] = issues(by_email("twin@example.com"), titled("Fire Safety"))
    assert message == (
        f"2 users have email 'twin@example.com' ({TWIN1.user_id}, {TWIN2.user_id}); "
        "use learner_id"
    )


def test_login_prefers_the_exact_case_when_two_differ_only_in_case():
    assert resolve_one(by_login("JDoe"), titled("Fire Safety")).pairs[0].learner_id == JDOE.user_id
    assert resolve_one(by_login("jdoe"), titled("Fire Safety")).pairs[0].learner_id == JDOE2.user_id
    [(_, message)] = issues(by_login("JDOE"), titled("Fire Safety"))
    assert message.startswith("2 users have login 'JDOE'")


def test_duplicate_titles_list_the_candidate_ids():
    [(column, message)] = issues(by_email("anna.kowalski@example.com"), titled("product knowledge"))
    assert column == "Course"
    assert message == (
        f"2 courses are titled 'product knowledge' ({OLD.content_id}, {NEW.content_id}); "
        "give the course_id instead"
    )


def test_unknown_title_suggests_the_closest_titles():
    [(_, message)] = issues(by_email("anna.kowalski@example.com"), titled("Fire Safty"))
    assert message == "no course titled 'Fire Safty'; did you mean 'Fire Safety'?"
    [(_, message)] = issues(by_email("anna.kowalski@example.com"), titled("Quantum Knitting"))
    assert message == "no course titled 'Quantum Knitting'"


def test_problems_of_learner_and_course_are_all_reported_and_the_row_asks_for_nothing():
    resolved = resolve_one(by_email("nobody@example.com"), titled("Quantum Knitting"))
    assert resolved.pairs == ()
    assert [i.column for i in resolved.issues] == ["E-mail", "Course"]


def test_rows_invalid_before_resolution_are_left_alone():
    broken = InputRow(SourceRef("f", 2), (), issues=(RowIssue(SourceRef("f", 2), "x", "bad"),))
    assert resolve_rows([broken], LOOKUPS) == [broken]


def test_without_lookups_ids_pass_through_and_names_stay_unresolved():
    named_by_id = row(by_id("l1"), course_id("c1"))
    named_by_email = row(by_email("a@x.com"), course_id("c1"), 3)
    first, second = resolve_rows([named_by_id, named_by_email])
    assert first.pairs == (Pair("l1", "c1", S),) and not first.issues
    assert second.pairs == () and second.issues == ()


def test_gathering_collects_each_kind_apart_and_skips_invalid_rows():
    rows = [
        row(by_email("A@X.com"), titled("Fire Safety")),
        row(by_email("a@x.com"), course_id("c1")),
        row(by_login("bsmith"), course_id("c2")),
        row(by_id("l1"), titled("GDPR Essentials")),
        InputRow(SourceRef("f", 9), (), issues=(RowIssue(SourceRef("f", 9), None, "bad"),)),
    ]
    assert gather_references(rows) == References(
        emails=frozenset({"a@x.com"}),
        logins=frozenset({"bsmith"}),
        learner_ids=frozenset({"l1"}),
        titles=frozenset({"Fire Safety", "GDPR Essentials"}),
        course_ids=frozenset({"c1", "c2"}),
    )
    assert References().empty and References().names == []


# --- several columns naming one learner or course: they must agree --------------------------

PAVEL = DirectoryUser(make_id("pavel"), "pjensen", "pavel.jensen@example.com", UserStatus.ACTIVE,
                      "Pavel Jensen")
DAVID = DirectoryUser(make_id("david"), "ddubois", "david.dubois@example.com", UserStatus.ACTIVE,
                      "David Dubois")
PAVEL2 = DirectoryUser(make_id("pavel2"), "pjensen2", "pavel.jensen2@example.com",
                       UserStatus.ACTIVE, "Pavel Jensen")
NAMED = Lookups(
    users_by_email={u.email: (u,) for u in (PAVEL, DAVID, PAVEL2)} | {"nobody@example.com": ()},
    users_by_login={u.login: (u,) for u in (PAVEL, DAVID)},
    existing_learner_ids=frozenset({PAVEL.user_id, DAVID.user_id, PAVEL2.user_id}),
    contents=(FIRE, GDPR, OLD, NEW),
    users_by_id={PAVEL.user_id: PAVEL, PAVEL2.user_id: PAVEL2},
)


def named_twice(learners=(), courses=(), number=2):
    """A row naming its learner in the columns of `learners` (header, ref) and its course in
    those of `courses`; the first of each is the one its request uses."""
    twice = tuple(
        NamedTwice(tuple(h for h, _ in group), tuple((ref,) for _, ref in group))
        for group in (learners, courses) if len(group) > 1
    )
    learner = learners[0][1] if learners else by_id(PAVEL.user_id)
    course = courses[0][1] if courses else course_id(FIRE.content_id)
    return InputRow(SourceRef("f.xlsx", number), (), requests=(Request(learner, course, S),),
                    named_twice=twice)


def check(row, lookups=NAMED):
    resolved = resolve_rows([row], lookups, COLUMNS)[0]
    return resolved.pairs, [(i.column, i.message, i.kind) for i in resolved.issues], resolved.notes


def test_an_id_and_an_email_of_the_same_person_agree():
    row = named_twice([("User ID", by_id(PAVEL.user_id)),
                       ("Email", by_email("pavel.jensen@example.com"))])
    assert check(row) == ((Pair(PAVEL.user_id, FIRE.content_id, S),), [], ())


def test_an_id_and_an_email_of_two_people_make_the_row_invalid_naming_both():
    row = named_twice([("User ID", by_id(PAVEL.user_id)),
                       ("Email", by_email("david.dubois@example.com"))])
    assert check(row) == ((), [(
        "Email",
        "User ID is Pavel Jensen's but Email is David Dubois's: both must name the same "
        "person; correct one of them (or clear it)",
        "identifiers disagree",
    )], ())


def test_an_email_and_a_login_disagree_without_any_id():
    row = named_twice([("Email", by_email("pavel.jensen@example.com")),
                       ("Login", by_login("ddubois"))])
    assert check(row)[1] == [(
        "Login",
        "Email is Pavel Jensen's but Login is David Dubois's: both must name the same person; "
        "correct one of them (or clear it)",
        "identifiers disagree",
    )]


def test_two_people_of_one_name_are_told_apart_by_email():
    row = named_twice([("User ID", by_id(PAVEL.user_id)),
                       ("Email", by_email("pavel.jensen2@example.com"))])
    assert check(row)[1][0][1] == (
        "User ID is Pavel Jensen (pavel.jensen@example.com)'s but Email is Pavel Jensen "
        "(pavel.jensen2@example.com)'s: both must name the same person; correct one of them "
        "(or clear it)"
    )


def test_without_names_in_the_account_the_email_describes_the_person():
    unnamed = Lookups(users_by_email={"ben.smith@example.com": (BEN,)},
                      existing_learner_ids=frozenset({ANNA.user_id}),
                      users_by_id={ANNA.user_id: ANNA}, contents=(FIRE,))
    row = named_twice([("User ID", by_id(ANNA.user_id)), ("Email", by_email(BEN.email))])
    assert check(row, unnamed)[1][0][1].startswith(
        "User ID is Anna.Kowalski@Example.com's but Email is ben.smith@example.com's"
    )


def test_an_alternate_name_nobody_has_is_its_own_problem():
    row = named_twice([("User ID", by_id(PAVEL.user_id)),
                       ("Email", by_email("nobody@example.com"))])
    assert check(row)[1] == [("E-mail", "no user with email 'nobody@example.com'", "")]


def test_a_course_id_and_a_title_of_another_course_disagree():
    row = named_twice(courses=[("Course ID", course_id(FIRE.content_id)),
                               ("Course", titled("gdpr essentials"))])
    assert check(row)[1] == [(
        "Course",
        "Course ID is the course 'Fire Safety' but Course is 'GDPR Essentials': both must name "
        "the same course; correct one of them (or clear it)",
        "identifiers disagree",
    )]
    same = named_twice(courses=[("Course ID", course_id(FIRE.content_id)),
                                ("Course", titled("FIRE  safety"))])
    assert check(same)[0] == (Pair(PAVEL.user_id, FIRE.content_id, S),)


def test_an_id_tells_which_of_two_courses_of_one_title_is_meant():
    row = named_twice(courses=[("Course ID", course_id(NEW.content_id)),
                               ("Course", titled("Product Knowledge"))])
    assert check(row)[:2] == ((Pair(PAVEL.user_id, NEW.content_id, S),), [])


def test_without_lookups_the_id_is_used_and_the_row_says_the_email_was_not_checked():
    row = named_twice([("User ID", by_id(PAVEL.user_id)),
                       ("Email", by_email("david.dubois@example.com"))])
    assert check(row, None) == (
        (Pair(PAVEL.user_id, FIRE.content_id, S),),
        [],
        ("Email ('david.dubois@example.com') was not checked against User ID: it can only be "
         "looked up through the account's REST API (set BULK_ENROLL_API_URL to have them "
         "checked); User ID was used",),
    )


def test_several_learners_in_both_columns_must_be_the_same_people():
    row = InputRow(
        SourceRef("f.xlsx", 2), (),
        requests=tuple(Request(by_id(u.user_id), course_id(FIRE.content_id), S)
                       for u in (PAVEL, DAVID)),
        named_twice=(NamedTwice(("User ID", "Email"), (
            (by_id(PAVEL.user_id), by_id(DAVID.user_id)),
            (by_email(PAVEL.email), by_email(PAVEL2.email)),
        )),),
    )
    assert check(row)[1] == [(
        "Email",
        "User ID names David Dubois (david.dubois@example.com), Pavel Jensen "
        "(pavel.jensen@example.com) but Email names Pavel Jensen (pavel.jensen2@example.com), "
        "Pavel Jensen (pavel.jensen@example.com): both must name the same people; correct one "
        "of them (or clear it)",
        "identifiers disagree",
    )]


def test_the_names_beside_an_id_are_looked_up_but_do_not_need_a_lookup():
    rows = [named_twice([("User ID", by_id(PAVEL.user_id)), ("Email", by_email(DAVID.email))],
                        [("Course ID", course_id(FIRE.content_id)), ("Course", titled("GDPR"))])]
    assert gather_references(rows).emails == {DAVID.email}
    assert gather_references(rows).titles == {"GDPR"}
    assert gather_references(rows, checks=False).names == []


def test_the_inactive_message_names_the_person():
    gone = DirectoryUser(make_id("jane"), "jdoe", "jane.doe@example.com", UserStatus.INACTIVE,
                         "Jane Doe")
    lookups = Lookups(users_by_email={gone.email: (gone,)}, contents=(FIRE,))
    resolved = resolve_rows([row(by_email(gone.email), titled("Fire Safety"))], lookups,
                            COLUMNS)[0]
    assert [i.message for i in resolved.issues] == [
        f"the user with email 'jane.doe@example.com' (Jane Doe, {gone.user_id}) is inactive "
        "(deactivated in the LMS) and cannot be enrolled"
    ]


# --- several courses in one cell, separated by commas ---------------------------------------

COMMA = ContentItem(make_id("comma"), "Health, Safety and You", "Course")
WITH_COMMA = Lookups(users_by_email={ANNA.email.lower(): (ANNA,)},
                     contents=(FIRE, GDPR, OLD, NEW, COMMA))


def comma_cell(title):
    resolved = resolve_rows([row(by_email(ANNA.email.lower()), titled(title))], WITH_COMMA,
                            COLUMNS)[0]
    return ([p.course_id for p in resolved.pairs], [(i.column, i.message) for i in
                                                    resolved.issues], resolved.notes)


def test_a_whole_cell_title_with_a_comma_is_one_course():
    assert comma_cell("health,  safety and YOU") == ([COMMA.content_id], [], ())


def test_parts_that_are_all_titles_or_ids_are_several_courses_with_a_note():
    assert comma_cell("Fire Safety, gdpr essentials") == (
        [FIRE.content_id, GDPR.content_id], [],
        ("Course: 'Fire Safety, gdpr essentials' read as 2 courses (Fire Safety; gdpr "
         "essentials); separate courses with ';' to be sure",),
    )
    assert comma_cell(f"Fire Safety, {{{GDPR.content_id.upper()}}}")[0] == [
        FIRE.content_id, GDPR.content_id
    ]


def test_a_part_that_is_not_a_course_makes_the_cell_a_problem_asking_for_semicolons():
    assert comma_cell("Fire Safety, Basic Training") == ([], [(
        "Course",
        "no course titled 'Fire Safety, Basic Training'; to name several courses in one cell, "
        "separate them with ';' (as a list, 'Basic Training' is no course either)",
    )], ())


def test_a_split_part_naming_two_courses_is_its_own_problem():
    pairs, problems, _ = comma_cell("Fire Safety, Product Knowledge")
    assert pairs == [] and problems == [(
        "Course",
        f"2 courses are titled 'Product Knowledge' ({OLD.content_id}, {NEW.content_id}); give "
        "the course_id instead",
    )]


def test_without_the_course_list_a_comma_title_stays_as_written():
    resolved = resolve_rows([row(by_id(ANNA.user_id), titled("Fire Safety, GDPR"))], None)[0]
    assert resolved.pairs == () and resolved.issues == ()  # not looked up: reported not sent
