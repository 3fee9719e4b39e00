"""The emulator's settings for what TIMIFY's published reference says differently (../shared/timify-api.md
sections 2 and 7): which `authorization` forms a data call may use, and the error body's shape."""

import pytest
import requests
from timify_emulator import Emulator


@pytest.fixture(scope="module")
def emu():
    with Emulator(companies=1, appointments_per_company=5, enterprise=False) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def reset(emu):
    yield
    emu.faults.reset()


def _token(emu):
    body = {"appid": emu.app_id, "appsecret": emu.app_secret}
    return requests.post(emu.base_url + "/v1/auth/token", json=body, timeout=10).json()["accessToken"]


def _companies(emu, authorization):
    return requests.get(emu.base_url + "/v1/companies", headers={"authorization": authorization}, timeout=10)


@pytest.mark.parametrize(
    "forms, raw_status, bearer_status",
    [("both", 200, 200), ("raw", 200, 401), ("bearer", 401, 200)],
)
def test_token_forms_accept_the_raw_token_bearer_or_both(emu, forms, raw_status, bearer_status):
    emu.faults.token_forms = forms
    token = _token(emu)
    assert _companies(emu, token).status_code == raw_status
    assert _companies(emu, f"Bearer {token}").status_code == bearer_status


def test_the_default_accepts_both_forms(emu):
    token = _token(emu)
    assert emu.faults.token_forms == "both"
    assert _companies(emu, token).status_code == _companies(emu, f"Bearer {token}").status_code == 200


def test_a_refused_form_says_which_form_to_send(emu):
    emu.faults.token_forms = "bearer"
    response = _companies(emu, _token(emu))
    assert response.status_code == 401 and "Bearer" in response.json()["error"]["message"]


def test_an_unknown_token_form_setting_is_rejected(emu):
    with pytest.raises(ValueError):
        emu.faults.token_forms = "basic"


def test_errors_are_nested_by_default(emu):
    response = _companies(emu, "not-a-token")
    assert response.status_code == 401
    assert response.json() == {
        "status": 0,
        "error": {"code": "TOKEN_INVALID", "message": "The access token is not valid"},
    }


def test_errors_in_the_flat_shape_of_the_reference(emu):
    emu.faults.error_shape = "flat"
    response = _companies(emu, "not-a-token")
    assert response.status_code == 401
    assert response.json() == {
        "error": "The access token is not valid",
        "name": "UnauthorizedError",
        "errorCode": "TOKEN_INVALID",
        "details": {},
        "extras": None,
    }
    login = requests.post(emu.base_url + "/v1/auth/token", json={"appid": emu.app_id, "appsecret": "wrong"}, timeout=10)
    assert login.status_code == 401 and login.json()["errorCode"] == "INVALID_CREDENTIALS"
    assert isinstance(login.json()["error"], str)


def test_injected_json_faults_follow_the_error_shape(emu):
    emu.faults.error_shape = "flat"
    token = _token(emu)
    emu.reset_log()  # fail_requests counts data requests from here
    emu.faults.fail_requests = {1: 500, 2: 504}
    for status in (500, 504):
        response = _companies(emu, token)
        assert response.status_code == status and response.json()["name"] == "InternalServerError"
        assert isinstance(response.json()["error"], str)
