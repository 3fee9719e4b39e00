"""A wide window of appointments holding many pages must not serialise the sync (issue 10).

The CDK reads the partitions (company x window) of a stream in parallel, `num_workers` at a time,
but the pages of one partition one after another: a 365-day window holding 20 pages, read by the
last busy worker, costs 20 round trips while the other workers wait. PrefetchingRequester reads them ahead:
once a page says how many its list has (`meta.totalPages`), the next pages are requested
concurrently, and the retriever, which still asks for them one by one in page order, gets each
from there. What the CDK does with a page (the error handler and its retries, the token refresh,
PageGuard's checks, the pagination) is unchanged: only when the requests go out changes.

- Requests in flight never exceed `num_workers`: every request of the streams' requesters takes
  one of `num_workers` slots (session.RequestSlots.hold) while it is sent, prefetched or not; a
  worker waiting for a prefetched page holds none. (The companies list that company-scoped streams
  start from is asked for by parent streams the CDK builds with a factory of its own, outside the
  slots; it goes out before their pages.)
- Memory stays bounded: at most `num_workers` prefetched pages not yet handed to the retriever,
  for the whole source (read_ahead.Prefetch, held by the session's RequestSlots), and none read
  ahead while the records already read wait for the writer (the record queue is half full: the
  sync waits on its own CPU, not on TIMIFY, and a page read ahead would only wait in memory).
- A list read again from page 1 (PageGuard saw it change) drops what was read ahead of it, and a
  server without `meta` (only `data`) is read page after page as before.
- Requests stay what they were without read-ahead: each page of an unchanged list is asked for
  once, and never a page past the last one `meta.totalPages` names. Only a list that changes while
  it is paged costs a count that depends on timing: the pages read ahead of it that were already
  sent when the change was seen (at most `num_workers`, never more than the list's pages), before
  the whole list is read again from page 1.
"""

import json
from typing import Any, Mapping, Optional

import requests
from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester

from source_timify import cdk_workarounds
from source_timify.read_ahead import ListKey, Prefetch
from source_timify.session import TimifySession, session_of
from source_timify.timify import total_pages

PAGE = "page"  # the paginator's page_token_option field_name (manifest: definitions.paginator)


def _total_pages(response: Optional[requests.Response]) -> Optional[int]:
    """The page count a page says its list has; None without one, or when the page is unreadable
    (the retriever reads it page after page then)."""
    try:
        return total_pages(response.json()) if response is not None else None
    except Exception:
        return None


class PrefetchingRequester(HttpRequester):
    """An HttpRequester whose data requests take a slot of the source's `num_workers` and, for a
    requester whose `$parameters` say `prefetch_pages: true`, whose next pages are read ahead.
    TimifyComponentFactory makes every HttpRequester of the manifest one (`adopt`)."""

    _prefetch_pages = False  # set by `adopt`

    @classmethod
    def adopt(cls, requester: HttpRequester, prefetch_pages: bool) -> "PrefetchingRequester":
        adopted = cdk_workarounds.extend_requester(requester, cls)
        adopted._prefetch_pages = prefetch_pages
        return adopted

    def _session(self) -> TimifySession:
        return session_of(self.config)

    def send_request(  # type: ignore[override]
        self,
        stream_state: Optional[Any] = None,
        stream_slice: Optional[Any] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
        path: Optional[str] = None,
        request_headers: Optional[Mapping[str, Any]] = None,
        request_params: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Optional[requests.Response]:
        args = dict(
            stream_state=stream_state,
            stream_slice=stream_slice,
            next_page_token=next_page_token,
            path=path,
            request_headers=request_headers,
            request_params=request_params,
            **kwargs,
        )
        if not self._prefetch_pages or not request_params or PAGE not in request_params:
            return self._send(args)
        session = self._session()
        prefetch = session.slots.prefetch()
        page = int(request_params[PAGE])
        key = self._list_key(stream_slice, request_params, path)
        if page == 1:
            prefetch.drop(key)  # a new read of the list, or the same list read again
        future = prefetch.take(key, page)
        response = future.result() if future is not None else self._send(args)
        self._read_ahead(prefetch, key, page, response, args)
        return response

    def _send(self, args: Mapping[str, Any]) -> Optional[requests.Response]:
        with self._session().slots.hold():
            return super().send_request(**args)

    def _read_ahead(
        self,
        prefetch: Prefetch,
        key: ListKey,
        page: int,
        response: Optional[requests.Response],
        args: Mapping[str, Any],
    ) -> None:
        total = _total_pages(response)
        if total is None or page >= total or response is None or response.status_code != 200:
            return
        if self._session().slots.writer_behind():
            return  # the workers wait for the writer, not for TIMIFY: a page read ahead would wait in memory
        for ahead in range(page + 1, min(total, page + prefetch.num_workers) + 1):
            with prefetch.lock:
                if (key, ahead) in prefetch.pending:
                    continue
            if not prefetch.budget.acquire(blocking=False):
                return  # enough pages read ahead for now: the next page asked for schedules more
            params = {**args["request_params"], PAGE: ahead}
            token = {**(args["next_page_token"] or {}), "next_page_token": ahead}
            future = prefetch.pool().submit(self._send, {**args, "request_params": params, "next_page_token": token})
            with prefetch.lock:
                prefetch.pending[(key, ahead)] = future

    @staticmethod
    def _list_key(stream_slice: Any, request_params: Mapping[str, Any], path: Optional[str]) -> ListKey:
        partition = getattr(stream_slice, "partition", None) or {}
        params = {k: v for k, v in request_params.items() if k != PAGE}
        return (
            json.dumps(dict(partition), sort_keys=True, default=str),
            json.dumps(params, sort_keys=True, default=str) + (path or ""),
        )
