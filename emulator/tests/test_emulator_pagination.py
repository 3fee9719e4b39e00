"""Contract section 4: envelopes and page-number pagination, plus the page-size/envelope/page knobs."""

import math


def test_list_envelope_has_data_total_meta_and_status(api, emu):
    cid = emu.company_ids[0]
    body = api.get("/v1/customers", cid, page=1, limit=7).json()
    total = len(emu.truth("customers", cid))
    assert set(body) == {"data", "total", "meta", "status"}
    assert body["status"] == 1 and body["total"] == total
    assert body["meta"] == {"page": 1, "limit": 7, "totalItems": total, "totalPages": math.ceil(total / 7)}
    assert len(body["data"]) == 7


def test_missing_or_zero_page_and_limit_mean_page_1_limit_10000(api, emu):
    cid = emu.company_ids[0]
    for params in ({}, {"page": 0, "limit": 0}):
        body = api.get("/v1/customers", cid, **params).json()
        assert body["meta"]["page"] == 1 and body["meta"]["limit"] == 10000
        assert body["data"] == emu.truth("customers", cid)


def test_page_past_the_end_returns_empty_data(api, emu):
    cid = emu.company_ids[0]
    body = api.get("/v1/customers", cid, page=99, limit=10).json()
    assert body["data"] == [] and body["total"] == len(emu.truth("customers", cid))


def test_total_pages_is_zero_for_an_empty_list(api, emu):
    body = api.get("/v1/appointments", emu.company_ids[0], from_date="2000-01-01", to_date="2000-01-31").json()
    assert body["total"] == 0 and body["meta"]["totalPages"] == 0 and body["data"] == []


def test_pages_are_disjoint_and_cover_the_list_in_stable_order(api, emu):
    cid = emu.company_ids[1]
    assert api.pages("/v1/customers", cid, limit=9) == emu.truth("customers", cid)


def test_negative_or_non_integer_page_or_limit_is_400(api, emu):
    cid = emu.company_ids[0]
    for params in ({"page": -1}, {"limit": -5}, {"page": "two"}, {"limit": "1.5"}):
        r = api.get("/v1/customers", cid, **params)
        assert r.status_code == 400, params
        assert r.json()["error"]["code"] == "BAD_REQUEST"


def test_max_page_size_clamps_limit_and_meta_reports_it(api, emu):
    emu.faults.max_page_size = 5
    cid = emu.company_ids[0]
    total = len(emu.truth("customers", cid))
    body = api.get("/v1/customers", cid, limit=50).json()
    assert len(body["data"]) == 5
    assert body["meta"]["limit"] == 5 and body["meta"]["totalPages"] == math.ceil(total / 5)
    assert api.get("/v1/customers", cid).json()["meta"]["limit"] == 5


def test_legacy_envelope_returns_only_data(api, emu):
    emu.faults.legacy_envelope = True
    cid = emu.company_ids[0]
    body = api.get("/v1/customers", cid, limit=3).json()
    assert set(body) == {"data"} and len(body["data"]) == 3


def test_ignore_page_always_serves_page_one(api, emu):
    emu.faults.ignore_page = True
    cid = emu.company_ids[0]
    first = api.get("/v1/customers", cid, page=1, limit=4).json()["data"]
    assert api.get("/v1/customers", cid, page=2, limit=4).json()["data"] == first
    assert api.get("/v1/customers", cid, page=500, limit=4).json()["data"] == first
