"""The second listing that confirms a deletion where TIMIFY cannot be asked by id.

TIMIFY's contract documents no way to ask for customers by id (`GET /v1/customers?ids=` is
[unknown], and the emulator, like a server without the filter, answers it with the whole list), so
a customer the sync's listing no longer showed is confirmed gone by listing the company's
customers once more, right after that listing (deletion_tracking.ListedIds calls it only when a
tracked id went missing, so a sync without deletions sends no request more).

The listing asks for LIMIT records a page (TIMIFY's default and, as far as documented, its largest
`limit`): a company of up to that many customers is listed in one answer, which no change made
while paging can shift. A longer list counts as complete and unchanged only if (the page guard's
rules, lists.PageGuard, made strict):

- every page says the same `meta.totalItems` as the first, and the pages list that many distinct
  ids in all (without `meta`: pages are read until an empty one);
- no id comes twice (the list shifted, or a server ignored `page`);
- no record after the first page was changed since the sync started (on TIMIFY's clock).

Anything else (a failed request, an unreadable page, a list that changed) answers None: nothing is
confirmed, the ids stay tracked and the next sync tries again. A deletion is never guessed.
"""

import logging
from typing import Any, Mapping, Optional, Set

import requests

from source_timify.auth import TimifyAuthenticator
from source_timify.client import Retries, TimifyClient
from source_timify.session import TimifySession
from source_timify.timify import answer_text, base_url, iso_seconds, json_object, list_meta

logger = logging.getLogger("airbyte")

LIMIT = 10_000
MAX_PAGES = 1_000  # 10 million records: a server that never ends its list is not read for ever


class SecondListing:
    """Lists `path` (with the `company-id` header) whole, to confirm which of some ids it still
    holds."""

    def __init__(self, config: Mapping[str, Any], session: TimifySession, path: str, what: str = "customers") -> None:
        self._config = config
        self._session = session
        self._path = path
        self._what = what

    def still_listed(self, company: str, ids: Set[str]) -> Optional[Set[str]]:
        """The ids among `ids` that a complete, unchanged listing of `company` shows, or None when
        no such listing could be had."""
        listed: Set[str] = set()
        total: Optional[int] = None
        since = self._session.clock.sync_start()
        changed_since = iso_seconds(since) if since is not None else None
        authenticator = TimifyAuthenticator(config=self._config, parameters={}, session=self._session)
        client = TimifyClient(self._session, authenticator, Retries())
        url = f"{base_url(self._config)}{self._path}"
        headers = {"company-id": company, "accept": "application/json"}
        for page in range(1, MAX_PAGES + 1):
            response = client.send("GET", url, params={"page": page, "limit": LIMIT}, headers=headers).response
            body = json_object(response)
            records = body.get("data") if body is not None else None
            if not isinstance(records, list):
                return self._failed(company, response)
            meta = list_meta(body)
            count = meta.get("totalItems")
            if page == 1:
                total = count
            elif count != total:
                return self._changed(company, page)
            for record in records:
                record_id = record.get("id") if isinstance(record, dict) else None
                if not isinstance(record_id, str):
                    continue
                if record_id in listed:
                    return self._changed(company, page)
                updated = record.get("updatedAt")
                if page > 1 and changed_since and isinstance(updated, str) and updated >= changed_since:
                    return self._changed(company, page)
                listed.add(record_id)
            pages = meta.get("totalPages")
            if not records or (isinstance(pages, int) and page >= pages):
                break
        else:
            return self._changed(company, MAX_PAGES)
        if total is not None and len(listed) != total:
            return self._changed(company, page)
        return ids & listed

    def _failed(self, company: str, response: Optional[requests.Response]) -> Optional[Set[str]]:
        status = answer_text(response)
        logger.warning(
            f"Could not list the {self._what} of company {company} again to confirm their deletion ({status}); "
            "none is reported now, the next sync checks again."
        )
        return None

    def _changed(self, company: str, page: int) -> Optional[Set[str]]:
        logger.info(
            f"The {self._what} of company {company} changed while they were listed again (page {page}); "
            "no deletion is confirmed now, the next sync checks again."
        )
        return None
