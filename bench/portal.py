"""Serve the demo with gunicorn and measure the dashboard against a trivial signed-in page.

    .venv/bin/python bench/portal.py [--seconds 30] [--clients 16] [--members 50] [--workers 2] [--port 8040]

What it does, on the database in settings (the demo's, or DATABASE_URL):

1. ``collectstatic`` into var/static, as production serves it (whitenoise, hashed names);
2. signs in ``--members`` demo members by making their sessions in the session
   store, as ``django.contrib.auth.login`` would: any worker accepts them (the
   members' own rows are not touched, not even their last sign-in);
3. starts gunicorn (``--workers`` sync workers) with DEBUG off, a random
   SECRET_KEY and plain http on 127.0.0.1;
4. for ``--seconds`` each, ``--clients`` concurrent clients (one asyncio loop,
   raw HTTP/1.1) ask for the dashboard and for /ping/ (signed in, answers
   "ok"), each request as the next of the members. The two pages take turns
   a second at a time, so whatever else the machine is doing weighs on both alike;
5. prints requests per second, p50 and p95 latency for both, and the
   dashboard's ratio to the trivial page (target: at least 0.5), then stops gunicorn.

Nothing is written but var/static and the sessions, which are deleted at the end.
"""

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _setup import ROOT, django_setup

WARM_UP_SECONDS = 3
TURN_SECONDS = 1.0
TARGET_RATIO = 0.5
# (name, path, what a signed-in answer holds: a sign-in page or an error would not)
PAGES = [("dashboard /", "/", b'data-testid="available"'), ("trivial /ping/", "/ping/", b"ok")]


def production_env(port: int) -> dict:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "ERROR",
    }


def collect_static(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def member_sessions(count: int) -> list[str]:
    """Session keys of `count` demo members of active companies, made directly in the session store."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import Membership, Partner

    members = list(
        Membership.objects.filter(partner__status=Partner.Status.ACTIVE, user__is_active=True, user__is_staff=False)
        .exclude(partner__external_id__startswith="bench")
        .select_related("user")
        .order_by("partner_id", "id")[:count]
    )
    if len(members) < count:
        raise SystemExit(f"only {len(members)} demo members found: run `make seed` first")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for membership in members:
        session = store()
        session[SESSION_KEY] = str(membership.user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = membership.user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def forget_sessions(keys: list[str]) -> None:
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()


def start_gunicorn(port: int, workers: int, env: dict) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "portal.wsgi:application",
        f"--workers={workers}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- the load ------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies_s: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, why: str) -> None:
        self.failures[why] = self.failures.get(why, 0) + 1


async def get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    """One GET over its own connection (gunicorn's sync workers close each one), answered in full."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
            "Accept: text/html\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body


async def drive(
    port: int, path: str, cookies: list[str], *, clients: int, seconds: float, expect: bytes, tally: Tally
) -> None:
    deadline = time.perf_counter() + seconds
    turn = iter(range(10**12))

    async def client():
        while time.perf_counter() < deadline:
            cookie = cookies[next(turn) % len(cookies)]
            started = time.perf_counter()
            try:
                status, body = await get(port, path, cookie)
            except OSError as error:
                tally.fail(type(error).__name__)
                continue
            if status != 200:
                tally.fail(f"HTTP {status}")
            elif expect not in body:
                tally.fail("unexpected page")
            else:
                tally.latencies_s.append(time.perf_counter() - started)

    await asyncio.gather(*(client() for _ in range(clients)))


async def take_turns(port: int, cookies: list[str], *, clients: int, seconds: float) -> list[Tally]:
    """Each page for `seconds` in all, in turns of TURN_SECONDS; one tally per page of PAGES."""
    tallies = [Tally() for _ in PAGES]
    for _turn in range(max(1, round(seconds / TURN_SECONDS))):
        for (_, path, expect), tally in zip(PAGES, tallies, strict=True):
            await drive(port, path, cookies, clients=clients, seconds=TURN_SECONDS, expect=expect, tally=tally)
    return tallies


def wait_until_up(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited before it answered")
        try:
            status, _ = asyncio.run(get(port, "/health/", ""))
            if status:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within a minute")


def report(name: str, tally: Tally, seconds: float) -> float:
    rate = len(tally.latencies_s) / seconds
    if tally.latencies_s:
        cuts = statistics.quantiles(tally.latencies_s, n=100)
        p50, p95 = cuts[49] * 1000, cuts[94] * 1000
    else:
        p50 = p95 = float("nan")
    failed = f", failed: {tally.failures}" if tally.failures else ""
    ok = len(tally.latencies_s)
    print(f"{name:<16} {rate:8.1f} req/s   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({ok} ok{failed})")
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8040)
    args = parser.parse_args()

    env = production_env(args.port)
    collect_static(env)
    os.environ.update(env)  # the same SECRET_KEY here as in gunicorn, which checks the sessions' signatures
    django_setup()
    from django.conf import settings

    sessions = member_sessions(args.members)
    cookies = [f"{settings.SESSION_COOKIE_NAME}={key}" for key in sessions]
    server = start_gunicorn(args.port, args.workers, env)
    try:
        wait_until_up(args.port, server)
        print(
            f"gunicorn: {args.workers} workers; {args.clients} clients, {len(cookies)} members, "
            f"{args.seconds:g} s per page (after {WARM_UP_SECONDS} s of warm-up)"
        )
        asyncio.run(take_turns(args.port, cookies, clients=args.clients, seconds=WARM_UP_SECONDS))
        tallies = asyncio.run(take_turns(args.port, cookies, clients=args.clients, seconds=args.seconds))
        seconds = max(1, round(args.seconds / TURN_SECONDS)) * TURN_SECONDS
        dashboard, trivial = (report(name, tally, seconds) for (name, _, _), tally in zip(PAGES, tallies, strict=True))
        ratio = dashboard / trivial if trivial else float("nan")
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        print(f"dashboard / trivial page: {ratio:.2f} ({verdict} the target of {TARGET_RATIO})")
    finally:
        stop(server)
        forget_sessions(sessions)


if __name__ == "__main__":
    main()
