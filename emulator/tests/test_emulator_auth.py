"""Contract section 2: token exchange, refresh, token use, scopes, secret rotation, revocation."""

import requests
from emulator_test_support import TimifyHttp
from timify_emulator import Emulator


def _login(emu, **kw):
    return requests.post(emu.base_url + "/v1/auth/token", timeout=10, **kw)


def test_login_with_lowercase_json_keys_returns_top_level_token_pair(emu):
    r = _login(emu, json={"appid": emu.app_id, "appsecret": emu.app_secret})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"accessToken", "refreshToken", "expires"}
    assert body["expires"] == 3600


def test_login_with_form_body_is_400(emu):
    r = _login(emu, data={"appid": emu.app_id, "appsecret": emu.app_secret})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BAD_REQUEST"


def test_login_with_camel_case_keys_is_400(emu):
    r = _login(emu, json={"appId": emu.app_id, "appSecret": emu.app_secret})
    assert r.status_code == 400


def test_login_with_wrong_secret_is_401_invalid_credentials(emu):
    r = _login(emu, json={"appid": emu.app_id, "appsecret": "nope"})
    assert r.status_code == 401
    assert r.json() == {"status": 0, "error": {"code": "INVALID_CREDENTIALS", "message": r.json()["error"]["message"]}}


def test_login_with_wrong_app_id_is_401(emu):
    assert _login(emu, json={"appid": "x" * 24, "appsecret": emu.app_secret}).status_code == 401


def test_refresh_issues_a_new_working_pair(emu, api):
    first = api.login().json()
    r = requests.post(emu.base_url + "/v1/auth/refreshtoken", json={"refreshtoken": first["refreshToken"]}, timeout=10)
    assert r.status_code == 200
    second = r.json()
    assert second["accessToken"] != first["accessToken"] and second["refreshToken"] != first["refreshToken"]
    assert api.get("/v1/companies", token=second["accessToken"]).status_code == 200
    assert emu.counters()["refreshes"] == 1


def test_refresh_with_unknown_token_is_401(emu):
    r = requests.post(emu.base_url + "/v1/auth/refreshtoken", json={"refreshtoken": "bogus"}, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "TOKEN_INVALID"


def test_raw_and_bearer_authorization_headers_are_both_accepted(emu, api):
    tok = api.token
    assert api.get("/v1/companies", token=tok).status_code == 200
    assert api.get("/v1/companies", token="Bearer " + tok).status_code == 200
    assert [e["auth"] for e in emu.requests_log() if e["path"] == "/v1/companies"] == ["raw", "bearer"]


def test_missing_or_unknown_token_is_401_token_invalid(api):
    for tok in ("", "deadbeef"):
        r = api.get("/v1/companies", token=tok)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "TOKEN_INVALID"


def test_expired_token_is_401_token_expired(fresh_emu):
    api = TimifyHttp(fresh_emu)
    tok = api.token
    fresh_emu.advance(3601)
    r = api.get("/v1/companies", token=tok)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "TOKEN_EXPIRED"


def test_short_token_lifetime_knob_is_reported_in_expires_and_enforced(fresh_emu):
    fresh_emu.faults.token_lifetime = 5
    api = TimifyHttp(fresh_emu)
    body = api.login().json()
    assert body["expires"] == 5
    assert api.get("/v1/companies", token=body["accessToken"]).status_code == 200
    fresh_emu.advance(6)
    assert api.get("/v1/companies", token=body["accessToken"]).status_code == 401


def test_revoked_tokens_are_401_token_invalid_and_cannot_refresh(fresh_emu):
    api = TimifyHttp(fresh_emu)
    pair = api.login().json()
    fresh_emu.revoke_all_tokens()
    r = api.get("/v1/companies", token=pair["accessToken"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_INVALID"
    r = requests.post(
        fresh_emu.base_url + "/v1/auth/refreshtoken", json={"refreshtoken": pair["refreshToken"]}, timeout=10
    )
    assert r.status_code == 401
    assert api.login().status_code == 200


def test_rotated_secret_rejects_old_secret_at_once_but_keeps_existing_tokens(fresh_emu):
    api = TimifyHttp(fresh_emu)
    old_secret, tok = fresh_emu.app_secret, api.token
    new_secret = fresh_emu.rotate_secret()
    assert new_secret != old_secret and fresh_emu.app_secret == new_secret
    assert api.login(appid=fresh_emu.app_id, appsecret=old_secret).status_code == 401
    assert api.login(appid=fresh_emu.app_id, appsecret=new_secret).status_code == 200
    assert api.get("/v1/companies", token=tok).status_code == 200


def test_call_outside_granted_scopes_is_403_naming_the_scope():
    with Emulator(companies=2, appointments_per_company=20, seed=3, scopes={"Companies", "Customers"}) as emu:
        api = TimifyHttp(emu)
        r = api.get("/v1/appointments", emu.company_ids[0], from_date="2025-01-01", to_date="2025-01-02")
        assert r.status_code == 403
        assert r.json()["error"] == {"code": "FORBIDDEN", "message": "The app is not granted the Events scope"}
        for path, scope in [
            ("/v1/services", "Services"),
            ("/v1/resources", "Resources"),
            ("/v1/timeshifts", "Resources"),
            ("/v1/enterprise-customers", "Enterprises"),
        ]:
            r = api.get(path, emu.company_ids[0], day="2025-01-01")
            assert r.status_code == 403 and scope in r.json()["error"]["message"], path
        assert api.get("/v1/customers", emu.company_ids[0]).status_code == 200
        assert api.get("/v1/customers/customfields", emu.company_ids[0]).status_code == 200
        assert api.get("/v1/companies").status_code == 200


def test_checks_run_in_contract_order_token_then_rate_limit_then_scope_then_company_then_params():
    with Emulator(companies=2, appointments_per_company=20, seed=3, scopes={"Companies"}) as emu:
        api = TimifyHttp(emu)
        # bad token beats everything else
        assert api.get("/v1/appointments", "bad", token="nope", page="x").status_code == 401
        # scope (403) beats company-id (400) and bad params (400)
        assert api.get("/v1/appointments", page="x").status_code == 403
        emu.faults.rate_limit = (1, 60)
        assert api.get("/v1/appointments", page="x").status_code == 403
        assert api.get("/v1/appointments", page="x").status_code == 429  # rate limit beats scope
    with Emulator(companies=2, appointments_per_company=20, seed=3) as emu:
        api = TimifyHttp(emu)
        assert api.get("/v1/appointments", page="x").status_code == 400  # company-id missing
        assert api.get("/v1/appointments", "f" * 24, page="x").status_code == 403  # uncovered beats params
        assert api.get("/v1/appointments", emu.company_ids[0], page="x").status_code == 400


def test_auth_calls_are_never_rate_limited(emu, api):
    emu.faults.rate_limit = (1, 60)
    for _ in range(5):
        assert api.login().status_code == 200
