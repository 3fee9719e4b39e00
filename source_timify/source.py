"""The TIMIFY source: the declarative manifest next to this file, loaded by absolute path."""

import importlib
import logging
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.sources.declarative.extractors.record_selector import RecordSelector
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.declarative.partition_routers.partition_router import PartitionRouter
from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.streams.concurrent.cursor import Cursor
from airbyte_cdk.sources.types import Config
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify import cdk_workarounds
from source_timify.auth import TimifyAuthenticator
from source_timify.custom_fields import unfit_summary
from source_timify.page_prefetch import PrefetchingRequester
from source_timify.progress import ProgressLog, SyncProgress
from source_timify.scopes import readable_streams
from source_timify.session import ConfigWithSession, TimifySession

MANIFEST_PATH = Path(__file__).parent / "manifest.yaml"


class TimifyComponentFactory(ModelToComponentFactory):
    """The CDK's component factory, plus what a manifest cannot say: a stream whose
    `incremental_sync` names a `cursor_class` in its `$parameters` gets that cursor
    (incremental.CompanyCursor) instead of the CDK's per-partition one, which would keep one
    cursor per 31-day window and know nothing of the date range a company was read over."""

    def create_http_requester(self, model: Any, config: Config, *args: Any, **kwargs: Any) -> HttpRequester:
        """Every requester takes a slot of `num_workers` per request; the one whose `$parameters`
        say `prefetch_pages: true` (appointments) also reads the next pages of a window ahead
        (page_prefetch.py)."""
        requester = super().create_http_requester(model, config, *args, **kwargs)
        return PrefetchingRequester.adopt(requester, bool((model.parameters or {}).get("prefetch_pages")))

    def create_record_selector(self, model: Any, config: Config, *args: Any, **kwargs: Any) -> RecordSelector:
        """The CDK's record selector, without its copy of every record for a schema normalisation
        that does nothing (cdk_workarounds.skip_record_copies)."""
        return cdk_workarounds.skip_record_copies(super().create_record_selector(model, config, *args, **kwargs))

    def _build_concurrent_cursor(self, model: Any, stream_slicer: Optional[PartitionRouter], config: Config) -> Cursor:
        """The CDK's concurrent cursor, or the one the stream's `cursor_class` names (a private
        method of the CDK's: cdk_workarounds.use_component_factory guards that it still exists with
        these parameters, and concurrent_cursor_parts hands over what the CDK's cursors get)."""
        parameters = (model.incremental_sync.parameters if model.incremental_sync else None) or {}
        if not parameters.get("cursor_class"):
            return super()._build_concurrent_cursor(model, stream_slicer, config)
        module, _, name = str(parameters["cursor_class"]).rpartition(".")
        cursor_class = getattr(importlib.import_module(module), name)
        parts = cdk_workarounds.concurrent_cursor_parts(self, model.name)
        # A cancellation check emits the appointments moved out of the range as updates: with the
        # stream's own transformations, built as the factory builds them for the stream.
        transformations = [
            self._create_component_from_model(model=transformation, config=config)
            for transformation in (model.transformations or [])
            if parameters.get("track_cancellations")
        ]
        return cursor_class(
            stream_name=model.name,
            partition_router=stream_slicer,
            config=config,
            stream_state=parts.stream_state,
            message_repository=parts.message_repository,
            connector_state_manager=parts.connector_state_manager,
            cursor_field=model.incremental_sync.cursor_field,
            lookback_seconds=parameters.get("lookback_seconds", 300),
            track_cancellations=bool(parameters.get("track_cancellations")),
            track_deletions=bool(parameters.get("track_deletions")),
            list_path=parameters.get("path"),
            transformations=transformations,
        )


