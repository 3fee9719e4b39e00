"""Every place where source-timify reaches into airbyte-cdk's internals, in one file.

Each workaround below says what it fixes, what upstream change would make it unnecessary, and
checks that the CDK still looks the way it relies on: when it does not, it raises `CdkChanged`
(naming the workaround) instead of silently doing nothing. unit_tests/test_cdk_workarounds.py
runs each one through the real CDK, so a CDK upgrade that breaks one fails a test by name.
What source-timify tunes in requests, which the CDK reads with, is elsewhere: it touches nothing of
the CDK's (response_json.parse_json_once, entrypoint.read_bodies_in_large_chunks).

| workaround | why | unnecessary once the CDK... |
|---|---|---|
| carry_in_config | the source's session (session.py) must reach every component, also those of the parent streams' own factory | passes source-level context to components |
| use_component_factory | per-company cursor (incremental.CompanyCursor, built by an override of the factory's private `_build_concurrent_cursor`) and every requester a PrefetchingRequester | lets a manifest name a custom concurrent cursor, or a source pass its own component factory |
| concurrent_cursor_parts | that cursor must get the state and write its state messages where the CDK's own cursors do (the factory's private state manager and message repository) | as above |
| extend_requester | every data request takes one of `num_workers` slots, and appointments' next pages are read ahead (page_prefetch.py) | lets a requester be extended (a send hook) rather than replaced by a CustomRequester |
| skip_record_copies | the record selector copies every record to apply a schema normalisation that does nothing (TransformConfig.NoTransform) | copies only when it normalises |
| read_stream | the custom-field definitions and `company_ids` are read outside the sync's concurrent read | offers a call that reads one stream's records |
| limit_record_queue | a full 10,000-record queue of appointments held ~100 MB; its reader woke a blocked worker per record (RefillingQueue); pages are read ahead only while it is under half full | makes the record queue's size a setting, wakes writers in batches, and tells how full it is |
| observe_queue | progress lines need the partitions, which the CDK reports nowhere | reports partition progress (or offers a hook) |
| unwrap_check_message | CheckStream reports repr("Stream companies is not available: <reason>") | reports the reason as it was raised |
| keep_null_fields | the CDK's record serialiser drops top-level null fields; records leave as bytes (record_line) | serialises records with their nulls |
| write_messages | records written as orjson's bytes, in chunks, after the logs the CDK's PrintBuffer holds (a tenth of a read's CPU went to decoding each line, encoding it back and two locked writes) | writes its messages as bytes |
| lean_record_messages | the concurrent read builds each RECORD message with a copy of the record, an isinstance match against an ABC and a transform that does nothing (record_helper.stream_data_to_airbyte_message) | builds a record's message without a copy when it has no transformer or schema |
| count_records_cheaply | the entry point builds a HashableStreamDescriptor for every record it counts | counts records per stream without a new object |
| quiet_memory_monitor | the memory monitor announces its thresholds at INFO before every command | logs that at DEBUG |
"""  # noqa: E501 (the table: one row per line)

import ast
import contextlib
import inspect
import io
import logging
import queue
import re
import sys
import time
from typing import (
    Any,
    BinaryIO,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
)

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage
from airbyte_cdk.models import Type as MessageType
from airbyte_cdk.sources.concurrent_source import concurrent_read_processor
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager, HashableStreamDescriptor
from airbyte_cdk.sources.declarative.extractors.record_selector import RecordSelector
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester
from airbyte_cdk.sources.message import MessageRepository
from airbyte_cdk.sources.utils import record_helper
from airbyte_cdk.sources.utils.transform import TransformConfig, TypeTransformer
from airbyte_cdk.utils.print_buffer import PrintBuffer

from source_timify.record_queue import RefillingQueue

RECORD_QUEUE_SIZE = 500
R = TypeVar("R", bound=HttpRequester)
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


