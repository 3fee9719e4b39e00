"""Which upcoming appointments each company had, sync after sync, and which of them were cancelled.

CompanyCursor (incremental.py), with `track_cancellations`, calls one UpcomingAppointments at
three moments of a company's read:

- watch: a slice is made; a window that reaches the upcoming appointments (or the older ones the
  previous entry tracked) gets a SeenAppointments, which records.ObserveUpcoming tells every
  appointment TIMIFY lists for it, kept by the incremental filter or not;
- partition_read: a partition was read; what it saw is kept for its company;
- company_read: every partition of the company was read; the appointments the previous entry
  tracked and this read did not see are asked of TIMIFY (cancellations.CancelledAppointments),
  the deletion records of those it no longer has are emitted, and the company's new tracking
  entry is returned for the cursor's state.

The tracking entry in the state, beside the cursor's (docs/timify.md, "Cancelled appointments"):
    {"upcoming_from": "2026-11-01", "upcoming_ids": "<cancellations.encode_ids>"}
"""

import threading
from datetime import date, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from airbyte_cdk.models import AirbyteMessage

from source_timify.cancellations import (
    UPCOMING_DAYS_BACK,
    CancelledAppointments,
    SeenAppointments,
    decode_ids,
    encode_ids,
)

# the keys of the tracking entry, beside the cursor's in each company's state
UPCOMING_FROM = "upcoming_from"
UPCOMING_IDS = "upcoming_ids"
NO_END = "9999-12-31"  # a window or range without an end date


class UpcomingAppointments:
    """The upcoming appointments (dated from UPCOMING_DAYS_BACK days before `today` to the end of
    the range) of each company: those its previous entry tracked (`previous`: the companies of the
    stream's previous state) and those this sync saw. Deletion records go to `emit`, before the
    company's state does. Partitions of different companies are read by different threads."""

    def __init__(
        self,
        previous: Mapping[str, Mapping[str, Any]],
        cancellations: CancelledAppointments,
        emit: Callable[[AirbyteMessage], None],
        today: date,
    ) -> None:
        self._previous = previous
        self._cancellations = cancellations
        self._emit = emit
        self.upcoming_from = (today - timedelta(days=UPCOMING_DAYS_BACK)).isoformat()
        self._seen: Dict[str, List[Tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def watch(self, company: str, to_date: Optional[str]) -> Optional[SeenAppointments]:
        """What a window of `company` ending on `to_date` (None: no end) should be told, or None
        for a window wholly before the upcoming appointments and those the previous entry tracked."""
        since = min(self.upcoming_from, self._entry(company).get(UPCOMING_FROM) or self.upcoming_from)
        if (to_date or NO_END) < since:
            return None
        return SeenAppointments(since)

    def partition_read(self, company: str, seen: Optional[SeenAppointments]) -> None:
        """A partition of `company` was read completely; `seen` is what it was told (None: not
        watched)."""
        if seen is None:
            return
        with self._lock:
            self._seen.setdefault(company, []).extend(seen.found)

    def company_read(self, company: str, range_to: str) -> Dict[str, str]:
        """Every partition of `company` was read: emits the deletion records of its cancelled
        appointments and returns its new tracking entry (the upcoming ids it saw, the tracked ones
        still upcoming, and those TIMIFY could not be asked about)."""
        with self._lock:
            seen = self._seen.pop(company, [])
        upcoming_from = self.upcoming_from
        upcoming = {record_id for record_id, day in seen if upcoming_from <= day <= range_to}
        previous = self._entry(company)
        if previous.get(UPCOMING_IDS):
            missing = set(decode_ids(previous[UPCOMING_IDS])) - {record_id for record_id, _ in seen}
            if missing:
                deletions, still_upcoming = self._cancellations.check(company, missing, upcoming_from, range_to)
                for message in deletions:
                    self._emit(message)
                upcoming |= still_upcoming
        return {UPCOMING_FROM: upcoming_from, UPCOMING_IDS: encode_ids(upcoming)}

    def _entry(self, company: str) -> Mapping[str, Any]:
        return self._previous.get(company) or {}
