"""The lookup by id that confirms a deletion where TIMIFY can be asked by id: enterprise customers
(`GET /v1/enterprise-customers?ids=a,b`, the contract's [reference]).

deletion_tracking.ListedIds calls `still_listed` with the tracked ids that the sync's complete
listing no longer showed (only then: a sync without deletions sends no request more). They are
asked LOOKUP_BATCH at a time (cancellations.py's batch, about 2.5 KB of URL), `page=1` and
`limit` the batch's size, through client.TimifyClient with the retries of the cancellation lookup
(appointment_lookup.CancelledAppointments). An id TIMIFY does not serve is gone.

Where the answer cannot be trusted to be the ids' own, nothing is confirmed (None: every id stays
tracked, the next sync asks again; a deletion is never guessed):

- a request that fails, or an answer without a `data` list;
- a server that ignores `ids` answers with its whole list: an answer that serves an id not asked
  for, or counts more records (`meta.totalItems`) than ids were asked, is taken for that;
- an answer cut into pages (a server that clamps `limit`): its pages are read until
  `meta.totalPages` (without `meta`, until an empty page), and they must serve as many distinct
  ids as `meta.totalItems` counts, none twice.
"""

import logging
from typing import Any, List, Mapping, Optional, Set

import requests

from source_timify.auth import TimifyAuthenticator
from source_timify.cancellations import LOOKUP_ATTEMPTS, LOOKUP_BATCH
from source_timify.client import Retries, TimifyClient
from source_timify.session import TimifySession
from source_timify.timify import answer_text, base_url, json_object, list_meta

logger = logging.getLogger("airbyte")


class IdLookup:
    """Asks `path` (no `company-id`: a list of the enterprise itself) which of some ids it still
    has."""

    def __init__(
        self, config: Mapping[str, Any], session: TimifySession, path: str, what: str = "enterprise customers"
    ) -> None:
        self._config = config
        self._session = session
        self._path = path
        self._what = what

    def still_listed(self, company: str, ids: Set[str]) -> Optional[Set[str]]:
        """The ids among `ids` that TIMIFY still has, or None when it could not tell (`company`:
        ListedIds' key of the list, unused: the path says whose list it is)."""
        ordered = sorted(ids)
        found: Set[str] = set()
        for start in range(0, len(ordered), LOOKUP_BATCH):
            batch = self._batch(ordered[start : start + LOOKUP_BATCH])
            if batch is None:
                return None
            found |= batch
        return found

    def _batch(self, ids: List[str]) -> Optional[Set[str]]:
        asked = set(ids)
        authenticator = TimifyAuthenticator(config=self._config, parameters={}, session=self._session)
        # The cancellation lookup's rules: a 200 whose `data` is not a list is an answer (not asked again).
        client = TimifyClient(self._session, authenticator, Retries(attempts=LOOKUP_ATTEMPTS, retry_unreadable=False))
        url = f"{base_url(self._config)}{self._path}"
        headers = {"accept": "application/json"}
        found: Set[str] = set()
        total: Optional[int] = None
        for page in range(1, len(ids) + 2):  # a server serving one record a page needs len(ids) + 1
            params = {"ids": ",".join(ids), "page": page, "limit": len(ids)}
            response = client.send("GET", url, params=params, headers=headers, timeout=60).response
            body = json_object(response)
            records = body.get("data") if body is not None else None
            if body is None or not isinstance(records, list):
                return self._failed(len(ids), response)
            meta = list_meta(body)
            count = meta.get("totalItems")
            if page == 1:
                total = count if isinstance(count, int) else None
            served = [record.get("id") if isinstance(record, dict) else None for record in records]
            if (total is not None and total > len(ids)) or any(record_id not in asked for record_id in served):
                return self._ignored(len(ids))
            if (page > 1 and count != total) or found.intersection(served) or len(set(served)) < len(served):
                return self._unsteady(len(ids))
            found.update(str(record_id) for record_id in served)
            pages = meta.get("totalPages")
            if not records or (isinstance(pages, int) and page >= pages):
                break
        else:
            return self._unsteady(len(ids))
        if total is not None and len(found) != total:
            return self._unsteady(len(ids))
        return found

    def _failed(self, count: int, response: Optional[requests.Response]) -> Optional[Set[str]]:
        status = answer_text(response)
        logger.warning(
            f"Could not ask TIMIFY whether {count} {self._what} were deleted ({status}); "
            "none is reported now, the next sync asks again."
        )
        return None

    def _ignored(self, count: int) -> Optional[Set[str]]:
        logger.warning(
            f"Asked by id about {count} {self._what}, TIMIFY answered with other records ({self._path} seems to "
            "ignore `ids` on this server): no deletion is reported, they stay tracked."
        )
        return None

    def _unsteady(self, count: int) -> Optional[Set[str]]:
        logger.info(
            f"TIMIFY's answer about {count} {self._what} asked by id did not add up (pages that disagree); "
            "no deletion is confirmed now, the next sync asks again."
        )
        return None
