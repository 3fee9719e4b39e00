"""The few pieces of TIMIFY's API that the declarative manifest cannot say by itself.

Each class has one job and is named in manifest.yaml where it is used:
- TimifyAuthenticator: exchanges App ID + App Secret for an access token, once per sync.
- TimifyPagination: page numbers, stopping on `meta` or on a short page.
- PageGuard: refuses a page that repeats the previous one (a server ignoring `page`), and has a
  list read again when it changed while it was paged.
- ConfiguredCompanies: keeps the companies named in `company_ids` and fails on any it cannot see.
- ChangedSince: the client-side `updatedAt` filter of the incremental streams.
- AddCompanyId: the `company_id` on records of company-scoped streams.
- OutageCutoff: stops retrying once TIMIFY has failed continuously for minutes, and names the
  company of a failed request.

The per-company incremental state is in `incremental.py`.
"""

import email.utils
import functools
import logging
import re
import threading
import time
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qs, urlsplit

import requests
import yaml
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.auth.declarative_authenticator import DeclarativeAuthenticator
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor
from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.requesters.error_handlers import (
    DefaultErrorHandler,
)
from airbyte_cdk.sources.declarative.requesters.paginators.strategies.pagination_strategy import (
    PaginationStrategy,
)
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.streams.http.error_handlers.response_models import (
    ErrorResolution,
    ResponseAction,
)
from airbyte_cdk.sources.types import Config, Record, StreamSlice, StreamState
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify.cdk_workarounds import parse_json_once
from source_timify.session import TimifySession, credentials_key, session_of

logger = logging.getLogger("airbyte")

APP_OVERVIEW = "TIMIFY Developer Platform > Apps > your app > App Overview"


@functools.lru_cache(maxsize=1)
def _url_base() -> InterpolatedString:
    manifest = yaml.safe_load((Path(__file__).parent / "manifest.yaml").read_text())
    return InterpolatedString.create(manifest["definitions"]["requester"]["url_base"], parameters={})


def base_url(config: Mapping[str, Any]) -> str:
    """The TIMIFY host every request goes to: the manifest's `url_base` (`base_url` when set, else
    https://{subdomain}.timify.com, without a trailing slash), evaluated for `config`, so that the
    login and the direct lookups can never go to another host than the streams."""
    return str(_url_base().eval(config))


def _config_error(message: str, detail: str = "") -> AirbyteTracedException:
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


# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------


def _server_time(response: requests.Response) -> Optional[float]:
    try:
        return email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def _access_token(payload: Any) -> Optional[str]:
    """The token of a login response: `accessToken`, else `token`, at the top or under `data`."""
    for body in (payload, payload.get("data") if isinstance(payload, dict) else None):
        if isinstance(body, dict):
            for key in ("accessToken", "token"):
                if isinstance(body.get(key), str) and body[key]:
                    return body[key]
    return None


def _login_field(payload: Any, key: str) -> Any:
    if isinstance(payload, dict) and key in payload:
        return payload[key]
    data = payload.get("data") if isinstance(payload, dict) else None
    return data.get(key) if isinstance(data, dict) else None


