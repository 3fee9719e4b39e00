"""TIMIFY's vocabulary, shared by every module: its host, its error messages, its time format,
its list envelope, and the config error every module raises in the same form.

Nothing here sends a request or keeps state.
"""

import functools
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional

import requests
import yaml
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

APP_OVERVIEW = "TIMIFY Developer Platform > Apps > your app > App Overview"

# Airbyte's CDC deletion column: set on deletion records, null on every live record.
DELETED_AT = "_ab_cdc_deleted_at"

# TIMIFY's date-time form ("2024-03-05T09:02:24Z"): strings in it compare as times.
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


@functools.lru_cache(maxsize=1)
def manifest() -> Mapping[str, Any]:
    """manifest.yaml as a mapping, read once per process (with libyaml's safe loader when PyYAML has
    it, as the CDK reads it: the pure-Python one took 30-40 ms per read), for the values the
    connector's own requests share with the streams. Not to be changed."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML was built with it
    return yaml.load((Path(__file__).parent / "manifest.yaml").read_text(), Loader=loader)  # noqa: S506


@functools.lru_cache(maxsize=1)
def _url_base() -> InterpolatedString:
    return InterpolatedString.create(manifest()["definitions"]["requester"]["url_base"], parameters={})


def base_url(config: Mapping[str, Any]) -> str:
    """The TIMIFY host every request goes to: the manifest's `url_base` (`base_url` when set, else
    https://{subdomain}.timify.com, without a trailing slash), evaluated for `config`, so that the
    login and the direct lookups can never go to another host than the streams."""
    return str(_url_base().eval(config))


def config_error(message: str, detail: str = "") -> AirbyteTracedException:
    """A config error whose every rendering (trace message, exception repr in the CDK's sync
    summary) starts with the sentence meant for the user."""
    return AirbyteTracedException(
        message=message,
        internal_message=f"{message} ({detail})" if detail else message,
        failure_type=FailureType.config_error,
    )


def error_text(response: Optional[requests.Response]) -> str:
    """TIMIFY's own message in an error response, whatever the body's shape; "" when it has none.

    - the reference's flat shape: `{"error": "<message>", "name", "errorCode", "details"}`;
    - the older nested one: `{"status": 0, "error": {"code", "message"}}`;
    - `{"message": "..."}`, an HTML page (its <title> or first heading), plain text, or nothing.
    """
    if response is None:
        return ""
    try:
        body = response.json()
    except Exception:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or "").strip()
        if isinstance(error, str) and error.strip():
            return error.strip()
        for key in ("message", "errorCode", "name"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
        return ""
    try:
        text = response.text or ""
    except Exception:
        return ""
    match = _HTML_TITLE.search(text)
    if match:
        return " ".join(match.group(1).split())
    if "<" in text:
        return ""
    return " ".join(text.split())[:200]


_HTML_TITLE = re.compile(r"<(?:title|h1)[^>]*>(.*?)</(?:title|h1)>", re.I | re.S)


def answer_text(response: Optional[requests.Response]) -> str:
    """A TIMIFY answer as a log line says it: `HTTP 500: <TIMIFY's message>`, `HTTP 500`, or
    `no answer`."""
    if response is None:
        return "no answer"
    said = error_text(response)
    return f"HTTP {response.status_code}{': ' + said if said else ''}"


def json_object(response: Optional[requests.Response]) -> Optional[Mapping[str, Any]]:
    """The JSON object a 200 carries; None for no answer, another status, or a body that is not
    a JSON object."""
    if response is None or response.status_code != 200:
        return None
    try:
        body = response.json()
    except Exception:
        return None
    return body if isinstance(body, dict) else None


def iso_seconds(epoch: float) -> str:
    """TIMIFY's form of a moment given in epoch seconds ("2024-03-05T09:02:24Z")."""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime(ISO_SECONDS)


def as_iso_seconds(value: Any) -> Optional[str]:
    """TIMIFY's `...T..:..:..Z` form of a date-time string, so that strings compare as times."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 20 and value.endswith("Z"):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime(ISO_SECONDS)


def list_meta(body: Any) -> Mapping[str, Any]:
    """The `meta` of a list page (`{page, limit, totalItems, totalPages}`); {} when the page has
    none (older endpoints send `{data}` only)."""
    meta = body.get("meta") if isinstance(body, dict) else None
    return meta if isinstance(meta, dict) else {}


def total_pages(body: Any) -> Optional[int]:
    """How many pages the list has, as its page's `meta.totalPages` says; None without it (a
    value that is not a number raises, as a page TIMIFY did not mean to send)."""
    pages = list_meta(body).get("totalPages")
    return None if pages is None else int(pages)
