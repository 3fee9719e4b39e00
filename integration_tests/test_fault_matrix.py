"""Fault matrix (issue 4), scenarios 1-6, 8, 9 and 11: every sync survives token expiry, revoked
tokens, a rotated secret, throttling, server errors, a server that ignores `page`, changes while it
runs and time-zone edges, with nothing lost. Each scenario runs the real `source-timify` entry point
against a small emulator and compares the records with the emulator's ground truth exactly.

Interruption (7) is in test_fault_matrix_kill.py, bad configs (10) in test_fault_matrix_config.py.
Every scenario's stdout and stderr are scanned for the app secret and every issued token (11).
"""

import datetime as dt
import time

import pytest
from timify_emulator import Emulator

from integration_tests.connector import expected_records, full_range_config, keyed
from integration_tests.fault_matrix_support import (
    OUTPUTS,
    STREAMS,
    Connector,
    assert_equals_truth,
    assert_no_duplicates,
    leaks,
    merge_states,
    mutate,
    remember,
    run,
    small_emulator,
)

DATA = lambda entry: not entry["path"].startswith("/v1/auth/")  # noqa: E731


@pytest.fixture(autouse=True)
def no_secret_in_any_output():
    """Scenario 11, per scenario: no byte of what the connector printed holds a secret or token."""
    first = len(OUTPUTS)
    yield
    found = leaks(OUTPUTS[first:])
    assert not found, f"secrets or tokens printed: {found}"


def wait_for_data_requests(emu, n, timeout=120):
    deadline = time.monotonic() + timeout
    while emu.counters()["data_requests"] < n:
        assert time.monotonic() < deadline, f"the sync never reached {n} data requests"
        time.sleep(0.01)


def stream_errors(result):
    """The per-stream error traces. The CDK ends a failed concurrent read with one more trace, a
    summary typed config_error on purpose ("isn't actionable, rather the previously emitted
    individual errors"); the platform classifies the failure by the individual ones."""
    errors = result.errors()
    summary = [e for e in errors if e.get("internal_message") == "Concurrent read failure"]
    assert all("did not sync successfully" in e["message"] for e in summary)
    return [e for e in errors if e not in summary]


def assert_complete(emu, config, result, streams=STREAMS):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not result.errors(), result.errors()
    assert_no_duplicates(result, streams)
    assert_equals_truth(emu, config, streams, result)


# 1 -----------------------------------------------------------------------------------------------
def test_01_token_shorter_than_the_sync_is_renewed_and_nothing_is_lost():
    lifetime = 2
    # 200 ms per request keeps the sync several token lifetimes long however fast the connector is.
    with small_emulator(101, token_lifetime=lifetime, latency_ms=200) as emu:
        config = full_range_config(emu, page_size=5, num_workers=2)
        result = run("read", config, STREAMS, emu=emu)
        assert_complete(emu, config, result)
        data = [e for e in emu.requests_log() if DATA(e)]
        sync_seconds = data[-1]["time"] - data[0]["time"]
        logins = emu.counters()["logins"]
        assert sync_seconds > 3 * lifetime, "the sync must outlive several tokens"
        # The connector renews a token when a tenth of a short lifetime is left: about one login
        # per lifetime, plus the first (two per lifetime at most, should requests bunch up). The
        # lower bound allows one token less than the exact quotient, which a run that renews on
        # time can miss by a fraction. Using expired tokens instead of logging in is caught by
        # the 401 count below.
        assert sync_seconds / lifetime - 1 <= logins <= 2 * sync_seconds / lifetime + 2, (logins, sync_seconds)
        # Renewed before expiry: an expired token reaches the server at most by a rare race.
        assert sum(e["status"] == 401 for e in data) <= 2


# 2 -----------------------------------------------------------------------------------------------
def test_02_tokens_revoked_mid_sync_the_connector_logs_in_again_and_finishes():
    with small_emulator(102, latency_ms=30) as emu:
        config = full_range_config(emu, page_size=5, num_workers=4)
        connector = Connector("read", config, STREAMS)
        wait_for_data_requests(emu, 25)
        emu.revoke_all_tokens()
        result = connector.finish()
        remember(result, emu, config)
        assert_complete(emu, config, result)
        assert emu.counters()["logins"] >= 2
        assert any(e["status"] == 401 for e in emu.requests_log()), "the revocation was never noticed"