def _accepts_every_call_of(ours: Callable[..., Any], theirs: Callable[..., Any]) -> bool:
    """Whether `ours` accepts every call `theirs` does: each of its parameters by name (or through
    *args/**kwargs), and requires none it does not know."""
    mine, cdk = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
    var_positional = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in mine.values())
    var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in mine.values())
    for name, parameter in cdk.items():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            accepted = var_positional
        elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
            accepted = var_keyword
        elif name in mine:
            accepted = True
        elif parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            accepted = var_keyword
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            accepted = var_positional
        else:  # a parameter the CDK passes by name or by position
            accepted = var_keyword or var_positional
        if not accepted:
            return False
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return all(
        name in cdk for name, p in mine.items() if p.default is inspect.Parameter.empty and p.kind not in variadic
    )


def _swap_class(
    obj: Any, cdk_class: type, subclass: type, workaround: str, overrides: Optional[Iterable[str]] = None
) -> None:
    """Make `obj`, built by the CDK as a `cdk_class`, a `subclass`: one that adds methods and class
    attributes but no state its constructor would have to set up. Guarded: `obj` must be exactly a
    `cdk_class`; each method the subclass overrides (`overrides`; all of its methods when None)
    must still exist in the CDK and take the calls the CDK's takes; and a method it adds must not
    have appeared in the CDK since (it would override it unnoticed)."""
    if type(obj) is not cdk_class:
        raise CdkChanged(workaround, f"the CDK built a {type(obj).__name__}, not a {cdk_class.__name__}")
    if not issubclass(subclass, cdk_class):
        raise TypeError(f"{subclass.__name__} must subclass {cdk_class.__name__}")
    for name in ("__init__", "__post_init__", "__slots__"):
        if name in vars(subclass):
            raise TypeError(f"{subclass.__name__} must not define {name}: the object it adopts is already built")
    overridden = None if overrides is None else set(overrides)
    for name in vars(subclass):
        method = getattr(subclass, name)
        if name.startswith("__") or not callable(method):
            continue
        cdk_method = getattr(cdk_class, name, None)
        if overridden is None or name in overridden:
            if cdk_method is None:
                raise CdkChanged(workaround, f"{cdk_class.__name__} has no method {name} to override")
            if not _accepts_every_call_of(method, cdk_method):
                raise CdkChanged(workaround, f"{cdk_class.__name__}.{name} now takes {inspect.signature(cdk_method)}")
        elif cdk_method is not None:
            raise CdkChanged(
                workaround,
                f"{cdk_class.__name__} now has a {name} of its own, which {subclass.__name__}'s would override",
            )
    obj.__class__ = subclass


def use_component_factory(source: Any, factory_class: type) -> None:
    """Swap the class of the component factory `source` built for `factory_class`, a subclass that
    only overrides methods (source.TimifyComponentFactory: `create_http_requester`, and the private
    `_build_concurrent_cursor`; each guarded to exist still with the parameters it has now). The
    CDK builds its factory inside the source's __init__ (wired to the queue, message repository and
    state manager it makes there) and takes none from outside.
    Its table of constructors (PYDANTIC_MODEL_TO_CONSTRUCTOR) holds methods bound when it was
    built: the entries of the overridden ones are bound again to the subclass's."""
    factory = getattr(source, "_constructor", None)
    if type(factory) is not ModelToComponentFactory:
        raise CdkChanged(
            "use_component_factory",
            f"the source's `_constructor` is a {type(factory).__name__}, not a ModelToComponentFactory",
        )
    if not issubclass(factory_class, ModelToComponentFactory):
        raise TypeError(f"{factory_class.__name__} must subclass ModelToComponentFactory")
    _swap_class(factory, ModelToComponentFactory, factory_class, "use_component_factory")
    table = getattr(factory, "PYDANTIC_MODEL_TO_CONSTRUCTOR", None)
    if not isinstance(table, dict):
        raise CdkChanged("use_component_factory", "the factory has no PYDANTIC_MODEL_TO_CONSTRUCTOR table")
    for model, constructor in list(table.items()):
        name = getattr(getattr(constructor, "__func__", None), "__name__", None)
        if isinstance(name, str) and name in vars(factory_class):
            table[model] = getattr(factory, name)


class CursorParts(NamedTuple):
    """What the CDK's factory hands the concurrent cursors it builds itself."""

    stream_state: Mapping[str, Any]
    message_repository: MessageRepository
    connector_state_manager: ConnectorStateManager


