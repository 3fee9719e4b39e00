"""The lists of TIMIFY's reference that the emulator serves besides the customer fields (contract
section 5): each company's customer field categories (/v1/customers/customfields/categories), and
the enterprise's own field definitions and categories (/v1/enterprise-customers/customfields,
.../categories, enterprise installs only). Paged like every list, with the same fault knobs."""

import json
import math

import pytest
import requests
from emulator_test_support import EMULATOR_NOW, TimifyHttp
from timify_emulator import Emulator

CATEGORIES = "/v1/customers/customfields/categories"
ENTERPRISE_FIELDS = "/v1/enterprise-customers/customfields"
ENTERPRISE_CATEGORIES = "/v1/enterprise-customers/customfields/categories"
# (path, truth stream, company-scoped)
LISTS = [
    (CATEGORIES, "customer_field_categories", True),
    (ENTERPRISE_FIELDS, "enterprise_customer_fields", False),
    (ENTERPRISE_CATEGORIES, "enterprise_customer_field_categories", False),
]
CATEGORY_KEYS = {"id", "name", "orderIndex", "isDefault", "translationKey", "createdAt", "updatedAt"}


@pytest.fixture
def company_install():
    with Emulator(companies=1, enterprise=False, appointments_per_company=5, seed=2, now=EMULATOR_NOW) as emu:
        yield emu


def _first_page(api, emu, path, scoped, **params):
    return api.get(path, emu.company_ids[0] if scoped else None, **params)


def test_every_company_has_its_own_categories_paged_exactly_as_truth(api, emu):
    seen = set()
    for cid in emu.company_ids:
        categories = emu.truth("customer_field_categories", cid)
        assert api.pages(CATEGORIES, cid, limit=1) == categories
        assert all(set(c) == CATEGORY_KEYS for c in categories)
        assert [c["name"] for c in categories if c["isDefault"]] == ["default"]
        ids = {c["id"] for c in categories}
        assert len(ids) == len(categories) and not ids & seen  # ids are unique across companies
        seen |= ids
    sizes = {len(emu.truth("customer_field_categories", cid)) for cid in emu.company_ids}
    assert len(sizes) == 3, "the three companies' category lists differ in length"
    by_company = emu.truth_by_company("customer_field_categories")
    assert sum(len(v) for v in by_company.values()) == len(emu.truth("customer_field_categories"))


def test_the_enterprise_has_categories_of_its_own(api, emu):
    served = api.pages(ENTERPRISE_CATEGORIES, limit=2)
    assert served == emu.truth("enterprise_customer_field_categories")
    assert len(served) == 3 and all(set(c) == CATEGORY_KEYS for c in served)
    company_ids = {c["id"] for c in emu.truth("customer_field_categories")}
    assert not {c["id"] for c in served} & company_ids
    with pytest.raises(ValueError):
        emu.truth_by_company("enterprise_customer_field_categories")


def test_a_company_install_serves_its_categories_but_not_the_enterprise_lists(company_install):
    emu = company_install
    api = TimifyHttp(emu)
    # A single-company install may leave out the company-id header (contract section 3).
    assert api.pages(CATEGORIES, limit=1) == emu.truth("customer_field_categories", emu.company_ids[0])
    assert api.get(CATEGORIES, emu.company_ids[0], page=1, limit=10).json()["data"]
    assert emu.truth("enterprise_customer_field_categories") == []
    for path in (ENTERPRISE_FIELDS, ENTERPRISE_CATEGORIES):
        response = api.get(path, page=1, limit=10)
        assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


def test_categories_read_the_company_id_header(api, emu):
    assert api.get(CATEGORIES, page=1, limit=10).json()["error"]["code"] == "COMPANY_REQUIRED"
    unknown = "0" * 24
    response = api.get(CATEGORIES, unknown, page=1, limit=10)
    assert response.status_code == 403 and unknown in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path, scope",
    [(CATEGORIES, "Customers"), (ENTERPRISE_FIELDS, "Enterprises"), (ENTERPRISE_CATEGORIES, "Enterprises")],
)
def test_each_list_needs_its_scope(fresh_emu, path, scope):
    api = TimifyHttp(fresh_emu)
    fresh_emu.set_scopes({"Companies", "Events", "Customers", "Services", "Resources", "Enterprises"} - {scope})
    response = _first_page(api, fresh_emu, path, path == CATEGORIES, page=1, limit=10)
    assert response.status_code == 403 and scope in response.json()["error"]["message"]


@pytest.mark.parametrize("path, stream, scoped", LISTS)
def test_the_envelope_and_page_knobs_apply(api, emu, path, stream, scoped):
    truth = emu.truth(stream, emu.company_ids[0]) if scoped else emu.truth(stream)
    body = _first_page(api, emu, path, scoped, page=1, limit=2).json()
    assert body["meta"] == {"page": 1, "limit": 2, "totalItems": len(truth), "totalPages": math.ceil(len(truth) / 2)}
    assert body["data"] == truth[:2] and body["total"] == len(truth)
    assert _first_page(api, emu, path, scoped, page=99, limit=2).json()["data"] == []
    emu.faults.max_page_size = 1
    assert _first_page(api, emu, path, scoped, page=1, limit=50).json()["data"] == truth[:1]
    emu.faults.max_page_size = None
    emu.faults.ignore_page = True
    assert _first_page(api, emu, path, scoped, page=2, limit=1).json()["data"] == truth[:1]
    emu.faults.ignore_page = False
    emu.faults.legacy_envelope = True
    assert _first_page(api, emu, path, scoped, page=1, limit=2).json() == {"data": truth[:2]}


@pytest.mark.parametrize("path, stream, scoped", LISTS)
def test_the_request_faults_apply(api, emu, path, stream, scoped):
    assert api.token  # log in first: the login is not a data request
    emu.faults.fail_requests = {1: 503}
    emu.faults.malformed_json_on = {2}
    emu.faults.drop_connection_on = {3}
    assert _first_page(api, emu, path, scoped, page=1, limit=2).status_code == 503
    malformed = _first_page(api, emu, path, scoped, page=1, limit=2)
    with pytest.raises(ValueError):
        json.loads(malformed.content)
    with pytest.raises(requests.exceptions.RequestException):
        _first_page(api, emu, path, scoped, page=1, limit=2)
    assert _first_page(api, emu, path, scoped, page=1, limit=2).json()["status"] == 1
    assert [e["path"] for e in emu.requests_log() if e["path"] != "/v1/auth/token"] == [path] * 4


def test_the_control_surface_counts_the_enterprise_lists(emu):
    for stream in ("enterprise_customer_fields", "enterprise_customer_field_categories"):
        body = requests.get(f"{emu.base_url}/_emulator/truth/{stream}", timeout=10).json()
        assert body["count"] == len(emu.truth(stream)) and body["by_company"] == {"null": len(emu.truth(stream))}
    body = requests.get(f"{emu.base_url}/_emulator/truth/customer_field_categories", timeout=10).json()
    assert body["by_company"] == {cid: len(emu.truth("customer_field_categories", cid)) for cid in emu.company_ids}