# 3 -----------------------------------------------------------------------------------------------
def test_03_secret_rotated_mid_sync_fails_naming_the_app_secret_and_resumes_without_loss():
    with small_emulator(103, latency_ms=10) as emu:
        config = full_range_config(emu, page_size=5, num_workers=4)
        first = run("read", config, STREAMS, emu=emu)
        assert_complete(emu, config, first)
        old_secret = config["app_secret"]

        # Changes since the first sync, on past and future dates, in both companies.
        emu.advance(120)
        changed = mutate(emu, "rotated")
        emu.reset_log()
        connector = Connector("read", config, STREAMS, state=first.last_states())
        wait_for_data_requests(emu, 25)
        new_secret = emu.rotate_secret()
        emu.revoke_all_tokens()  # the old secret's tokens go too, so the next login is needed now
        failed = connector.finish()
        remember(failed, emu, config, secrets={old_secret, new_secret})
        assert failed.returncode != 0
        errors = stream_errors(failed)
        assert errors, failed.stdout[-3000:]
        assert {e["failure_type"] for e in errors} == {"config_error"}, errors
        assert all("App Secret" in e["message"] and "Traceback" not in e["message"] for e in errors), errors

        config = dict(config, app_secret=new_secret)
        state = merge_states(first.last_states(), failed.last_states())
        resumed = run("read", config, STREAMS, state=state, emu=emu, secrets={old_secret})
        assert resumed.returncode == 0 and not resumed.errors(), resumed.stdout[-3000:]
        assert_no_duplicates(resumed, STREAMS)
        assert_equals_truth(emu, config, STREAMS, first, failed, resumed)
        assert changed <= {(r["company_id"], r["id"]) for r in resumed.records("appointments")}


# 4 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 4])
def test_04_rate_limit_is_waited_out_as_retry_after_asks(workers):
    # A window of 1 s makes every Retry-After exactly 1 s.
    with small_emulator(104, rate_limit=(15, 1)) as emu:
        config = full_range_config(emu, page_size=10, num_workers=workers)
        result = run("read", config, STREAMS, emu=emu)
        assert_complete(emu, config, result)
        data = [e for e in emu.requests_log() if DATA(e)]
        limited = [e for e in data if e["status"] == 429]
        assert len(limited) >= 3, "the rate limit was never reached"
        for hit in limited:
            if workers == 1:
                # One request at a time: nothing at all may reach TIMIFY inside the Retry-After.
                later = [e for e in data if e["time"] > hit["time"]]
            else:
                # Concurrent partitions each wait for their own 429: the retried request must.
                later = [e for e in data if e["time"] > hit["time"] and same_request(e, hit)]
            assert later and later[0]["time"] - hit["time"] >= 1.0 - 0.01, (hit, later[:1])


def same_request(a, b):
    return (a["path"], a["query"], a["company_id"]) == (b["path"], b["query"], b["company_id"])


def test_04b_rate_limit_that_never_lifts_ends_in_a_transient_error_and_resumes():
    with small_emulator(1041) as emu:
        config = full_range_config(emu, page_size=5)
        emu.faults.rate_limit = (0, 1)
        failed = run("read", config, STREAMS, emu=emu, timeout=300)
        assert failed.returncode != 0
        errors = stream_errors(failed)
        assert errors and {e["failure_type"] for e in errors} == {"transient_error"}, errors
        assert all("Traceback" not in e["message"] for e in errors)
        emu.faults.reset()
        resumed = run("read", config, STREAMS, state=failed.last_states(), emu=emu)
        assert_complete(emu, config, resumed)


# 5 -----------------------------------------------------------------------------------------------
def test_05_server_errors_dropped_connections_and_malformed_pages_are_retried():
    with small_emulator(105) as emu:
        config = full_range_config(emu, page_size=5, num_workers=4)
        emu.faults.update(
            fail_requests={3: 500, 4: 502, 9: 503, 10: 503, 17: 504, 40: 500, 41: 502},
            drop_connection_on={6, 33},
            malformed_json_on={12, 50},
        )
        result = run("read", config, STREAMS, emu=emu)
        assert_complete(emu, config, result)
        data = [e for e in emu.requests_log() if DATA(e)]
        assert {e["status"] for e in data} >= {500, 502, 503, 504}
        assert {e["fault"] for e in data} >= {"dropped", "malformed"}


@pytest.mark.slow
def test_05b_server_errors_that_never_end_fail_as_transient_and_resume_without_loss():
    # max_retries 8 with exponential backoff (4 s, 8 s, ... 512 s) is capped per request by the
    # CDK's 10-minute max_time, but each of the ~80 partitions still queued waits that out in
    # turn: as of this writing the failed sync had not ended after 16 minutes (issue 4 notes).
    # Slow-only (`make fault-matrix`); it fails until a sustained outage ends a sync promptly.
    with small_emulator(1051) as emu:
        config = full_range_config(emu, page_size=5, num_workers=4)
        connector = Connector("read", config, STREAMS)
        wait_for_data_requests(emu, 20)
        emu.faults.random_5xx_rate = 1.0
        failed = connector.finish(timeout=1500)
        remember(failed, emu, config)
        assert failed.returncode != 0
        errors = stream_errors(failed)
        assert errors and {e["failure_type"] for e in errors} == {"transient_error"}, errors
        emu.faults.reset()
        resumed = run("read", config, STREAMS, state=failed.last_states(), emu=emu)
        assert_complete(emu, config, resumed)


