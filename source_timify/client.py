"""The TIMIFY client: sends one TIMIFY request that is not a stream page (the login, the window
probe, the cancellation lookup, the scope probes) and tries it again the way the streams do.

A stream page goes through the manifest's requester and error handler (errors.OutageCutoff);
everything else goes through `TimifyClient.send`, which answers with an `Outcome`: the last answer
TIMIFY gave (or the exception that stood for no answer). What an answer means (a token, a window
width, the ids TIMIFY still has, a scope refused) is the caller's business.
"""

import functools
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify.errors import outage_lasted, outage_message
from source_timify.session import TimifySession
from source_timify.timify import manifest


@functools.lru_cache(maxsize=1)
def manifest_outage_seconds() -> float:
    """The streams' outage cutoff (the manifest's `definitions.error_handler.outage_seconds`), so
    that a request of this client gives up after the very outage that ends the streams."""
    return float(manifest()["definitions"]["error_handler"]["outage_seconds"])


def lost_connection(error: Exception) -> bool:
    """The default meaning of "no answer": requests got none (a refused or cut connection, a
    timeout, a name that does not resolve). Anything else raised while sending is raised on."""
    return isinstance(error, requests.exceptions.RequestException)


def not_a_config_error(error: Exception) -> bool:
    """Anything raised while sending is no answer, except a config error (refused credentials,
    raised by the login that signs the request): that one is final, and raised on."""
    return not (isinstance(error, AirbyteTracedException) and error.failure_type == FailureType.config_error)


