"""Token exchange: one login per sync, renewal before expiry, one re-login after a 401."""

import json

from airbyte_cdk.models import FailureType

from unit_tests.conftest import (
    APP_SECRET,
    BASE,
    COMPANY_A,
    appointment,
    days_from_today,
    make_config,
    records_of,
    run_read,
)

ALL_STREAMS = ["companies", "appointments", "customers", "customer_fields", "services", "resources", "timeshifts", "enterprise_customers"]


def test_one_login_serves_every_stream_and_partition(timify):
    for n in range(5):
        timify.appointments[COMPANY_A].append(appointment(COMPANY_A, n, days_from_today(-n) + "T10:00:00Z"))
    output = run_read(make_config(), ALL_STREAMS)
    assert not output.errors
    assert len(records_of(output, "appointments")) == 5
    assert len(timify.data_requests()) > 10  # many partitions and pages...
    assert timify.logins == 1  # ...and a single token exchange


def test_login_sends_lowercase_json_credentials_and_the_documented_bearer_header(timify):
    run_read(make_config(), ["companies"])
    login = timify.mocker.request_history[0]
    assert login.path == "/v1/auth/token"
    assert login.headers["content-type"] == "application/json"
    assert json.loads(login.body) == {"appid": "app-id-1", "appsecret": APP_SECRET}
    data_call = timify.data_requests()[0]
    assert data_call.headers["authorization"] == "Bearer access-token-0001"  # the reference's form


def test_token_is_renewed_before_its_lifetime_ends(timify, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("source_timify.components.time.monotonic", lambda: clock[0])
    timify.token_lifetime = 100  # seconds; renewed once less than the safety margin is left
    original = timify._list
    issued_at = {}
    original_login = timify._login

    def login(request, context):
        body = original_login(request, context)
        issued_at[body["accessToken"]] = clock[0]
        return body

    timify.mocker.post(f"{BASE}/v1/auth/token", json=login)

    def advancing(source):
        answer = original(source)

        def wrapped(request, context):
            clock[0] += 30  # every data call takes 30 s of the token's life
            token = request.headers.get("authorization")
            if clock[0] - issued_at.get(token, clock[0]) > 100:  # the server expires it
                timify.valid_tokens.discard(token)
            return answer(request, context)

        return wrapped

    timify.companies = [{"id": f"5f{n:022x}", "name": str(n)} for n in range(6)]
    timify.mocker.get(f"{BASE}/v1/companies", content=advancing(lambda request: timify.companies))
    output = run_read(make_config(page_size=1, enterprise_id=None), ["companies"])
    assert not output.errors
    # 6 calls of 30 s each; a 100 s token is renewed when less than its 10 s margin is left
    # (a tenth of a short lifetime): it serves calls 1-3 (0-90 s), a new one calls 4-6, and no
    # call ever meets a 401.
    assert timify.logins == 2
    assert timify.unauthorized == 0


def test_missing_expires_assumes_a_short_lifetime(timify, monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("source_timify.components.time.monotonic", lambda: clock[0])
    timify.token_lifetime = None
    from source_timify.components import TimifyAuthenticator

    authenticator = TimifyAuthenticator(config=make_config(), parameters={})
    assert authenticator.token == "Bearer access-token-0001"
    clock[0] += 269  # renewed a tenth of its lifetime early: at 270 s
    assert authenticator.token == "Bearer access-token-0001"
    clock[0] += 32  # the default lifetime (300 s) has passed
    assert authenticator.token == "Bearer access-token-0002"
    assert timify.logins == 2


def test_expired_token_mid_sync_relogs_once_and_retries_the_request(timify):
    for n in range(6):
        timify.appointments[COMPANY_A].append(appointment(COMPANY_A, n, days_from_today(-1) + "T10:00:00Z"))
    first_token_calls = []

    original_login = timify._login

    def login(request, context):
        body = original_login(request, context)
        return body

    timify.mocker.post(f"{BASE}/v1/auth/token", json=login)
    # The server forgets every token after the 3rd data call: the connector must log in again.
    original_list = timify._list

    def revoking(source):
        answer = original_list(source)

        def wrapped(request, context):
            if timify.data_calls == 3 and not first_token_calls:
                first_token_calls.append(True)
                timify.valid_tokens.clear()
            return answer(request, context)

        return wrapped

    timify.mocker.get(f"{BASE}/v1/companies", content=revoking(lambda request: timify.companies))
    timify.mocker.get(f"{BASE}/v1/appointments", content=revoking(timify._appointments))
    output = run_read(make_config(), ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 6
    assert timify.logins == 2


def test_rejected_credentials_fail_with_a_sentence_naming_the_app_secret(timify):
    timify.mocker.post(f"{BASE}/v1/auth/token", status_code=401, json={"status": 0, "error": {"code": "INVALID_CREDENTIALS", "message": "Invalid"}})
    output = run_read(make_config(), ["companies"], expecting_exception=True)
    for error in output.errors:  # the stream's error and the sync's summary
        assert error.trace.error.failure_type == FailureType.config_error
        assert "App Secret" in error.trace.error.message and "App Overview" in error.trace.error.message
    assert APP_SECRET not in "".join(json.dumps(m) if isinstance(m, dict) else str(m) for m in output._messages)


def test_secret_and_tokens_never_reach_the_output(timify):
    timify.appointments[COMPANY_A].append(appointment(COMPANY_A, 1, days_from_today(0) + "T10:00:00Z"))
    output = run_read(make_config(), ALL_STREAMS)
    everything = "\n".join(str(m) for m in output._messages)
    assert APP_SECRET not in everything
    assert "access-token-0001" not in everything
    assert "refresh-token-0001" not in everything


def test_workers_refused_the_same_token_log_in_once(timify):
    import threading

    from source_timify.components import TimifyAuthenticator
    from source_timify.session import TimifySession

    session = TimifySession()
    authenticators = [TimifyAuthenticator(config=make_config(), parameters={}, session=session) for _ in range(3)]
    assert authenticators[0].token == "Bearer access-token-0001"
    # Three workers are refused the same token at once; the lock is held until all three are
    # waiting to log in again, as when the first re-login is still on its way.
    threads = [threading.Thread(target=a.refresh_and_set_access_token) for a in authenticators]
    session.form_confirmed = True  # a refused token, not a refused form
    with session.lock:
        for thread in threads:
            thread.start()
        threading.Event().wait(0.3)
    for thread in threads:
        thread.join()
    assert timify.logins == 2  # the first login, and one re-login shared by the three workers
    assert all(a.token == "Bearer access-token-0002" for a in authenticators)
