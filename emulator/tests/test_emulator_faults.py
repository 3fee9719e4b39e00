"""Fault knobs, the request log and counters."""

import json
import time

import pytest
import requests
from emulator_test_support import TimifyHttp
from timify_emulator import Emulator


def _cust(api, emu, **params):
    return api.get("/v1/customers", emu.company_ids[0], **params)


def test_rate_limit_answers_429_with_retry_after_per_token(emu, api):
    emu.faults.rate_limit = (3, 30)
    assert [_cust(api, emu).status_code for _ in range(3)] == [200, 200, 200]
    r = _cust(api, emu)
    assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_LIMITED"
    assert int(r.headers["Retry-After"]) in range(1, 31)
    other = TimifyHttp(emu)
    assert _cust(other, emu).status_code == 200  # budgets are per token


def test_rate_limit_window_reopens_after_retry_after(emu, api):
    emu.faults.rate_limit = (1, 1)
    assert _cust(api, emu).status_code == 200
    r = _cust(api, emu)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    time.sleep(1.05)
    assert _cust(api, emu).status_code == 200


def test_fail_requests_fails_exactly_the_nth_data_requests(emu, api):
    _ = api.token  # the login is not a data request
    emu.faults.fail_requests = {2: 503, 4: 500}
    codes = [_cust(api, emu).status_code for _ in range(5)]
    assert codes == [200, 503, 200, 500, 200]


def test_injected_5xx_bodies_vary_json_html_and_empty(emu, api):
    _ = api.token
    emu.faults.fail_requests = {1: 500, 2: 502, 3: 503}
    r500, r502, r503 = (_cust(api, emu) for _ in range(3))
    assert r500.json()["error"]["code"] == "INTERNAL"
    assert "<html>" in r502.text
    assert r503.content == b""


def test_random_5xx_rate_is_seeded_and_roughly_honoured(emu, api):
    _ = api.token
    emu.faults.random_5xx_rate = 0.5
    codes = [_cust(api, emu, limit=1).status_code for _ in range(60)]
    fails = [c for c in codes if c >= 500]
    assert 10 <= len(fails) <= 50 and set(fails) <= {500, 502, 503, 504}
    emu.faults.random_5xx_rate = 0
    assert _cust(api, emu).status_code == 200


def test_latency_is_added_to_every_request(emu, api):
    _ = api.token
    emu.faults.latency_ms = 150
    t0 = time.monotonic()
    assert _cust(api, emu, limit=1).status_code == 200
    assert time.monotonic() - t0 >= 0.15


def test_dropped_connection_truncates_the_body_and_closes(emu, api):
    _ = api.token
    emu.faults.drop_connection_on = {1}
    with pytest.raises(requests.exceptions.RequestException):
        _cust(api, emu)
    assert _cust(api, emu).status_code == 200  # the next request is fine
    assert [e["fault"] for e in emu.requests_log() if e["path"] == "/v1/customers"] == ["dropped", None]


def test_malformed_json_on_nth_request(emu, api):
    _ = api.token
    emu.faults.malformed_json_on = {2}
    assert _cust(api, emu).status_code == 200
    r = _cust(api, emu)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.content)
    assert _cust(api, emu).json()["status"] == 1


def test_knobs_can_be_set_at_start_and_unknown_knobs_are_rejected():
    emu = Emulator(
        companies=1,
        appointments_per_company=10,
        seed=2,
        latency_ms=100,
        max_page_size=3,
        rate_limit=(5, 10),
        ignore_page=True,
        legacy_envelope=True,
    )
    assert emu.faults.latency_ms == 100 and emu.faults.rate_limit == (5, 10.0)
    with pytest.raises(AttributeError):
        emu.faults.latncy_ms = 5
    with pytest.raises(AttributeError):
        Emulator(companies=1, appointments_per_company=10, bogus_knob=1)


def test_request_log_records_every_request_without_secret_or_token(emu, api):
    tok = api.token
    api.login(appid=emu.app_id, appsecret="wrong")
    _cust(api, emu, page=1, limit=5)
    requests.post(emu.base_url + "/v1/auth/refreshtoken", json={"refreshtoken": "x"}, timeout=10)
    api.get("/v1/companies", token="Bearer " + tok, refresh_token=tok)
    log = emu.requests_log()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/v1/auth/token", 200),
        ("POST", "/v1/auth/token", 401),
        ("GET", "/v1/customers", 200),
        ("POST", "/v1/auth/refreshtoken", 401),
        ("GET", "/v1/companies", 200),
    ]
    entry = log[2]
    assert entry["query"] == {"page": "1", "limit": "5"} and entry["company_id"] == emu.company_ids[0]
    assert {"method", "path", "query", "company_id", "status", "time", "duration_ms"} <= set(entry)
    text = json.dumps(log)
    for secret in [emu.app_secret] + emu.issued_tokens():
        assert secret not in text
    assert tok in emu.issued_tokens()


def test_counters_count_logins_refreshes_data_requests_and_statuses(emu, api):
    pair = api.login().json()
    api.login(appid=emu.app_id, appsecret="wrong")
    requests.post(emu.base_url + "/v1/auth/refreshtoken", json={"refreshtoken": pair["refreshToken"]}, timeout=10)
    _cust(api, emu, token=pair["accessToken"])
    api.get("/v1/customers", token=pair["accessToken"])  # 400: no company-id
    c = emu.counters()
    assert (c["logins"], c["login_failures"], c["refreshes"], c["data_requests"]) == (1, 1, 1, 2)
    assert c["by_status"] == {200: 3, 401: 1, 400: 1}
    emu.reset_log()
    assert emu.requests_log() == [] and emu.counters()["data_requests"] == 0


def test_stop_frees_the_port():
    emu = Emulator(companies=1, appointments_per_company=5, seed=1).start()
    port = int(emu.base_url.rsplit(":", 1)[1])
    api = TimifyHttp(emu)
    assert api.get("/v1/companies").status_code == 200  # leaves a keep-alive connection open
    emu.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(emu.base_url + "/v1/companies", timeout=2)
    again = Emulator(companies=1, appointments_per_company=5, seed=1, port=port).start()
    try:
        assert again.base_url.endswith(":%d" % port)
    finally:
        again.stop()


def test_forbidden_companies_answer_403_naming_the_company_and_spare_the_others(emu, api):
    lost, kept = emu.company_ids[0], emu.company_ids[1]
    emu.faults.forbidden_companies = [lost]
    refused = api.get("/v1/customers", lost, page=1, limit=5)
    assert refused.status_code == 403 and lost in refused.json()["error"]["message"]
    assert api.get("/v1/customers", kept, page=1, limit=5).status_code == 200
    emu.faults.reset()
    assert api.get("/v1/customers", lost, page=1, limit=5).status_code == 200
