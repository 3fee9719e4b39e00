"""Token exchange: one login per sync, renewal before expiry, one re-login after a 401."""

import json
import socket
import threading

import requests
import requests_mock
from airbyte_cdk.models import FailureType

from source_timify.auth import TimifyAuthenticator
from source_timify.session import TimifySession
from unit_tests.conftest import (
    ALL_STREAMS,
    APP_SECRET,
    COMPANY_A,
    ENTERPRISE,
    days_from_today,
    make_config,
    records_of,
    run_read,
    with_session,
)
from unit_tests.timify_responses import (
    BASE,
    appointment,
    company,
    error,
    login,
    page,
    requests_to,
)

TODAY = days_from_today(0)


class Tokens:
    """This file's TIMIFY logins: numbered tokens, `live` until a test revokes them; a data
    request signed with anything else is answered 401 (each test states when that happens)."""

    def __init__(self, mocker, expires=3600):
        self.issued, self.live, self.refused, self.expires = 0, set(), 0, expires
        self.on_login = lambda token: None
        mocker.post(f"{BASE}/v1/auth/token", json=self._login)

    def _login(self, request, context):
        self.issued += 1
        token = f"access-token-{self.issued:04d}"
        self.live.add(token)
        self.on_login(token)
        body = login(token, self.expires)
        body["refreshToken"] = f"refresh-token-{self.issued:04d}"
        return body

    def guarded(self, body, before=None):
        """A callback answering `body` to requests signed with a live token (after `before(request)`)."""

        def answer(request, context):
            if before is not None:
                before(request)
            if (request.headers.get("authorization") or "").removeprefix("Bearer ") not in self.live:
                self.refused += 1
                context.status_code = 401
                return error("TOKEN_INVALID", "The access token is not valid")
            return body

        return answer


def _serve_everything(mocker, tokens, appointments_today=()):
    """An enterprise of one company (A) with `appointments_today` today and nothing else."""
    guarded = tokens.guarded
    mocker.get(f"{BASE}/v1/companies?enterprise_id={ENTERPRISE}", json=guarded(page([company(COMPANY_A)])))

    def dated(request):
        return request.qs.get("from_date", [""])[0] <= TODAY <= request.qs.get("to_date", [""])[0]

    mocker.get(f"{BASE}/v1/appointments", json=guarded(page(list(appointments_today))), additional_matcher=dated)
    mocker.get(f"{BASE}/v1/appointments", json=guarded(page([])), additional_matcher=lambda request: not dated(request))
    for path in (
        "/v1/customers",
        "/v1/customers/customfields",
        "/v1/customers/customfields/categories",
        "/v1/services",
        "/v1/resources",
        "/v1/timeshifts",
        "/v1/enterprise-customers",
        "/v1/enterprise-customers/customfields",
        "/v1/enterprise-customers/customfields/categories",
    ):
        mocker.get(f"{BASE}{path}", json=guarded(page([])))


def test_one_login_serves_every_stream_and_partition():
    with requests_mock.Mocker() as mocker:
        tokens = Tokens(mocker)
        _serve_everything(mocker, tokens, [appointment(COMPANY_A, n, f"{TODAY}T{10 + n}:00:00Z") for n in range(5)])
        # This server accepts 365-day windows: four years of range are still several partitions.
        output = run_read(make_config(lookahead_days=0, start_date=days_from_today(-1500)), ALL_STREAMS)
    assert not output.errors
    assert len(records_of(output, "appointments")) == 5
    assert len([r for r in mocker.request_history if r.method == "GET"]) > 10  # many partitions and pages...
    assert tokens.issued == 1 and tokens.refused == 0  # ...and a single token exchange


