"""Which records each company's last complete listing showed, and which of them TIMIFY deleted.

For a list every sync reads whole (each company's customers, the enterprise's customers, and each
company's appointments over the whole synced range), CompanyCursor (incremental.py), with
`track_deletions` or `track_cancellations`, calls one ListedIds at three moments of a company's
read:

- watch: a slice is made; it gets a SeenIds, which records.ObserveListed tells every record
  TIMIFY lists for it, kept by the incremental filter or not (on every pass lists.PageGuard makes
  over a list that changed while it was paged);
- partition_read: a partition was read completely; what it saw is kept for its company;
- company_read: every partition of the company was read (a company whose read failed, that the
  app lost access to or that left the enterprise never gets here, and keeps its entry as it was);
  the ids the previous entry listed and this read did not see are confirmed gone (`confirm`:
  second_listing.SecondListing for customers, id_lookup.IdLookup for enterprise customers,
  appointment_lookup.CancelledAppointments for appointments), the deletion records of those
  confirmed are emitted, and the company's new entry is returned for the cursor's state.

The rule, and why it never reports a record TIMIFY still has (docs/timify.md, "Deleted customers"):
an id is reported only when (1) the previous entry listed it, (2) this sync's complete, unchanged
listing did not show it and (3) a second complete, unchanged listing made after it (one answer for
up to 10,000 records, which nothing can shift) does not show it either, or TIMIFY asked by id no
longer serves it. A previous entry without `listed_ids` (customers' state of 0.4.0, a company
never read completely) only starts the tracking; appointments' `upcoming_ids` of 0.4.0 are read as
`listed_ids` (cancellations.listed_ids_of). A listing that shows none of more than one tracked
record reports nothing either: a company whose every customer vanished at once is more likely a
wrong answer than an erasure (the ids stay tracked, a warning says so).

The tracking entry in the state, beside the cursor's:
    {"listed_ids": "<cancellations.encode_ids>"}
"""

import logging
import threading
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Set

from airbyte_cdk.models import AirbyteMessage

from source_timify.cancellations import LISTED_IDS, decode_ids, deletion_message, encode_ids, listed_ids_of
from source_timify.session import TimifySession
from source_timify.timify import iso_seconds

logger = logging.getLogger("airbyte")

__all__ = ["LISTED_IDS", "Confirmed", "ListedIds", "SeenIds", "listed_only"]


class Confirmed(NamedTuple):
    """What TIMIFY said of the ids a listing no longer showed: those it still `listed` (they stay
    tracked) and those it has `elsewhere`, outside what the list covers (appointments moved out of
    the range: neither deleted nor tracked any more). Every other id asked about is deleted."""

    listed: Set[str]
    elsewhere: Set[str]


# confirm(company, missing ids) -> what TIMIFY says of them, or None when it could not be asked
Confirm = Callable[[str, Set[str]], Optional[Confirmed]]


def listed_only(still_listed: Callable[[str, Set[str]], Optional[Set[str]]]) -> Confirm:
    """A Confirm from a check that only tells which ids are still listed (a second listing, a
    lookup by id of a list without dates): nothing is elsewhere."""

    def confirm(company: str, ids: Set[str]) -> Optional[Confirmed]:
        listed = still_listed(company, ids)
        return None if listed is None else Confirmed(listed, set())

    return confirm


class SeenIds:
    """The ids of every record one partition listed. One partition is read by one thread, so no
    lock."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: Set[str] = set()

    def add(self, record: Mapping[str, Any]) -> None:
        record_id = record.get("id")
        if isinstance(record_id, str):
            self.found.add(record_id)


class ListedIds:
    """The ids each company's listing showed: those its previous entry tracked (`previous`: the
    companies of the stream's previous state) and those this sync saw. Deletion records (made
    with the primary key `key(company, id)`) go to `emit`, before the company's state does.
    Partitions of different companies are read by different threads."""

    def __init__(
        self,
        previous: Mapping[str, Mapping[str, Any]],
        confirm: Confirm,
        stream_name: str,
        session: TimifySession,
        emit: Callable[[AirbyteMessage], None],
        key: Callable[[str, str], Mapping[str, Any]] = lambda company, record_id: {
            "company_id": company,
            "id": record_id,
        },
        what: str = "customers",
    ) -> None:
        self._previous = previous
        self._confirm = confirm
        self._stream_name = stream_name
        self._session = session
        self._emit = emit
        self._key = key
        self._what = what
        self._seen: Dict[str, Set[str]] = {}
        self._lock = threading.Lock()

    def watch(self, company: str) -> SeenIds:
        """What a slice of `company` should be told: every record it lists."""
        return SeenIds()

    def partition_read(self, company: str, seen: Optional[SeenIds]) -> None:
        """A partition of `company` was read completely; `seen` is what it was told."""
        if seen is None:
            return
        with self._lock:
            self._seen.setdefault(company, set()).update(seen.found)

    def company_read(self, company: str) -> Dict[str, str]:
        """Every partition of `company` was read: emits the deletion records of the records TIMIFY
        deleted and returns the company's new tracking entry (the ids it saw, and the tracked ones
        not seen that are not confirmed gone)."""
        with self._lock:
            seen = self._seen.pop(company, set())
        encoded = listed_ids_of(self._previous.get(company) or {}).get(LISTED_IDS)
        if not isinstance(encoded, str):
            return {LISTED_IDS: encode_ids(seen)}  # nothing tracked yet: the tracking starts
        tracked = set(decode_ids(encoded))
        missing = tracked - seen
        if not missing:
            return {LISTED_IDS: encode_ids(seen)}
        if len(missing) == len(tracked) > 1:
            logger.warning(
                f"The listing of company {company} showed none of the {len(tracked)} {self._what} it had: "
                "no deletion is reported for them (it looks like a wrong answer rather than an erasure); "
                "they stay tracked."
            )
            return {LISTED_IDS: encode_ids(seen | missing)}
        confirmed = self._confirm(company, missing)
        if confirmed is None:
            return {LISTED_IDS: encode_ids(seen | missing)}  # not confirmed: asked again next sync
        still_listed = confirmed.listed & missing
        deleted = sorted(missing - still_listed - confirmed.elsewhere)
        if still_listed:
            logger.info(
                f"{len(still_listed)} {self._what} of company {company} were missing from this sync's listing "
                "but TIMIFY still lists them: they stay tracked."
            )
        if deleted:
            logger.info(f"{len(deleted)} {self._what} of company {company} were deleted in TIMIFY.")
            now = iso_seconds(self._session.clock.now())
            for record_id in deleted:
                self._emit(deletion_message(self._stream_name, self._key(company, record_id), now))
        return {LISTED_IDS: encode_ids(seen | still_listed)}
