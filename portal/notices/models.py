from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class Notice(models.Model):
    """Something to tell someone about a change, written with the change: the outbox's row.

    ``key`` names the notice (the change it is about), so writing it twice is harmless. ``payload`` is what
    the kind's sender needs to find the change again (ids, never the e-mail's text: a gift-card code is money).
    """

    kind = models.CharField(max_length=100, help_text="Names the sender that delivers it.")
    key = models.CharField(max_length=200, unique=True, help_text="The change it is about: one notice each.")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When it was delivered (once).")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_default=Now(), help_text="Not tried again before this.")
    last_error = models.TextField(blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True, help_text="When it failed its last attempt.")

    class Meta:
        indexes = [
            # The outbox: what waits for delivery, oldest first.
            models.Index(
                fields=["id"], condition=Q(sent_at__isnull=True, given_up_at__isnull=True), name="notice_waiting_idx"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.key}"