def never_connected(error: Exception) -> bool:
    """No connection was made: refused, a name that does not resolve, or no answer to connect
    (a connection made and then cut off is another failure, retried with the usual back-off)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.exceptions.RequestException):
        return False
    reason = getattr(error.args[0], "reason", None) if error.args else None  # urllib3's MaxRetryError
    return any(cls.__name__ == "NewConnectionError" for cls in type(reason).__mro__)


def unreadable(response: requests.Response) -> bool:
    """A 200 whose body is not a TIMIFY envelope with `data` (the manifest retries those too)."""
    if response.status_code != 200:
        return False
    try:
        body = response.json()
    except Exception:
        return True
    return not isinstance(body, dict) or "data" not in body


def _retry_after(response: Optional[requests.Response]) -> Optional[float]:
    """`Retry-After` in seconds, the form TIMIFY sends (RFC 9110 delay-seconds: digits only)."""
    value = response.headers.get("Retry-After") if response is not None else None
    return float(value) if value and value.isdigit() else None


@dataclass(frozen=True)
class Retries:
    """How one kind of request is tried again. The defaults are the streams' rules; each caller
    passes what differs for it (the values each had before the client existed, kept as they were).

    - `attempts`: tries in all, through 429s, 5xx, unreadable 200s, lost connections and the one
      re-login after a 401 (which is not waited for).
    - the wait before the next try: the answer's `Retry-After` (`retry_after`), else
      `min(2 ** try, max_backoff)`; never longer than `max_wait` when set.
    - `relogin_on_401`: one new login after a 401 (the next 401 is the answer).
    - `retry_unreadable`: a 200 whose body is not a TIMIFY envelope is tried again.
    - `no_answer`: which exceptions raised while sending (signing included) mean no answer; the
      others are raised on. `retry_no_answer`: whether no answer is tried again.
    - `connect_attempts`: a host that takes no connection at all (`never_connected`) is tried this
      many times, 0.5 s, 1 s, ... apart, besides `attempts` (the login: a wrong `base_url` fails
      `check` in about 2 s). None: such a failure is no answer like any other.
    - `wait_after_last_answer` / `wait_after_last_no_answer`: whether the last failed try is still
      waited after (as the login, the probe and the lookup always did; the scope probe did not).
    - `moves_outage_clock`: whether this request's answers start and stop the outage clock, or
      only read it (the login: see TimifyClient).
    """

    attempts: int = 5
    retry_after: bool = True
    max_backoff: float = 30
    max_wait: Optional[float] = None
    relogin_on_401: bool = True
    retry_unreadable: bool = True
    no_answer: Callable[[Exception], bool] = lost_connection
    retry_no_answer: bool = True
    connect_attempts: Optional[int] = None
    wait_after_last_answer: bool = True
    wait_after_last_no_answer: bool = True
    moves_outage_clock: bool = True


@dataclass(frozen=True)
class Outcome:
    """The last try of a request: TIMIFY's answer, or the exception that stood for no answer
    (exactly one of the two). `outage`: the streams' outage message when that try failed after the
    outage clock had run out (the request was then not tried again), else None."""

    response: Optional[requests.Response] = None
    error: Optional[Exception] = None
    outage: Optional[str] = None


class TimifyClient:
    """Sends one TIMIFY request that is not a stream page, with its retries.

    - Signed by `authenticator` (TimifyAuthenticator: the session's token, in the form TIMIFY
      accepts; it logs in when the token is due), after a 401 one new login and one more try.
    - 429, 5xx and (with `retry_unreadable`) an unreadable 200 are tried again after `Retry-After`
      or the back-off; so is no answer.
    - One of the session's `num_workers` request slots is held while the request and its retries
      are sent, as a stream page holds one: side requests add no load beyond `num_workers`.
    - The outage clock is the streams' (errors.outage_lasted): a 5xx or no answer starts it, a
      readable 2xx stops it, and once it has run `outage_seconds` (the manifest's) a failed try is
      not tried again: the request gives up as a stream request fails, and its Outcome says why.

    The login (`authenticator=None`, `Retries(relogin_on_401=False, moves_outage_clock=False)`):
    - it cannot log in again on a 401: a 401 is its answer (credentials refused);
    - it takes no request slot (`slots=False`): a stream page and a side request hold their slot
      while the authenticator logs in, under the session's lock; were the login to wait for a slot
      too, `num_workers` requests holding every slot while one logs in and the others wait for the
      lock would wait forever. A login is one request per token's lifetime; it adds no real load;
    - it reads the outage clock but never moves it: TIMIFY's auth calls are not its data calls (its
      rate limit never applies to them), and a login that succeeds every few seconds (short-lived
      tokens) must not hide an outage of the data calls. Past the cutoff, a failed login is not
      tried again and fails with its own message, as it would after its last try.

    Nothing here logs, and an error names no secret: the login's body (the App Secret) and the
    token are sent, never shown.
    """

    def __init__(
        self,
        session: TimifySession,
        authenticator: Any = None,
        retries: Retries = Retries(),
        slots: bool = True,
        outage_seconds: Optional[float] = None,
    ) -> None:
        self._session = session
        self._auth = authenticator
        self._retries = retries
        self._slots = slots
        self._outage_seconds = manifest_outage_seconds() if outage_seconds is None else float(outage_seconds)

    def send(
        self,
        method: str,
        url: str,
        params: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        json: Any = None,
        timeout: Union[float, tuple] = 60,
    ) -> Outcome:
        if not self._slots:
            return self._tries(method, url, params, headers, json, timeout)
        with self._session.slots.hold():
            return self._tries(method, url, params, headers, json, timeout)

    def _tries(self, method: str, url: str, params: Any, headers: Any, json: Any, timeout: Any) -> Outcome:
        retries = self._retries
        attempt = not_connected = 0
        logged_in_again = False
        while True:
            response: Optional[requests.Response] = None
            error: Optional[Exception] = None
            try:
                response = requests.request(
                    method, url, params=params, headers=headers, json=json, auth=self._auth, timeout=timeout
                )
            except Exception as raised:
                if not retries.no_answer(raised):
                    raise
                error = raised
            if error is not None:
                outage = self._clock(server_failed=lost_connection(error), succeeded=False)
                if retries.connect_attempts is not None and never_connected(error):
                    # not counted among `attempts`: a host that takes no connection fails fast
                    not_connected += 1
                    if not_connected >= retries.connect_attempts or outage:
                        return Outcome(error=error, outage=outage)
                    time.sleep(0.5 * 2 ** (not_connected - 1))
                    continue
                last = attempt + 1 >= retries.attempts or not retries.retry_no_answer
                if outage or last:
                    if not outage and retries.retry_no_answer and retries.wait_after_last_no_answer:
                        time.sleep(self._wait(attempt, None))
                    return Outcome(error=error, outage=outage)
                time.sleep(self._wait(attempt, None))
                attempt += 1
                continue
            assert response is not None
            status = response.status_code
            if status == 401 and retries.relogin_on_401 and self._auth is not None and not logged_in_again:
                logged_in_again = True  # a token that just expired, or was revoked
                self._auth.refresh_and_set_access_token()
                attempt += 1
                if attempt >= retries.attempts:
                    return Outcome(response=response)
                continue
            is_unreadable = unreadable(response)
            outage = self._clock(server_failed=status >= 500, succeeded=200 <= status < 300 and not is_unreadable)
            if status != 429 and status < 500 and not (retries.retry_unreadable and is_unreadable):
                return Outcome(response=response)
            # rate limited, a server error or an unreadable 200: wait as TIMIFY asks (or back off)
            last = attempt + 1 >= retries.attempts
            if outage or last:
                if not outage and retries.wait_after_last_answer:
                    time.sleep(self._wait(attempt, response))
                return Outcome(response=response, outage=outage)
            time.sleep(self._wait(attempt, response))
            attempt += 1

    def _wait(self, attempt: int, response: Optional[requests.Response]) -> float:
        retries = self._retries
        wait = _retry_after(response) if retries.retry_after else None
        if wait is None:
            wait = min(2**attempt, retries.max_backoff)
        return wait if retries.max_wait is None else min(wait, retries.max_wait)

    def _clock(self, server_failed: bool, succeeded: bool) -> Optional[str]:
        """The outage message once the outage has lasted `outage_seconds`, else None."""
        session = self._session
        if self._retries.moves_outage_clock:
            lasted = outage_lasted(session, server_failed, succeeded)
        else:
            lasted = session.outage.lasted(time.monotonic()) if server_failed else None
        return outage_message(lasted) if lasted is not None and lasted >= self._outage_seconds else None
