"""What one source instance knows about TIMIFY while it runs a command (a read, a check, a discover).

Nothing of it is process-wide: two sources in one process (PyAirbyte in a notebook: check, fix the
secret, check again) share no token, no refusal, no clock and no outage. SourceTimify makes one
TimifySession and carries it in the config the CDK builds every component with (ConfigWithSession,
cdk_workarounds.carry_in_config); a component finds it with `session_of(config)`, which fails on a
config that carries none (a component built outside a source is handed a ConfigWithSession too).

A TimifySession holds one small object per job, each with its own lock:
- `tokens` (TokenStore): the access token per set of credentials (host, App ID, a digest of the App
  Secret), the form TIMIFY accepts it in (`Authorization: Bearer <token>`, the documented form, or
  the raw token), and a login refusal per set of credentials: every stream of a read fails at once
  with the same sentence, while corrected credentials are tried at once (auth.py);
- `clock` (TimifyClock): TIMIFY's clock, from the first login's `Date` header: the sync's start,
  for the incremental cursor, and the offset of TIMIFY's clock from ours;
- `outage` (Outage): since when every answer has been a server error (errors.OutageCutoff);
- `slots` (RequestSlots): the slots that keep its data requests in flight at `num_workers` at most,
  and the pages read ahead within that number (read_ahead.Prefetch, filled by page_prefetch.py)
  while the writer keeps up;
- `per_sync` (PerSync): what a component works out once per sync (the companies, the customers'
  custom-field columns: company_partitions.py, custom_fields.py);
- `counts` (Counts): what components count for the sync's last log line (custom_fields.py).
The session itself only starts a sync (`start_sync`: everything but the token form forgotten),
configures a command (`configure`: its `num_workers`) and ends it (`end_command`).
"""

import contextlib
import hashlib
import threading
import time
from collections import Counter
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

from source_timify.read_ahead import Prefetch

CredentialsKey = Tuple[str, str, str]

BEARER, RAW = "Bearer", "raw"
DEFAULT_WORKERS = 8  # num_workers when the config sets none (the manifest's default_concurrency)


def credentials_key(host: str, config: Mapping[str, Any]) -> CredentialsKey:
    """What identifies a set of credentials, without holding the secret itself."""
    secret = str(config.get("app_secret", "")).encode()
    return host, str(config.get("app_id", "")), hashlib.sha256(secret).hexdigest()


class TokenStore:
    """The access tokens, the form TIMIFY accepts them in, and the refused logins. `lock` is held
    by whoever reads or replaces a token (auth.TimifyAuthenticator): one login at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.issued: Dict[CredentialsKey, Tuple[str, float]] = {}  # token, renew at (monotonic)
        self.refusals: Dict[CredentialsKey, str] = {}
        # The token form: Bearer until TIMIFY refuses a freshly issued token in it (then raw);
        # `form_confirmed` once TIMIFY answered a request signed in the current form with
        # anything but 401; `switched_for` is the token the form was last switched for.
        self.form = BEARER
        self.form_confirmed = False
        self.switched_for: Optional[str] = None

    def authorization(self, access_token: str) -> str:
        """The `Authorization` header's value for `access_token`, in the form TIMIFY accepts."""
        return f"Bearer {access_token}" if self.form == BEARER else access_token

    def other_form(self) -> str:
        return RAW if self.form == BEARER else BEARER

    def forget(self) -> None:
        """A new sync logs in afresh and tries refused credentials again (the form is kept)."""
        with self.lock:
            self.issued.clear()
            self.refusals.clear()


class TimifyClock:
    """TIMIFY's clock, as the logins' `Date` headers tell it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync_started: Optional[float] = None  # TIMIFY's clock at the first login
        self._offset = 0.0  # TIMIFY's clock minus ours

    def logged_in(self, server_time: Optional[float], received: float) -> None:
        """Record TIMIFY's clock from a login response (`server_time`: its `Date`, None without)."""
        with self._lock:
            self._offset = 0.0 if server_time is None else server_time - received
            if self._sync_started is None:
                self._sync_started = received if server_time is None else server_time

    def sync_start(self) -> Optional[float]:
        """When this sync began on TIMIFY's clock (epoch seconds): the `Date` header of its first
        login, whole seconds, so never later than TIMIFY's time when the first list was read.
        None before any login."""
        with self._lock:
            return self._sync_started

    def now(self) -> float:
        """TIMIFY's clock now (epoch seconds): ours, corrected by what the last login's `Date` said."""
        with self._lock:
            offset = self._offset
        return time.time() + offset

    def restart(self) -> None:
        """A new sync: its start is its first login's time."""
        with self._lock:
            self._sync_started = None


