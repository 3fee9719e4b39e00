"""What one source instance knows about TIMIFY while it runs a command (a read, a check, a discover).

Nothing of it is process-wide: two sources in one process (PyAirbyte in a notebook: check, fix the
secret, check again) share no token, no refusal, no clock and no outage. SourceTimify makes one
TimifySession and carries it in the config the CDK builds every component with (ConfigWithSession,
cdk_workarounds.carry_in_config); a component finds it with `session_of(config)`, and components
built outside a source make their own.

- the access token per set of credentials (host, App ID, a digest of the App Secret), and the
  form TIMIFY accepts it in (`Authorization: Bearer <token>`, the documented form, or the raw token);
- a login refusal per set of credentials: every stream of a read fails at once with the same
  sentence, while corrected credentials are tried at once;
- TIMIFY's clock, from the first login's `Date` header: the sync's start, for the incremental
  cursor, and the offset of TIMIFY's clock from ours;
- since when every answer has been a server error (errors.OutageCutoff);
- the slots that keep its data requests in flight at `num_workers` at most, and the pages read
  ahead (page_prefetch.py);
- what a component works out once per sync (`once_per_sync`: the customers' custom-field columns,
  custom_fields.py) and what it counts for the sync's last log line (`count`, `counts`).
"""

import contextlib
import hashlib
import threading
import time
from collections import Counter
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

CredentialsKey = Tuple[str, str, str]

BEARER, RAW = "Bearer", "raw"


def credentials_key(host: str, config: Mapping[str, Any]) -> CredentialsKey:
    """What identifies a set of credentials, without holding the secret itself."""
    secret = str(config.get("app_secret", "")).encode()
    return host, str(config.get("app_id", "")), hashlib.sha256(secret).hexdigest()


class ConfigWithSession(dict):
    """The config as SourceTimify hands it to the CDK, carrying the source's session: the CDK
    passes this same mapping to every component it builds, by every factory (the parent streams of
    a substream are built by a factory of their own), so each finds the session in its config."""

    def __init__(self, config: Mapping[str, Any], session: "TimifySession") -> None:
        super().__init__(config)
        self.timify_session = session


def session_of(config: Any) -> "TimifySession":
    """The session `config` carries; a new one for a config built outside a source (a component
    on its own in a unit test)."""
    session = getattr(config, "timify_session", None)
    return session if isinstance(session, TimifySession) else TimifySession()


class TimifySession:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: Dict[CredentialsKey, Tuple[str, float]] = {}  # token, renew at (monotonic)
        self.refusals: Dict[CredentialsKey, str] = {}
        # The token form: Bearer until TIMIFY refuses a freshly issued token in it (then raw);
        # `form_confirmed` once TIMIFY answered a request signed in the current form with
        # anything but 401; `switched_for` is the token the form was last switched for.
        self.token_form = BEARER
        self.form_confirmed = False
        self.switched_for: Optional[str] = None
        self._sync_started: Optional[float] = None  # TIMIFY's clock at the first login
        self._clock_offset = 0.0  # TIMIFY's clock minus ours
        self.outage_lock = threading.Lock()
        self.outage_since: Optional[float] = None
        self._per_sync: Dict[str, Any] = {}
        self._per_sync_locks: Dict[str, threading.Lock] = {}
        self._per_sync_lock = threading.Lock()
        self._counts: Counter = Counter()
        self._counts_lock = threading.Lock()
        self._slots: Optional[threading.BoundedSemaphore] = None
        self._prefetch: Any = None

    def authorization(self, access_token: str) -> str:
        """The `Authorization` header's value for `access_token`, in the form TIMIFY accepts."""
        return f"Bearer {access_token}" if self.token_form == BEARER else access_token

    def other_form(self) -> str:
        return RAW if self.token_form == BEARER else BEARER

    def logged_in(self, server_time: Optional[float], received: float) -> None:
        """Record TIMIFY's clock from a login response (`server_time`: its `Date`, None without)."""
        self._clock_offset = 0.0 if server_time is None else server_time - received
        if self._sync_started is None:
            self._sync_started = received if server_time is None else server_time

    def sync_start(self) -> Optional[float]:
        """When this sync began on TIMIFY's clock (epoch seconds): the `Date` header of its first
        login, whole seconds, so never later than TIMIFY's time when the first list was read.
        None before any login."""
        return self._sync_started

    def now(self) -> float:
        """TIMIFY's clock now (epoch seconds): ours, corrected by what the last login's `Date` said."""
        return time.time() + self._clock_offset

    def start_sync(self) -> None:
        """A new read on the same source: it logs in afresh, and its start is that login's time."""
        with self.lock:
            self.tokens.clear()
            self.refusals.clear()
            self._sync_started = None
        with self.outage_lock:
            self.outage_since = None
        with self._per_sync_lock:
            self._per_sync.clear()
        with self._counts_lock:
            self._counts.clear()

    def configure(self, config: Mapping[str, Any]) -> None:
        """The command's `num_workers`: as many data requests in flight at most, and as many
        pages read ahead (page_prefetch.py)."""
        from source_timify.page_prefetch import Prefetch

        workers = max(1, int(config.get("num_workers") or 8))
        with self.lock:
            if self._prefetch is not None:
                self._prefetch.close()
            self._slots = threading.BoundedSemaphore(workers)
            self._prefetch = Prefetch(workers)

    @contextlib.contextmanager
    def request_slots(self) -> Iterator[None]:
        """Held while one data request is sent (with its retries): at most `num_workers` at once."""
        slots = self._slots
        if slots is None:
            yield
            return
        with slots:
            yield

    def prefetch(self) -> Any:
        if self._prefetch is None:
            self.configure({})
        return self._prefetch

    def end_command(self) -> None:
        """Drops the pages read ahead and stops their threads."""
        with self.lock:
            prefetch = self._prefetch
        if prefetch is not None:
            prefetch.close()

    def once_per_sync(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()`'s result, computed once per sync for `key`: the first caller computes while
        the others asking for the same key wait for its result (one lock per key, so a computation
        may itself ask for another key: the custom-field columns read the companies). A failure is
        not kept: the next caller tries again."""
        with self._per_sync_lock:
            if key in self._per_sync:
                return self._per_sync[key]
            key_lock = self._per_sync_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._per_sync_lock:
                if key in self._per_sync:
                    return self._per_sync[key]
            value = compute()
            with self._per_sync_lock:
                self._per_sync[key] = value
            return value

    def count(self, key: Any, n: int = 1) -> None:
        with self._counts_lock:
            self._counts[key] += n

    def counts(self) -> Dict[Any, int]:
        with self._counts_lock:
            return dict(self._counts)
