"""Two processes run the same expiry at the same moment: the points expire once."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from portal.ledger.models import Code, Transfer
from portal.ledger.queries import balance_of
from portal.tiers.models import TierSettings
from tests.child_process import portal_environment
from tests.factories import PartnerFactory
from tests.tiers.conftest import earn, spend

ROOT = Path(__file__).resolve().parents[2]

# Each child waits for the start file, then runs the expiry of every partner on the same day, and prints it.
CHILD = """
import sys, time, pathlib, django
django.setup()
from datetime import date
from portal.tiers import services
start = pathlib.Path(sys.argv[1])
while not start.exists():
    time.sleep(0.005)
print(services.run_expiry([int(p) for p in sys.argv[2].split(",")], today=date(2026, 6, 1)).expired_points)
"""


@pytest.mark.django_db(transaction=True)
def test_two_processes_expire_the_same_points_once(tmp_path):
    config = TierSettings.load()
    config.expiry_months = 12
    config.save()
    partners = [PartnerFactory() for _ in range(20)]
    for n, partner in enumerate(partners):
        earn(partner, f"old-{n}", 100 + n, "2025-02-01")
        earn(partner, f"new-{n}", 50, "2026-01-01")
        spend(partner, f"spent-{n}", 30, "2025-03-01")
    ids = ",".join(str(p.pk) for p in partners)
    start = tmp_path / "start"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(start), ids],
            cwd=ROOT,
            env=portal_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    time.sleep(3)  # both have started Django and wait for the signal
    start.touch()
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    expired = sorted(int(out.strip().splitlines()[-1]) for out, _err in outputs)
    due = sum(100 + n - 30 for n in range(20))
    assert expired in ([0, due], [due, 0]) or sum(expired) == due  # one run did it, or they shared the batch
    assert sum(Transfer.objects.filter(code=Code.EXPIRY).values_list("amount", flat=True)) == due
    assert [balance_of(p).available for p in partners] == [50] * 20
    call_command("check_ledger")
