"""Fault matrix (issue 4), scenario 10: every bad config, through `check` and through `read`, ends
in one sentence that names the field and says what to do, never a traceback.

`check`: CONNECTION_STATUS FAILED with that sentence. `read`: a TRACE error typed config_error
with that sentence (the CDK's closing summary of a failed concurrent read aside). The cases run
four at a time: each is a cold connector start, and most of a run is Python importing the CDK.
"""

import datetime as dt
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from timify_emulator import Emulator

from integration_tests.connector import full_range_config
from integration_tests.fault_matrix_support import OUTPUTS, leaks, run

APP_SECRET = ("app_secret", "App Secret")


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cases(emu):
    """(name, config, words of which the message must hold at least one)."""
    good = full_range_config(emu, page_size=50)
    tomorrow = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=2)).isoformat()
    without = lambda key: {k: v for k, v in good.items() if k != key}  # noqa: E731
    unreachable = f"http://127.0.0.1:{closed_port()}"
    return [
        ("missing app_id", without("app_id"), ("app_id",)),
        ("empty app_id", dict(good, app_id=""), ("app_id",)),
        ("missing app_secret", without("app_secret"), ("app_secret",)),
        ("empty app_secret", dict(good, app_secret=""), ("app_secret",)),
        ("wrong app_secret", dict(good, app_secret="wrong-" + good["app_secret"]), APP_SECRET),
        ("malformed start_date", dict(good, start_date="2024-13-01"), ("start_date",)),
        ("start_date not a date", dict(good, start_date="last monday"), ("start_date",)),
        ("start_date in the future", dict(good, start_date=tomorrow), ("start_date",)),
        ("negative lookahead_days", dict(good, lookahead_days=-1), ("lookahead_days",)),
        ("huge lookahead_days", dict(good, lookahead_days=100000), ("lookahead_days",)),
        ("unknown company id", dict(good, company_ids=["0123456789abcdef01234567"]), ("company_ids",)),
        ("malformed company id", dict(good, company_ids=["not-an-id"]), ("company_ids",)),
        ("malformed enterprise_id", dict(good, enterprise_id="xyz"), ("enterprise_id",)),
        ("base_url plain http", dict(good, base_url="http://api.timify.com"), ("base_url",)),
        ("base_url not a url", dict(good, base_url="ftp://api.timify.com"), ("base_url",)),
        ("unreachable host", dict(good, base_url=unreachable), ("base_url",)),
        ("wrong subdomain", {**without("base_url"), "subdomain": "no-such-tenant-xyz"}, ("subdomain",)),
        ("malformed subdomain", {**without("base_url"), "subdomain": "Api.timify.com"}, ("subdomain",)),
    ]


def one_actionable_sentence(message, words):
    assert message, "no message"
    assert "Traceback" not in message and "\n" not in message.strip(), message
    assert message[:1] not in ("'", '"') and "is not available:" not in message, f"wrapped: {message}"
    # One sentence: no full stop followed by another sentence ("e.g. api" is not one).
    assert not re.search(r"[.!?] +[A-Z]", message.replace("e.g. ", "")), f"more than one sentence: {message}"
    assert message.rstrip().endswith("."), message
    assert any(w in message for w in words), f"{words} not named in: {message}"


def check_and_read(emu, name, config, words):
    started = time.monotonic()
    check = run("check", config, emu=emu, timeout=120)
    read = run("read", config, ["companies", "appointments"], emu=emu, timeout=180)
    print(f"{name}: {time.monotonic() - started:.1f} s")
    return name, config, words, check, read


@pytest.fixture(scope="module")
def results():
    with Emulator(companies=2, appointments_per_company=20, seed=110) as emu:
        first = len(OUTPUTS)
        with ThreadPoolExecutor(4) as pool:
            # The two cases that wait out the login's retries first, so they overlap the rest.
            ordered = sorted(cases(emu), key=lambda c: c[0] not in ("unreachable host", "wrong subdomain"))
            done = list(pool.map(lambda c: check_and_read(emu, *c), ordered))
        assert not leaks(OUTPUTS[first:]), leaks(OUTPUTS[first:])
        yield {name: rest for name, *rest in done}


NAMES = [
    c[0]
    for c in cases(
        type(
            "E",
            (),
            {
                "connector_config": lambda self, **k: dict(
                    {"app_id": "x", "app_secret": "y", "base_url": "http://127.0.0.1:1", "enterprise_id": "0" * 24}, **k
                ),
                "now": staticmethod(lambda: dt.datetime.now(dt.timezone.utc)),
            },
        )()
    )
]


@pytest.mark.parametrize("name", NAMES)
def test_10_bad_config_fails_check_and_read_with_one_sentence_naming_the_field(results, name):
    config, words, check, read = results[name]
    status = check.connection_status()
    assert status.get("status") == "FAILED", check.stdout[-2000:] + check.stderr[-2000:]
    one_actionable_sentence(status.get("message"), words)

    assert read.returncode != 0 or read.errors(), read.stdout[-2000:]
    assert not read.records("appointments"), "a bad config must not sync"
    errors = [e for e in read.errors() if e.get("internal_message") != "Concurrent read failure"]
    assert errors, read.stdout[-3000:] + read.stderr[-3000:]
    assert {e["failure_type"] for e in errors} == {"config_error"}, errors
    for error in errors:
        one_actionable_sentence(error["message"], words)
    secret = config.get("app_secret")
    if secret:
        assert secret not in check.stdout + check.stderr + read.stdout + read.stderr