def test_login_sends_lowercase_json_credentials_and_the_documented_bearer_header():
    with requests_mock.Mocker() as mocker:
        tokens = Tokens(mocker)
        _serve_everything(mocker, tokens)
        run_read(make_config(), ["companies"])
    login_request = mocker.request_history[0]
    assert login_request.path == "/v1/auth/token"
    assert login_request.headers["content-type"] == "application/json"
    assert json.loads(login_request.body) == {"appid": "app-id-1", "appsecret": APP_SECRET}
    data_call = requests_to(mocker, "/v1/companies")[0]
    assert data_call.headers["authorization"] == "Bearer access-token-0001"  # the reference's form


def test_token_is_renewed_before_its_lifetime_ends(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("source_timify.auth.time.monotonic", lambda: clock[0])
    companies = [company(f"5f{n:022x}", name=str(n)) for n in range(6)]
    with requests_mock.Mocker() as mocker:
        tokens = Tokens(mocker, expires=100)  # seconds; renewed once less than the safety margin is left
        issued_at = {}
        tokens.on_login = lambda token: issued_at.__setitem__(token, clock[0])

        def a_call_takes_30_s(request):
            clock[0] += 30
            token = request.headers["authorization"].removeprefix("Bearer ")
            if clock[0] - issued_at[token] > 100:  # the server expires it
                tokens.live.discard(token)

        for n, one in enumerate(companies, start=1):
            mocker.get(
                f"{BASE}/v1/companies?page={n}&limit=1",
                json=tokens.guarded(page([one], n, 1, total=6), before=a_call_takes_30_s),
            )
        output = run_read(make_config(page_size=1, enterprise_id=None), ["companies"])
    assert not output.errors
    assert len(records_of(output, "companies")) == 6
    # 6 calls of 30 s each; a 100 s token is renewed when less than its 10 s margin is left
    # (a tenth of a short lifetime): it serves calls 1-3 (0-90 s), a new one calls 4-6, and no
    # call ever meets a 401.
    assert tokens.issued == 2
    assert tokens.refused == 0


def test_missing_expires_assumes_a_short_lifetime(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("source_timify.auth.time.monotonic", lambda: clock[0])
    with requests_mock.Mocker() as mocker:
        tokens = Tokens(mocker, expires=None)
        authenticator = TimifyAuthenticator(config=with_session(make_config()), parameters={})
        assert authenticator.token == "Bearer access-token-0001"
        clock[0] += 269  # renewed a tenth of its lifetime early: at 270 s
        assert authenticator.token == "Bearer access-token-0001"
        clock[0] += 32  # the default lifetime (300 s) has passed
        assert authenticator.token == "Bearer access-token-0002"
    assert tokens.issued == 2


def test_expired_token_mid_sync_relogs_once_and_retries_the_request():
    calls = []
    with requests_mock.Mocker() as mocker:
        tokens = Tokens(mocker)

        def forget_every_token_at_the_3rd_call(request):
            calls.append(request.url)
            if len(calls) == 3:
                tokens.live.clear()

        mocker.get(
            f"{BASE}/v1/companies", json=tokens.guarded(page([company(COMPANY_A)]), forget_every_token_at_the_3rd_call)
        )
        served = [appointment(COMPANY_A, n, f"{TODAY}T1{n}:00:00Z") for n in range(6)]
        for n in range(1, 4):
            body = page(served[(n - 1) * 2 : n * 2], n, 2, total=6)
            mocker.get(
                f"{BASE}/v1/appointments?page={n}&limit=2",
                json=tokens.guarded(body, forget_every_token_at_the_3rd_call),
            )
        # One request in flight (num_workers 1): with pages read ahead, pages 2 and 3 went out together,
        # and whether both carried the forgotten token depended on timing (refused 1 or 2).
        config = make_config(enterprise_id=None, start_date=TODAY, lookahead_days=0, num_workers=1)
        output = run_read(config, ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 6
    assert tokens.issued == 2 and tokens.refused == 1


def test_rejected_credentials_fail_with_a_sentence_naming_the_app_secret():
    with requests_mock.Mocker() as mocker:
        mocker.post(f"{BASE}/v1/auth/token", status_code=401, json=error("INVALID_CREDENTIALS", "Invalid"))
        output = run_read(make_config(), ["companies"], expecting_exception=True)
    assert output.errors
    for failure in output.errors:  # the stream's error and the sync's summary
        assert failure.trace.error.failure_type == FailureType.config_error
        assert "App Secret" in failure.trace.error.message and "App Overview" in failure.trace.error.message
    assert APP_SECRET not in "".join(str(m) for m in output._messages)


def test_secret_and_tokens_never_reach_the_output():
    with requests_mock.Mocker() as mocker:
        tokens = Tokens(mocker)
        _serve_everything(mocker, tokens, [appointment(COMPANY_A, 1, f"{TODAY}T10:00:00Z")])
        output = run_read(make_config(lookahead_days=0, start_date=TODAY), ALL_STREAMS)
    assert records_of(output, "appointments")
    everything = "\n".join(str(m) for m in output._messages)
    assert APP_SECRET not in everything
    assert "access-token-0001" not in everything
    assert "refresh-token-0001" not in everything


def test_workers_refused_the_same_token_log_in_once():
    with requests_mock.Mocker() as mocker:
        tokens = Tokens(mocker)
        session = TimifySession()
        authenticators = [TimifyAuthenticator(config=make_config(), parameters={}, session=session) for _ in range(3)]
        assert authenticators[0].token == "Bearer access-token-0001"
        # Three workers are refused the same token at once; the lock is held until all three are
        # waiting to log in again, as when the first re-login is still on its way.
        threads = [threading.Thread(target=a.refresh_and_set_access_token) for a in authenticators]
        session.tokens.form_confirmed = True  # a refused token, not a refused form
        with session.tokens.lock:
            for thread in threads:
                thread.start()
            threading.Event().wait(0.3)
        for thread in threads:
            thread.join()
        assert tokens.issued == 2  # the first login, and one re-login shared by the three workers
        assert all(a.token == "Bearer access-token-0002" for a in authenticators)


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _login_failure(config):
    try:
        _ = TimifyAuthenticator(config=config, parameters={}, session=TimifySession()).token
    except Exception as failure:
        return failure
    raise AssertionError("the login succeeded")


def test_a_host_that_refuses_connections_fails_the_login_after_three_tries_a_second_and_a_half_apart(no_backoff_sleep):
    failure = _login_failure(make_config(base_url=f"http://127.0.0.1:{_closed_port()}"))
    assert failure.failure_type == FailureType.config_error
    assert failure.message.startswith("Could not reach TIMIFY at 127.0.0.1:") and "`base_url`" in failure.message
    assert no_backoff_sleep == [0.5, 1.0]  # check fails within about 2 s of waiting, not 15


def test_a_host_that_never_answers_connect_is_given_three_seconds_per_try(no_backoff_sleep):
    timeouts = []
    with requests_mock.Mocker() as mocker:

        def refuse(request, context):
            timeouts.append(request.timeout)
            raise requests.exceptions.ConnectTimeout("connect timed out")

        mocker.post(f"{BASE}/v1/auth/token", json=refuse)
        failure = _login_failure(make_config())
    assert failure.message.startswith("Could not reach TIMIFY at api.timify.com")
    assert timeouts == [(3.0, 30.0)] * 3 and no_backoff_sleep == [0.5, 1.0]


def test_a_login_connection_cut_after_it_was_made_is_retried_with_the_usual_back_off(no_backoff_sleep):
    with requests_mock.Mocker() as mocker:
        mocker.post(
            f"{BASE}/v1/auth/token",
            [{"exc": requests.exceptions.ConnectionError("Connection aborted.")}] * 4 + [{"json": login()}],
        )
        token = TimifyAuthenticator(config=make_config(), parameters={}, session=TimifySession()).token
    assert token == "Bearer access-token-0001" and no_backoff_sleep == [1, 2, 4, 8]