def concurrent_cursor_parts(factory: Any, stream_name: str) -> CursorParts:
    """The stream's state, the message repository and the state manager of the CDK's component
    factory (its private `_connector_state_manager` and `_message_repository`), for a cursor of
    ours built where the factory builds its own (TimifyComponentFactory._build_concurrent_cursor):
    the cursor's state messages must go where the CDK's would, or the sync would emit none."""
    manager = getattr(factory, "_connector_state_manager", None)
    repository = getattr(factory, "_message_repository", None)
    if not isinstance(manager, ConnectorStateManager):
        raise CdkChanged("concurrent_cursor_parts", "the factory has no `_connector_state_manager` (a state manager)")
    if not isinstance(repository, MessageRepository):
        raise CdkChanged("concurrent_cursor_parts", "the factory has no `_message_repository` (a MessageRepository)")
    return CursorParts(manager.get_stream_state(stream_name, None), repository, manager)


def extend_requester(requester: HttpRequester, requester_class: Type[R]) -> R:
    """Make an HttpRequester the CDK's factory built a `requester_class` (page_prefetch.
    PrefetchingRequester), which overrides `send_request` only. The factory builds the requester
    with its authenticator, error handler and request options; a manifest's CustomRequester would
    replace all of that, not extend it."""
    _swap_class(requester, HttpRequester, requester_class, "extend_requester", overrides=("send_request",))
    return requester  # type: ignore[return-value]


class RecordsAsTheyAre(RecordSelector):
    """A RecordSelector that, when its schema normalisation is TransformConfig.NoTransform (the
    manifest's default), hands on the records as they are instead of a copy of each."""

    def _normalize_by_schema(
        self, records: Iterable[Mapping[str, Any]], schema: Optional[Mapping[str, Any]]
    ) -> Iterable[Mapping[str, Any]]:
        normalisation = self.schema_normalization
        if type(normalisation) is TypeTransformer and TransformConfig.NoTransform in normalisation._config:
            return records
        return super()._normalize_by_schema(records, schema)


def skip_record_copies(selector: RecordSelector) -> RecordSelector:
    """Make a RecordSelector the CDK's factory built a `RecordsAsTheyAre` (TimifyComponentFactory.
    create_record_selector): its private `_normalize_by_schema` copied every record to apply a
    normalisation that, without `schema_normalization` in the manifest, does nothing."""
    normalisation = getattr(selector, "schema_normalization", None)
    if normalisation is None:
        raise CdkChanged("skip_record_copies", "the RecordSelector has no schema_normalization")
    if type(normalisation) is TypeTransformer and not isinstance(
        getattr(normalisation, "_config", None), TransformConfig
    ):
        raise CdkChanged("skip_record_copies", "TypeTransformer keeps its TransformConfig elsewhere than `_config`")
    _swap_class(selector, RecordSelector, RecordsAsTheyAre, "skip_record_copies", overrides=("_normalize_by_schema",))
    return selector


def read_stream(stream: Any) -> Iterator[Any]:
    """Every record of a stream the CDK built, read at once, outside the CDK's concurrent read:
    the customers' custom-field definitions (custom_fields.py) and every `company_ids` entry at
    check (source.py). The CDK has no call that reads one stream: its partitions are generated
    and read by hand (AbstractStream.generate_partitions, Partition.read), one after another."""
    if not callable(getattr(stream, "generate_partitions", None)):
        raise CdkChanged("read_stream", f"a {type(stream).__name__} has no generate_partitions()")
    for partition in stream.generate_partitions():
        if not callable(getattr(partition, "read", None)):
            raise CdkChanged("read_stream", f"a {type(partition).__name__} has no read()")
        yield from partition.read()


def _record_queue(source: Any, workaround: str) -> queue.Queue:
    record_queue = getattr(getattr(source, "_concurrent_source", None), "_queue", None)
    if not isinstance(record_queue, queue.Queue):
        raise CdkChanged(
            workaround, "the source has no `_concurrent_source._queue` (the queue between the workers and the writer)"
        )
    return record_queue


