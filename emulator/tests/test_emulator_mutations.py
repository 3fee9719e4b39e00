"""Change tracking: create/update/delete bump updatedAt/timestamp to the emulator clock; the clock."""

import datetime as dt

from emulator_test_support import EMULATOR_NOW, TimifyHttp


def _epoch(text):
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def test_clock_starts_at_now_and_can_be_set_and_advanced(fresh_emu):
    assert abs((fresh_emu.now() - EMULATOR_NOW).total_seconds()) < 5
    assert fresh_emu.now().tzinfo is not None
    fresh_emu.set_clock(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    fresh_emu.advance(3600)
    assert (
        dt.datetime(2030, 1, 1, 1, tzinfo=dt.timezone.utc)
        <= fresh_emu.now()
        < dt.datetime(2030, 1, 1, 1, 0, 5, tzinfo=dt.timezone.utc)
    )


def test_update_bumps_updated_at_and_timestamp_without_moving_the_record(fresh_emu):
    cid = fresh_emu.company_ids[0]
    api = TimifyHttp(fresh_emu)
    rec = fresh_emu.truth("appointments", cid)[10]
    day = rec["startDate"][:10]
    before = api.get("/v1/appointments", cid, from_date=day, to_date=day, timezone="UTC").json()["data"]
    fresh_emu.set_clock(dt.datetime(2025, 6, 1, 8, 30, 15, tzinfo=dt.timezone.utc))
    updated = fresh_emu.update_appointment(cid, rec["id"])  # a touch
    api = TimifyHttp(fresh_emu)  # the clock jump expired the old token
    assert updated["updatedAt"] == "2025-06-01T08:30:15Z"
    assert updated["timestamp"] == str(_epoch("2025-06-01T08:30:15Z") * 1000)
    assert updated["createdAt"] == rec["createdAt"] and updated["startDate"] == rec["startDate"]
    after = api.get("/v1/appointments", cid, from_date=day, to_date=day, timezone="UTC").json()["data"]
    assert [a["id"] for a in after] == [a["id"] for a in before]
    assert next(a for a in after if a["id"] == rec["id"]) == updated
    assert api.get("/v1/appointments/" + rec["id"], cid).json()["data"] == updated


def test_update_with_fields_and_a_new_start_moves_to_the_new_date(fresh_emu):
    cid = fresh_emu.company_ids[0]
    rec = fresh_emu.truth("appointments", cid)[0]
    new_start = dt.datetime(2025, 4, 2, 9, 0, tzinfo=dt.timezone.utc)
    updated = fresh_emu.update_appointment(cid, rec["id"], startDate=new_start, notes="moved")
    assert updated["startDate"] == "2025-04-02T09:00:00Z" and updated["date"] == "2025-04-02Z"
    assert updated["notes"] == "moved"
    assert rec["id"] in [
        a["id"] for a in fresh_emu.truth("appointments", cid, from_date="2025-04-02", to_date="2025-04-02")
    ]


def test_created_appointment_is_served_with_created_equal_updated_equal_clock(fresh_emu):
    cid = fresh_emu.company_ids[1]
    api = TimifyHttp(fresh_emu)
    start = dt.datetime(2025, 5, 5, 10, 0, tzinfo=dt.timezone.utc)
    rec = fresh_emu.create_appointment(cid, start=start, notes="new")
    now = fresh_emu.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rec["createdAt"] == rec["updatedAt"] <= now and rec["startDate"] == "2025-05-05T10:00:00Z"
    assert rec["timestamp"] == str(_epoch(rec["updatedAt"]) * 1000) and rec["notes"] == "new"
    got = api.get("/v1/appointments", cid, from_date="2025-05-05", to_date="2025-05-05", timezone="UTC").json()["data"]
    assert rec in got
    assert len(fresh_emu.truth("appointments", cid)) == 61


def test_deleted_appointment_disappears(fresh_emu):
    cid = fresh_emu.company_ids[0]
    api = TimifyHttp(fresh_emu)
    rec = fresh_emu.truth("appointments", cid)[4]
    fresh_emu.delete_appointment(cid, rec["id"])
    assert rec["id"] not in [a["id"] for a in fresh_emu.truth("appointments", cid)]
    assert api.get("/v1/appointments/" + rec["id"], cid).status_code == 404


def test_customer_create_update_delete(fresh_emu):
    cid = fresh_emu.company_ids[0]
    api = TimifyHttp(fresh_emu)
    created = fresh_emu.create_customer(cid, firstName="Ada")
    assert created["firstName"] == "Ada" and created["createdAt"] == created["updatedAt"]
    assert api.pages("/v1/customers", cid, limit=7)[-1] == created  # newest createdAt sorts last
    fresh_emu.advance(120)
    updated = fresh_emu.update_customer(cid, created["id"], lastName="Lovelace")
    assert updated["updatedAt"] > created["updatedAt"] and updated["ts"] == _epoch(updated["updatedAt"])
    assert updated["lastName"] == "Lovelace"
    old = fresh_emu.truth("customers", cid)[0]
    fresh_emu.update_customer(cid, old["id"])
    assert fresh_emu.truth("customers", cid)[0]["id"] == old["id"]  # updates never reorder
    fresh_emu.delete_customer(cid, created["id"])
    assert created["id"] not in [c["id"] for c in api.pages("/v1/customers", cid, limit=50)]


def test_mutating_unknown_ids_raises_key_error(fresh_emu):
    cid = fresh_emu.company_ids[0]
    for call in (lambda: fresh_emu.update_appointment(cid, "f" * 24), lambda: fresh_emu.delete_customer(cid, "f" * 24)):
        try:
            call()
        except KeyError:
            continue
        raise AssertionError("expected KeyError")


def test_date_header_follows_the_emulator_clock(fresh_emu):
    import email.utils

    fresh_emu.set_clock(dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc))
    response = TimifyHttp(fresh_emu).login()
    served = email.utils.parsedate_to_datetime(response.headers["Date"])
    assert (
        dt.timedelta(0) <= served - dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc) < dt.timedelta(seconds=5)
    )


