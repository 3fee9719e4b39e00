"""Which dates are synced for each company, and in which windows TIMIFY is asked for them.

- company_date_range: `start_date`, or the company's own `createdAt` when it is empty, to today +
  `lookahead_days` (UTC dates); `range_starts_at` when `start_date` has a time.
- windows: that range cut into consecutive `from_date`/`to_date` windows, no gap, no overlap.
- CompanyDateRange: the appointments' partitions, one per company and window, in the widest
  window the server accepts (one probe per sync tells 365 days from 31).
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

from airbyte_cdk.sources.types import StreamSlice

from source_timify.auth import TimifyAuthenticator
from source_timify.client import Retries, TimifyClient, unreadable
from source_timify.company_partitions import CompanyPartitions
from source_timify.session import session_of
from source_timify.slices import COMPANY_ID, CREATED_AT, date_range_fields, extra_fields_of, window_partition
from source_timify.timify import as_iso_seconds, base_url, error_text

logger = logging.getLogger("airbyte")

DEFAULT_HISTORY_DAYS = 730  # only for a company record without createdAt
PROBE_ATTEMPTS = 5  # the window-width probe's tries through 429s, 5xx and unreadable 200s
DEFAULT_LOOKAHEAD_DAYS = 365  # `lookahead_days` left out of the config (the spec's default)


def _utc_date(value: Any) -> Optional[date]:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def company_date_range(config: Mapping[str, Any], created_at: Any, today: date) -> Tuple[date, date]:
    """The UTC dates synced for one company: `start_date`, or the company's `createdAt` when it is
    empty (so the range never moves forward with the calendar), to today + `lookahead_days`."""
    start = _utc_date(config.get("start_date")) or _utc_date(created_at)
    if start is None:
        start = today - timedelta(days=DEFAULT_HISTORY_DAYS)
    lookahead = config.get("lookahead_days")
    return start, today + timedelta(days=DEFAULT_LOOKAHEAD_DAYS if lookahead is None else int(lookahead))


def range_starts_at(config: Mapping[str, Any]) -> Optional[str]:
    """The moment the range starts when `start_date` has a time ("2024-01-01T10:00:00Z": that day's
    earlier appointments are left out), else None (the range starts at its first date's midnight)."""
    start_date = config.get("start_date")
    return as_iso_seconds(start_date) if isinstance(start_date, str) and len(start_date) > 10 else None


def windows(start: date, end: date, window_days: int) -> List[Tuple[date, date]]:
    """Consecutive inclusive windows of at most `window_days` days covering start..end, with no gap
    and no overlap (one window for the whole range when window_days is 0)."""
    result = []
    while start <= end:
        window_end = end if window_days <= 0 else min(start + timedelta(days=window_days - 1), end)
        result.append((start, window_end))
        start = window_end + timedelta(days=1)
    return result


@dataclass
class CompanyDateRange(CompanyPartitions):
    """For each company of `companies` (a SubstreamPartitionRouter whose slices carry the
    company's `createdAt`, listed once per sync like every stream's: CompanyPartitions, which also
    answers the request options and the stream state), the company's date range as
    `from_date`/`to_date` windows of at most `window_days` days (0: one partition per company).
    TIMIFY filters appointments by their date in these UTC windows. Each slice also carries the
    whole range (`range_from`, `range_to`) for CompanyCursor (the keys: slices.py).

    With `probe_path` (appointments), the window is the widest TIMIFY accepts: its reference
    allows 365 days, older servers only `fallback_window_days` (31). Before the first window goes
    out, one request (`limit=1`) asks for a `window_days` window; a 400 means the narrower one for
    the rest of the sync. No other request is in flight then, so a server that refuses wide windows
    refuses exactly one request per sync. The probe waits out 429s and 5xx like the streams (a few
    tries); one that still gets no clear answer leaves the sync on the narrow windows, which every
    server accepts.
    """

    window_days: Union[int, str] = 31
    fallback_window_days: Union[int, str] = 31
    probe_path: str = ""
    today: Optional[date] = None  # for tests; the sync's UTC date otherwise

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._window_days = int(self.window_days)
        self._fallback_days = int(self.fallback_window_days)
        self._chosen_days: Optional[int] = None if self.probe_path else self._window_days
        self._warned: set = set()

    def stream_slices(self) -> Iterable[StreamSlice]:
        today = self.today or datetime.now(timezone.utc).date()
        starts_at = range_starts_at(self.config)
        for company in super().stream_slices():
            company_id, created_at = company.partition.get(COMPANY_ID), extra_fields_of(company).get(CREATED_AT)
            if not created_at and not self.config.get("start_date"):
                self._warn_without_created_at(company_id)
            start, end = company_date_range(self.config, created_at, today)
            # `not_before` for records.ChangedSince, the range for incremental.CompanyCursor
            extra = date_range_fields(extra_fields_of(company), start.isoformat(), end.isoformat(), starts_at)
            for from_date, to_date in windows(start, end, self._days_for(company_id, start, end)):
                yield StreamSlice(
                    partition=window_partition(company.partition, from_date.isoformat(), to_date.isoformat()),
                    cursor_slice={},
                    extra_fields=extra,
                )

    def _days_for(self, company_id: Any, start: date, end: date) -> int:
        """The window width: known, or probed with this company's first wide window (a range that
        fits the narrow window needs no probe)."""
        if self._chosen_days is None and (end - start).days + 1 > self._fallback_days:
            self._chosen_days = self._probe(company_id, start, min(end, start + timedelta(days=self._window_days - 1)))
        return self._window_days if self._chosen_days is None else self._chosen_days

    def _probe(self, company_id: Any, from_date: date, to_date: date) -> int:
        session = self.session or session_of(self.config)
        authenticator = TimifyAuthenticator(config=self.config, parameters={}, session=session)
        params = {
            "from_date": from_date.isoformat(),
            "to_date": to_date.isoformat(),
            "timezone": "UTC",
            "page": 1,
            "limit": 1,
        }
        headers = {"company-id": str(company_id), "accept": "application/json"}
        days = (to_date - from_date).days + 1
        # The client's rules, with no retry after no answer (network, a test double without this
        # URL: the narrow windows) and anything raised while sending taken for no answer; a 5xx or
        # a malformed 200 on the last try is still waited after, as it always was.
        retries = Retries(attempts=PROBE_ATTEMPTS, no_answer=lambda error: True, retry_no_answer=False)
        response = (
            TimifyClient(session, authenticator, retries)
            .send("GET", f"{base_url(self.config)}{self.probe_path}", params=params, headers=headers, timeout=60)
            .response
        )
        if response is not None and response.status_code == 200 and not unreadable(response):
            logger.info(
                f"Appointment windows: TIMIFY accepts {days}-day windows on {self.probe_path}; "
                f"appointments are read {self._window_days} days at a time."
            )
            return self._window_days
        if response is not None and response.status_code == 400:
            said = f": {error_text(response)}" if error_text(response) else ""
            logger.info(
                f"Appointment windows: this TIMIFY server takes windows of up to {self._fallback_days} days on "
                f"{self.probe_path}, so appointments are read {self._fallback_days} days at a time (a {days}-day "
                f"window was declined with HTTP 400, as such servers do{said}). Nothing needs to be done."
            )
            return self._fallback_days
        said = "no answer" if response is None else f"HTTP {response.status_code} {error_text(response)}".strip()
        logger.info(
            f"Appointment windows: TIMIFY gave no clear answer to a {days}-day window on {self.probe_path} "
            f"({said}); appointments are read {self._fallback_days} days at a time, which every TIMIFY server accepts."
        )
        return self._fallback_days

    def _warn_without_created_at(self, company_id: Any) -> None:
        if company_id not in self._warned:
            self._warned.add(company_id)
            logger.warning(
                f"TIMIFY sent company {company_id} without createdAt: its appointments are read from "
                f"{DEFAULT_HISTORY_DAYS} days before today. Set `start_date` to keep older history."
            )
