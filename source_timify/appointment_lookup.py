"""The lookup by id that confirms a cancelled appointment (`GET /v1/appointments?ids=a,b`, with the
company's `company-id` and no dates: the contract's [known] filter).

deletion_tracking.ListedIds calls `CancelledAppointments.confirm` with the tracked appointments of
one company that its complete read of the whole range no longer listed (only then: a sync without
cancellations sends no request more). They are asked LOOKUP_BATCH at a time, `page=1` and `limit`
the batch's size, through client.TimifyClient. What TIMIFY answers decides each one:

- not served: it was cancelled (deleted), and gets a deletion record;
- served, dated inside the company's range: it moved within the range while the sync ran (the next
  sync emits it, its `updatedAt` being after this sync's start); it stays tracked;
- served, dated outside the range: it was moved out. It is not deleted: it is emitted as an update
  (the record as TIMIFY serves it, through the stream's own transformations, so that it is the
  record the stream itself would emit) and no longer tracked.

A batch TIMIFY could not be asked about, or whose answer serves an appointment not asked for (a
server that ignores `ids`), confirms nothing: its ids stay tracked and the next sync asks again.
"""

import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from airbyte_cdk.models import AirbyteMessage
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.types import StreamSlice

from source_timify.auth import TimifyAuthenticator
from source_timify.cancellations import LOOKUP_ATTEMPTS, LOOKUP_BATCH, record_message
from source_timify.client import Retries, TimifyClient
from source_timify.deletion_tracking import Confirmed
from source_timify.session import TimifySession
from source_timify.slices import COMPANY_ID
from source_timify.timify import answer_text, base_url, json_object

logger = logging.getLogger("airbyte")

# range_of(company) -> the first and last UTC date (YYYY-MM-DD) of the range the company was read over
RangeOf = Callable[[str], Tuple[Optional[str], Optional[str]]]


class CancelledAppointments:
    """Asks TIMIFY which of a company's missing appointments it still has; emits those moved out of
    the range as updates (`emit`, before the company's state)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        stream_name: str,
        session: TimifySession,
        range_of: RangeOf,
        transformations: Sequence[RecordTransformation],
        emit: Callable[[AirbyteMessage], None],
    ) -> None:
        self._config = config
        self._stream_name = stream_name
        self._session = session
        self._range_of = range_of
        self._transformations = list(transformations)
        self._emit = emit

    def confirm(self, company: str, missing: Set[str]) -> Optional[Confirmed]:
        """What TIMIFY says of the tracked appointments of `company` its read did not list: those
        still in the range, those moved out of it (emitted as updates here); every other one was
        cancelled. None when no batch could be asked."""
        range_from, range_to = self._range_of(company)
        listed: Set[str] = set()
        elsewhere: Set[str] = set()
        ordered = sorted(missing)
        answered = False
        for start in range(0, len(ordered), LOOKUP_BATCH):
            batch = ordered[start : start + LOOKUP_BATCH]
            found = self._lookup(company, batch)
            if found is None:
                listed.update(batch)  # not asked: tracked, asked again next sync
                continue
            answered = True
            for appointment_id, record in found.items():
                day = str(record.get("startDate") or "")[:10]
                if day and ((range_from and day < range_from) or (range_to and day > range_to)):
                    elsewhere.add(appointment_id)
                    self._emit(self._update(company, record))
                else:
                    listed.add(appointment_id)
        if elsewhere:
            logger.info(
                f"{len(elsewhere)} appointment(s) of company {company} were moved out of the synced range: "
                "emitted as updates, no longer tracked."
            )
        return Confirmed(listed, elsewhere) if answered else None

    def _update(self, company: str, record: Dict[str, Any]) -> AirbyteMessage:
        """The record as the stream emits it: its manifest transformations (`company_id`, the
        booking secrets left out, `_ab_cdc_deleted_at: null`) applied for the company's slice."""
        data = dict(record)
        stream_slice = StreamSlice(partition={COMPANY_ID: company}, cursor_slice={})
        for transformation in self._transformations:
            transformation.transform(data, config=self._config, stream_state={}, stream_slice=stream_slice)
        return record_message(self._stream_name, data)

    def _lookup(self, company: str, ids: List[str]) -> Optional[Dict[str, Dict[str, Any]]]:
        """The appointments among `ids` that TIMIFY still has, by id, or None if it could not be
        asked."""
        authenticator = TimifyAuthenticator(config=self._config, parameters={}, session=self._session)
        url = f"{base_url(self._config)}/v1/appointments"
        params = {"ids": ",".join(ids), "page": 1, "limit": len(ids)}
        headers = {"company-id": company, "accept": "application/json"}
        # The client's rules, except that a 200 whose `data` is not a list is an answer (not
        # asked again), and the last failed try is still waited after, as it always was.
        retries = Retries(attempts=LOOKUP_ATTEMPTS, retry_unreadable=False)
        response = (
            TimifyClient(self._session, authenticator, retries)
            .send("GET", url, params=params, headers=headers, timeout=60)
            .response
        )
        body = json_object(response)
        data = body.get("data") if body is not None else None
        if isinstance(data, list):
            found = {record["id"]: record for record in data if isinstance(record, dict) and "id" in record}
            if set(found) <= set(ids):
                return found
            # An appointment not asked for: the server ignored `ids`, and its answer says
            # nothing of those asked (reading it as "gone" would report false cancellations).
            logger.warning(
                f"TIMIFY answered the lookup of {len(ids)} appointment(s) of company {company} with others "
                "it was not asked about (it seems to ignore `ids`): no cancellation is reported; the next "
                "sync asks again."
            )
            return None
        status = answer_text(response)
        logger.warning(
            f"Could not ask TIMIFY whether {len(ids)} appointment(s) of company {company} were cancelled "
            f"({status}); the next sync asks again."
        )
        return None