def limit_record_queue(source: Any, size: int = RECORD_QUEUE_SIZE) -> RefillingQueue:
    """Hold at most `size` records between the workers and the writer (the CDK's default is
    10,000; TIMIFY's appointments are ~10 KB each in memory), and make the queue a
    `RefillingQueue` (the CDK makes a queue.Queue and takes none from outside)."""
    record_queue = _record_queue(source, "limit_record_queue")
    _swap_class(record_queue, queue.Queue, RefillingQueue, "limit_record_queue", overrides=("put", "get", "empty"))
    record_queue.maxsize = size
    return record_queue  # type: ignore[return-value]


def observe_queue(source: Any, observe: Callable[[Any], None]) -> None:
    """Call `observe(item)` with every item the read loop takes from the CDK's queue (records,
    partitions, completion sentinels): its only consumer, so `observe` runs in the main thread."""
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
_cdk_handle_record_counts = AirbyteEntrypoint.handle_record_counts


def _plain_record(message: AirbyteMessage) -> Optional[Mapping[str, Any]]:
    """The RECORD message as the protocol's JSON object, or None for any other message (and for a
    record with `meta` or a file reference, left to the CDK's serialiser)."""
    record = message.record
    if message.type != MessageType.RECORD or record is None or record.meta or record.file_reference:
        return None
    body = {"stream": record.stream, "data": record.data, "emitted_at": record.emitted_at}
    if record.namespace is not None:
        body["namespace"] = record.namespace
    return {"type": "RECORD", "record": body}


def record_to_string(message: AirbyteMessage) -> str:
    """RECORD messages serialised with their null fields kept (`"externalId": null` reached the
    destination as a missing value); every other message goes through the CDK's serialiser."""
    plain = _plain_record(message)
    return _cdk_message_to_string(message) if plain is None else orjson.dumps(plain).decode()


def record_line(message: AirbyteMessage) -> Union[str, bytes]:
    """`record_to_string`'s RECORD line as the UTF-8 bytes written to stdout, newline included
    (`write_messages` writes them as they are: no decoding to a str and encoding it back, a tenth
    of a read's CPU); every other message as the CDK's str, without a newline."""
    plain = _plain_record(message)
    return _cdk_message_to_string(message) if plain is None else orjson.dumps(plain, option=orjson.OPT_APPEND_NEWLINE)


def keep_null_fields() -> None:
    """Make the CDK's entry point serialise records with `record_line` (bytes, for `write_messages`);
    it calls its serialiser by its class name, so it is replaced on the class (CLI process only)."""
    if not callable(getattr(AirbyteEntrypoint, "airbyte_message_to_string", None)):
        raise CdkChanged("keep_null_fields", "AirbyteEntrypoint has no airbyte_message_to_string")
    AirbyteEntrypoint.airbyte_message_to_string = staticmethod(record_line)  # type: ignore[method-assign, assignment]


def write_messages(
    lines: Iterable[Union[str, bytes]],
    print_buffer: PrintBuffer,
    chunk_bytes: int = 1 << 16,
    stdout: Optional[BinaryIO] = None,
) -> None:
    """Write the entry point's messages to stdout in order, one line each (`record_line`'s bytes as
    they are, the CDK's strs encoded), in chunks of `chunk_bytes` or every `flush_interval` s; what
    the CDK's logger wrote meanwhile into `print_buffer` (its StringIO `buffer`) goes out first.
    Each chunk is written whole under the PrintBuffer's lock, which its own writes (every thread's
    log lines) take: with PYTHONUNBUFFERED (as in the image) a 64 KB write to a pipe is not atomic."""
    buffered = getattr(print_buffer, "buffer", None)
    lock = getattr(print_buffer, "lock", None)
    if not isinstance(buffered, io.StringIO) or not callable(getattr(print_buffer, "flush", None)) or lock is None:
        raise CdkChanged("write_messages", "the PrintBuffer has no StringIO `buffer`, flush() and `lock`")
    out: BinaryIO = stdout if stdout is not None else sys.__stdout__.buffer  # type: ignore[union-attr, assignment]
    interval = float(getattr(print_buffer, "flush_interval", 0.1))
    pending: List[bytes] = []
    size, last_flush = 0, time.monotonic()

    def flush() -> None:
        nonlocal size, last_flush
        with lock:
            view = memoryview(b"".join(pending))
            while view:  # an unbuffered file (PYTHONUNBUFFERED) may take part of a write, or none yet
                view = view[out.write(view) or 0 :]
            pending.clear()
            out.flush()
        size, last_flush = 0, time.monotonic()

    try:
        for line in lines:
            if print_buffer.buffer.tell():  # log lines came first (any thread may log)
                flush()
                print_buffer.flush()
            data = line if isinstance(line, bytes) else f"{line}\n".encode()
            pending.append(data)
            size += len(data)
            if size >= chunk_bytes or time.monotonic() - last_flush >= interval:
                flush()
    finally:  # a sync that fails (a stream's error raised at its end) still writes what it read
        flush()
        print_buffer.flush()


