"""The login: App ID and App Secret exchanged for an access token (`POST /v1/auth/token`), once
per sync, renewed before it expires and after a 401, and sent in the form TIMIFY accepts."""

import email.utils
import logging
import time
from dataclasses import InitVar, dataclass
from typing import Any, Mapping, Optional, Union, cast
from urllib.parse import urlsplit

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.auth.declarative_authenticator import DeclarativeAuthenticator
from airbyte_cdk.sources.types import Config
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify.client import Retries, TimifyClient
from source_timify.response_json import parse_json_once
from source_timify.session import TimifySession, credentials_key, session_of
from source_timify.timify import APP_OVERVIEW, base_url, config_error, error_text

logger = logging.getLogger("airbyte")


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

    The token, the form and the refusals are the source's `session.tokens`, TIMIFY's clock its
    `session.clock` (session.py).
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
    # Set in __post_init__ from the config (session_of) unless given.
    session: TimifySession = None  # type: ignore[assignment]

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
        tokens = self.session.tokens
        if response.status_code != 401 and not tokens.form_confirmed:
            sent = response.request.headers.get("Authorization", "") if response.request is not None else ""
            with tokens.lock:
                cached = tokens.issued.get(self._key)
                if cached and sent == tokens.authorization(cached[0]):
                    tokens.form_confirmed = True
        return response

    @property
    def token(self) -> str:
        tokens = self.session.tokens
        with tokens.lock:
            cached = tokens.issued.get(self._key)
            access_token = cached[0] if cached and time.monotonic() < cached[1] else self._login()
            return tokens.authorization(access_token)

    def refresh_and_set_access_token(self) -> None:
        tokens = self.session.tokens
        # Several workers may be refused the same dead token at once: the first logs in, the
        # others find a new token once they get the lock and use it.
        refused = tokens.issued.get(self._key)
        with tokens.lock:
            current = tokens.issued.get(self._key)
            if current is not refused:
                return
            if current and not tokens.form_confirmed and tokens.switched_for != current[0]:
                # TIMIFY refused a token it has just issued: it wants the other form.
                logger.info(
                    f"TIMIFY refused the access token in the {tokens.form} form; sending it in "
                    f"the {tokens.other_form()} form for the rest of the sync."
                )
                tokens.form, tokens.switched_for = tokens.other_form(), current[0]
                return
            self._login()

    def _login(self) -> str:
        """Exchange the credentials for a token and cache it. Callers hold `session.tokens.lock`.

        A config error (credentials refused, host unreachable) is remembered for the rest of the
        command: every later stream fails at once with the same sentence instead of retrying.
        Other credentials (a corrected App Secret) are tried at once.
        """
        refusals = self.session.tokens.refusals
        if self._key in refusals:
            raise config_error(refusals[self._key])
        try:
            return self._exchange()
        except AirbyteTracedException as error:
            if error.failure_type == FailureType.config_error:
                refusals[self._key] = cast(str, error.message)  # a config error always has its sentence
            raise

    def _exchange(self) -> str:
        url = f"{self._host}/v1/auth/token"
        body = {"appid": self.config.get("app_id"), "appsecret": self.config.get("app_secret")}
        outcome = self._client().send(
            "POST",
            url,
            json=body,
            headers={"accept": "application/json"},
            timeout=(float(self.connect_timeout_seconds), float(self.login_timeout_seconds)),
        )
        response = outcome.response
        if response is None:
            raise self._unreachable(outcome.error) from None
        said = error_text(response)
        timify_said = f" (TIMIFY said: {said})" if said else ""
        if response.status_code in (400, 401, 403):
            raise config_error(
                f"TIMIFY rejected the App ID or App Secret{timify_said}: copy both again from the "
                f"{APP_OVERVIEW} (a rotated App Secret invalidates the old one at once).",
                detail=f"login answered HTTP {response.status_code}",
            )
        if response.status_code == 404:
            raise config_error(
                f"{self._host} has no TIMIFY login endpoint (HTTP 404){timify_said}: check `subdomain` "
                "(default api) and `base_url`."
            )
        if response.status_code != 200:
            message = f"TIMIFY's login failed with HTTP {response.status_code}{timify_said}; try again later."
            raise AirbyteTracedException(
                message=message, internal_message=message, failure_type=FailureType.transient_error
            )
        try:
            payload = response.json()
        except Exception:
            payload = None
        access_token = _access_token(payload)
        if access_token is None:
            raise config_error(
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
        self.session.tokens.issued[self._key] = (access_token, time.monotonic() + lifetime - margin)
        # TIMIFY's clock, for the incremental cursor: a `Date` is whole seconds, stamped before the
        # response reached us, so this errs early (the safe side). Without one, ours stands in.
        self.session.clock.logged_in(_server_time(response), time.time())
        logger.info(f"Logged in to TIMIFY; the access token is valid for {lifetime} s.")
        return access_token

    def _client(self) -> TimifyClient:
        """The login's client (client.py says why it takes no request slot and does not move the
        outage clock): a 401 is its answer, `Retry-After` is not read, a 5xx on the last try is
        still waited after; a host that takes no connection is tried `connect_attempts` times."""
        retries = Retries(
            attempts=int(self.login_attempts),
            retry_after=False,
            relogin_on_401=False,
            retry_unreadable=False,
            connect_attempts=int(self.connect_attempts),
            wait_after_last_no_answer=False,
            moves_outage_clock=False,
        )
        return TimifyClient(self.session, retries=retries, slots=False)

    def _unreachable(self, error: Optional[Exception]) -> AirbyteTracedException:
        host = urlsplit(self._host).netloc
        return config_error(
            f"Could not reach TIMIFY at {host}: check `subdomain` (default api), `base_url` and the network.",
            detail=f"{type(error).__name__} while logging in",
        )
