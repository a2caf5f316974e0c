"""Completions racing on PostgreSQL: each call in its own thread and connection, released at the same moment.

One person's two tabs submit the same passing quiz; four people of a company finish a quiz together with
only part of the month's cap left. Exactly the right ones earn, and the ledger (check_ledger) stays exact.
These tests commit, so the database is emptied after each: the site's root page and locale are put back.
"""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from content import services
from content.errors import AlreadyDone
from content.models import Completion, ContentSettings, QuizAttempt
from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of
from tests.content import pages
from tests.factories import MembershipFactory, PartnerFactory
from tests.ledger.racing import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def site_root():
    pages.site_root()


def outcome(call):
    def run():
        try:
            return call()
        except AlreadyDone as refusal:
            return refusal

    return run


def test_two_tabs_submitting_a_pass_together_earn_once():
    member = MembershipFactory()
    quiz = pages.quiz(points=50)
    take = outcome(lambda: services.take_quiz(quiz, member=member, answers=pages.RIGHT))
    results = race(take, take)
    assert sorted(type(r).__name__ for r in results) == ["AlreadyDone", "QuizAttempt"]
    assert Completion.objects.count() == 1 and QuizAttempt.objects.count() == 1
    assert balance_of(member.partner).available == 50
    call_command("check_ledger")


def test_people_finishing_together_share_exactly_what_is_left_of_the_cap():
    settings = ContentSettings.load()
    settings.monthly_cap_points = 100
    settings.save()
    partner = PartnerFactory()
    people = [MembershipFactory(partner=partner) for _ in range(4)]
    quiz = pages.quiz(points=40)
    attempts = race(*[lambda m=m: services.take_quiz(quiz, member=m, answers=pages.RIGHT) for m in people])
    assert sorted(a.completion.points for a in attempts) == [0, 20, 40, 40]
    assert balance_of(partner).available == 100
    assert Transfer.objects.filter(code=Code.CONTENT).count() == 3
    call_command("check_ledger")


def test_the_database_itself_refuses_a_second_completion_of_the_same_item_by_the_same_person():
    member = MembershipFactory()
    quiz = pages.quiz()
    first = services.take_quiz(quiz, member=member, answers=pages.RIGHT).completion
    with pytest.raises(IntegrityError), transaction.atomic():
        Completion.objects.create(
            person=member.user,
            partner=member.partner,
            item_key=quiz.translation_key,
            kind="quiz",
            title="again",
            points_offered=50,
            points=50,
            month=first.month,
            completed_at=first.completed_at,
        )
