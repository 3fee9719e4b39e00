"""One host for every request: the manifest's url_base, which the login and direct lookups share."""

import pytest
import requests_mock

from source_timify.timify import base_url
from unit_tests.conftest import make_config, records_of, run_read
from unit_tests.timify_responses import company, login, page


@pytest.mark.parametrize(
    "overrides, host",
    [
        ({}, "https://api.timify.com"),
        ({"subdomain": "acme"}, "https://acme.timify.com"),
        ({"base_url": "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080"),
    ],
)
def test_the_login_and_the_streams_go_to_the_host_the_config_names(overrides, host):
    config = make_config(enterprise_id=None, **overrides)
    assert base_url(config) == host
    with requests_mock.Mocker() as mocker:
        mocker.post(f"{host}/v1/auth/token", json=login())
        mocker.get(f"{host}/v1/companies", json=page([company("5f0000000000000000000001")]))
        output = run_read(config, ["companies"])
    assert [r["id"] for r in records_of(output, "companies")] == ["5f0000000000000000000001"]
    assert {f"{r.scheme}://{r.netloc}" for r in mocker.request_history} == {host}