def count_records(message: AirbyteMessage, stream_message_count: Any) -> AirbyteMessage:
    """AirbyteEntrypoint.handle_record_counts (the STATE messages' `sourceStats.recordCount`) with
    one HashableStreamDescriptor per stream, not one per record; other messages are the CDK's."""
    record = message.record
    if message.type != MessageType.RECORD or record is None:
        return _cdk_handle_record_counts(message, stream_message_count)
    key = (record.stream, record.namespace)
    descriptor = _DESCRIPTORS.get(key)
    if descriptor is None:
        descriptor = _DESCRIPTORS.setdefault(key, HashableStreamDescriptor(name=key[0], namespace=key[1]))
    stream_message_count[descriptor] += 1.0
    return message


_DESCRIPTORS: Dict[Tuple[str, Optional[str]], HashableStreamDescriptor] = {}
_cdk_record_message = record_helper.stream_data_to_airbyte_message


def record_message(
    stream_name: str, data_or_message: Any, transformer: Any = None, schema: Any = None, file_reference: Any = None
) -> AirbyteMessage:
    """The message record_helper.stream_data_to_airbyte_message builds, for a record (a dict) that
    no transformer or schema asks to change, built around the record itself rather than a copy of
    it, without matching it against an ABC and without its no-op transform; anything else (a trace
    or log message, a transformer, a schema) is built by the CDK's function."""
    if type(data_or_message) is not dict or transformer is not None or schema is not None:
        passed = {} if transformer is None else {"transformer": transformer}
        return _cdk_record_message(stream_name, data_or_message, schema=schema, file_reference=file_reference, **passed)
    record = AirbyteRecordMessage(
        stream=stream_name, data=data_or_message, emitted_at=time.time_ns() // 1_000_000, file_reference=file_reference
    )
    return AirbyteMessage(type=MessageType.RECORD, record=record)


def lean_record_messages() -> None:
    """Make the concurrent read (ConcurrentReadProcessor.on_record, which calls the function by the
    name its module imported it under) build each record's message with `record_message`: the
    record is the worker's own dict, handed on by nothing else once the message is built."""
    cdk = getattr(concurrent_read_processor, "stream_data_to_airbyte_message", None)
    if not callable(cdk) or not _accepts_every_call_of(record_message, cdk):
        raise CdkChanged("lean_record_messages", "the concurrent read's stream_data_to_airbyte_message changed")
    concurrent_read_processor.stream_data_to_airbyte_message = record_message


def count_records_cheaply(entrypoint_class: Type[AirbyteEntrypoint]) -> None:
    """Make `entrypoint_class` (run.TimifyEntrypoint) count records with `count_records`: the
    CDK's read loop calls `self.handle_record_counts(message, counter)` for every message."""
    cdk = getattr(AirbyteEntrypoint, "handle_record_counts", None)
    if not callable(cdk) or not _accepts_every_call_of(count_records, cdk):
        raise CdkChanged("count_records_cheaply", "AirbyteEntrypoint.handle_record_counts is gone or takes other calls")
    if not issubclass(entrypoint_class, AirbyteEntrypoint):
        raise TypeError(f"{entrypoint_class.__name__} must subclass AirbyteEntrypoint")
    entrypoint_class.handle_record_counts = staticmethod(count_records)  # type: ignore[method-assign]


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
