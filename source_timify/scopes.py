"""Scopes: which app scope each stream needs, and which of them TIMIFY grants this app.

TIMIFY grants scopes per app (Companies, Events, Customers, Services, Resources, Enterprises) and
answers a call outside them with HTTP 403. The manifest states each stream's scope in its
`$parameters.scope`, and in `definitions.scope_probes` the one request that asks TIMIFY about each
scope. `discover` offers only the streams whose scopes TIMIFY grants, and `check` names the missing
scopes in its log (`readable_streams`); both ask once per scope (`ScopeProbe`). During `read`, a
stream whose scope was removed since fails on its first request with the manifest's 403 message,
which names the scope.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.interpolation.interpolated_mapping import InterpolatedMapping
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify.auth import TimifyAuthenticator
from source_timify.client import Retries, TimifyClient, not_a_config_error
from source_timify.timify import base_url, config_error, error_text

logger = logging.getLogger("airbyte")

GRANTED, REFUSED, UNKNOWN = "granted", "refused", "unknown"
COMPANIES = "Companies"  # the scope of the company list every company-scoped stream starts from
SCOPES_PAGE = "the TIMIFY Developer Platform (Apps > your app > Scopes)"


@dataclass(frozen=True)
class Answer:
    """What TIMIFY said about one scope: GRANTED (a page came back), REFUSED (HTTP 403) or UNKNOWN
    (no clear answer: a server error, a rate limit, no answer, or an answer that is neither)."""

    verdict: str
    detail: str = ""


def stream_scopes(manifest: Mapping[str, Any]) -> Dict[str, str]:
    """{stream name: the scope in its `$parameters.scope`}, ConditionalStreams included."""
    scopes: Dict[str, str] = {}

    def walk(streams: Any) -> None:
        for stream in streams or []:
            if stream.get("type") == "ConditionalStreams":
                walk(stream.get("streams"))
            elif stream.get("name") and (stream.get("$parameters") or {}).get("scope"):
                scopes[stream["name"]] = stream["$parameters"]["scope"]

    walk(manifest.get("streams"))
    return scopes


class ScopeProbe:
    """Asks TIMIFY once per scope whether the app holds it: page 1 of one record of that scope's
    request in `definitions.scope_probes`; a company-scoped one (`company_scoped: true`) with the
    `company-id` of the first company the Companies request listed.

    A 403 is a refusal. A 429, a 5xx or no answer is tried again (`attempts` in all, waiting as
    `Retry-After` says, at most `max_wait_seconds`), and a 401 once after a new login; what is still
    not an answer then is UNKNOWN, and so is any other status: only a 403 takes streams away.
    The requests go through the TIMIFY client (client.py): a request slot each, the outage clock.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        probes: Mapping[str, Mapping[str, Any]],
        attempts: int = 3,
        max_wait_seconds: float = 10,
        timeout_seconds: float = 30,
    ) -> None:
        self._config = config
        self._probes = probes
        self._timeout = timeout_seconds
        self._auth = TimifyAuthenticator(config=config, parameters={})
        # The client's rules, except: an unreadable 200 is a page like any other (granted), a
        # refused login is raised (anything else raised while sending is no answer), every wait is
        # capped at `max_wait_seconds`, and the last failed try is not waited after.
        retries = Retries(
            attempts=attempts,
            max_backoff=max_wait_seconds,
            max_wait=max_wait_seconds,
            retry_unreadable=False,
            no_answer=not_a_config_error,
            wait_after_last_answer=False,
            wait_after_last_no_answer=False,
        )
        self._client = TimifyClient(self._auth.session, self._auth, retries)

    def company_scoped(self, scope: str) -> bool:
        return bool((self._probes.get(scope) or {}).get("company_scoped"))

    def ask(self, scopes: Iterable[str]) -> Dict[str, Answer]:
        """An Answer for every scope in `scopes` that has a probe. Refused credentials raise the
        login's config error; a login that fails otherwise leaves every scope UNKNOWN."""
        wanted = [scope for scope in self._probes if scope in set(scopes)]
        scoped = [scope for scope in wanted if self.company_scoped(scope)]
        try:
            _ = self._auth.token  # log in once, before the requests run in parallel
        except AirbyteTracedException as error:
            if error.failure_type == FailureType.config_error:
                raise
            return {scope: Answer(UNKNOWN, f"the login failed: {error.message}") for scope in wanted}
        answers: Dict[str, Answer] = {}
        company_id = None
        if COMPANIES in self._probes and (COMPANIES in wanted or scoped):
            answers[COMPANIES], company_id = self._ask(COMPANIES)
        if company_id is None:
            listed = answers.get(COMPANIES)
            if listed is None or listed.verdict == GRANTED:
                why = "not asked: TIMIFY listed no company to ask with"
            else:
                why = f"not asked: the company list could not be read ({listed.detail})"
            answers.update({scope: Answer(UNKNOWN, why) for scope in scoped})
        others = [scope for scope in wanted if scope != COMPANIES and scope not in answers]
        if others:
            workers = max(1, min(len(others), int(self._config.get("num_workers") or 8)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scope-probe") as pool:
                for scope, (answer, _) in zip(
                    others, pool.map(lambda scope: self._ask(scope, company_id), others), strict=True
                ):
                    answers[scope] = answer
        return {scope: answers[scope] for scope in wanted if scope in answers}

    def _ask(self, scope: str, company_id: Optional[str] = None) -> Tuple[Answer, Optional[str]]:
        """The Answer for `scope`, and the id of the first record listed (the company to ask the
        company-scoped scopes with, when `scope` is Companies)."""
        probe = self._probes[scope]
        path = probe["path"]
        params = {"page": 1, "limit": 1}
        # Strings stay strings (an enterprise id like 5e00...01 would otherwise be read as a number).
        params.update(
            InterpolatedMapping(probe.get("request_parameters") or {}, parameters={}).eval(
                self._config, valid_value_types=(str,)
            )
        )
        params = {name: value for name, value in params.items() if value not in (None, "")}
        headers = {"accept": "application/json"}
        if probe.get("company_scoped") and company_id:
            headers["company-id"] = company_id
        url = base_url(self._config) + path
        outcome = self._client.send("GET", url, params=params, headers=headers, timeout=self._timeout)
        response, error = outcome.response, outcome.error
        if response is None:  # no answer, or one requests could not read: not a refusal
            said = error.message if isinstance(error, AirbyteTracedException) else type(error).__name__
            return Answer(UNKNOWN, f"no answer from {path} ({said})"), None
        status, said = response.status_code, error_text(response)
        detail = f"HTTP {status} on {path}{f': {said}' if said else ''}"
        if status < 300:
            return Answer(GRANTED), _first_id(response)
        if status == 403:
            return Answer(REFUSED, detail), None
        return Answer(UNKNOWN, detail), None


def _first_id(response: requests.Response) -> Optional[str]:
    try:
        first = response.json()["data"][0]
        return str(first["id"]) if first.get("id") else None
    except Exception:
        return None


def _names(streams: List[str]) -> str:
    return streams[0] if len(streams) == 1 else ", ".join(streams[:-1]) + " and " + streams[-1]


def readable_streams(
    config: Mapping[str, Any], manifest: Mapping[str, Any], stream_names: Iterable[str], command: str
) -> List[str]:
    """The streams of `stream_names` that TIMIFY lets this app read, in their order, after asking
    once per scope they need; logs which scope to grant for which streams (`command` is "discover"
    or "check", for the wording). A stream is left out when its scope was refused, or, for a
    company-scoped stream, when the company list (Companies) was. A scope without an answer keeps
    its streams. When no stream is left, a config error names the scopes to grant."""
    names = list(stream_names)
    scope_of = stream_scopes(manifest)
    probe = ScopeProbe(config, (manifest.get("definitions") or {}).get("scope_probes") or {})
    answers = probe.ask({scope_of[name] for name in names if name in scope_of})
    blocked: Dict[str, List[str]] = {}  # refused scope -> the streams it keeps from being read
    unknown: Dict[str, List[str]] = {}
    for name in names:
        scope = scope_of.get(name)
        if scope not in answers:
            continue
        needed = [scope] + ([COMPANIES] if probe.company_scoped(scope) and scope != COMPANIES else [])
        refused = [need for need in needed if answers.get(need, Answer(GRANTED)).verdict == REFUSED]
        for need in refused:
            blocked.setdefault(need, []).append(name)
        if not refused and answers[scope].verdict == UNKNOWN:
            unknown.setdefault(scope, []).append(name)
    readable = [name for name in names if not any(name in streams for streams in blocked.values())]
    for scope, streams in blocked.items():
        effect = (
            f"discover leaves out {_names(streams)}" if command == "discover" else f"{_names(streams)} cannot be synced"
        )
        reason = (
            " (every company-scoped stream starts from the company list)"
            if scope == COMPANIES and len(streams) > 1
            else ""
        )
        logger.warning(
            f"This TIMIFY app lacks the {scope} scope ({answers[scope].detail}), so {effect}{reason}. "
            f"Grant the app the {scope} scope in {SCOPES_PAGE} to sync them."
        )
    for scope, streams in unknown.items():
        effect = "discover keeps them" if command == "discover" else "they are not checked"
        logger.warning(
            f"Could not ask TIMIFY whether this app has the {scope} scope for {_names(streams)} "
            f"({answers[scope].detail}), so {effect}; if the app lacks it, their sync fails with an error naming "
            "the scope."
        )
    if not blocked and not unknown:
        logger.info(f"This TIMIFY app has every scope its streams need: {', '.join(sorted(set(answers)))}.")
    if names and not readable:
        raise config_error(
            f"This TIMIFY app lacks the scopes every stream needs ({', '.join(blocked)}): grant them in "
            f"{SCOPES_PAGE}, then run discover again."
        )
    return readable