def _never_connected(error: requests.exceptions.RequestException) -> bool:
    """No connection was made: refused, a name that does not resolve, or no answer to connect
    (a connection made and then cut off is another failure, retried with the usual back-off)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None  # urllib3's MaxRetryError
    return any(cls.__name__ == "NewConnectionError" for cls in type(reason).__mro__)


@dataclass
class TimifyAuthenticator(DeclarativeAuthenticator):
    """Signs every request with the access token, in the form TIMIFY accepts.

    The token comes from `POST /v1/auth/token` with a JSON body `{appid, appsecret}`. It lives
    `expires` seconds (a short default when the field is missing) and is renewed a minute before
    it runs out (a tenth of its lifetime for short-lived tokens). It is sent as
    `Authorization: Bearer <token>`, the form TIMIFY's reference documents; a server that refuses a
    freshly issued token in that form gets the raw token (the form TIMIFY's older clients send)
    for the rest of the sync, without another login. The CDK calls `refresh_and_set_access_token()`
    after a 401 on a data call (the manifest's REFRESH_TOKEN_THEN_RETRY): that switches the form
    while no request in the current one has been accepted, and otherwise logs in again unless
    another worker already did. Every request it signs also gets the `parse_json_once` response hook.

    The token, the form and TIMIFY's clock belong to the source's `session` (session.py).
    """

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    default_lifetime_seconds: Union[int, str] = 300
    safety_margin_seconds: Union[int, str] = 60
    login_timeout_seconds: Union[int, str] = 30
    login_attempts: Union[int, str] = 5
    # A host that takes no connection at all (refused, no such name, no answer to connect) is
    # tried this many times, 0.5 s then 1 s apart, each connect given `connect_timeout_seconds`:
    # a wrong `base_url` fails `check` within about 2 s (10 s for a host that never answers).
    connect_attempts: Union[int, str] = 3
    connect_timeout_seconds: Union[int, str] = 3
    session: Optional[TimifySession] = None

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._host = base_url(self.config)
        if self.session is None:
            self.session = session_of(self.config)

    @property
    def _key(self) -> Any:
        return credentials_key(self._host, self.config)

    @property
    def auth_header(self) -> str:
        # Header names are case-insensitive on the wire; this spelling is the one the CDK's
        # HttpClient compares to tell whether another worker already replaced a refused token.
        return "Authorization"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request = super().__call__(request)
        request.register_hook("response", parse_json_once)
        request.register_hook("response", self._note_accepted_form)
        return request

    def _note_accepted_form(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        session = self.session
        if response.status_code != 401 and not session.form_confirmed:
            sent = response.request.headers.get("Authorization", "") if response.request is not None else ""
            with session.lock:
                cached = session.tokens.get(self._key)
                if cached and sent == session.authorization(cached[0]):
                    session.form_confirmed = True
        return response

    @property
    def token(self) -> str:
        session = self.session
        with session.lock:
            cached = session.tokens.get(self._key)
            access_token = cached[0] if cached and time.monotonic() < cached[1] else self._login()
            return session.authorization(access_token)

    def refresh_and_set_access_token(self) -> None:
        session = self.session
        # Several workers may be refused the same dead token at once: the first logs in, the
        # others find a new token once they get the lock and use it.
        refused = session.tokens.get(self._key)
        with session.lock:
            current = session.tokens.get(self._key)
            if current is not refused:
                return
            if current and not session.form_confirmed and session.switched_for != current[0]:
                # TIMIFY refused a token it has just issued: it wants the other form.
                logger.info(
                    f"TIMIFY refused the access token in the {session.token_form} form; sending it in "
                    f"the {session.other_form()} form for the rest of the sync."
                )
                session.token_form, session.switched_for = session.other_form(), current[0]
                return
            self._login()

    def _login(self) -> str:
        """Exchange the credentials for a token and cache it. Callers hold `session.lock`.

        A config error (credentials refused, host unreachable) is remembered for the rest of the
        command: every later stream fails at once with the same sentence instead of retrying.
        Other credentials (a corrected App Secret) are tried at once.
        """
        refusals = self.session.refusals
        if self._key in refusals:
            raise _config_error(refusals[self._key])
        try:
            return self._exchange()
        except AirbyteTracedException as error:
            if error.failure_type == FailureType.config_error:
                refusals[self._key] = error.message
            raise

    def _exchange(self) -> str:
        url = f"{self._host}/v1/auth/token"
        body = {"appid": self.config.get("app_id"), "appsecret": self.config.get("app_secret")}
        response = None
        attempt = not_connected = 0
        while attempt < int(self.login_attempts):
            try:
                response = requests.post(
                    url,
                    json=body,
                    headers={"accept": "application/json"},
                    timeout=(float(self.connect_timeout_seconds), float(self.login_timeout_seconds)),
                )
            except requests.exceptions.RequestException as error:
                if _never_connected(error):
                    not_connected += 1
                    if not_connected >= int(self.connect_attempts):
                        raise self._unreachable(error) from None
                    time.sleep(0.5 * 2 ** (not_connected - 1))
                    continue
                if attempt + 1 == int(self.login_attempts):
                    raise self._unreachable(error) from None
            else:
                if response.status_code != 429 and response.status_code < 500:
                    break
            time.sleep(min(2**attempt, 30))
            attempt += 1
        assert response is not None
        said = error_text(response)
        timify_said = f" (TIMIFY said: {said})" if said else ""
        if response.status_code in (400, 401, 403):
            raise _config_error(
                f"TIMIFY rejected the App ID or App Secret{timify_said}: copy both again from the "
                f"{APP_OVERVIEW} (a rotated App Secret invalidates the old one at once).",
                detail=f"login answered HTTP {response.status_code}",
            )
        if response.status_code == 404:
            raise _config_error(
                f"{self._host} has no TIMIFY login endpoint (HTTP 404){timify_said}: check `subdomain` "
                "(default api) and `base_url`."
            )
        if response.status_code != 200:
            message = f"TIMIFY's login failed with HTTP {response.status_code}{timify_said}; try again later."
            raise AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.transient_error)
        try:
            payload = response.json()
        except Exception:
            payload = None
        access_token = _access_token(payload)
        if access_token is None:
            raise _config_error(
                f"{self._host} answered the login without an access token: check `subdomain` and `base_url`."
            )
        add_to_secrets(access_token)
        refresh_token = _login_field(payload, "refreshToken")
        if isinstance(refresh_token, str) and refresh_token:
            add_to_secrets(refresh_token)
        lifetime = _login_field(payload, "expires")
        if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = int(self.default_lifetime_seconds)
        # Renew before expiry: a minute early, or a tenth of the lifetime for short-lived tokens,
        # so that a 10 s token serves 9 s (a request that still meets a 401 logs in again).
        margin = min(float(self.safety_margin_seconds), lifetime / 10)
        self.session.tokens[self._key] = (access_token, time.monotonic() + lifetime - margin)
        # TIMIFY's clock, for the incremental cursor: a `Date` is whole seconds, stamped before the
        # response reached us, so this errs early (the safe side). Without one, ours stands in.
        self.session.logged_in(_server_time(response), time.time())
        logger.info(f"Logged in to TIMIFY; the access token is valid for {lifetime} s.")
        return access_token

    def _unreachable(self, error: Exception) -> AirbyteTracedException:
        host = urlsplit(self._host).netloc
        return _config_error(
            f"Could not reach TIMIFY at {host}: check `subdomain` (default api), `base_url` "
            "and the network.",
            detail=f"{type(error).__name__} while logging in",
        )


# ---------------------------------------------------------------------------------------------
# Pagination
# ---------------------------------------------------------------------------------------------


def _query_int(response: requests.Response, name: str, default: int) -> int:
    """An integer query parameter of the request behind `response` (`default` when absent, 0 or bad)."""
    query = parse_qs(urlsplit(response.request.url or "").query)
    try:
        return int(query.get(name, [default])[0]) or default
    except ValueError:
        return default


def _requested_page(response: requests.Response) -> int:
    return _query_int(response, "page", 1)


@dataclass
class TimifyPagination(PaginationStrategy):
    """Page numbers from 1. Stops on `meta.totalPages` when the server sends `meta`, otherwise on a
    page shorter than `page_size` (older endpoints send `{data}` only).

    `meta` takes precedence because a server may cap `limit` below what was asked: a 100-record
    page is then not the last one, and stopping on its size would silently drop records.
    """

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    page_size: Union[int, str] = 1000

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._page_size = int(
            InterpolatedString.create(str(self.page_size), parameters=parameters).eval(self.config)
        )

    @property
    def initial_token(self) -> Optional[Any]:
        return 1

    def next_page_token(
        self,
        response: requests.Response,
        last_page_size: int,
        last_record: Optional[Record],
        last_page_token_value: Optional[Any],
        page_size_override: Optional[int] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> Optional[Any]:
        if response.__dict__.get(_LIST_CHANGED):
            return 1  # PageGuard saw the list change while it was paged: read it again
        page = int(last_page_token_value or 1)
        try:
            body = response.json()
        except Exception:
            body = None
        meta = body.get("meta") if isinstance(body, dict) else None
        # Count the records TIMIFY sent, not `last_page_size`: the CDK counts only the records that
        # passed the record filter and the incremental cursor, so a page of unchanged records
        # would otherwise end pagination and skip the changed records on the pages after it.
        data = body.get("data") if isinstance(body, dict) else None
        served = len(data) if isinstance(data, list) else last_page_size
        if isinstance(meta, dict) and meta.get("totalPages") is not None:
            return page + 1 if page < int(meta["totalPages"]) and served > 0 else None
        return page + 1 if served >= self._page_size else None

    def get_page_size(self) -> Optional[int]:
        return self._page_size


def _list_key(response: requests.Response) -> str:
    """One list (one read of it, whatever the page): the request's path and query without `page`,
    and its `company-id`."""
    parts = urlsplit(response.request.url or "")
    query = "&".join(sorted(p for p in parts.query.split("&") if not p.startswith("page=")))
    return f"{parts.path}?{query}|{response.request.headers.get('company-id', '')}"


def _is_last_page(response: requests.Response, body: Any, records: List[Any]) -> bool:
    """Whether this page ends its list: `meta.totalPages` when TIMIFY sends it, else a short page."""
    meta = body.get("meta") if isinstance(body, dict) and isinstance(body.get("meta"), dict) else {}
    total_pages = meta.get("totalPages")
    if not records:
        return True
    if total_pages is not None:
        return _requested_page(response) >= int(total_pages)
    return len(records) < _query_int(response, "limit", 10000)


# A list that changed while it was paged: PageGuard marks the response, and TimifyPagination
# answers it with page 1 again instead of the next page.
_LIST_CHANGED = "_timify_list_changed"
MAX_LIST_READS = 4


class _ListRead:
    """One read of one list (one request without `page`): what it has emitted and, for the
    current pass over its pages, the count TIMIFY gave on its first page and the ids seen."""

    __slots__ = ("emitted", "pass_ids", "total", "passes", "restarting", "last_page", "last_first_id")

    def __init__(self) -> None:
        self.emitted: set = set()
        self.pass_ids: set = set()
        self.total: Optional[int] = None
        self.passes = 1
        self.restarting = False
        self.last_page = 0
        self.last_first_id: Any = None


@dataclass
class PageGuard(RecordExtractor):
    """Extracts `data` and guards what page numbers can hide.

    - A server that ignores `page` answers every page number with page 1. Emitting those copies
      would pass duplicated pages off as data and never end: the sync stops with a clear error.
    - A list that changes while it is paged shifts records between pages: after a deletion the
      record at a page boundary moves onto a page already read and is never seen. In incremental
      mode that record would be lost for good. So a page that shows the list changed since its
      first page (a different `meta.totalItems`, a record seen twice in one pass, or a record
      changed since the sync started) has the list read again from page 1, up to
      MAX_LIST_READS times; records already emitted are not emitted again.

    Lists are told apart by their request without `page` (URL plus `company-id`).
    """

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    field_path: List[str] = field(default_factory=lambda: ["data"])
    session: Optional[TimifySession] = None  # the source's (for the sync's start on TIMIFY's clock)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        if self.session is None:
            self.session = session_of(self.config)
        self._reads: Dict[str, _ListRead] = {}
        self._lock = threading.Lock()

    def extract_records(self, response: requests.Response) -> Iterable[Mapping[str, Any]]:
        body = response.json()
        records = body
        for key in self.field_path:
            records = records.get(key) if isinstance(records, dict) else None
        if records is None:
            return []
        if isinstance(records, dict):
            return [records]
        return self._guard(response, body, records)

    def _guard(self, response: requests.Response, body: Any, records: List[Any]) -> List[Any]:
        page = _requested_page(response)
        parts = urlsplit(response.request.url or "")
        company = response.request.headers.get("company-id", "")
        list_key = _list_key(response)
        meta = body.get("meta") if isinstance(body, dict) and isinstance(body.get("meta"), dict) else {}
        total = meta.get("totalItems")
        is_last = _is_last_page(response, body, records)
        first_id = records[0].get("id") if records and isinstance(records[0], dict) else None
        with self._lock:
            read = self._reads.get(list_key)
            if read is None or (page == 1 and not read.restarting):
                read = self._reads[list_key] = _ListRead()
            if page > 1 and first_id is not None and read.last_page == page - 1 and read.last_first_id == first_id:
                del self._reads[list_key]
                raise self._ignored_page(page, parts.path)
            read.last_page, read.last_first_id = page, first_id
            if page == 1 and read.restarting:
                read.restarting = False
                read.passes += 1
                read.pass_ids = set()
            if page == 1:
                read.total = total
            recounted = page > 1 and total is not None and read.total is not None and total != read.total
            out, shifted = self._new_records(read, records, check=page > 1)
            if recounted or shifted:
                if read.passes >= MAX_LIST_READS:
                    del self._reads[list_key]
                    raise self._kept_changing(parts.path, company, response)
                read.restarting = True
                setattr(response, _LIST_CHANGED, True)
                logger.info(
                    f"TIMIFY's {parts.path} list{f' of company {company}' if company else ''} changed "
                    f"while it was read (page {page}); reading it again from page 1 so that no record is skipped."
                )
            elif is_last:
                del self._reads[list_key]
        return out

    def _new_records(self, read: _ListRead, records: List[Any], check: bool) -> Tuple[List[Any], bool]:
        """The records not emitted yet in this read, and whether this page shows the list changed:
        a record already seen in this pass (the list shifted), or one first seen here with an
        `updatedAt` from this sync (changed while the sync ran)."""
        session = self.session
        since = session.sync_start() if check else None
        since_text = iso_seconds(since) if since is not None else None
        until_text = iso_seconds(session.now() + 60) if since is not None else None
        emitted, pass_ids, out, changed = read.emitted, read.pass_ids, [], False
        for record in records:
            record_id = record.get("id") if isinstance(record, dict) else None
            if record_id is None:
                out.append(record)
                continue
            if check and record_id in pass_ids:
                changed = True
            pass_ids.add(record_id)
            if record_id in emitted:
                continue
            if since_text is not None:
                updated = record.get("updatedAt")
                if isinstance(updated, str) and since_text <= updated <= until_text:
                    changed = True
            emitted.add(record_id)
            out.append(record)
        return out, changed

    @staticmethod
    def _ignored_page(page: int, path: str) -> AirbyteTracedException:
        message = (
            f"TIMIFY returned the same records for page {page} as for page {page - 1} of "
            f"{path}: the server ignored the `page` parameter, so the sync stopped "
            "instead of emitting duplicates. Set `page_size` to 10000 to read each list in "
            "one page, or retry later."
        )
        return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.system_error)

    @staticmethod
    def _kept_changing(path: str, company: str, response: requests.Response) -> AirbyteTracedException:
        query = parse_qs(urlsplit(response.request.url or "").query)
        dates = f" from {query['from_date'][0]} to {query['to_date'][0]}" if "from_date" in query and "to_date" in query else ""
        message = (
            f"TIMIFY's {path} list{f' of company {company}' if company else ''}{dates} kept changing "
            f"while it was read ({MAX_LIST_READS} times), so the sync stopped rather than risk skipping "
            "a record; run it again (the other companies' state has moved on)."
        )
        return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.transient_error)


def iso_seconds(epoch: float) -> str:
    """TIMIFY's form of a moment given in epoch seconds ("2024-03-05T09:02:24Z")."""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime(ISO_SECONDS)


# ---------------------------------------------------------------------------------------------
# Partitions
# ---------------------------------------------------------------------------------------------


@dataclass
class ConfiguredCompanies(PageGuard):
    """Extracts the companies of `/v1/companies` (guarded like every list), keeping only those in
    `company_ids` when it is set.

    A configured id the app cannot see is a config error, not an empty result: otherwise a typo
    in `company_ids` would silently sync nothing for that company. The ids are checked against
    every page of the list: the error comes with its last page.
    """

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._listed: Dict[str, set] = {}  # per read of the list: every company id it listed so far

    def extract_records(self, response: requests.Response) -> Iterable[Mapping[str, Any]]:
        companies = list(super().extract_records(response))
        wanted = self.config.get("company_ids") or []
        if not wanted:
            return companies
        body = response.json()
        listed_here = body.get("data") if isinstance(body, dict) and isinstance(body.get("data"), list) else []
        key = _list_key(response)
        with self._lock:
            if _requested_page(response) == 1:
                self._listed[key] = set()  # a new read, or the list read again from page 1
            listed = self._listed.setdefault(key, set())
            listed.update(company.get("id") for company in listed_here if isinstance(company, dict))
            missing = [] if response.__dict__.get(_LIST_CHANGED) or not _is_last_page(response, body, listed_here) else [
                company_id for company_id in wanted if company_id not in listed
            ]
            if _is_last_page(response, body, listed_here):
                self._listed.pop(key, None)
        if missing:
            raise _config_error(
                f"This TIMIFY app cannot access company {', '.join(missing)} listed in "
                "`company_ids`: remove it, or install the app on that company (or its "
                "enterprise) in the TIMIFY Developer Platform."
            )
        return [company for company in companies if company.get("id") in wanted]


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------

ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


def _as_iso_seconds(value: Any) -> Optional[str]:
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


@dataclass
class ChangedSince(RecordFilter):
    """The client-side incremental filter (TIMIFY cannot filter on `updatedAt`), on the slice's
    `cursor_slice` from incremental.CompanyCursor:

    - no `changed_since`: every record (a company or window the previous syncs did not read);
    - `changed_since`: the records whose `cursor_field` is at or after it, plus, when
      `previous_from_date`/`previous_to_date` are set, every record whose `date_field` lies outside
      that range (it entered the synced range since: the horizon moved or the range was widened).

    When the slice's `extra_fields` carry `not_before` (incremental.CompanyDateRange sets it from a
    `start_date` with a time), records whose `date_field` is earlier are left out. A slice whose `extra_fields` carry `seen` (cancellations.SeenAppointments) is told every
    record, kept or not. A record without the fields is kept. This does what the CDK's `is_client_side_incremental`
    does without building a cursor object per record (a third of a sync's CPU time).
    """

    cursor_field: str = "updatedAt"
    date_field: str = ""

    def filter_records(
        self,
        records: Iterable[Mapping[str, Any]],
        stream_state: StreamState,
        stream_slice: Optional[StreamSlice] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        cursor_slice = (stream_slice.cursor_slice if stream_slice is not None else None) or {}
        since = _as_iso_seconds(cursor_slice.get("changed_since"))
        previous_from, previous_to = cursor_slice.get("previous_from_date"), cursor_slice.get("previous_to_date")
        extra_fields = (stream_slice.extra_fields if stream_slice is not None else None) or {}
        not_before, date_field, cursor_field = extra_fields.get("not_before"), self.date_field, self.cursor_field
        # Every record TIMIFY still lists, changed or not, for the cancellation check.
        seen = extra_fields.get("seen")
        for record in records:
            if seen is not None:
                seen.add(record)
            if since:
                changed = record.get(cursor_field)
                changed = changed if isinstance(changed, str) and len(changed) == 20 else _as_iso_seconds(changed)
                if changed is not None and changed < since:
                    day = _as_iso_seconds(record.get(date_field)) if previous_from else None
                    if day is None or previous_from <= day[:10] <= previous_to:
                        continue
            if not_before:
                starts = _as_iso_seconds(record.get(date_field))
                if starts is not None and starts < not_before:
                    continue
            yield record


# Airbyte's CDC deletion column: set on deletion records, null on every live record.
DELETED_AT = "_ab_cdc_deleted_at"


@dataclass
class MarkLive(RecordTransformation):
    """`_ab_cdc_deleted_at: null` on every record read from TIMIFY, so that the column exists
    beside the deletion records of cancelled appointments (cancellations.py)."""

    def transform(
        self,
        record: Dict[str, Any],
        config: Optional[Config] = None,
        stream_state: Optional[StreamState] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> None:
        record[DELETED_AT] = None


@dataclass
class AddCompanyId(RecordTransformation):
    """Adds the partition's `company_id` to each record of a company-scoped stream (the Jinja
    AddFields equivalent cost 5% of a sync's CPU time)."""

    def transform(
        self,
        record: Dict[str, Any],
        config: Optional[Config] = None,
        stream_state: Optional[StreamState] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> None:
        if stream_slice is not None:
            record["company_id"] = stream_slice.partition.get("company_id")


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@dataclass
class OutageCutoff(DefaultErrorHandler):
    """The manifest's error handling, plus one rule: once TIMIFY has answered nothing but server
    errors (or nothing at all) for `outage_seconds`, across every worker, a failing request is
    not retried again.

    Per-request retries ride out a burst of 5xx. A sustained outage would otherwise hold every
    remaining partition in its own retry loop in turn, and a sync could hang for hours before it
    fails; it now fails within minutes with a transient error, and the next sync resumes from the
    last complete one.
    """

    outage_seconds: Union[int, str] = 120
    session: Optional[TimifySession] = None  # the source's: the outage clock is shared by its workers

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        if self.session is None:
            self.session = session_of(self.config)
        self._outage_seconds = float(self.outage_seconds)

    def interpret_response(
        self, response_or_exception: Optional[Union[requests.Response, Exception]]
    ) -> ErrorResolution:
        resolution = super().interpret_response(response_or_exception)
        resolution = _naming_the_company(_with_timify_message(resolution, response_or_exception), response_or_exception)
        server_failed = resolution.response_action == ResponseAction.RETRY and (
            not isinstance(response_or_exception, requests.Response)
            or response_or_exception.status_code >= 500
        )
        now = time.monotonic()
        session = self.session
        with session.outage_lock:
            if not server_failed:
                if resolution.response_action == ResponseAction.SUCCESS:
                    session.outage_since = None
                return resolution
            if session.outage_since is None:
                session.outage_since = now
            lasted = now - session.outage_since
        if lasted < self._outage_seconds:
            return resolution
        message = (
            f"TIMIFY has answered only with server errors or not at all for {int(lasted)} s, so "
            "the sync stopped; run it again later: the next sync resumes from the last complete one."
        )
        return ErrorResolution(
            response_action=ResponseAction.FAIL,
            failure_type=FailureType.transient_error,
            error_message=message,
        )


TIMIFY_MESSAGE = "{timify_message}"


def _with_timify_message(
    resolution: ErrorResolution, response_or_exception: Optional[Union[requests.Response, Exception]]
) -> ErrorResolution:
    """The manifest's messages say `{timify_message}` where TIMIFY's own text goes (its error
    body's message in either shape; the HTTP status when the body says nothing)."""
    message = resolution.error_message or ""
    if TIMIFY_MESSAGE not in message:
        return resolution
    response = response_or_exception if isinstance(response_or_exception, requests.Response) else None
    said = error_text(response) or (f"HTTP {response.status_code}" if response is not None else "no answer")
    return ErrorResolution(
        response_action=resolution.response_action,
        failure_type=resolution.failure_type,
        error_message=message.replace(TIMIFY_MESSAGE, said.rstrip(".")),
    )


def _naming_the_company(
    resolution: ErrorResolution, response_or_exception: Optional[Union[requests.Response, Exception]]
) -> ErrorResolution:
    """A request that failed for good names its company (the `company-id` it was sent with), so
    that a user of an enterprise install knows which branch to look at."""
    if resolution.response_action != ResponseAction.FAIL or not isinstance(response_or_exception, requests.Response):
        return resolution
    request = response_or_exception.request
    company = request.headers.get("company-id") if request is not None else None
    message = resolution.error_message or ""
    if not company or company in message:
        return resolution
    return ErrorResolution(
        response_action=resolution.response_action,
        failure_type=resolution.failure_type,
        error_message=f"Company {company}: {message}" if message else f"Company {company}: the request failed.",
    )
