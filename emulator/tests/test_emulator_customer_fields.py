"""Customer field definitions in the emulator (issue 12): companies with different field sets,
every field type, labels missing, labels that collide, values that do not parse, and the
enterprise's own definitions at /v1/enterprise-customers/customfields (contract section 5)."""

import datetime as dt
import json

import pytest
from emulator_test_support import EMULATOR_NOW, TimifyHttp
from timify_emulator import Emulator

ENTERPRISE_FIELDS = "/v1/enterprise-customers/customfields"


@pytest.fixture(scope="module")
def five_companies():
    with Emulator(companies=5, appointments_per_company=5, seed=3, now=EMULATOR_NOW) as emu:
        yield emu


def _definitions(emu, company_id):
    return emu.truth("customer_fields", company_id)


def test_companies_have_different_field_sets(five_companies):
    emu = five_companies
    labels = [sorted(str(f["label"] or f["translationKey"]) for f in _definitions(emu, cid)) for cid in emu.company_ids]
    assert len({tuple(x) for x in labels[:3]}) == 3, "the first three companies differ"
    types = [{f["label"]: f["type"] for f in _definitions(emu, cid)} for cid in emu.company_ids]
    assert types[0]["Member number"] == "TEXT" and types[4]["Member number"] == "NUMBER"


def test_every_field_type_and_an_unknown_one_occur(five_companies):
    emu = five_companies
    kinds = {f["type"] for cid in emu.company_ids for f in _definitions(emu, cid)}
    assert {"EMAIL", "TEXT", "PHONE", "CHECKBOX", "DATE", "NUMBER", "SELECT", "SIGNATURE"} <= kinds


def test_labels_missing_and_colliding_occur(five_companies):
    defs = _definitions(five_companies, five_companies.company_ids[1])
    only_key = [f for f in defs if f["label"] is None and not f["defaultId"] and f["translationKey"]]
    assert [f["translationKey"] for f in only_key] == ["customerFields.custom.allergies"]
    assert {"Notes", "notes!"} <= {f["label"] for f in defs}
    neither = [
        f
        for f in _definitions(five_companies, five_companies.company_ids[2])
        if f["label"] is None and f["translationKey"] is None
    ]
    assert len(neither) == 1


def test_customer_values_reference_their_company_definitions_and_some_do_not_parse(five_companies):
    emu = five_companies
    bad_numbers = bad_dates = absent = 0
    for cid in emu.company_ids:
        defs = {f["id"]: f for f in _definitions(emu, cid)}
        for customer in emu.truth("customers", cid):
            ids = [v["id"] for v in customer["fields"]]
            assert set(ids) <= set(defs) and len(ids) == len(set(ids))
            absent += len(defs) - len(ids)
            for value in customer["fields"]:
                kind = defs[value["id"]]["type"]
                bad_numbers += kind == "NUMBER" and value["value"] == "n/a"
                if kind == "DATE" and isinstance(value["value"], str):
                    try:
                        dt.date.fromisoformat(value["value"])
                    except ValueError:
                        bad_dates += 1
    assert bad_numbers and bad_dates and absent


def test_phones_come_as_objects_or_as_json_strings(five_companies):
    emu = five_companies
    shapes = set()
    for cid in emu.company_ids:
        phone = next(f["id"] for f in _definitions(emu, cid) if f["type"] == "PHONE")
        for customer in emu.truth("customers", cid):
            value = next(v["value"] for v in customer["fields"] if v["id"] == phone)
            shapes.add(type(value).__name__)
            parsed = json.loads(value) if isinstance(value, str) else value
            assert set(parsed) == {"number", "country", "prefix"}
    assert shapes == {"dict", "str"}


def test_the_enterprise_has_its_own_field_definitions(emu):
    api = TimifyHttp(emu)
    served = api.pages(ENTERPRISE_FIELDS, limit=2)
    assert served == emu.truth("enterprise_customer_fields")
    company_ids = {f["id"] for cid in emu.company_ids for f in emu.truth("customer_fields", cid)}
    assert served and not {f["id"] for f in served} & company_ids
    assert "Loyalty tier" in {f["label"] for f in served}
    ids = {f["id"] for f in served}
    for customer in emu.truth("enterprise_customers"):
        assert {v["id"] for v in customer["fields"]} <= ids


def test_enterprise_field_definitions_need_an_enterprise_install_and_its_scope():
    with Emulator(companies=1, enterprise=False, appointments_per_company=5, seed=2, now=EMULATOR_NOW) as emu:
        response = TimifyHttp(emu).get(ENTERPRISE_FIELDS, page=1, limit=10)
        assert response.status_code == 403
    with Emulator(companies=1, appointments_per_company=5, seed=2, now=EMULATOR_NOW) as emu:
        emu.set_scopes([s for s in emu.scopes if s != "Enterprises"])
        assert TimifyHttp(emu).get(ENTERPRISE_FIELDS, page=1, limit=10).status_code == 403
