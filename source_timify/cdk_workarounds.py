"""Every place where source-timify reaches into airbyte-cdk's internals, in one file.

Each workaround below says what it fixes, what upstream change would make it unnecessary, and
checks that the CDK still looks the way it relies on: when it does not, it raises `CdkChanged`
(naming the workaround) instead of silently doing nothing. unit_tests/test_cdk_workarounds.py
runs each one through the real CDK, so a CDK upgrade that breaks one fails a test by name.

| workaround | why | unnecessary once the CDK... |
|---|---|---|
| carry_in_config | the source's session (session.py) must reach every component, also those of the parent streams' own factory | passes source-level context to components |
| use_component_factory | per-company cursor (incremental.CompanyCursor) | lets a manifest name a custom concurrent cursor, or a source pass its own component factory |
| limit_record_queue | a full 10,000-record queue of appointments held ~100 MB | makes the record queue's size a setting |
| observe_queue | progress lines need the partitions, which the CDK reports nowhere | reports partition progress (or offers a hook) |
| unwrap_check_message | CheckStream reports repr("Stream companies is not available: <reason>") | reports the reason as it was raised |
| keep_null_fields | the CDK's record serialiser drops top-level null fields | serialises records with their nulls |
| quiet_memory_monitor | the memory monitor announces its thresholds at INFO before every command | logs that at DEBUG |
| parse_json_once | error handler, extractor and paginator each parse every page (a fifth of a sync's CPU) | parses a response once |
"""

import ast
import contextlib
import logging
import queue
import re
import weakref
from typing import Any, Callable, Iterator, List, Mapping

import orjson
import requests
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessage, Type
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory

RECORD_QUEUE_SIZE = 2_000
_UNAVAILABLE = re.compile(r"^Stream \w+ is not available: (.+)$", re.S)


class CdkChanged(RuntimeError):
    """airbyte-cdk no longer looks the way a workaround of this file relies on."""

    def __init__(self, workaround: str, what: str) -> None:
        super().__init__(
            f"airbyte-cdk changed under source_timify.cdk_workarounds.{workaround}: {what}. "
            "Revisit that workaround for this CDK version (see the table in cdk_workarounds.py)."
        )


