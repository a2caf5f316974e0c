"""The demo's monthly statements, made by the statements' run as beat would have started it on the 1st.

The run of a month is started during the history's replay, at the end of the week in which the month ended
(``demo_clock``), so each statement shows the ledger as it stood then: its month's entries, the tier and the
points expiring from then on. Only the last ``MONTHS`` months get statements (each PDF takes a fifth of a
second to render; more would make the seed slow), and only on the seed that made the partners: a run
started again would find every statement made.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from portal.demo.replay import demo_clock
from portal.notices.models import Notice
from portal.statements import services as statements
from portal.statements.figures import StatementMonth
from portal.tiers import rules

MONTHS = 3


class StatementRuns:
    """Called after each week of the replay (with the tiers' runs): the run of every month that has ended."""

    def __init__(self, *, new_partners: bool, horizon: datetime):
        last = statements.last_month(timezone.localdate(horizon, ZoneInfo(settings.PROGRAMME_TIME_ZONE)))
        self.months: list[date] = [rules.add_months(last, -n) for n in range(MONTHS - 1, -1, -1)]
        if not new_partners:
            self.months = []

    def __call__(self, at: datetime) -> None:
        while self.months and StatementMonth.of(self.months[0]).end <= at:
            month = self.months.pop(0)
            with demo_clock(at):
                run = statements.start_run(month, queue=False)
                for batch_id in run.batches.values_list("pk", flat=True):
                    statements.make_batch(batch_id)
            # The statements of the history were e-mailed at the time: the seed e-mails nobody.
            Notice.objects.filter(kind=statements.NOTICE_KIND, sent_at__isnull=True).update(sent_at=at)
