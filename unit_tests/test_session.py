"""No hidden process-wide state: tokens, refusals, TIMIFY's clock and the outage clock belong to one
source instance (session.py), so a long-lived process (PyAirbyte in a notebook) behaves like
separate runs."""

import logging

import requests_mock
from airbyte_cdk.models import Status

from source_timify import SourceTimify
from source_timify.auth import TimifyAuthenticator
from source_timify.session import TimifySession
from unit_tests.conftest import APP_SECRET, final_state, make_config, run_read
from unit_tests.timify_responses import BASE, company, error, login, page, requests_to

COMPANY = "5f0000000000000000000001"
LOGGER = logging.getLogger("airbyte")


def _companies(mocker, **headers):
    mocker.get(f"{BASE}/v1/companies", json=page([company(COMPANY)]), headers=headers)


def test_a_corrected_secret_is_tried_at_once_in_the_same_process():
    good, wrong = make_config(enterprise_id=None), make_config(enterprise_id=None, app_secret="not-the-secret")
    with requests_mock.Mocker() as mocker:
        mocker.post(
            f"{BASE}/v1/auth/token",
            additional_matcher=lambda request: request.json()["appsecret"] != APP_SECRET,
            status_code=401,
            json=error("INVALID_CREDENTIALS", "The App ID or App Secret is not valid"),
        )
        mocker.post(
            f"{BASE}/v1/auth/token", additional_matcher=lambda r: r.json()["appsecret"] == APP_SECRET, json=login()
        )
        _companies(mocker)
        first = SourceTimify(config=wrong).check(LOGGER, wrong)
        second = SourceTimify(config=good).check(LOGGER, good)
    assert first.status == Status.FAILED and "App Secret" in first.message
    assert second.status == Status.SUCCEEDED, second.message
    assert len(requests_to(mocker, "/v1/auth/token")) == 2


def test_within_one_session_a_refusal_holds_only_for_the_refused_secret():
    session = TimifySession()
    with requests_mock.Mocker() as mocker:
        mocker.post(
            f"{BASE}/v1/auth/token",
            [{"status_code": 401, "json": error("INVALID_CREDENTIALS", "nope")}, {"json": login()}],
        )
        wrong = TimifyAuthenticator(config=make_config(app_secret="not-the-secret"), parameters={}, session=session)
        for _ in range(2):  # refused once, then remembered: no second login with the same secret
            try:
                _ = wrong.token
            except Exception as refused:
                assert "App Secret" in str(refused)
        right = TimifyAuthenticator(config=make_config(), parameters={}, session=session)
        assert right.token == "Bearer access-token-0001"
    assert len(requests_to(mocker, "/v1/auth/token")) == 2


def test_two_sources_in_one_process_share_no_token_and_no_sync_start():
    config = make_config(enterprise_id=None)
    states = []
    for date in ("Tue, 01 Dec 2026 10:00:00 GMT", "Wed, 02 Dec 2026 10:00:00 GMT"):
        with requests_mock.Mocker() as mocker:
            mocker.post(f"{BASE}/v1/auth/token", json=login(), headers={"Date": date})
            _companies(mocker)
            mocker.get(f"{BASE}/v1/customers", json=page([]))
            output = run_read(config, ["customers"])
            assert len(requests_to(mocker, "/v1/auth/token")) == 1  # its own login, no token carried over
        states.append(final_state(output, "customers")["companies"][COMPANY]["updatedAt"])
    assert states == ["2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"]


def test_a_second_read_on_the_same_source_logs_in_and_starts_its_own_sync():
    config = make_config(enterprise_id=None)
    source = SourceTimify(config=config)
    session = source._session
    with requests_mock.Mocker() as mocker:
        mocker.post(
            f"{BASE}/v1/auth/token",
            [
                {"json": login("access-token-0001"), "headers": {"Date": "Tue, 01 Dec 2026 10:00:00 GMT"}},
                {"json": login("access-token-0002"), "headers": {"Date": "Wed, 02 Dec 2026 10:00:00 GMT"}},
            ],
        )
        for expected in ("2026-12-01", "2026-12-02"):
            session.start_sync()
            _ = TimifyAuthenticator(config=config, parameters={}, session=session).token
            assert session.clock.sync_start() is not None
            from source_timify.timify import iso_seconds

            assert iso_seconds(session.clock.sync_start()).startswith(expected)


def test_an_outage_seen_by_one_source_does_not_cut_off_another(monkeypatch):
    import requests
    from airbyte_cdk.sources.streams.http.error_handlers.response_models import ResponseAction

    from source_timify.errors import OutageCutoff

    monkeypatch.setattr("source_timify.errors.time.monotonic", lambda: 1000.0)
    failing, healthy = TimifySession(), TimifySession()
    failing.outage.since = 0.0  # this source has seen only server errors for 1,000 s
    response = requests.Response()
    response.status_code = 503
    response.request = requests.Request("GET", f"{BASE}/v1/services", headers={"company-id": COMPANY}).prepare()
    response._content = b""
    actions = [
        OutageCutoff(config={}, parameters={}, session=session, max_retries=8)
        .interpret_response(response)
        .response_action
        for session in (failing, healthy)
    ]
    assert actions == [ResponseAction.FAIL, ResponseAction.RETRY]
    assert healthy.outage.since == 1000.0 and failing.outage.since == 0.0


def test_a_component_built_with_a_config_that_carries_no_session_fails_naming_what_is_missing():
    import pytest

    from source_timify.errors import OutageCutoff
    from source_timify.session import ConfigWithSession, NoSession, session_of

    session = TimifySession()
    assert session_of(ConfigWithSession(make_config(), session)) is session
    with pytest.raises(NoSession, match="carries no TimifySession"):
        session_of(make_config())
    with pytest.raises(NoSession, match="ConfigWithSession"):
        OutageCutoff(config=make_config(), parameters={})
