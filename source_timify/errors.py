"""The manifest's error handler, plus what YAML cannot say: the outage cutoff shared by all
workers, TIMIFY's own message in the manifest's error messages, and the company of a failed
request."""

import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.requesters.error_handlers import DefaultErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction

from source_timify.session import TimifySession, session_of
from source_timify.timify import error_text


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
    # The source's (the outage clock is shared by its workers): set in __post_init__ from the config
    # (session_of) unless given.
    session: TimifySession = None  # type: ignore[assignment]

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
            not isinstance(response_or_exception, requests.Response) or response_or_exception.status_code >= 500
        )
        lasted = outage_lasted(self.session, server_failed, resolution.response_action == ResponseAction.SUCCESS)
        if lasted is None or lasted < self._outage_seconds:
            return resolution
        message = outage_message(lasted)
        return ErrorResolution(
            response_action=ResponseAction.FAIL,
            failure_type=FailureType.transient_error,
            error_message=message,
        )


def outage_lasted(session: TimifySession, server_failed: bool, succeeded: bool) -> Optional[float]:
    """The outage clock, for the streams' error handler and the TIMIFY client alike: a server
    error or no answer (`server_failed`) starts it, an answer that succeeded stops it, anything
    else (a 429, a 4xx) leaves it as it is. How long the outage has lasted after a server
    failure, None otherwise."""
    if not server_failed:
        if succeeded:
            session.outage.ended()
        return None
    return session.outage.failed(time.monotonic())


def outage_message(lasted: float) -> str:
    return (
        f"TIMIFY has answered only with server errors or not at all for {int(lasted)} s, so "
        "the sync stopped; run it again later: the next sync resumes from the last complete one."
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
