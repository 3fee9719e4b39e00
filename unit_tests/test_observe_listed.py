"""records.ObserveListed: every appointment TIMIFY lists for a watched slice is told to the slice's
`seen` (kept by the incremental filter or not) before ChangedSince filters, and ChangedSince itself
only filters."""

from airbyte_cdk.sources.types import StreamSlice

from source_timify import SourceTimify
from source_timify.deletion_tracking import SeenIds
from source_timify.records import ChangedSince, ObserveListed
from source_timify.slices import CHANGED_SINCE, COMPANY_ID, SEEN
from unit_tests.conftest import make_config

RECORDS = [
    {"id": "changed", "updatedAt": "2026-03-02T00:00:00Z", "startDate": "2026-03-10T09:00:00Z"},
    {"id": "unchanged", "updatedAt": "2026-01-01T00:00:00Z", "startDate": "2026-03-11T09:00:00Z"},
    {"id": "unchanged-past", "updatedAt": "2026-01-01T00:00:00Z", "startDate": "2026-01-05T09:00:00Z"},
    {"id": "changed-past", "updatedAt": "2026-03-02T00:00:00Z", "startDate": "2026-01-06T09:00:00Z"},
]


def watched_slice(seen=None):
    return StreamSlice(
        partition={COMPANY_ID: "c1"},
        cursor_slice={CHANGED_SINCE: "2026-03-01T00:00:00Z"},
        extra_fields={SEEN: seen} if seen is not None else {},
    )


def observe_then(keep=None) -> ObserveListed:
    return ObserveListed(config={}, parameters={}, keep=keep)


def changed_since() -> ChangedSince:
    return ChangedSince(config={}, parameters={}, date_field="startDate")


def ids(records):
    return [record["id"] for record in records]


def test_every_listed_appointment_is_seen_including_those_the_filter_drops():
    seen = SeenIds()
    kept = ids(observe_then(changed_since()).filter_records(iter(RECORDS), {}, stream_slice=watched_slice(seen)))
    assert kept == ["changed", "changed-past"]
    # every record listed, past or upcoming, kept or not (the whole range is tracked)
    assert seen.found == set(ids(RECORDS))


def test_it_keeps_exactly_what_changed_since_keeps():
    for stream_slice in (watched_slice(SeenIds()), watched_slice()):
        observed = ids(observe_then(changed_since()).filter_records(list(RECORDS), {}, stream_slice=stream_slice))
        assert observed == ids(changed_since().filter_records(list(RECORDS), {}, stream_slice=watched_slice()))


def test_a_slice_without_seen_is_only_filtered():
    assert ids(observe_then(changed_since()).filter_records(RECORDS, {}, stream_slice=watched_slice())) == [
        "changed",
        "changed-past",
    ]
    assert ids(observe_then(changed_since()).filter_records(RECORDS, {}, stream_slice=None)) == ids(RECORDS)


def test_without_keep_every_record_is_kept_and_seen():
    seen = SeenIds()
    assert ids(observe_then().filter_records(RECORDS, {}, stream_slice=watched_slice(seen))) == ids(RECORDS)
    assert seen.found == set(ids(RECORDS))


def test_changed_since_only_filters_and_tells_no_seen():
    seen = SeenIds()
    kept = ids(changed_since().filter_records(RECORDS, {}, stream_slice=watched_slice(seen)))
    assert kept == ["changed", "changed-past"] and seen.found == set()


def test_appointments_customers_and_enterprise_customers_observe_before_they_filter():
    streams = SourceTimify(config=make_config()).resolved_manifest["definitions"]["streams"]
    filters = {
        name: streams[name]["retriever"]["record_selector"]["record_filter"]
        for name in ("appointments", "customers", "enterprise_customers")
    }
    appointments = filters.pop("appointments")
    assert appointments["class_name"] == "source_timify.records.ObserveListed"
    assert appointments["keep"]["class_name"] == "source_timify.records.ChangedSince"
    assert appointments["keep"]["date_field"] == "startDate"
    # Customers and (for their deletion tracking, issue 21) enterprise customers: every listed one
    # is observed, then ChangedSince keeps what changed.
    for name in ("customers", "enterprise_customers"):
        listed = filters.pop(name)
        assert listed["class_name"] == "source_timify.records.ObserveListed"
        assert listed["keep"]["class_name"] == "source_timify.records.ChangedSince"
        assert not listed["keep"].get("date_field")
    assert not filters