class Outage:
    """Since when (monotonic seconds) every answer has been a server error or none at all; None
    while TIMIFY answers (errors.OutageCutoff, shared by every worker of the source)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: Optional[float] = None

    def failed(self, now: float) -> float:
        """A request failed on the server's side at `now`: how long the outage has lasted."""
        with self._lock:
            if self.since is None:
                self.since = now
            return now - self.since

    def lasted(self, now: float) -> Optional[float]:
        """How long the outage has lasted at `now`, without moving the clock (the login reads it:
        client.py); None while TIMIFY answers."""
        with self._lock:
            return None if self.since is None else now - self.since

    def ended(self) -> None:
        """TIMIFY answered a request."""
        with self._lock:
            self.since = None


class RequestSlots:
    """The command's `num_workers`: as many data requests in flight at most (`hold`), and as many
    pages read ahead (`prefetch`, page_prefetch.py). Both are replaced together by `configure`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: Optional[threading.BoundedSemaphore] = None
        self._prefetch: Optional[Prefetch] = None
        self._writer_behind: Callable[[], bool] = lambda: False

    def watch_writer(self, writer_behind: Callable[[], bool]) -> None:
        """Tell `writer_behind` how to know (SourceTimify: its record queue is half full)."""
        self._writer_behind = writer_behind

    def writer_behind(self) -> bool:
        """Whether the records read wait for the writer: pages are read ahead only while it keeps
        up (page_prefetch.py)."""
        return self._writer_behind()

    def configure(self, workers: int) -> None:
        with self._lock:
            if self._prefetch is not None:
                self._prefetch.close()
            self._slots = threading.BoundedSemaphore(workers)
            self._prefetch = Prefetch(workers)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Held while one data request is sent (with its retries): at most `num_workers` at once."""
        slots = self._slots
        if slots is None:
            yield
            return
        with slots:
            yield

    def prefetch(self) -> Prefetch:
        """The pages read ahead (`DEFAULT_WORKERS` of them if no command configured any)."""
        with self._lock:
            if self._prefetch is None:
                self._slots = threading.BoundedSemaphore(DEFAULT_WORKERS)
                self._prefetch = Prefetch(DEFAULT_WORKERS)
            return self._prefetch

    def close(self) -> None:
        """Drops the pages read ahead and stops their threads."""
        with self._lock:
            prefetch = self._prefetch
        if prefetch is not None:
            prefetch.close()


class PerSync:
    """What a component works out once per sync, by key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Dict[str, Any] = {}
        self._key_locks: Dict[str, threading.Lock] = {}

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()`'s result, computed once per sync for `key`: the first caller computes while
        the others asking for the same key wait for its result (one lock per key, so a computation
        may itself ask for another key: the custom-field columns read the companies). A failure is
        not kept: the next caller tries again."""
        with self._lock:
            if key in self._values:
                return self._values[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            value = compute()
            with self._lock:
                self._values[key] = value
            return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class Counts:
    """What components count during a sync, for its last log line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()

    def add(self, key: Any, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def snapshot(self) -> Dict[Any, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class TimifySession:
    """One source's parts (see the module's docstring); it holds no state, and no lock, of its own."""

    def __init__(self) -> None:
        self.tokens = TokenStore()
        self.clock = TimifyClock()
        self.outage = Outage()
        self.slots = RequestSlots()
        self.per_sync = PerSync()
        self.counts = Counts()

    def start_sync(self) -> None:
        """A new read on the same source: it logs in afresh, and its start is that login's time."""
        self.tokens.forget()
        self.clock.restart()
        self.outage.ended()
        self.per_sync.clear()
        self.counts.clear()

    def configure(self, config: Mapping[str, Any]) -> None:
        """The command's `num_workers` (RequestSlots)."""
        self.slots.configure(max(1, int(config.get("num_workers") or DEFAULT_WORKERS)))

    def end_command(self) -> None:
        """Drops the pages read ahead and stops their threads."""
        self.slots.close()


class ConfigWithSession(dict):
    """The config as SourceTimify hands it to the CDK, carrying the source's session: the CDK
    passes this same mapping to every component it builds, by every factory (the parent streams of
    a substream are built by a factory of their own), so each finds the session in its config."""

    def __init__(self, config: Mapping[str, Any], session: TimifySession) -> None:
        super().__init__(config)
        self.timify_session = session


class NoSession(RuntimeError):
    """A component was built with a config that carries no TimifySession."""


def session_of(config: Any) -> TimifySession:
    """The session `config` carries (a ConfigWithSession). A config without one means a component
    was built outside SourceTimify's carried config: a fresh session would silently log in again and
    keep a clock, an outage and slots of its own, so this fails instead."""
    session = getattr(config, "timify_session", None)
    if not isinstance(session, TimifySession):
        raise NoSession(
            f"The config ({type(config).__name__}) carries no TimifySession (`timify_session`): build the "
            "component with ConfigWithSession(config, session), as SourceTimify does for every component "
            "(cdk_workarounds.carry_in_config), or hand it its session."
        )
    return session
