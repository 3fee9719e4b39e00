"""A response's JSON, parsed once: the CDK's error handler, record extractor and paginator each ask
every page for its `json()`, and requests parses the body again for each (a fifth of a sync's CPU
when they did). The hook below is registered on every request the authenticator signs (auth.py)."""

import logging
import weakref
from typing import Any, List

import orjson
import requests


def parse_json_once(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """Response hook (auth.TimifyAuthenticator registers it on every request it signs): the body is
    parsed once, with orjson, however many of the CDK's readers ask; a body that is not JSON falls
    back to requests' parser, which raises the error callers expect. A list's page (a 200 with
    `data`) lets its bytes go once parsed (~2 MB for 1,000 appointments, beside ~8 MB of objects):
    only the CDK's `--debug` log of bodies reads them after the parse. The closure must not hold the
    response (nor its bound `json`): a cycle is freed by the garbage collector only, not when the
    last reader drops the page, and a sync would pile up pages in memory."""
    content = response.content
    this = weakref.ref(response)
    keep_body = logging.getLogger("airbyte").isEnabledFor(logging.DEBUG)
    parsed: List[Any] = []

    def json_once(**json_kwargs: Any) -> Any:
        nonlocal content
        if not parsed:
            try:
                parsed.append(orjson.loads(content))
            except orjson.JSONDecodeError:
                return requests.Response.json(this(), **json_kwargs)  # type: ignore[arg-type]  # alive: its method runs
            page, body = this(), parsed[0]
            if not keep_body and page is not None and page.status_code == 200 and isinstance(body, dict):
                if "data" in body:
                    page._content = content = b""
        return parsed[0]

    response.json = json_once  # type: ignore[method-assign]
    return response
