"""The TIMIFY client (client.py), which sends every request that is not a stream page: signed with
the session's token, one re-login after a 401, Retry-After and back-off on 429 and 5xx, an
unreadable 200 and a lost connection tried again, a request slot held while it is sent, and the
streams' outage clock. Waits are recorded, never slept (conftest's `no_backoff_sleep`)."""

import contextlib
import logging
import time

import pytest
import requests
import requests_mock
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify import SourceTimify
from source_timify.auth import TimifyAuthenticator
from source_timify.client import Retries, TimifyClient, manifest_outage_seconds
from source_timify.session import TimifySession
from unit_tests.conftest import APP_SECRET, COMPANY_A, make_config
from unit_tests.timify_responses import BASE, error, login, page, requests_to

URL = f"{BASE}/v1/appointments"
OK = {"json": page([{"id": "a1"}])}
DOWN = {"status_code": 503, "json": error("INTERNAL", "down")}


class Api:
    """Numbered logins, and the answers given to `GET /v1/appointments` in order."""

    def __init__(self, mocker):
        self.mocker = mocker
        self.logins = 0
        mocker.post(f"{BASE}/v1/auth/token", json=self._login)

    def _login(self, request, context):
        self.logins += 1
        return login(f"access-token-{self.logins:04d}")

    def answers(self, *responses):
        return self.mocker.get(URL, list(responses))

    def signed_with(self):
        return [r.headers.get("Authorization") for r in requests_to(self.mocker, "/v1/appointments")]


@pytest.fixture
def api():
    with requests_mock.Mocker() as mocker:
        yield Api(mocker)


@pytest.fixture
def session():
    return TimifySession()


def client(session, retries=None, **kwargs):
    retries = Retries() if retries is None else retries
    authenticator = TimifyAuthenticator(config=make_config(), parameters={}, session=session)
    return TimifyClient(session, authenticator, retries, **kwargs)


def send(client_):
    return client_.send("GET", URL, params={"page": 1, "limit": 1}, headers={"company-id": COMPANY_A})


def test_a_request_is_signed_with_the_sessions_token_after_one_login(api, session):
    api.answers(OK, OK)
    send(client(session))
    send(client(session))
    assert api.logins == 1 and api.signed_with() == ["Bearer access-token-0001"] * 2


def test_429_waits_retry_after_then_succeeds(api, session, no_backoff_sleep):
    api.answers({"status_code": 429, "headers": {"Retry-After": "7"}, "json": error("RATE_LIMITED", "slow down")}, OK)
    outcome = send(client(session))
    assert outcome.response.status_code == 200 and outcome.error is None and outcome.outage is None
    assert no_backoff_sleep == [7]


def test_5xx_backs_off_exponentially_then_succeeds(api, session, no_backoff_sleep):
    api.answers(DOWN, {"status_code": 500, "text": "<html><title>Oops</title></html>"}, DOWN, OK)
    assert send(client(session)).response.status_code == 200
    assert no_backoff_sleep == [1, 2, 4]


def test_a_5xx_that_never_ends_is_tried_attempts_times_and_answered_with_the_last(api, session, no_backoff_sleep):
    failing = api.answers(DOWN)
    outcome = send(client(session, Retries(attempts=3, wait_after_last_answer=False)))
    assert failing.call_count == 3 and outcome.response.status_code == 503 and outcome.outage is None
    assert no_backoff_sleep == [1, 2]


def test_retry_after_and_back_off_are_capped_by_max_wait(api, session, no_backoff_sleep):
    api.answers({"status_code": 429, "headers": {"Retry-After": "300"}}, DOWN, DOWN, DOWN, DOWN, OK)
    send(client(session, Retries(attempts=6, max_backoff=10, max_wait=10)))
    assert no_backoff_sleep == [10, 2, 4, 8, 10]


def test_401_relogs_once(api, session, no_backoff_sleep):
    session.tokens.form_confirmed = True  # a refused token, not a refused form (the authenticator's own rule)
    api.answers({"status_code": 401, "json": error("TOKEN_EXPIRED", "expired")}, OK)
    outcome = send(client(session))
    assert outcome.response.status_code == 200
    assert api.logins == 2 and api.signed_with() == ["Bearer access-token-0001", "Bearer access-token-0002"]
    assert no_backoff_sleep == []  # a new login, not a wait


