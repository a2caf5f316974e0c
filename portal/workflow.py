"""Workflows: one transition table per model, enforced by its services and read by the pages that offer steps.

A model that moves through states under people's decisions (an adjustment, a redemption, later a referral
application or a prize draw) declares its table once, beside its services: each ``Transition`` names the
states it leaves and reaches, who may take it (a check that raises the app's own ``PermissionDenied``), and,
through ``Workflow.step``, the service function that takes it. The services call ``require`` on the locked
row instead of their own if-chains; the admin views and templates ask ``next_steps`` what to offer. So the
state machine is written once and a button is shown exactly when the service would accept it.

The shape is Wagtail's action objects (``wagtail.actions``): ``check()`` (here ``require``) then
``execute()``. This module imports no app; the tables live in the apps, the admin side in
``portal.workflow_admin``.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError


class StepNotDeclared(LookupError):
    """A name that is not one of the table's transitions, or a transition without its service: a bug."""


@dataclass
class Transition:
    """One step of a workflow: from which states, to which, who may take it and what it does."""

    name: str  # the step's key: its URL name in the admin, its argument to `require`
    label: str  # what a button offering it says
    sources: tuple[str, ...]  # the states it may be taken from
    targets: tuple[str, ...]  # the states it leads to (more than one where the service decides, e.g. a gift card)
    who: Callable[[Any, Any], None]  # who(actor, obj) raises a PermissionDenied of the app's own when refused
    refused: str  # why it cannot be taken from any other state (translated)
    refused_code: str  # the refusal's stable code for callers
    # States in which the step has been taken already (by default its targets): taking it again changes nothing.
    done: tuple[str, ...] = ()
    applies: Callable[[Any], bool] | None = None  # a condition on the object itself (only goods are shipped)
    not_applicable: str = ""  # the refusal when `applies` says no
    service: Callable | None = field(default=None, repr=False)  # set by `Workflow.step`
    actor_argument: str = "acting_user"  # the service's keyword for the actor...
    note_argument: str = "note"  # ...and for the note a person writes when taking the step

    def __post_init__(self):
        self.done = tuple(self.done) or tuple(self.targets)

    def execute(self, obj, *, actor, note: str = ""):
        """Take the step through its service (which requires it again, on the locked row)."""
        if self.service is None:
            raise StepNotDeclared(f"No service takes the step {self.name!r}.")
        return self.service(obj, **{self.actor_argument: actor, self.note_argument: note})


class Workflow:
    """The transition table of one model; `refusal` is the app's error for a step its state does not allow."""

    def __init__(self, name: str, *, transitions: Iterable[Transition], refusal: type[ValidationError], state="status"):
        self.name = name
        self.transitions = {transition.name: transition for transition in transitions}
        self.refusal = refusal
        self.state = state

    def __getitem__(self, name: str) -> Transition:
        try:
            return self.transitions[name]
        except KeyError:
            raise StepNotDeclared(f"{self.name} has no step {name!r}.") from None

    def __iter__(self):
        return iter(self.transitions.values())

    def step(self, name: str, *, actor: str = "acting_user", note: str = "note"):
        """Decorate the service function that takes step `name`; `actor` and `note` name its keywords."""
        transition = self[name]

        def register(service):
            transition.service = service
            transition.actor_argument = actor
            transition.note_argument = note
            return service

        return register

    def require(self, obj, name: str, actor) -> bool:
        """Refuse the step unless `actor` may take it from `obj`'s state. Call on the locked row.

        True: take it. False: `obj` is where the step leads already (a retry, two people racing), so the
        service changes nothing. Raises the transition's PermissionDenied, or `refusal` with its code.
        """
        transition = self[name]
        transition.who(actor, obj)
        status = getattr(obj, self.state)
        if status in transition.done:
            return False
        if status not in transition.sources:
            raise self.refusal(str(transition.refused), code=transition.refused_code)
        if transition.applies and not transition.applies(obj):
            raise self.refusal(str(transition.not_applicable), code=f"{transition.name}_not_applicable")
        return True

    def may(self, obj, name: str, actor) -> bool:
        """Whether `require` would let `actor` take the step now (and it is not taken already)."""
        return self[name] in self.next_steps(obj, actor)

    def next_steps(self, obj, actor) -> list[Transition]:
        """The steps `actor` may take from `obj`'s state, in the table's order: what the pages offer."""
        status = getattr(obj, self.state)
        offered, verdicts = [], {}
        for transition in self:
            if status not in transition.sources or (transition.applies and not transition.applies(obj)):
                continue
            if transition.who not in verdicts:  # steps sharing a check (approve, reject) ask it once
                verdicts[transition.who] = _allowed(transition.who, actor, obj)
            if verdicts[transition.who]:
                offered.append(transition)
        return offered


def _allowed(who, actor, obj) -> bool:
    try:
        who(actor, obj)
    except PermissionDenied:
        return False
    return True