def test_update_can_stamp_an_explicit_updated_at(fresh_emu):
    cid = fresh_emu.company_ids[0]
    appointment = fresh_emu.truth("appointments", cid)[3]
    back_dated = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    updated = fresh_emu.update_appointment(cid, appointment["id"], updated_at=back_dated, notes="late")
    assert updated["updatedAt"] == "2024-01-02T03:04:05Z" and updated["timestamp"] == str(
        _epoch("2024-01-02T03:04:05Z") * 1000
    )
    customer = fresh_emu.truth("customers", cid)[0]
    future = fresh_emu.update_customer(cid, customer["id"], updated_at=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc))
    assert future["updatedAt"] == "2099-01-01T00:00:00Z" and future["ts"] == _epoch("2099-01-01T00:00:00Z")


def test_a_company_added_later_brings_a_history_changed_long_ago(fresh_emu):
    api = TimifyHttp(fresh_emu)
    before = [c["id"] for c in api.pages("/v1/companies", enterprise_id=fresh_emu.enterprise_id)]
    new_id = fresh_emu.add_company()
    after = [c["id"] for c in api.pages("/v1/companies", enterprise_id=fresh_emu.enterprise_id)]
    assert after == before + [new_id] and fresh_emu.company_ids == after
    appointments = fresh_emu.truth("appointments", new_id)
    customers = fresh_emu.truth("customers", new_id)
    assert len(appointments) == 60 and customers
    now = fresh_emu.now()
    assert all(_epoch(r["updatedAt"]) <= now.timestamp() for r in appointments + customers)
    day = appointments[0]["startDate"][:10]
    served = api.get("/v1/appointments", new_id, from_date=day, to_date=day, timezone="UTC").json()["data"]
    assert appointments[0]["id"] in [a["id"] for a in served]


def test_a_data_request_hook_can_change_data_between_two_pages(fresh_emu):
    cid = fresh_emu.company_ids[0]
    api = TimifyHttp(fresh_emu)
    for hour in range(8, 14):
        fresh_emu.create_appointment(cid, start=dt.datetime(2025, 5, 5, hour, tzinfo=dt.timezone.utc))
    params = {"from_date": "2025-05-05", "to_date": "2025-05-05", "timezone": "UTC"}
    full = api.pages("/v1/appointments", cid, limit=1000, **params)
    assert len(full) >= 6
    seen = []

    def delete_first_after_page_one(request):
        seen.append(request)
        if request["path"] == "/v1/appointments" and request["query"].get("page") == "2":
            fresh_emu.delete_appointment(cid, full[0]["id"])

    fresh_emu.on_data_request(delete_first_after_page_one)
    page1 = api.get("/v1/appointments", cid, page=1, limit=2, **params).json()
    page2 = api.get("/v1/appointments", cid, page=2, limit=2, **params).json()
    fresh_emu.clear_hooks()
    assert [a["id"] for a in page1["data"]] == [a["id"] for a in full[:2]]
    # The list shifted left by one between the two pages: page 2 starts at the fourth record,
    # and the count that every page carries says so.
    assert [a["id"] for a in page2["data"]] == [a["id"] for a in full[3:5]]
    assert page1["meta"]["totalItems"] == len(full) and page2["meta"]["totalItems"] == len(full) - 1
    assert [r["company_id"] for r in seen] == [cid, cid] and seen[1]["n"] == seen[0]["n"] + 1


def test_a_company_that_leaves_is_unlisted_and_refused_and_comes_back_as_it_was(fresh_emu):
    leaving, staying = fresh_emu.company_ids
    api = TimifyHttp(fresh_emu)
    customers = api.pages("/v1/customers", leaving, limit=50)
    fresh_emu.remove_company(leaving)
    assert fresh_emu.company_ids == [staying]
    assert [c["id"] for c in api.pages("/v1/companies", None, limit=50)] == [staying]
    assert api.get("/v1/customers", leaving, page=1, limit=50).status_code == 403
    fresh_emu.restore_company(leaving)
    assert set(fresh_emu.company_ids) == {leaving, staying}
    assert api.pages("/v1/customers", leaving, limit=50) == customers
