"""Incremental sync per company: what the state remembers and when a company moves on.

TIMIFY cannot filter appointments or customers on `updatedAt`, so every sync lists the whole range
and filters on our side (`records.ChangedSince`); the date ranges and windows it lists are in
date_ranges.py. What makes that lossless over months of syncs lives here:

- CompanyCursor: one cursor per company (the sync's start on TIMIFY's clock) and, per company,
  the date range that was last read completely. A company moves on only when all its partitions
  were read; a company it has never seen is read in full.
- EnterpriseCursor: the same for the enterprise-wide customers (one entry, no companies).
- LegacyGlobalCursorMigration: the state of 0.1.0 (one global cursor) becomes a full re-read.

The state of a stream (docs/timify.md, "Incremental sync"):
    {"companies": {"<company id>": {"updatedAt": "2026-12-02T07:00:00Z",
                                    "from_date": "2024-01-01", "to_date": "2027-12-02"}}}
(`from_date`/`to_date` for appointments only; with `track_cancellations` (appointments) or
`track_deletions` (customers), also `listed_ids`, the compressed ids of every record the company's
last complete read listed: deletion_tracking.py). What the slices
carry for the filter is declared in slices.py.
"""

import logging
import threading
import time
from dataclasses import InitVar, dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Mapping, MutableMapping, Optional, Sequence, Tuple, Union, cast

from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.declarative.migrations.state_migration import StateMigration
from airbyte_cdk.sources.declarative.partition_routers.partition_router import PartitionRouter
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.message import MessageRepository
from airbyte_cdk.sources.streams.concurrent.cursor import Cursor, CursorField
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.types import Config, Record, StreamSlice

from source_timify.appointment_lookup import CancelledAppointments
from source_timify.cancellations import decode_ids
from source_timify.deletion_tracking import LISTED_IDS, ListedIds, listed_only
from source_timify.id_lookup import IdLookup
from source_timify.second_listing import SecondListing
from source_timify.session import TimifySession, session_of
from source_timify.slices import (
    CHANGED_SINCE,
    COMPANY_ID,
    PREVIOUS_FROM_DATE,
    PREVIOUS_TO_DATE,
    CompanyCursorSlice,
    extra_fields_of,
    has_range,
    range_of,
    seen_of,
    window_of,
    with_seen,
)
from source_timify.timify import ISO_SECONDS, iso_seconds

logger = logging.getLogger("airbyte")

# A company's entry in the state (the docstring above); the tracking key: cancellations.LISTED_IDS.
# The state's own words: a slice's window and range are named in slices.py.
ENTRY_FROM_DATE = "from_date"
ENTRY_TO_DATE = "to_date"


def _decodable(encoded: Any) -> bool:
    try:
        decode_ids(encoded)
    except Exception:
        return False
    return isinstance(encoded, str)


