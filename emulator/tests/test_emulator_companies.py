"""Contract section 3: installations, /v1/companies, the company-id header, enterprise customers."""

from emulator_test_support import EMULATOR_NOW, TimifyHttp
from timify_emulator import Emulator


def test_companies_lists_every_covered_company_with_contract_fields(emu, api):
    body = api.get("/v1/companies").json()
    assert [c["id"] for c in body["data"]] == emu.company_ids
    assert body["data"] == emu.truth("companies")
    for c in body["data"]:
        assert {
            "id",
            "externalId",
            "name",
            "region",
            "locale",
            "timezone",
            "contactEmail",
            "phone",
            "address",
            "onlineStatus",
            "enterprise",
            "createdAt",
            "updatedAt",
        } <= set(c)
        assert c["enterprise"] == {"id": emu.enterprise_id, "name": c["enterprise"]["name"]}
        assert len(c["id"]) == 24 and int(c["id"], 16) >= 0


def test_companies_span_several_iana_zones(emu):
    assert len({c["timezone"] for c in emu.truth("companies")}) == 3


def test_companies_with_own_enterprise_id_lists_them(emu, api):
    r = api.get("/v1/companies", enterprise_id=emu.enterprise_id)
    assert r.status_code == 200 and r.json()["total"] == 3


def test_companies_with_foreign_enterprise_id_is_403(api):
    r = api.get("/v1/companies", enterprise_id="a" * 24)
    assert r.status_code == 403 and "a" * 24 in r.json()["error"]["message"]


def test_company_scoped_call_without_company_id_on_multi_company_install_is_400_company_required(api):
    r = api.get("/v1/customers")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "COMPANY_REQUIRED"


def test_uncovered_company_id_is_403_naming_the_id(api):
    r = api.get("/v1/customers", "0123456789abcdef01234567")
    assert r.status_code == 403
    assert "0123456789abcdef01234567" in r.json()["error"]["message"]


def test_malformed_company_id_is_403_naming_the_id(api):
    r = api.get("/v1/customers", "not-an-id")
    assert r.status_code == 403 and "not-an-id" in r.json()["error"]["message"]


def test_companies_and_enterprise_customers_ignore_company_id(api):
    assert api.get("/v1/companies", "not-an-id").status_code == 200
    assert api.get("/v1/enterprise-customers", "not-an-id").status_code == 200


def test_enterprise_customers_on_enterprise_install(emu, api):
    body = api.get("/v1/enterprise-customers").json()
    assert 20 <= body["total"] <= 100
    assert body["data"] == emu.truth("enterprise_customers")


def test_company_install_serves_one_company_and_allows_omitting_company_id():
    with Emulator(companies=1, appointments_per_company=30, seed=5, enterprise=False, now=EMULATOR_NOW) as emu:
        api = TimifyHttp(emu)
        assert emu.enterprise_id is None
        cfg = emu.connector_config()
        assert cfg == {
            "app_id": emu.app_id,
            "app_secret": emu.app_secret,
            "base_url": emu.base_url,
            "company_ids": emu.company_ids,
        }
        body = api.get("/v1/companies").json()
        assert body["total"] == 1 and body["data"][0]["enterprise"] is None
        assert api.get("/v1/customers").json()["data"] == emu.truth("customers")
        assert api.get("/v1/customers", emu.company_ids[0]).status_code == 200
        r = api.get("/v1/companies", enterprise_id="a" * 24)
        assert r.status_code == 403
        r = api.get("/v1/enterprise-customers")
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"


def test_company_install_with_several_companies_is_refused():
    try:
        Emulator(companies=2, enterprise=False)
    except ValueError:
        return
    raise AssertionError("expected ValueError")


def test_connector_config_for_enterprise_install_and_overrides(emu):
    cfg = emu.connector_config(start_date="2024-01-01")
    assert cfg == {
        "app_id": emu.app_id,
        "app_secret": emu.app_secret,
        "base_url": emu.base_url,
        "enterprise_id": emu.enterprise_id,
        "start_date": "2024-01-01",
    }


def test_unknown_path_is_404_json(api):
    r = api.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["status"] == 0
