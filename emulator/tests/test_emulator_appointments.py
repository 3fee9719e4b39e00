"""Contract section 6: appointment windows (inclusive, time-zone aware, at most 31 days), filters, single GET."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from emulator_test_support import EMULATOR_NOW

DAY = dt.timedelta(days=1)


def _local_date(rec, tz):
    start = dt.datetime.fromisoformat(rec["startDate"].replace("Z", "+00:00"))
    return start.astimezone(tz).date()


def _windows(first, last, days=31):
    while first <= last:
        to = min(first + (days - 1) * DAY, last)
        yield first, to
        first = to + DAY


def test_window_of_31_days_inclusive_is_allowed(api, emu):
    r = api.get("/v1/appointments", emu.company_ids[0], from_date="2024-01-01", to_date="2024-01-31")
    assert r.status_code == 200


def test_window_of_32_days_is_400(api, emu):
    r = api.get("/v1/appointments", emu.company_ids[0], from_date="2024-01-01", to_date="2024-02-01")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BAD_REQUEST" and "31" in r.json()["error"]["message"]


def test_max_window_days_knob_changes_the_limit(api, emu):
    emu.faults.max_window_days = 7
    cid = emu.company_ids[0]
    assert api.get("/v1/appointments", cid, from_date="2024-01-01", to_date="2024-01-07").status_code == 200
    assert api.get("/v1/appointments", cid, from_date="2024-01-01", to_date="2024-01-08").status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"from_date": "2024-01-01"},
        {"to_date": "2024-01-01"},
        {"from_date": "2024-01-10", "to_date": "2024-01-09"},
        {"from_date": "2024/01/01", "to_date": "2024-01-02"},
        {"from_date": "2024-02-30", "to_date": "2024-03-01"},
        {"from_date": "2024-01-01", "to_date": "2024-01-02", "timezone": "Mars/Olympus"},
    ],
)
def test_missing_reversed_or_malformed_window_or_unknown_zone_is_400(api, emu, params):
    r = api.get("/v1/appointments", emu.company_ids[0], **params)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("zone", ["UTC", "company"])
def test_windows_cover_every_appointment_once_by_local_date_in_the_requested_zone(api, emu, zone):
    for company in emu.truth("companies"):
        cid = company["id"]
        tz = ZoneInfo("UTC" if zone == "UTC" else company["timezone"])
        params = {"timezone": "UTC"} if zone == "UTC" else {}
        truth = emu.truth("appointments", cid)
        first = min(_local_date(a, tz) for a in truth)
        last = max(_local_date(a, tz) for a in truth)
        seen = []
        for frm, to in _windows(first, last):
            got = api.pages("/v1/appointments", cid, limit=200, from_date=str(frm), to_date=str(to), **params)
            assert all(frm <= _local_date(a, tz) <= to for a in got)
            seen += got
        assert sorted(a["id"] for a in seen) == sorted(a["id"] for a in truth)
        assert len(seen) == len(truth)


def test_from_time_and_to_time_are_accepted_and_ignored(api, emu):
    cid = emu.company_ids[0]
    window = {"from_date": "2024-03-01", "to_date": "2024-03-31", "timezone": "UTC", "limit": 10000}
    plain = api.get("/v1/appointments", cid, **window).json()
    timed = api.get("/v1/appointments", cid, from_time="10:00", to_time="11:00", **window)
    assert timed.status_code == 200 and timed.json() == plain and plain["data"]
    assert (
        api.get("/v1/appointments", cid, from_time="10:00", to_time="11:00").status_code == 400
    )  # dates still required


def test_appointments_are_ordered_by_start_then_id(api, emu):
    cid = emu.company_ids[0]
    got = api.pages("/v1/appointments", cid, limit=7, from_date="2025-03-01", to_date="2025-03-31", timezone="UTC")
    assert [(a["startDate"], a["id"]) for a in got] == sorted((a["startDate"], a["id"]) for a in got)
    assert got == emu.truth("appointments", cid, from_date="2025-03-01", to_date="2025-03-31")


def test_utc_day_edge_appointment_moves_day_with_the_zone(api, emu):
    berlin = emu.company_ids[0]
    assert emu.truth("companies", berlin)[0]["timezone"] == "Europe/Berlin"
    late = [a for a in emu.truth("appointments", berlin) if a["startDate"].endswith("T23:59:59Z")]
    assert late, "expected generated appointments at 23:59:59Z"
    rec = late[0]
    day = dt.date.fromisoformat(rec["startDate"][:10])
    ids = lambda **p: {a["id"] for a in api.get("/v1/appointments", berlin, **p).json()["data"]}  # noqa: E731
    assert rec["id"] in ids(from_date=str(day), to_date=str(day), timezone="UTC")
    assert rec["id"] not in ids(from_date=str(day), to_date=str(day), timezone="Europe/Berlin")
    assert rec["id"] not in ids(from_date=str(day), to_date=str(day))  # company zone by default
    assert rec["id"] in ids(from_date=str(day + DAY), to_date=str(day + DAY))


def test_utc_midnight_appointments_exist_on_window_edges(emu):
    starts = [a["startDate"] for a in emu.truth("appointments")]
    assert any(s.endswith("T00:00:00Z") for s in starts)
    assert any(s.endswith("T23:59:59Z") for s in starts)


def test_dst_change_days_hold_appointments_found_by_local_date(api, emu):
    berlin = emu.company_ids[0]
    tz = ZoneInfo("Europe/Berlin")
    dst_days = [dt.date(2024, 3, 31), dt.date(2024, 10, 27), dt.date(2025, 3, 30)]
    truth = emu.truth("appointments", berlin)
    for day in dst_days:
        expected = [a["id"] for a in truth if _local_date(a, tz) == day]
        assert expected, "no appointment on DST day %s" % day
        got = api.get("/v1/appointments", berlin, from_date=str(day), to_date=str(day)).json()["data"]
        assert [a["id"] for a in got] == expected


def test_ids_filter_needs_no_window_and_stays_in_the_company(api, emu):
    a, b = emu.company_ids[:2]
    mine = emu.truth("appointments", a)[5:8]
    other = emu.truth("appointments", b)[0]
    ids = ",".join([mine[2]["id"], mine[0]["id"], other["id"], "ffffffffffffffffffffffff"])
    body = api.get("/v1/appointments", a, ids=ids).json()
    assert body["data"] == [mine[0], mine[2]] and body["total"] == 2


def test_ids_filter_combined_with_window(api, emu):
    cid = emu.company_ids[0]
    recs = emu.truth("appointments", cid)
    rec = recs[len(recs) // 2]
    day = rec["startDate"][:10]
    ids = "%s,%s" % (rec["id"], recs[0]["id"])
    body = api.get("/v1/appointments", cid, ids=ids, from_date=day, to_date=day, timezone="UTC").json()
    assert [a["id"] for a in body["data"]] == [rec["id"]]


def test_customer_id_filter(api, emu):
    cid = emu.company_ids[0]
    truth = emu.truth("appointments", cid, from_date="2025-01-01", to_date="2025-01-31")
    customer = next(a["customers"][0]["id"] for a in truth if a["customers"])
    expected = [a for a in truth if customer in [c["id"] for c in a["customers"]]]
    body = api.get(
        "/v1/appointments", cid, from_date="2025-01-01", to_date="2025-01-31", timezone="UTC", customer_id=customer
    ).json()
    assert body["data"] == expected and body["total"] == len(expected)


def test_single_appointment_get(api, emu):
    a, b = emu.company_ids[:2]
    rec = emu.truth("appointments", a)[3]
    r = api.get("/v1/appointments/" + rec["id"], a)
    assert r.status_code == 200 and r.json() == {"data": rec, "status": 1}
    assert api.get("/v1/appointments/" + rec["id"], b).status_code == 404
    assert api.get("/v1/appointments/ffffffffffffffffffffffff", a).json()["status"] == 0


def test_generated_appointments_are_shaped_like_the_samples(emu):
    now = EMULATOR_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    recs = emu.truth("appointments")
    keys = set(recs[0])
    for rec in recs:
        assert set(rec) == keys
        assert rec["createdAt"] <= rec["updatedAt"] <= now
        assert rec["createdAt"] <= rec["startDate"] or rec["createdAt"] <= now
        updated = dt.datetime.fromisoformat(rec["updatedAt"].replace("Z", "+00:00"))
        assert rec["timestamp"] == str(int(updated.timestamp()) * 1000)
        assert rec["date"] == rec["startDate"][:10] + "Z"
        assert rec["resources"][0]["category"]["id"]
        assert rec["bookings"][0]["startDate"] == rec["startDate"]
        assert rec["updatedBy"] is None if rec["updatedAt"] == rec["createdAt"] else rec["updatedBy"]
    assert any(r["recurring"] for r in recs) and any(r["chainedEvents"] for r in recs)
    assert any(r["customers"] for r in recs)
    starts = sorted(r["startDate"] for r in recs)
    assert starts[0] < "2023-04-01" and starts[-1] > "2026-02-01"


def test_chained_events_reference_real_appointments(emu):
    for _cid, recs in emu.truth_by_company("appointments").items():
        by_id = {r["id"]: r for r in recs}
        for rec in recs:
            for ev in rec["chainedEvents"]:
                assert by_id[ev["id"]]["chainId"] == rec["chainId"]
                assert by_id[ev["id"]]["startDate"] == ev["startDate"]