def carry_in_config(source: Any, wrap: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> None:
    """Replace the config the source builds every component with (`_config`: the CDK builds its
    streams from it, not from the config handed to read/check/discover) by `wrap(config)`. A
    source built without a config (`spec`) builds no component and is left alone."""
    if not hasattr(source, "_config"):
        raise CdkChanged("carry_in_config", "the source has no `_config` (the config its streams are built from)")
    if isinstance(source._config, Mapping):
        source._config = wrap(source._config)


def use_component_factory(source: Any, factory_class: type) -> None:
    """Swap the class of the component factory `source` built for `factory_class`, a subclass that
    only adds methods. The CDK builds its factory inside the source's __init__ (wired to the
    queue, message repository and state manager it makes there) and takes none from outside.
    Its table of constructors (PYDANTIC_MODEL_TO_CONSTRUCTOR) holds methods bound when it was
    built: the entries of the overridden ones are bound again to the subclass's."""
    factory = getattr(source, "_constructor", None)
    if type(factory) is not ModelToComponentFactory:
        raise CdkChanged("use_component_factory", f"the source's `_constructor` is a {type(factory).__name__}, not a ModelToComponentFactory")
    if not issubclass(factory_class, ModelToComponentFactory):
        raise TypeError(f"{factory_class.__name__} must subclass ModelToComponentFactory")
    for name in vars(factory_class):
        if callable(getattr(factory_class, name)) and not name.startswith("__") and not hasattr(ModelToComponentFactory, name):
            raise CdkChanged("use_component_factory", f"ModelToComponentFactory has no method {name} to override")
    factory.__class__ = factory_class
    table = getattr(factory, "PYDANTIC_MODEL_TO_CONSTRUCTOR", None)
    if not isinstance(table, dict):
        raise CdkChanged("use_component_factory", "the factory has no PYDANTIC_MODEL_TO_CONSTRUCTOR table")
    for model, constructor in list(table.items()):
        name = getattr(getattr(constructor, "__func__", None), "__name__", None)
        if name in vars(factory_class):
            table[model] = getattr(factory, name)


def _record_queue(source: Any, workaround: str) -> queue.Queue:
    record_queue = getattr(getattr(source, "_concurrent_source", None), "_queue", None)
    if not isinstance(record_queue, queue.Queue):
        raise CdkChanged(workaround, "the source has no `_concurrent_source._queue` (the queue between the workers and the writer)")
    return record_queue


def limit_record_queue(source: Any, size: int = RECORD_QUEUE_SIZE) -> None:
    """Hold at most `size` records between the workers and the writer (the CDK's default is
    10,000; TIMIFY's appointments are ~10 KB each in memory; 2,000 keeps the writer as busy)."""
    _record_queue(source, "limit_record_queue").maxsize = size


def observe_queue(source: Any, observe: Callable[[Any], None]) -> None:
    """Call `observe(item)` with every item the read loop takes from the CDK's queue (records,
    partitions, completion sentinels). The read loop is the queue's only consumer, so `observe`
    runs in the main thread."""
    record_queue = _record_queue(source, "observe_queue")
    get = record_queue.get

    def get_and_observe(*args: Any, **kwargs: Any) -> Any:
        item = get(*args, **kwargs)
        observe(item)
        return item

    record_queue.get = get_and_observe  # type: ignore[method-assign]


def unwrap_check_message(message: str) -> str:
    """The reason of a failed CheckStream, as it was raised: the CDK reports
    repr("Stream companies is not available: <reason>"), quoted and prefixed, and our reasons
    are already the one sentence meant for the user."""
    if message[:1] in ("'", '"'):
        try:
            message = str(ast.literal_eval(message))
        except (ValueError, SyntaxError):
            pass
    match = _UNAVAILABLE.match(message)
    return match.group(1) if match else message


_cdk_message_to_string = AirbyteEntrypoint.airbyte_message_to_string


def record_to_string(message: AirbyteMessage) -> str:
    """RECORD messages serialised with their null fields kept (`"externalId": null` reached the
    destination as a missing value); every other message goes through the CDK's serialiser."""
    record = message.record
    if message.type != Type.RECORD or record is None or record.meta or record.file_reference:
        return _cdk_message_to_string(message)
    body = {"stream": record.stream, "data": record.data, "emitted_at": record.emitted_at}
    if record.namespace is not None:
        body["namespace"] = record.namespace
    return orjson.dumps({"type": "RECORD", "record": body}).decode()


def keep_null_fields() -> None:
    """Make the CDK's entry point serialise records with `record_to_string`. The entry point calls
    its serialiser by its class name, so it is replaced on the class (in the CLI process only)."""
    if not callable(getattr(AirbyteEntrypoint, "airbyte_message_to_string", None)):
        raise CdkChanged("keep_null_fields", "AirbyteEntrypoint has no airbyte_message_to_string")
    AirbyteEntrypoint.airbyte_message_to_string = staticmethod(record_to_string)  # type: ignore[method-assign]


@contextlib.contextmanager
def quiet_memory_monitor() -> Iterator[None]:
    """Mute only the memory monitor's announcement of its thresholds, which the CDK logs at INFO
    when the entry point is built (spec included); the monitor still runs and still warns."""
    airbyte_logger = logging.getLogger("airbyte")
    level = airbyte_logger.level
    airbyte_logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        airbyte_logger.setLevel(level)


def parse_json_once(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """Response hook (auth.TimifyAuthenticator registers it on every request it signs): the
    body is parsed once, with orjson, however many of the CDK's readers ask. A body that is not
    JSON falls back to requests' own parser, which raises the error callers expect."""
    # The closure must not hold the response itself (nor its bound `json`): a response that
    # refers to itself through a cycle is freed only by the garbage collector, not when the last
    # reader drops it, and a sync would pile up pages in memory.
    content = response.content
    this = weakref.ref(response)
    parsed: List[Any] = []

    def json_once(**json_kwargs: Any) -> Any:
        if not parsed:
            try:
                parsed.append(orjson.loads(content))
            except orjson.JSONDecodeError:
                return requests.Response.json(this(), **json_kwargs)
        return parsed[0]

    response.json = json_once  # type: ignore[method-assign]
    return response