class SourceTimify(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[List[AirbyteStateMessage]] = None,
    ) -> None:
        # CDK 7 reads config, catalog and state here, not in read(): a source built without
        # them silently restarts every incremental stream from scratch.
        super().__init__(path_to_yaml=str(MANIFEST_PATH), catalog=catalog, config=config, state=state)
        # What the CDK offers no setting for (cdk_workarounds.py, each guarded): this source's
        # session (its token, refusals, TIMIFY's clock and outage clock: session.py) carried by the
        # config every component is built with, the factory that builds the per-company cursor
        # (streams are built later, from read/discover/check), a shorter record queue, and the
        # partitions for the progress lines.
        self._session = TimifySession()
        cdk_workarounds.carry_in_config(self, lambda config: ConfigWithSession(config, self._session))
        cdk_workarounds.use_component_factory(self, TimifyComponentFactory)
        self._session.slots.watch_writer(cdk_workarounds.limit_record_queue(self).backed_up)
        self._progress = SyncProgress()
        cdk_workarounds.observe_queue(self, self._progress.observe)

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[List[AirbyteStateMessage]] = None,
    ) -> Iterator[AirbyteMessage]:
        self._session.start_sync()
        self._session.configure(config)
        log_in_or_fail(config, self._session)
        progress = self._progress
        progress.start(configured.stream.name for configured in catalog.streams)
        # A progress line every 30 s (see progress.py): a long sync shows it is moving.
        try:
            with ProgressLog(progress):
                for message in super().read(logger, config, catalog, state):
                    if message.type == Type.RECORD and message.record is not None:
                        progress.record(message.record.stream)
                    elif message.type == Type.TRACE and message.trace is not None and message.trace.stream_status:
                        status = message.trace.stream_status
                        progress.stream_status(status.stream_descriptor.name, status.status.name)
                    yield message
        finally:
            self._session.end_command()
        # One line for the custom-field values that did not fit their column (custom_fields.py).
        summary = unfit_summary(self._session.counts.snapshot())
        if summary:
            logger.warning(summary)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """The CDK's check, with its failure reasons passed on as they were raised: they are
        already the one sentence meant for the user (which field, what to do)."""
        status = super().check(logger, config)
        streams = self.streams(config) if status.status == Status.SUCCEEDED else []
        if status.status == Status.SUCCEEDED and config.get("company_ids"):
            status = self._check_company_ids(streams)
        if status.status == Status.SUCCEEDED:
            # The companies can be read; the log says which scopes the other streams lack (scopes.py).
            names = [stream.name for stream in streams]
            readable_streams(ConfigWithSession(config, self._session), self.resolved_manifest, names, "check")
        if status.status == Status.FAILED and status.message:
            status.message = cdk_workarounds.unwrap_check_message(status.message)
        return status

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        """The CDK's catalog without the streams of the scopes TIMIFY refuses this app (scopes.py).
        Like a read, a discover starts afresh: the custom-field columns are those TIMIFY has now."""
        self._session.start_sync()
        # The scopes first: building the catalog then reads the customers' field definitions.
        names = [stream.name for stream in self.streams(config)]
        readable = set(
            readable_streams(ConfigWithSession(config, self._session), self.resolved_manifest, names, "discover")
        )
        catalog = super().discover(logger, config)
        catalog.streams = [stream for stream in catalog.streams if stream.name in readable]
        return catalog

    @staticmethod
    def _check_company_ids(streams: List[Any]) -> AirbyteConnectionStatus:
        """The CDK's check reads the first company only; every `company_ids` entry is checked
        against the whole list (ConfiguredCompanies fails on one it did not list)."""
        companies = next(stream for stream in streams if stream.name == "companies")
        try:
            for _ in cdk_workarounds.read_stream(companies):
                pass
        except AirbyteTracedException as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)


def log_in_or_fail(config: Mapping[str, Any], session: TimifySession) -> None:
    """Log in once before any stream starts, and fail the sync on refused credentials.

    Otherwise every stream of the catalog starts, fails on the same refused login and reports it
    (eight TRACE errors, eight tracebacks and a summary for one wrong App Secret); the sync now
    ends with the one sentence. The token is cached for the streams, so the sync still logs in
    once. A transient login failure is left to the streams, which retry it as before.
    """
    try:
        _ = TimifyAuthenticator(config=config, parameters={}, session=session).token
    except AirbyteTracedException as error:
        if error.failure_type == FailureType.config_error:
            raise