def _epoch(text: Any) -> Optional[float]:
    try:
        return datetime.strptime(text, ISO_SECONDS).replace(tzinfo=timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


class CompanyCursor(Cursor):
    """One `updatedAt` cursor per company, and (when the slices carry `range_from`/`range_to`)
    the date range that company was last read over completely.

    - A company without an entry in the previous state is read as on a first sync: every record.
    - Otherwise a slice's `cursor_slice` tells ChangedSince what to keep: records changed since the
      company's cursor minus `lookback_seconds` (`changed_since`), and, for a window that reaches
      outside the previous range, every record dated outside it (`previous_from_date`,
      `previous_to_date`); a window wholly outside the previous range keeps everything.
    - When every partition of a company has been read, its entry becomes the sync's start on
      TIMIFY's clock (the `Date` of the sync's login) and the range just read. A change made while
      the sync ran is at or after that start, so the next sync emits it; the lookback covers changes
      that become visible in TIMIFY's lists a few minutes after their `updatedAt`. A record stamped
      in the future is emitted but never moves the cursor. A failed partition leaves its company's
      entry as it was, and the other companies still move on.
    - With `track_deletions` (customers: a list read whole, `list_path`) or `track_cancellations`
      (appointments: every window of the range), every slice carries a `seen` for
      records.ObserveListed, and a company read completely reports the records TIMIFY deleted
      before its entry moves on: deletion_tracking.ListedIds, confirmed by a second listing of
      `list_path` (second_listing.SecondListing), for appointments by id
      (appointment_lookup.CancelledAppointments, which also emits those moved out of the range as
      updates, through `transformations`, the stream's own); EnterpriseCursor confirms by id,
      id_lookup.IdLookup. A company not read completely (failed, access lost, left the
      enterprise) reports none and keeps its entry as it was.
    """

    def __init__(
        self,
        stream_name: str,
        partition_router: PartitionRouter,
        config: Config,
        stream_state: Optional[Mapping[str, Any]],
        message_repository: MessageRepository,
        connector_state_manager: ConnectorStateManager,
        cursor_field: str = "updatedAt",
        lookback_seconds: Union[int, str] = 300,
        track_cancellations: bool = False,
        session: Optional[TimifySession] = None,
        track_deletions: bool = False,
        list_path: Optional[str] = None,
        transformations: Sequence[RecordTransformation] = (),
    ) -> None:
        self._stream_name = stream_name
        self._partition_router = partition_router
        self._config = config
        self._session = session or session_of(config)
        self._message_repository = message_repository
        self._connector_state_manager = connector_state_manager
        self._cursor_field = CursorField(cursor_field)
        self._lookback = float(lookback_seconds)
        self._previous: Dict[str, Mapping[str, Any]] = dict((stream_state or {}).get("companies") or {})
        self._companies: Dict[str, Mapping[str, Any]] = dict(self._previous)
        self._open: Dict[str, int] = {}
        self._generating: set = set()
        self._ranges: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
        self._lock = threading.Lock()
        self._created = time.time()
        if track_deletions and (track_cancellations or not list_path):
            raise ValueError(
                "track_deletions needs the stream's list path, and is not combined with track_cancellations"
            )
        self._listed: Optional[ListedIds] = None
        if track_cancellations:
            self._listed = self._cancellation_tracking(config, stream_name, message_repository, transformations)
        elif track_deletions:
            self._listed = self._deletion_tracking(config, stream_name, message_repository, str(list_path))

    def _deletion_tracking(
        self, config: Config, stream_name: str, message_repository: MessageRepository, list_path: str
    ) -> ListedIds:
        """A company's list (customers): a deletion is confirmed by a second listing."""
        confirm = listed_only(SecondListing(config, self._session, list_path).still_listed)
        return ListedIds(self._previous, confirm, stream_name, self._session, message_repository.emit_message)

    def _cancellation_tracking(
        self,
        config: Config,
        stream_name: str,
        message_repository: MessageRepository,
        transformations: Sequence[RecordTransformation],
    ) -> ListedIds:
        """A company's appointments over its whole range: a cancellation is confirmed by id."""
        lookup = CancelledAppointments(
            config,
            stream_name,
            self._session,
            range_of=lambda company: self._ranges.get(company, (None, None)),
            transformations=transformations,
            emit=message_repository.emit_message,
        )
        return ListedIds(
            self._previous,
            lookup.confirm,
            stream_name,
            self._session,
            message_repository.emit_message,
            what="appointments",
        )

    @property
    def cursor_field(self) -> CursorField:
        return self._cursor_field

    @property
    def state(self) -> MutableMapping[str, Any]:
        with self._lock:
            return {"companies": {company: dict(entry) for company, entry in self._companies.items()}}

    # ----- slices --------------------------------------------------------------------------
    def stream_slices(self) -> Iterable[StreamSlice]:
        current = None
        for stream_slice in self._partition_router.stream_slices():
            company = self._company_of(stream_slice)
            finished = None
            with self._lock:
                if company != current:
                    if current is not None and self._done_generating(current):
                        finished = current
                    current = company
                    self._generating.add(company)
                    self._open.setdefault(company, 0)
                    self._ranges[company] = range_of(stream_slice)
                self._open[company] += 1
            if finished is not None:
                self._complete(finished)
            yield StreamSlice(
                partition=stream_slice.partition,
                cursor_slice=self._cursor_slice(company, stream_slice),
                extra_fields=self._watched(company, stream_slice),
            )
        if current is not None:
            with self._lock:
                finished = current if self._done_generating(current) else None
            if finished is not None:
                self._complete(finished)

    def _watched(self, company: str, stream_slice: StreamSlice) -> Mapping[str, Any]:
        """The slice's extra fields, with the `seen` the deletion tracking wants for it."""
        extra = extra_fields_of(stream_slice)
        if self._listed is not None:
            return with_seen(extra, self._listed.watch(company))
        return extra

    def _cursor_slice(self, company: str, stream_slice: StreamSlice) -> CompanyCursorSlice:
        previous = self._previous.get(company) or {}
        cursor = _epoch(previous.get(self._cursor_field.cursor_field_key))
        if cursor is None:
            return {}  # a company the previous syncs never completed: every record
        cursor_slice: CompanyCursorSlice = {CHANGED_SINCE: iso_seconds(cursor - self._lookback)}
        if not has_range(stream_slice):
            return cursor_slice
        previous_from, previous_to = previous.get(ENTRY_FROM_DATE), previous.get(ENTRY_TO_DATE)
        from_date, to_date = window_of(stream_slice)
        if not previous_from or not previous_to or to_date < previous_from or from_date > previous_to:
            return {}  # nothing of this window was read before: every record
        if from_date < previous_from or to_date > previous_to:
            cursor_slice.update({PREVIOUS_FROM_DATE: previous_from, PREVIOUS_TO_DATE: previous_to})
        return cursor_slice

    @staticmethod
    def _company_of(stream_slice: StreamSlice) -> str:
        return stream_slice.partition[COMPANY_ID]

    # ----- progress ------------------------------------------------------------------------
    def observe(self, record: Record) -> None:
        pass  # the cursor is the sync's start, not the latest updatedAt seen

    def close_partition(self, partition: Partition) -> None:
        stream_slice = cast(StreamSlice, partition.to_slice())  # every partition of ours has its slice
        company = self._company_of(stream_slice)
        seen = seen_of(stream_slice)
        if self._listed is not None:  # before the count: the company's completion needs it
            self._listed.partition_read(company, seen)
        with self._lock:
            self._open[company] -= 1
            finished = self._open[company] == 0 and company not in self._generating
            if finished:
                del self._open[company]
        if finished:
            self._complete(company)

    def _done_generating(self, company: str) -> bool:
        """Every slice of `company` has been generated; True if all its partitions were read
        already (the caller then completes it). Callers hold the lock."""
        self._generating.discard(company)
        if self._open.get(company) == 0:
            del self._open[company]
            return True
        return False

    def _complete(self, company: str) -> None:
        """Every partition of `company` was read: its entry moves on (and, with
        `track_cancellations` or `track_deletions`, its deleted records are reported first)."""
        entry: Dict[str, Any] = {self._cursor_field.cursor_field_key: iso_seconds(self._sync_start())}
        range_from, range_to = self._ranges.get(company, (None, None))
        if range_from and range_to:
            entry.update({ENTRY_FROM_DATE: range_from, ENTRY_TO_DATE: range_to})
        if self._listed is not None:  # its deletion records go out before the state
            entry.update(self._listed.company_read(company))
        with self._lock:
            self._companies[company] = entry
        self._emit_state()

    def _sync_start(self) -> float:
        """The sync's start on TIMIFY's clock: the `Date` of its first login (this cursor's creation
        on our clock if TIMIFY sent none)."""
        started = self._session.clock.sync_start()
        return self._created if started is None else started

    def _emit_state(self) -> None:
        self._connector_state_manager.update_state_for_stream(self._stream_name, None, self.state)
        self._message_repository.emit_message(
            self._connector_state_manager.create_state_message(self._stream_name, None)
        )

    def ensure_at_least_one_state_emitted(self) -> None:
        self._emit_state()

    def should_be_synced(self, record: Record) -> bool:
        return True


class EnterpriseCursor(CompanyCursor):
    """CompanyCursor for a stream of the enterprise itself (enterprise_customers), read in one
    partition: one entry, the whole state, `{"updatedAt": "2026-12-02T07:00:00Z", "listed_ids":
    "<cancellations.encode_ids>"}` (the start of the last complete read on TIMIFY's clock, and,
    with `track_deletions`, the ids that read listed: deletion_tracking.ListedIds, confirmed by id,
    id_lookup.IdLookup). A state from before the tracking, `{"updatedAt"}` alone, keeps its cursor and
    only starts the tracking; a `listed_ids` that cannot be read is dropped the same way (no
    deletion from it). A state of any other shape reads in full once."""

    ENTERPRISE = "enterprise"

    def __init__(
        self,
        stream_name: str,
        partition_router: PartitionRouter,
        config: Config,
        stream_state: Optional[Mapping[str, Any]],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        entry = dict(stream_state or {})
        usable = set(entry) in ({"updatedAt"}, {"updatedAt", LISTED_IDS}) and _epoch(entry.get("updatedAt")) is not None
        if entry and not usable:
            logger.info(f"The saved state of {stream_name} is not one `updatedAt`: this sync emits every record once.")
        if usable and LISTED_IDS in entry and not _decodable(entry[LISTED_IDS]):
            logger.warning(f"The saved `listed_ids` of {stream_name} cannot be read: this sync starts tracking anew.")
            del entry[LISTED_IDS]
        companies = {"companies": {self.ENTERPRISE: entry}} if usable else {}
        super().__init__(stream_name, partition_router, config, companies, *args, **kwargs)

    def _deletion_tracking(
        self, config: Config, stream_name: str, message_repository: MessageRepository, list_path: str
    ) -> ListedIds:
        """The enterprise's list: a deletion is confirmed by asking TIMIFY by id."""
        return ListedIds(
            self._previous,
            listed_only(IdLookup(config, self._session, list_path).still_listed),
            stream_name,
            self._session,
            message_repository.emit_message,
            key=lambda _enterprise, record_id: {"id": record_id},
            what="enterprise customers",
        )

    def _company_of(self, stream_slice: StreamSlice) -> str:  # type: ignore[override]
        return self.ENTERPRISE

    @property
    def state(self) -> MutableMapping[str, Any]:
        return dict(super().state["companies"].get(self.ENTERPRISE) or {})


@dataclass
class LegacyGlobalCursorMigration(StateMigration):
    """source-timify 0.1.0 kept one `updatedAt` for the whole stream
    (`{"use_global_cursor": true, "state": {"updatedAt": ...}, "lookback_window": ...}`, or a plain
    `{"updatedAt": ...}`). It cannot say which companies and dates it covered, so applying it to
    today's companies and range would hide their older records: the first sync after the upgrade
    reads every company in full once (duplicates, deduplicated on the primary key; nothing lost),
    and per-company state follows."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        pass

    def should_migrate(self, stream_state: Mapping[str, Any]) -> bool:
        return bool(stream_state) and "companies" not in stream_state

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        logger.info(
            "The saved state is from source-timify 0.1.0 (one cursor for all companies): this sync "
            "emits every record in range once, then keeps one cursor per company."
        )
        return {"companies": {}}
