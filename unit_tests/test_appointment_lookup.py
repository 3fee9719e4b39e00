"""appointment_lookup.CancelledAppointments: what TIMIFY's answer by id says of each missing
appointment (cancelled, moved within the range, moved out of it), and the tracking of a whole
range through deletion_tracking.ListedIds (the state of 0.4.0 included)."""

from typing import List

import requests_mock
from airbyte_cdk.models import AirbyteMessage

from source_timify.appointment_lookup import CancelledAppointments
from source_timify.cancellations import LISTED_IDS, LOOKUP_BATCH, decode_ids, encode_ids, listed_ids_of
from source_timify.deletion_tracking import Confirmed, ListedIds, SeenIds
from source_timify.records import AddCompanyId, MarkLive
from source_timify.session import TimifySession
from unit_tests.conftest import COMPANY_A, days_from_today, make_config, with_session
from unit_tests.timify_responses import appointment, error, lookups, object_ids, register_login, register_lookup

RANGE = (days_from_today(-300), days_from_today(30))


def lookup(emitted: List[AirbyteMessage], session: TimifySession) -> CancelledAppointments:
    config = with_session(make_config(), session)
    transformations = [AddCompanyId(), MarkLive()]
    return CancelledAppointments(
        config, "appointments", session, lambda company: RANGE, transformations, emitted.append
    )


def dated(n: int, days: int) -> dict:
    return appointment(COMPANY_A, n, days_from_today(days) + "T10:00:00Z")


def test_timify_s_answer_tells_cancelled_moved_within_and_moved_out_apart():
    session, emitted = TimifySession(), []
    within, out, cancelled = dated(1, -200), dated(2, 90), dated(3, -60)
    with requests_mock.Mocker() as api:
        register_login(api)
        register_lookup(api, COMPANY_A, found=[within, out])
        confirmed = lookup(emitted, session).confirm(COMPANY_A, {within["id"], out["id"], cancelled["id"]})
        asked = lookups(api)
    assert confirmed == Confirmed({within["id"]}, {out["id"]})
    assert len(asked) == 1 and "from_date" not in asked[0].qs
    # the one moved out is emitted as the stream emits it, through the transformations given
    (update,) = [message.record.data for message in emitted]
    assert update == dict(out, company_id=COMPANY_A, _ab_cdc_deleted_at=None)


def test_ids_are_asked_a_batch_at_a_time_and_a_failed_batch_stays_tracked():
    session, emitted = TimifySession(), []
    ids = set(object_ids(LOOKUP_BATCH + 5))
    with requests_mock.Mocker() as api:
        register_login(api)
        first = sorted(ids)[:LOOKUP_BATCH]
        register_lookup(api, COMPANY_A, status_code=500, json=error("INTERNAL", "down"))
        register_lookup(api, COMPANY_A, found=[], ids=sorted(ids)[LOOKUP_BATCH:])
        confirmed = lookup(emitted, session).confirm(COMPANY_A, ids)
    # the failed batch is not confirmed gone (it stays tracked); the answered one was cancelled
    assert confirmed is not None and confirmed.listed == set(first) and not confirmed.elsewhere
    assert not emitted


def test_a_lookup_that_cannot_be_answered_confirms_nothing():
    session, emitted = TimifySession(), []
    with requests_mock.Mocker() as api:
        register_login(api)
        register_lookup(api, COMPANY_A, status_code=500, json=error("INTERNAL", "down"))
        assert lookup(emitted, session).confirm(COMPANY_A, {dated(1, 3)["id"]}) is None


def tracker(previous, confirm):
    emitted: List[AirbyteMessage] = []
    session = TimifySession()
    return ListedIds(previous, confirm, "appointments", session, emitted.append, what="appointments"), emitted


def test_moved_out_ids_are_neither_deleted_nor_tracked_any_more():
    kept, moved, cancelled = object_ids(3)
    subject, emitted = tracker(
        {COMPANY_A: {LISTED_IDS: encode_ids([kept, moved, cancelled])}},
        lambda company, missing: Confirmed(set(), {moved}),
    )
    seen = SeenIds()
    seen.add({"id": kept})
    subject.partition_read(COMPANY_A, seen)
    entry = subject.company_read(COMPANY_A)
    assert [message.record.data["id"] for message in emitted] == [cancelled]
    assert decode_ids(entry[LISTED_IDS]) == [kept]


def test_the_upcoming_ids_of_a_0_4_0_state_are_the_tracked_ids():
    old = {"updatedAt": "2026-11-01T00:00:00Z", "upcoming_from": "2026-10-01", "upcoming_ids": encode_ids(["a"])}
    assert listed_ids_of(old) == {"updatedAt": "2026-11-01T00:00:00Z", LISTED_IDS: old["upcoming_ids"]}
    new = {"updatedAt": "2026-11-01T00:00:00Z", LISTED_IDS: encode_ids(["b"])}
    assert listed_ids_of(new) is new and listed_ids_of({}) == {}


def test_after_the_upgrade_a_cancellation_is_asked_about_and_a_listed_one_is_not():
    listed, cancelled = object_ids(2)
    asked = []

    def confirm(company, missing):
        asked.append(set(missing))
        return Confirmed(set(), set())

    previous = {COMPANY_A: {"upcoming_from": "2026-10-01", "upcoming_ids": encode_ids([listed, cancelled])}}
    subject, emitted = tracker(previous, confirm)
    seen = SeenIds()
    seen.add({"id": listed})
    subject.partition_read(COMPANY_A, seen)
    entry = subject.company_read(COMPANY_A)
    assert asked == [{cancelled}] and [message.record.data["id"] for message in emitted] == [cancelled]
    assert set(entry) == {LISTED_IDS} and decode_ids(entry[LISTED_IDS]) == [listed]
