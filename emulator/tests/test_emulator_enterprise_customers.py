"""Enterprise customers (contract section 5, [reference]): `updated_since=YYYY-MM-DD`, honoured or
ignored (a setting), their mutations, and the scopes a test can change while the emulator runs."""

import datetime as dt

import pytest
from emulator_test_support import EMULATOR_NOW, TimifyHttp
from timify_emulator import Emulator

PATH = "/v1/enterprise-customers"


@pytest.fixture
def enterprise():
    with Emulator(companies=2, appointments_per_company=10, seed=5, now=EMULATOR_NOW) as emu:
        yield emu


def _ids(records):
    return [r["id"] for r in records]


def test_updated_since_serves_the_customers_changed_on_or_after_that_utc_date(enterprise):
    api = TimifyHttp(enterprise)
    everyone = enterprise.truth("enterprise_customers")
    day = "2024-06-01"
    expected = [r["id"] for r in everyone if r["updatedAt"] >= day + "T00:00:00Z"]
    assert 0 < len(expected) < len(everyone), "the generated data has customers on both sides of the date"
    assert _ids(api.pages(PATH, limit=5, updated_since=day)) == expected
    body = api.get(PATH, page=1, limit=5, updated_since=day).json()
    assert body["meta"]["totalItems"] == len(expected)


def test_updated_since_includes_the_whole_day_from_its_midnight(enterprise):
    api = TimifyHttp(enterprise)
    customer = enterprise.truth("enterprise_customers")[0]
    enterprise.update_enterprise_customer(
        customer["id"], updated_at=dt.datetime(2030, 1, 2, 0, 0, 0, tzinfo=dt.timezone.utc)
    )
    late = enterprise.create_enterprise_customer(firstName="Late")
    enterprise.update_enterprise_customer(
        late["id"], updated_at=dt.datetime(2030, 1, 2, 23, 59, 59, tzinfo=dt.timezone.utc)
    )
    enterprise.update_enterprise_customer(
        enterprise.truth("enterprise_customers")[1]["id"],
        updated_at=dt.datetime(2030, 1, 1, 23, 59, 59, tzinfo=dt.timezone.utc),
    )
    assert set(_ids(api.pages(PATH, limit=50, updated_since="2030-01-02"))) == {customer["id"], late["id"]}


def test_a_server_without_the_filter_ignores_updated_since():
    with Emulator(
        companies=2, appointments_per_company=10, seed=5, now=EMULATOR_NOW, updated_since_filter=False
    ) as emu:
        api = TimifyHttp(emu)
        assert _ids(api.pages(PATH, limit=5, updated_since="2099-01-01")) == _ids(emu.truth("enterprise_customers"))
        emu.faults.updated_since_filter = True
        assert api.pages(PATH, limit=5, updated_since="2099-01-01") == []


def test_a_malformed_updated_since_is_400(enterprise):
    response = TimifyHttp(enterprise).get(PATH, page=1, limit=5, updated_since="2024-6-1")
    assert response.status_code == 400 and "updated_since" in response.json()["error"]["message"]


def test_enterprise_customers_can_be_created_changed_and_deleted(enterprise):
    api = TimifyHttp(enterprise)
    created = enterprise.create_enterprise_customer(firstName="Ada")
    now = enterprise.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert created["createdAt"] == created["updatedAt"] <= now and created["firstName"] == "Ada"
    assert api.pages(PATH, limit=7)[-1] == created  # the newest createdAt sorts last
    enterprise.advance(90)
    old = enterprise.truth("enterprise_customers")[0]
    changed = enterprise.update_enterprise_customer(old["id"], lastName="Lovelace")
    assert changed["updatedAt"] > old["updatedAt"] and changed["lastName"] == "Lovelace"
    assert enterprise.truth("enterprise_customers")[0] == changed  # an update never reorders the list
    enterprise.delete_enterprise_customer(created["id"])
    assert created["id"] not in _ids(api.pages(PATH, limit=50))
    with pytest.raises(KeyError):
        enterprise.update_enterprise_customer("f" * 24)


def test_the_request_log_counts_the_records_each_page_served(enterprise):
    api = TimifyHttp(enterprise)
    total = len(enterprise.truth("enterprise_customers"))
    enterprise.reset_log()
    api.pages(PATH, limit=10)
    served = [entry["items"] for entry in enterprise.requests_log() if entry["path"] == PATH]
    assert sum(served) == total and served[0] == 10


def test_scopes_can_be_removed_and_granted_while_it_runs(enterprise):
    api = TimifyHttp(enterprise)
    company = enterprise.company_ids[0]
    assert api.get("/v1/services", company, page=1, limit=1).status_code == 200
    enterprise.set_scopes({"Companies", "Events"})
    refused = api.get("/v1/services", company, page=1, limit=1)
    assert refused.status_code == 403 and "Services scope" in refused.json()["error"]["message"]
    assert api.get("/v1/companies", page=1, limit=1).status_code == 200
    enterprise.set_scopes({"Companies", "Events", "Services"})
    assert api.get("/v1/services", company, page=1, limit=1).status_code == 200
    with pytest.raises(ValueError):
        enterprise.set_scopes({"Companies", "Calendar"})


def test_ids_serves_the_customers_still_there_and_a_deleted_one_no_more(enterprise):
    api = TimifyHttp(enterprise)
    everyone = _ids(enterprise.truth("enterprise_customers"))
    kept, deleted = everyone[2], everyone[0]
    enterprise.delete_enterprise_customer(deleted)
    body = api.get(PATH, page=1, limit=3, ids=f"{deleted},{kept},{'f' * 24}").json()
    assert _ids(body["data"]) == [kept] and body["meta"]["totalItems"] == 1


def test_a_server_ignoring_ids_serves_the_whole_list(enterprise):
    enterprise.faults.ids_filter = False
    everyone = _ids(enterprise.truth("enterprise_customers"))
    body = TimifyHttp(enterprise).get(PATH, page=1, limit=2, ids=everyone[-1]).json()
    assert _ids(body["data"]) == everyone[:2] and body["meta"]["totalItems"] == len(everyone)