def test_a_second_401_is_the_answer(api, session):
    session.tokens.form_confirmed = True  # a refused token, not a refused form
    refused = api.answers({"status_code": 401, "json": error("TOKEN_INVALID", "invalid")})
    outcome = send(client(session))
    assert outcome.response.status_code == 401 and refused.call_count == 2 and api.logins == 2


def test_unreadable_200_is_retried(api, session, no_backoff_sleep):
    api.answers({"status_code": 200, "text": '{"data": [{"id": "a1"'}, {"status_code": 200, "json": {"no": "data"}}, OK)
    outcome = send(client(session))
    assert outcome.response.json()["data"] == [{"id": "a1"}] and no_backoff_sleep == [1, 2]


def test_an_unreadable_200_is_an_answer_where_the_caller_says_so(api, session):
    api.answers({"status_code": 200, "text": "<html>"}, OK)
    assert send(client(session, Retries(retry_unreadable=False))).response.text == "<html>"


def test_a_lost_connection_is_retried(api, session, no_backoff_sleep):
    api.answers(
        {"exc": requests.exceptions.ConnectionError("Connection aborted.")},
        {"exc": requests.exceptions.ReadTimeout()},
        OK,
    )
    assert send(client(session)).response.status_code == 200 and no_backoff_sleep == [1, 2]


def test_no_answer_at_all_is_answered_with_the_last_exception(api, session):
    api.answers({"exc": requests.exceptions.ConnectionError("Connection aborted.")})
    outcome = send(client(session, Retries(attempts=2)))
    assert outcome.response is None and isinstance(outcome.error, requests.exceptions.ConnectionError)


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_4xx_is_the_answer_and_not_asked_again(api, session, no_backoff_sleep, status):
    asked = api.answers({"status_code": status, "json": error("FORBIDDEN", "no")})
    assert send(client(session)).response.status_code == status and asked.call_count == 1 and no_backoff_sleep == []


def test_a_refused_login_while_signing_is_raised_not_retried(api, session, no_backoff_sleep):
    api.mocker.post(f"{BASE}/v1/auth/token", status_code=401, json=error("INVALID_CREDENTIALS", "bad secret"))
    asked = api.answers(OK)
    with pytest.raises(AirbyteTracedException) as raised:
        send(client(session))
    assert raised.value.failure_type == FailureType.config_error and asked.call_count == 0


@contextlib.contextmanager
def counted_slots(session, held):
    """`session.slots.hold`, recording how many slots are held while each request is sent."""
    real = session.slots.hold

    @contextlib.contextmanager
    def slots():
        with real():
            held.append(1)
            try:
                yield
            finally:
                held.pop()

    session.slots.hold = slots
    yield


def test_request_holds_a_slot(api, session):
    session.configure({"num_workers": 1})
    held, seen = [], []
    api.mocker.get(URL, json=lambda request, context: seen.append(len(held)) or page([]))
    with counted_slots(session, held):
        send(client(session))
    assert seen == [1] and held == []


def test_the_login_takes_no_slot_so_a_request_holding_the_last_one_can_log_in(api, session):
    # One slot: a login that waited for a slot inside a request holding it would wait forever.
    session.configure({"num_workers": 1})
    held, at_login = [], []
    api.mocker.post(f"{BASE}/v1/auth/token", json=lambda request, context: at_login.append(len(held)) or login())
    api.answers(OK)
    with counted_slots(session, held):
        assert send(client(session)).response.status_code == 200
    assert at_login == [1]  # the request's own slot, none more


def test_a_request_without_slots_takes_none(api, session):
    session.configure({"num_workers": 1})
    held, seen = [], []
    api.mocker.get(URL, json=lambda request, context: seen.append(len(held)) or page([]))
    with counted_slots(session, held):
        send(client(session, slots=False))
    assert seen == [0]


def test_the_outage_cutoff_is_the_manifests():
    error_handler = SourceTimify(config=make_config()).resolved_manifest["definitions"]["error_handler"]
    assert manifest_outage_seconds() == float(error_handler["outage_seconds"])


