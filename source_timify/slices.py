"""The slice contract: what the parts of a company-scoped stream put in a StreamSlice and read from
it, declared once. Every key below is named here only; the components import the constants.

    partition     (CompanyPartitions, CompanyDateRange)  company_id; from_date, to_date (a window)
    extra_fields  createdAt (the companies list: manifest `companies_list`), range_from, range_to,
                  not_before (CompanyDateRange), seen (CompanyCursor, with `track_cancellations`
                  or `track_deletions`)
    cursor_slice  (CompanyCursor)  changed_since; previous_from_date, previous_to_date

Who reads them: CompanyDateRange reads createdAt; CompanyCursor reads company_id, the window and
range_from/range_to; ChangedSince (records.py) reads the cursor slice and not_before;
ObserveListed (records.py) hands every listed record to `seen`, which CompanyCursor then gives
to its ListedIds (deletion_tracking.py);
AddCompanyId and the progress lines read company_id.

The manifest names some of these keys in its own words, which this module cannot import:
`partition_field: company_id` and `extra_fields: [["createdAt"]]` of `companies_list`,
`stream_partition.company_id`, `stream_partition.from_date`/`to_date` and
`stream_slice.get('changed_since')` in its Jinja (unit_tests/test_slices.py checks that they are
these). The request parameters of the same names (`from_date`, `to_date` sent to TIMIFY) and the
state's `from_date`/`to_date` are TIMIFY's and the state's words, not slice keys.
"""

from __future__ import annotations

from typing import Any, Final, Mapping, Optional, Protocol, Tuple, TypedDict, cast

from airbyte_cdk.sources.types import StreamSlice

# partition
COMPANY_ID: Final = "company_id"
FROM_DATE: Final = "from_date"
TO_DATE: Final = "to_date"
# extra_fields
CREATED_AT: Final = "createdAt"
RANGE_FROM: Final = "range_from"
RANGE_TO: Final = "range_to"
NOT_BEFORE: Final = "not_before"
SEEN: Final = "seen"
# cursor_slice
CHANGED_SINCE: Final = "changed_since"
PREVIOUS_FROM_DATE: Final = "previous_from_date"
PREVIOUS_TO_DATE: Final = "previous_to_date"


class Seen(Protocol):
    """What a watched slice carries under `seen`: told every record TIMIFY listed for it
    (deletion_tracking.SeenIds)."""

    def add(self, record: Mapping[str, Any]) -> None: ...


class CompanyPartition(TypedDict, total=False):
    """One company (`company_id`, TIMIFY's `company-id` header) and, for a windowed stream, one
    window of its range (`from_date`/`to_date`, inclusive UTC dates, TIMIFY's query)."""

    company_id: str
    from_date: str
    to_date: str


class CompanyExtraFields(TypedDict, total=False):
    """What rides along with a partition without being sent to TIMIFY."""

    createdAt: str  # the company's creation (only its range's start needs it)
    range_from: str  # the company's whole date range, every window alike (YYYY-MM-DD)
    range_to: str
    not_before: str  # `start_date` with a time: records dated earlier are left out
    seen: Seen  # told every record read (track_cancellations, track_deletions)


class CompanyCursorSlice(TypedDict, total=False):
    """What ChangedSince keeps (empty: every record): those changed at or after `changed_since`,
    and, with the previous range, those dated outside it."""

    changed_since: str
    previous_from_date: str
    previous_to_date: str


# ----- reading a slice -------------------------------------------------------------------------


def extra_fields_of(stream_slice: Optional[StreamSlice]) -> Mapping[str, Any]:
    """The slice's extra fields ({} without a slice or extra fields)."""
    return (stream_slice.extra_fields if stream_slice is not None else None) or {}


def cursor_slice_of(stream_slice: Optional[StreamSlice]) -> Mapping[str, Any]:
    """The slice's cursor slice ({} without a slice or cursor slice)."""
    return (stream_slice.cursor_slice if stream_slice is not None else None) or {}


def window_of(stream_slice: StreamSlice) -> Tuple[Optional[str], Optional[str]]:
    """The partition's window (`from_date`, `to_date`), None for a stream without windows."""
    return stream_slice.partition.get(FROM_DATE), stream_slice.partition.get(TO_DATE)


def range_of(stream_slice: StreamSlice) -> Tuple[Optional[str], Optional[str]]:
    """The company's whole date range (`range_from`, `range_to`), None without a date range."""
    extra = extra_fields_of(stream_slice)
    return extra.get(RANGE_FROM), extra.get(RANGE_TO)


def has_range(stream_slice: StreamSlice) -> bool:
    """Whether the slice comes from a date range (CompanyDateRange), with or without windows."""
    return RANGE_FROM in extra_fields_of(stream_slice)


def seen_of(stream_slice: Optional[StreamSlice]) -> Optional[Any]:
    """The `seen` of a slice whose records are watched (a Seen: the cursor's tracker made it, and
    knows its type), else None."""
    return extra_fields_of(stream_slice).get(SEEN)


# ----- writing one -----------------------------------------------------------------------------


def window_partition(company: Mapping[str, Any], from_date: str, to_date: str) -> CompanyPartition:
    """A company's partition narrowed to one window."""
    return cast(CompanyPartition, {**company, FROM_DATE: from_date, TO_DATE: to_date})


def date_range_fields(
    company: Mapping[str, Any], range_from: str, range_to: str, not_before: Optional[str]
) -> CompanyExtraFields:
    """A company's extra fields plus its whole date range (and `not_before`, when set)."""
    extra = cast(CompanyExtraFields, {**company, RANGE_FROM: range_from, RANGE_TO: range_to})
    if not_before:
        extra[NOT_BEFORE] = not_before
    return extra


def with_seen(extra: Mapping[str, Any], seen: Optional[Seen]) -> Mapping[str, Any]:
    """The extra fields carrying `seen` (unchanged when there is nothing to watch)."""
    return extra if seen is None else {**extra, SEEN: seen}
