"""Learning's calculations, without a database: grading a quiz, the monthly cap, the wait before a retry."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Question:
    """A quiz question as grading needs it: its id and the ids of its choices, the right ones apart."""

    id: str
    choices: frozenset[str]
    right: frozenset[str]


@dataclass(frozen=True)
class Grade:
    correct: int
    questions: int
    score_percent: int
    passed: bool


def grade(questions: Sequence[Question], answers: Mapping[str, Sequence[str]], *, pass_mark_percent: int) -> Grade:
    """A question is right when exactly its right choices were chosen; the score is the share right, rounded
    down (so a pass is never rounded up into)."""
    correct = sum(1 for q in questions if frozenset(answers.get(q.id, ())) == q.right)
    score = correct * 100 // len(questions) if questions else 0
    return Grade(correct=correct, questions=len(questions), score_percent=score, passed=score >= pass_mark_percent)


def points_within_cap(points: int, *, earned_this_month: int, cap: int) -> int:
    """What a completion worth `points` earns when the company already earned `earned_this_month`: all of it
    under the cap, what is left of the cap when it crosses it, nothing past it. A cap of 0 is no cap."""
    if cap == 0:
        return points
    return max(0, min(points, cap - earned_this_month))


def remaining_cap(*, earned_this_month: int, cap: int) -> int | None:
    """What the company may still earn this month; None when there is no cap."""
    return None if cap == 0 else max(0, cap - earned_this_month)


def may_retry_at(last_failed_at: datetime | None, *, wait_hours: int) -> datetime | None:
    """When a person who failed at `last_failed_at` may try again (None: never failed)."""
    return None if last_failed_at is None else last_failed_at + timedelta(hours=wait_hours)


def month_of(day: date) -> date:
    return day.replace(day=1)