def test_a_server_error_starts_the_outage_clock_and_a_readable_answer_stops_it(api, session):
    api.answers(DOWN, OK)
    before = time.monotonic()
    outcome = send(client(session, Retries(attempts=1)))
    assert outcome.response.status_code == 503 and session.outage.since >= before
    send(client(session))
    assert session.outage.since is None


def test_a_429_leaves_the_outage_clock_as_it_is(api, session):
    session.outage.since = started = time.monotonic() - 10
    api.answers({"status_code": 429, "headers": {"Retry-After": "1"}})
    send(client(session, Retries(attempts=2)))
    assert session.outage.since == started


def test_outage_past_cutoff_fails(api, session, no_backoff_sleep):
    session.outage.since = time.monotonic() - 1000  # the streams have seen only server errors for 1,000 s
    failing = api.answers(DOWN)
    outcome = send(client(session))
    assert failing.call_count == 1 and no_backoff_sleep == []  # not tried again, not waited for
    assert outcome.response.status_code == 503
    assert outcome.outage.startswith("TIMIFY has answered only with server errors or not at all for 1000 s")


def test_no_answer_past_cutoff_fails(api, session, no_backoff_sleep):
    session.outage.since = time.monotonic() - 1000
    failing = api.answers({"exc": requests.exceptions.ConnectionError("Connection aborted.")})
    outcome = send(client(session))
    assert failing.call_count == 1 and no_backoff_sleep == [] and outcome.outage and outcome.error is not None


def test_an_outage_shorter_than_the_cutoff_is_retried(api, session, no_backoff_sleep):
    session.outage.since = time.monotonic() - 10
    api.answers(DOWN, OK)
    assert send(client(session)).response.status_code == 200 and no_backoff_sleep == [1]
    assert session.outage.since is None


def test_the_login_reads_the_outage_clock_but_never_moves_it(api, session):
    api.mocker.post(f"{BASE}/v1/auth/token", [{"status_code": 503, "text": ""}, {"json": login()}])
    _ = TimifyAuthenticator(config=make_config(), parameters={}, session=session).token
    assert session.outage.since is None  # its 503 started no clock
    session.outage.since = started = time.monotonic() - 10
    session.tokens.issued.clear()
    api.mocker.post(f"{BASE}/v1/auth/token", json=login("access-token-0002"))
    _ = TimifyAuthenticator(config=make_config(), parameters={}, session=session).token
    assert session.outage.since == started  # and its success stopped none


def test_a_login_past_the_cutoff_fails_at_once_with_its_own_message(api, session, no_backoff_sleep):
    session.outage.since = time.monotonic() - 1000
    failing = api.mocker.post(f"{BASE}/v1/auth/token", status_code=503, text="")
    with pytest.raises(AirbyteTracedException) as raised:
        _ = TimifyAuthenticator(config=make_config(), parameters={}, session=session).token
    assert failing.call_count == 1 and no_backoff_sleep == []
    assert raised.value.message == "TIMIFY's login failed with HTTP 503; try again later."
    assert raised.value.failure_type == FailureType.transient_error


def test_a_login_that_reaches_no_host_past_the_cutoff_still_says_so(api, session, no_backoff_sleep):
    session.outage.since = time.monotonic() - 1000
    api.mocker.post(f"{BASE}/v1/auth/token", exc=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(AirbyteTracedException) as raised:
        _ = TimifyAuthenticator(config=make_config(), parameters={}, session=session).token
    assert raised.value.message.startswith("Could not reach TIMIFY at api.timify.com")
    assert raised.value.failure_type == FailureType.config_error


def test_no_secret_or_token_in_an_outcome_error_or_log(api, session, caplog):
    caplog.set_level(logging.DEBUG)
    api.answers({"status_code": 401}, {"exc": requests.exceptions.ConnectionError("Connection aborted.")})
    outcome = send(client(session, Retries(attempts=3)))
    shown = caplog.text + repr(outcome.error) + str(outcome.outage)
    assert APP_SECRET not in shown and "access-token-000" not in shown
