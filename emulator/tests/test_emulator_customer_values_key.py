"""The emulator serves customers' custom-field values under `fields` (default) or `customfields`."""

import json
import urllib.request

import pytest
from timify_emulator import Emulator


def _customers(emu, path, company_id):
    token = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                emu.base_url + "/v1/auth/token",
                method="POST",
                headers={"content-type": "application/json"},
                data=json.dumps({"appid": emu.app_id, "appsecret": emu.app_secret}).encode(),
            )
        ).read()
    )["accessToken"]
    request = urllib.request.Request(
        emu.base_url + path + "?page=1&limit=100", headers={"authorization": token, "company-id": company_id}
    )
    return json.loads(urllib.request.urlopen(request).read())["data"]


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/enterprise-customers"])
def test_customer_values_are_under_fields_by_default_and_under_customfields_when_set(path):
    with Emulator(companies=2, appointments_per_company=10, seed=3) as emu:
        company = emu.company_ids[0]
        served = _customers(emu, path, company)
        assert served and all(isinstance(c["fields"], list) and "customfields" not in c for c in served)
        emu.faults.customer_values_key = "customfields"
        renamed = _customers(emu, path, company)
        assert [c["customfields"] for c in renamed] == [c["fields"] for c in served]
        assert all("fields" not in c for c in renamed)


def test_an_unknown_customer_values_key_is_refused():
    with pytest.raises(ValueError):
        Emulator(companies=1, enterprise=False, appointments_per_company=10, customer_values_key="values")
