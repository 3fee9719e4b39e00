"""Contract section 5: customers, customer fields, services, resources, timeshifts; truth() == the API."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from emulator_test_support import EMULATOR_NOW
from timify_emulator import Emulator
from timify_emulator.emulator import STREAMS

SIMPLE = [
    ("/v1/customers", "customers"),
    ("/v1/customers/customfields", "customer_fields"),
    ("/v1/customers/customfields/categories", "customer_field_categories"),
    ("/v1/services", "services"),
    ("/v1/resources", "resources"),
]


@pytest.mark.parametrize("path,stream", SIMPLE)
def test_paging_the_api_returns_exactly_truth(api, emu, path, stream):
    for cid in emu.company_ids:
        assert api.pages(path, cid, limit=6) == emu.truth(stream, cid)
    assert sum(len(v) for v in emu.truth_by_company(stream).values()) == len(emu.truth(stream))


def test_customer_fields_values_match_field_definitions(emu):
    cid = emu.company_ids[0]
    defs = {f["id"]: f for f in emu.truth("customer_fields", cid)}
    assert {"EMAIL", "TEXT", "PHONE", "SELECT"} <= {f["type"] for f in defs.values()}
    customers = emu.truth("customers", cid)
    assert len(customers) == 40  # customers_per_company default: max(20, 400 // 10)
    for c in customers:
        assert {
            "id",
            "externalId",
            "firstName",
            "lastName",
            "fullName",
            "email",
            "totalBookings",
            "createdAt",
            "updatedAt",
            "ts",
            "fields",
        } <= set(c)
        assert c["createdAt"] <= c["updatedAt"]
        assert c["ts"] == int(dt.datetime.fromisoformat(c["updatedAt"].replace("Z", "+00:00")).timestamp())
        for f in c["fields"]:
            assert set(f) == {"id", "defaultId", "value"} and f["id"] in defs
        by_default = {f["defaultId"]: f["value"] for f in c["fields"] if f["defaultId"]}
        assert by_default["firstName"] == c["firstName"] and by_default["email"] == c["email"]


def test_customers_total_bookings_counts_their_appointments(emu):
    cid = emu.company_ids[0]
    counts = {}
    for a in emu.truth("appointments", cid):
        for c in a["customers"]:
            counts[c["id"]] = counts.get(c["id"], 0) + 1
    assert {c["id"]: c["totalBookings"] for c in emu.truth("customers", cid) if c["totalBookings"]} == counts


def test_services_include_courses_like_the_samples(emu):
    services = emu.truth("services", emu.company_ids[0])
    assert any(s["isCourse"] for s in services) and not all(s["isCourse"] for s in services)
    assert all("maxParticipants" in s for s in services if s["isCourse"])


def test_services_sort_and_sort_type(api, emu):
    cid = emu.company_ids[0]
    asc = api.get("/v1/services", cid, sort="name", sort_type="asc").json()["data"]
    desc = api.get("/v1/services", cid, sort="name", sort_type="desc").json()["data"]
    assert [s["name"] for s in asc] == sorted(s["name"] for s in asc)
    assert [s["name"] for s in desc] == sorted((s["name"] for s in desc), reverse=True)
    assert api.get("/v1/services", cid, sort="name", sort_type="sideways").status_code == 400
    assert api.get("/v1/services", cid, sort="noSuchField").status_code == 400


def _span(rec):
    return (
        dt.datetime.fromisoformat(rec["from"].replace("Z", "+00:00")),
        dt.datetime.fromisoformat(rec["to"].replace("Z", "+00:00")),
    )


def test_timeshifts_have_the_decided_schema_and_cover_one_local_day(emu):
    company = emu.truth("companies")[0]
    tz = ZoneInfo(company["timezone"])
    shifts = emu.truth("timeshifts", company["id"])
    resources = {r["id"] for r in emu.truth("resources", company["id"])}
    assert shifts
    for s in shifts:
        assert {
            "id",
            "resourceId",
            "resourceExternalId",
            "type",
            "isDenial",
            "denialReason",
            "from",
            "to",
            "workingTimes",
            "bookingTimes",
            "denialTimes",
            "createdAt",
            "updatedAt",
        } <= set(s)
        assert s["resourceId"] in resources
        begin, end = _span(s)
        assert begin.astimezone(tz).time() == dt.time(0) and end.astimezone(tz).date() == begin.astimezone(
            tz
        ).date() + dt.timedelta(days=1)


def test_timeshifts_day_and_range_return_overlapping_shifts(api, emu):
    company = emu.truth("companies")[1]
    cid, tz = company["id"], ZoneInfo(company["timezone"])
    shifts = emu.truth("timeshifts", cid)
    day = _span(shifts[0])[0].astimezone(tz).date()
    by_day = api.get("/v1/timeshifts", cid, day=str(day)).json()["data"]
    assert by_day and all(_span(s)[0].astimezone(tz).date() == day for s in by_day)
    expected = {s["id"] for s in shifts if _span(s)[0].astimezone(tz).date() == day}
    assert {s["id"] for s in by_day} == expected
    frm, to = day - dt.timedelta(days=3), day + dt.timedelta(days=3)
    ranged = api.pages("/v1/timeshifts", cid, limit=5, **{"from": str(frm), "to": str(to)})
    assert {s["id"] for s in ranged} == {s["id"] for s in shifts if frm <= _span(s)[0].astimezone(tz).date() <= to}


def test_timeshifts_range_has_no_window_limit(api, emu):
    r = api.get("/v1/timeshifts", emu.company_ids[0], **{"from": "2020-01-01", "to": "2030-01-01"})
    assert r.status_code == 200 and r.json()["total"] == len(emu.truth("timeshifts", emu.company_ids[0]))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"from": "2025-03-20"},
        {"to": "2025-03-20"},
        {"day": "20-03-2025"},
        {"day[]": "2025-03-20,20-03-2025"},
        {"from": "2025-03-21", "to": "2025-03-20"},
    ],
)
def test_timeshifts_need_a_day_or_from_and_to(api, emu, params):
    assert api.get("/v1/timeshifts", emu.company_ids[0], **params).status_code == 400


def test_timeshifts_ignore_day_when_from_and_to_are_sent(api, emu):
    company = emu.truth("companies")[1]
    cid, tz = company["id"], ZoneInfo(company["timezone"])
    day = _span(emu.truth("timeshifts", cid)[0])[0].astimezone(tz).date()
    frm, to = str(day), str(day + dt.timedelta(days=6))
    ranged = api.pages("/v1/timeshifts", cid, limit=5, **{"from": frm, "to": to})
    for name in ("day[]", "day"):
        r = api.get(
            "/v1/timeshifts", cid, limit=10000, **{"from": frm, "to": to, name: str(day + dt.timedelta(days=30))}
        )
        assert r.status_code == 200 and r.json()["data"] == ranged


def test_timeshifts_day_array_returns_the_shifts_of_each_day(api, emu):
    company = emu.truth("companies")[1]
    cid, tz = company["id"], ZoneInfo(company["timezone"])
    shifts = emu.truth("timeshifts", cid)
    first = _span(shifts[0])[0].astimezone(tz).date()
    days = {first, first + dt.timedelta(days=2)}
    url = "/v1/timeshifts?" + "&".join("day[]=%s" % d for d in sorted(days)) + "&page=1&limit=10000"
    got = api.get(url, cid).json()["data"]
    assert got and {s["id"] for s in got} == {s["id"] for s in shifts if _span(s)[0].astimezone(tz).date() in days}


def test_timeshifts_resource_ids_keep_those_resources_shifts(api, emu):
    cid = emu.company_ids[0]
    shifts = emu.truth("timeshifts", cid)
    resources = sorted({s["resourceId"] for s in shifts})
    assert len(resources) >= 3
    wanted = set(resources[:2])
    params = {"from": "2020-01-01", "to": "2030-01-01", "resource_ids": ",".join(sorted(wanted))}
    got = api.pages("/v1/timeshifts", cid, limit=50, **params)
    assert got == [s for s in shifts if s["resourceId"] in wanted]
    by_external = {s["resourceExternalId"] for s in shifts if s["resourceId"] == resources[0]}
    got = api.pages(
        "/v1/timeshifts",
        cid,
        limit=50,
        **{"from": "2020-01-01", "to": "2030-01-01", "resource_external_ids": ",".join(by_external)},
    )
    assert got == [s for s in shifts if s["resourceId"] == resources[0]]


def test_truth_timeshifts_filters_by_utc_overlap(emu):
    cid = emu.company_ids[0]
    shifts = emu.truth("timeshifts", cid, **{"from": "2025-03-20", "to": "2025-03-20"})
    lo = dt.datetime(2025, 3, 20, tzinfo=dt.timezone.utc)
    assert shifts and all(_span(s)[0] < lo + dt.timedelta(days=1) and _span(s)[1] > lo for s in shifts)


def test_same_seed_and_now_give_identical_truth():
    kw = dict(companies=2, appointments_per_company=80, seed=42, now=EMULATOR_NOW)
    a, b = Emulator(**kw), Emulator(**kw)
    assert (a.app_id, a.app_secret, a.company_ids) == (b.app_id, b.app_secret, b.company_ids)
    for stream in STREAMS:
        assert a.truth(stream) == b.truth(stream), stream
    assert Emulator(**dict(kw, seed=43)).truth("appointments") != a.truth("appointments")


def test_truth_rejects_unknown_stream(emu):
    with pytest.raises(ValueError):
        emu.truth("invoices")


def test_truth_returns_deep_copies(emu):
    cid = emu.company_ids[0]
    first = emu.truth("appointments", cid)[0]
    first["resources"][0]["name"] = "changed"
    assert emu.truth("appointments", cid)[0]["resources"][0]["name"] != "changed"