# 6 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "page_size,legacy",
    [(5, False), (5, True), (10000, False)],
    ids=["small-pages", "small-pages-legacy-envelope", "one-page-per-list"],
)
def test_06_a_server_ignoring_page_never_loops_or_duplicates(page_size, legacy):
    with small_emulator(106, ignore_page=True, legacy_envelope=legacy) as emu:
        config = full_range_config(emu, page_size=page_size, num_workers=4)
        started = time.monotonic()
        result = run("read", config, STREAMS, emu=emu, timeout=180)
        assert time.monotonic() - started < 120
        assert_no_duplicates(result, STREAMS)
        if page_size >= 10000:
            assert_complete(emu, config, result)  # every list fits one page: a correct stop
            return
        # Some window holds more than 5 appointments: a clear error, never page 1 again as page 2.
        assert result.returncode != 0
        messages = [e["message"] for e in result.errors()]
        assert any("ignored the `page` parameter" in m for m in messages), messages
        truth = {s: keyed(expected_records(emu, s, config), s) for s in STREAMS}
        for stream in STREAMS:
            for key, record in keyed(result.records(stream), stream).items():
                assert truth[stream].get(key) == record, f"{stream} {key} is not a TIMIFY record"


# 8 -----------------------------------------------------------------------------------------------
def test_08_changes_during_a_sync_appear_in_that_sync_or_the_next():
    with small_emulator(108) as emu:
        config = full_range_config(emu, page_size=5, num_workers=2)
        baseline = run("read", dict(config, num_workers=8), STREAMS, emu=emu)
        assert_complete(emu, config, baseline)
        emu.advance(60)
        emu.faults.latency_ms = 20
        emu.reset_log()
        connector = Connector("read", config, STREAMS, state=baseline.last_states())
        changed = set()
        for n, note in ((15, "early"), (40, "late")):
            wait_for_data_requests(emu, n)
            changed |= mutate(emu, note)
        during = connector.finish()
        remember(during, emu, config)
        assert during.returncode == 0 and not during.errors(), during.stdout[-3000:]
        assert_no_duplicates(during, STREAMS)
        emu.faults.latency_ms = 0
        after = run("read", config, STREAMS, state=during.last_states(), emu=emu)
        assert after.returncode == 0 and not after.errors()
        assert_equals_truth(emu, config, STREAMS, baseline, during, after)
        seen = {(r["company_id"], r["id"]) for r in during.records("appointments") + after.records("appointments")}
        assert changed <= seen


# 9 -----------------------------------------------------------------------------------------------
def test_09_time_zones_dst_days_and_window_boundaries_leave_no_gap_and_no_duplicate():
    from zoneinfo import ZoneInfo

    from source_timify.date_ranges import company_date_range
    from source_timify.date_ranges import windows as cut_windows

    # Companies in Berlin, New York, Kolkata, Sydney and Auckland; the generator already books
    # appointments at 01:30, 02:30, 03:30, noon and 23:30 local time on every DST change day.
    with Emulator(companies=5, appointments_per_company=60, seed=109) as emu:
        config = full_range_config(emu, page_size=7)
        today = dt.datetime.now(dt.timezone.utc).date()
        windows = cut_windows(*company_date_range(config, None, today), 31)
        zones = {c["id"]: c["timezone"] for c in emu.truth("companies")}
        assert len(set(zones.values())) == 5
        booked = 0
        for from_date, to_date in windows[1:-1:3]:
            for company_id, zone in zones.items():
                tz = ZoneInfo(zone)
                edges = [
                    dt.datetime.combine(from_date, dt.time(0, 0), dt.timezone.utc),
                    dt.datetime.combine(to_date, dt.time(23, 59, 59), dt.timezone.utc),
                    dt.datetime.combine(from_date, dt.time(0, 0), tz),  # local midnight
                    dt.datetime.combine(to_date, dt.time(23, 59), tz),
                ]
                for start in edges:
                    emu.create_appointment(company_id, start=start)
                    booked += 1
        assert booked >= 5 * 4 * 10
        result = run("read", config, ["appointments"], emu=emu)
        assert_complete(emu, config, result, ["appointments"])
        calls = [e["query"] for e in emu.requests_log() if e["path"] == "/v1/appointments" and e["status"] == 200]
        assert {c["timezone"] for c in calls} == {"UTC"}


# 11 ----------------------------------------------------------------------------------------------
def test_11_no_secret_or_token_in_any_output_of_the_matrix():
    """Runs the auth-heavy scenarios again, with the CDK's --debug logging of every request, and
    scans every byte printed by them and by every scenario that ran before in this session."""
    with small_emulator(111, token_lifetime=2, latency_ms=20) as emu:
        config = full_range_config(emu, page_size=10, num_workers=4)
        emu.faults.update(fail_requests={5: 500}, malformed_json_on={8}, drop_connection_on={11})
        connector = Connector("read", config, STREAMS, args=["--debug"])
        wait_for_data_requests(emu, 20)
        emu.revoke_all_tokens()
        debug = connector.finish()
        remember(debug, emu, config)
        assert_complete(emu, config, debug)
        new_secret = emu.rotate_secret()
        emu.revoke_all_tokens()
        rotated = run("read", config, ["companies"], emu=emu, secrets={new_secret}, args=["--debug"])
        assert rotated.returncode != 0 and "App Secret" in rotated.stdout
        assert len(emu.issued_tokens()) >= 4
    scanned = sum(len(e["run"].stdout) + len(e["run"].stderr) for e in OUTPUTS)
    assert scanned > 0
    assert not leaks(OUTPUTS), leaks(OUTPUTS)
