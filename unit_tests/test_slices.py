"""The slice contract (slices.py): its keys named once, the manifest's Jinja naming the same ones,
and the small readers and writers the router, the cursor and the filter share."""

import ast
from pathlib import Path

import yaml
from airbyte_cdk.sources.types import StreamSlice

from source_timify import slices
from source_timify.deletion_tracking import SeenIds

PACKAGE = Path(slices.__file__).parent
MANIFEST = (PACKAGE / "manifest.yaml").read_text()
# Keys that mean nothing but a slice's. `company_id`, `from_date` and `to_date` are also a record
# column, TIMIFY's query parameters and the state's words, so only their slice readers are checked
# (by the modules' tests); these must not be spelled out anywhere else.
SLICE_ONLY_KEYS = {
    slices.CREATED_AT,
    slices.RANGE_FROM,
    slices.RANGE_TO,
    slices.NOT_BEFORE,
    slices.SEEN,
    slices.CHANGED_SINCE,
    slices.PREVIOUS_FROM_DATE,
    slices.PREVIOUS_TO_DATE,
}


def string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value, node.lineno


def test_the_slice_only_keys_are_spelled_out_in_the_contract_module_alone():
    spelled = [
        f"{path.name}:{line} {value!r}"
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name != "slices.py"
        for value, line in string_constants(path)
        if value in SLICE_ONLY_KEYS
    ]
    assert spelled == []


def test_the_typed_dicts_declare_exactly_the_key_constants():
    assert set(slices.CompanyPartition.__annotations__) == {slices.COMPANY_ID, slices.FROM_DATE, slices.TO_DATE}
    assert set(slices.CompanyExtraFields.__annotations__) == {
        slices.CREATED_AT,
        slices.RANGE_FROM,
        slices.RANGE_TO,
        slices.NOT_BEFORE,
        slices.SEEN,
    }
    assert set(slices.CompanyCursorSlice.__annotations__) == {
        slices.CHANGED_SINCE,
        slices.PREVIOUS_FROM_DATE,
        slices.PREVIOUS_TO_DATE,
    }


def test_the_manifest_names_the_keys_the_contract_declares():
    companies_list = yaml.safe_load(MANIFEST)["definitions"]["companies_list"]["parent_stream_configs"][0]
    assert companies_list["partition_field"] == slices.COMPANY_ID
    assert companies_list["extra_fields"] == [[slices.CREATED_AT]]
    for jinja in (
        f"stream_partition.{slices.COMPANY_ID}",
        f"stream_partition.{slices.FROM_DATE}",
        f"stream_partition.{slices.TO_DATE}",
    ):
        assert jinja in MANIFEST
    # `changed_since` is read by records.ChangedSince only: no request asks TIMIFY with it since
    # enterprise customers dropped `updated_since` (their deletion tracking needs the whole list).
    assert f"stream_slice.get('{slices.CHANGED_SINCE}')" not in MANIFEST


def test_a_window_partition_is_its_company_narrowed_to_the_window():
    company = {slices.COMPANY_ID: "c1"}
    assert slices.window_partition(company, "2026-01-01", "2026-01-31") == {
        "company_id": "c1",
        "from_date": "2026-01-01",
        "to_date": "2026-01-31",
    }
    assert company == {"company_id": "c1"}  # the company's own partition is left as it was


def test_the_date_range_rides_with_the_company_fields_and_not_before_only_when_set():
    company = {slices.CREATED_AT: "2025-03-01T10:00:00Z"}
    assert slices.date_range_fields(company, "2025-03-01", "2026-12-31", None) == {
        "createdAt": "2025-03-01T10:00:00Z",
        "range_from": "2025-03-01",
        "range_to": "2026-12-31",
    }
    assert (
        slices.date_range_fields({}, "2025-03-01", "2026-12-31", "2025-03-01T10:00:00Z")["not_before"]
        == "2025-03-01T10:00:00Z"
    )


def test_a_slice_is_read_through_its_parts_and_a_missing_part_reads_empty():
    seen = SeenIds()
    stream_slice = StreamSlice(
        partition={slices.COMPANY_ID: "c1", slices.FROM_DATE: "2026-01-01", slices.TO_DATE: "2026-01-31"},
        cursor_slice={slices.CHANGED_SINCE: "2026-01-02T00:00:00Z"},
        extra_fields=slices.with_seen(slices.date_range_fields({}, "2025-12-01", "2026-03-31", None), seen),
    )
    assert slices.window_of(stream_slice) == ("2026-01-01", "2026-01-31")
    assert slices.range_of(stream_slice) == ("2025-12-01", "2026-03-31") and slices.has_range(stream_slice)
    assert slices.seen_of(stream_slice) is seen
    assert slices.cursor_slice_of(stream_slice) == {"changed_since": "2026-01-02T00:00:00Z"}
    bare = StreamSlice(partition={slices.COMPANY_ID: "c1"}, cursor_slice={})
    assert slices.window_of(bare) == (None, None) and slices.range_of(bare) == (None, None)
    assert not slices.has_range(bare) and slices.seen_of(bare) is None
    assert slices.extra_fields_of(None) == {} and slices.cursor_slice_of(None) == {} and slices.seen_of(None) is None


def test_nothing_to_watch_leaves_the_extra_fields_as_they_are():
    extra = {slices.RANGE_FROM: "2026-01-01"}
    assert slices.with_seen(extra, None) is extra
