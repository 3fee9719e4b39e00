"""Each workaround of source_timify/cdk_workarounds.py, run through the real CDK: a CDK upgrade
that breaks one fails here by name, instead of silently turning it off."""

import ast
import io
import json
import logging
import queue
import threading
import time
import types
from collections import defaultdict
from typing import Any, DefaultDict

import orjson
import pytest
import requests
import requests_mock
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import (
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteRecordMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    AirbyteTraceMessage,
    Status,
    StreamDescriptor,
    SyncMode,
    TraceType,
    Type,
)
from airbyte_cdk.sources.concurrent_source import concurrent_read_processor
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester
from airbyte_cdk.sources.utils import record_helper
from airbyte_cdk.sources.utils.transform import TransformConfig, TypeTransformer
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import read
from airbyte_cdk.test.state_builder import StateBuilder
from airbyte_cdk.utils.print_buffer import PrintBuffer

from source_timify import SourceTimify, cdk_workarounds, response_json
from source_timify.cdk_workarounds import CdkChanged
from source_timify.entrypoint import TimifyEntrypoint
from source_timify.incremental import CompanyCursor
from source_timify.page_prefetch import PrefetchingRequester
from source_timify.source import TimifyComponentFactory
from unit_tests.conftest import days_from_today, make_config, records_of, run_read, with_session
from unit_tests.forbidden_lock import ForbiddenLock, LockTaken
from unit_tests.timify_responses import BASE, appointment, company, error, login, page, register_list, register_login

COMPANY = "5f0000000000000000000001"
CONFIG = make_config(enterprise_id=None, page_size=2, start_date="2026-01-01", lookahead_days=0)


def test_use_component_factory_builds_the_per_company_cursor_the_manifest_names():
    source = SourceTimify(config=CONFIG)
    assert type(source._constructor) is TimifyComponentFactory
    appointments = next(stream for stream in source.streams(CONFIG) if stream.name == "appointments")
    assert isinstance(appointments.cursor, CompanyCursor)


def test_use_component_factory_fails_loudly_when_the_cdk_builds_another_factory():
    with pytest.raises(CdkChanged, match="use_component_factory"):
        cdk_workarounds.use_component_factory(types.SimpleNamespace(_constructor=object()), TimifyComponentFactory)


def test_use_component_factory_fails_loudly_when_a_method_it_overrides_is_gone_from_the_cdk():
    class Renamed(TimifyComponentFactory):
        def _build_a_cursor_the_cdk_no_longer_has(self):
            pass

    source = SourceTimify(config=CONFIG)
    source._constructor.__class__ = type(source._constructor).__mro__[1]  # back to the CDK's class
    with pytest.raises(CdkChanged, match="_build_a_cursor_the_cdk_no_longer_has"):
        cdk_workarounds.use_component_factory(source, Renamed)


def test_limit_record_queue_shortens_the_queue_between_workers_and_writer():
    source = SourceTimify(config=CONFIG)
    assert source._concurrent_source._queue.maxsize == cdk_workarounds.RECORD_QUEUE_SIZE
    assert type(source._concurrent_source._queue) is cdk_workarounds.RefillingQueue
    with pytest.raises(CdkChanged, match="limit_record_queue"):
        cdk_workarounds.limit_record_queue(types.SimpleNamespace())


def test_the_record_queue_wakes_writers_blocked_on_it_only_once_it_is_half_empty():
    record_queue = cdk_workarounds.RefillingQueue(maxsize=4)
    for item in range(4):
        record_queue.put(item)
    writer = threading.Thread(target=record_queue.put, args=(4,))
    writer.start()
    while not record_queue.not_full._waiters:  # the writer waits for room
        time.sleep(0.001)
    assert record_queue.get() == 0
    assert len(record_queue.not_full._waiters) == 1  # 3 left: not woken
    assert record_queue.get() == 1
    assert not record_queue.not_full._waiters  # 2 left: woken
    writer.join()
    assert [record_queue.get() for _ in range(3)] == [2, 3, 4]
    with pytest.raises(queue.Empty):
        record_queue.get(block=False)


def test_the_record_queue_hands_over_items_without_its_lock_while_more_than_half_full():
    record_queue = cdk_workarounds.RefillingQueue(maxsize=8)
    for item in range(8):
        record_queue.put(item)
    record_queue.not_empty = ForbiddenLock()
    assert [record_queue.get() for _ in range(3)] == [0, 1, 2]  # 5 left: still more than half full
    assert not record_queue.empty()
    with pytest.raises(LockTaken):
        record_queue.get()  # 4 left once taken: the writers may need waking, under the lock


def test_the_record_queue_answers_empty_without_its_lock():
    record_queue = cdk_workarounds.RefillingQueue(maxsize=4)
    record_queue.mutex = ForbiddenLock()
    assert record_queue.empty()
    record_queue.queue.append(0)
    assert not record_queue.empty()


def started_writers(record_queue, writers, per_writer):
    """`writers` threads, each putting (its number, 0), (its number, 1), ... up to `per_writer`."""
    threads = [
        threading.Thread(target=lambda w=w: [record_queue.put((w, n)) for n in range(per_writer)])
        for w in range(writers)
    ]
    for thread in threads:
        thread.start()
    return threads


def assert_each_writers_items_once_and_in_order(taken, writers, per_writer):
    for w in range(writers):
        assert [n for writer, n in taken if writer == w] == list(range(per_writer))


def test_the_record_queue_hands_every_item_to_its_reader_once_and_in_order_from_many_writers():
    record_queue, writers, per_writer = cdk_workarounds.RefillingQueue(maxsize=8), 4, 5000
    threads = started_writers(record_queue, writers, per_writer)
    taken = [record_queue.get() for _ in range(writers * per_writer)]
    for thread in threads:
        thread.join()
    assert record_queue.empty()
    assert_each_writers_items_once_and_in_order(taken, writers, per_writer)


def test_the_record_queue_takes_an_item_without_its_lock_while_not_full_and_no_reader_waits():
    record_queue = cdk_workarounds.RefillingQueue(maxsize=2)
    record_queue.not_empty = record_queue.not_full = ForbiddenLock()
    record_queue.put(0)
    record_queue.put(1)
    assert list(record_queue.queue) == [0, 1]
    with pytest.raises(LockTaken):
        record_queue.put(2)  # full: the writer waits for room, under the lock


def test_a_record_put_while_the_reader_waits_on_an_empty_queue_wakes_it():
    record_queue = cdk_workarounds.RefillingQueue(maxsize=8)
    taken = []
    reader = threading.Thread(target=lambda: taken.append(record_queue.get()))
    reader.start()
    while not record_queue.not_empty._waiters:  # the reader waits for an item
        time.sleep(0.001)
    assert record_queue._reader_waiting
    record_queue.put("record")
    reader.join(timeout=60)  # a lost wakeup would leave it waiting for ever: 60 s is far past any wait
    assert not reader.is_alive() and taken == ["record"]
    assert not record_queue._reader_waiting


def test_a_reader_faster_than_its_writers_gets_every_item_once_and_in_order():
    """The reader mostly finds the queue empty and waits: every item must still wake it."""
    record_queue, writers, per_writer = cdk_workarounds.RefillingQueue(maxsize=10_000), 4, 5000
    taken = []
    reader = threading.Thread(target=lambda: taken.extend(record_queue.get() for _ in range(writers * per_writer)))
    reader.start()
    for thread in started_writers(record_queue, writers, per_writer):
        thread.join()
    reader.join(timeout=60)  # as above: only a lost wakeup takes longer than a moment
    assert not reader.is_alive()
    assert_each_writers_items_once_and_in_order(taken, writers, per_writer)


def test_the_record_queue_is_backed_up_once_half_full():
    record_queue = cdk_workarounds.RefillingQueue(maxsize=4)
    record_queue.put(0)
    assert not record_queue.backed_up()
    record_queue.put(1)
    assert record_queue.backed_up()
    record_queue.get()
    assert not record_queue.backed_up()


def test_the_source_reads_ahead_only_while_its_own_record_queue_is_not_backed_up():
    source = SourceTimify(config=CONFIG)
    writer_behind = source._session.slots.writer_behind
    assert not writer_behind()
    for item in range(cdk_workarounds.RECORD_QUEUE_SIZE // 2):
        source._concurrent_source._queue.put(item)
    assert writer_behind()


def test_observe_queue_sees_every_partition_of_a_real_read():
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        mocker.get(f"{BASE}/v1/companies", json=page([company(COMPANY)]))
        register_list(mocker, "/v1/services", [{"id": "5a0000000000000000000001"}], limit=2, company_id=COMPANY)
        seen = []
        source = SourceTimify(config=CONFIG)
        cdk_workarounds.observe_queue(source, seen.append)
        catalog = CatalogBuilder().with_stream("services", SyncMode.full_refresh).build()
        output = read(source, CONFIG, catalog)
    assert records_of(output, "services")
    assert any(type(item).__name__ == "PartitionCompleteSentinel" for item in seen)
    with pytest.raises(CdkChanged, match="observe_queue"):
        cdk_workarounds.observe_queue(types.SimpleNamespace(_concurrent_source=None), seen.append)


def test_the_cdk_still_wraps_a_failed_check_the_way_unwrap_check_message_undoes():
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        mocker.get(f"{BASE}/v1/companies", status_code=403, json=error("FORBIDDEN", "The app may not list companies"))
        source = SourceTimify(config=CONFIG)
        raw = super(SourceTimify, source).check(logging.getLogger("airbyte"), CONFIG)
        ours = source.check(logging.getLogger("airbyte"), CONFIG)
    assert raw.status == ours.status == Status.FAILED
    # The CDK's shape: repr("Stream companies is not available: <reason>").
    assert str(ast.literal_eval(raw.message)).startswith("Stream companies is not available: ")
    assert ours.message == cdk_workarounds.unwrap_check_message(raw.message)
    assert ours.message.startswith("TIMIFY refused /v1/companies") and "Stream companies" not in ours.message


def test_keep_null_fields_makes_the_cdk_entry_point_print_records_with_their_nulls(tmp_path, monkeypatch):
    monkeypatch.setattr(AirbyteEntrypoint, "airbyte_message_to_string", AirbyteEntrypoint.airbyte_message_to_string)
    config_path, catalog_path = tmp_path / "config.json", tmp_path / "catalog.json"
    config_path.write_text(json.dumps(CONFIG))
    catalog_path.write_text(
        json.dumps(
            {
                "streams": [
                    {
                        "stream": {"name": "companies", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                        "sync_mode": "full_refresh",
                        "destination_sync_mode": "overwrite",
                    }
                ]
            }
        )
    )
    args = ["read", "--config", str(config_path), "--catalog", str(catalog_path)]
    cdk_workarounds.keep_null_fields()
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        mocker.get(f"{BASE}/v1/companies", json=page([company(COMPANY, slug=None)]))
        source = SourceTimify(config=CONFIG, catalog=SourceTimify.read_catalog(str(catalog_path)))
        entrypoint = TimifyEntrypoint(source)
        lines = list(entrypoint.run(entrypoint.parse_args(args)))
    # Records come as the bytes written to stdout (newline included), every other message as a str.
    record_lines = [line for line in lines if isinstance(line, bytes)]
    assert all(line.endswith(b"}\n") for line in record_lines)
    assert not any('"type":"RECORD"' in line for line in lines if isinstance(line, str))
    records = [json.loads(line)["record"]["data"] for line in record_lines]
    assert records and records[0]["id"] == COMPANY
    assert "slug" in records[0] and records[0]["slug"] is None


def test_write_messages_writes_each_message_as_one_line_after_the_logs_written_before_it(capfdbinary):
    print_buffer = PrintBuffer()
    record = orjson.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"a": "é"}}}) + b"\n"

    def messages():
        yield '{"type":"TRACE"}'
        print_buffer.write('{"type":"LOG","log":{"message":"first"}}\n')
        yield record
        yield record
        print_buffer.write('{"type":"LOG","log":{"message":"second"}}\n')
        yield '{"type":"STATE"}'

    cdk_workarounds.write_messages(messages(), print_buffer)
    assert capfdbinary.readouterr().out.split(b"\n") == [
        b'{"type":"TRACE"}',
        b'{"type":"LOG","log":{"message":"first"}}',
        record[:-1],
        record[:-1],
        b'{"type":"LOG","log":{"message":"second"}}',
        b'{"type":"STATE"}',
        b"",
    ]


def test_write_messages_writes_every_line_before_an_error_the_read_raises(capfdbinary):
    # The CDK raises a failed stream's error after the other streams' records: none may be lost
    # in the chunk not written yet (the error's trace message follows them).
    print_buffer = PrintBuffer()
    record = orjson.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"a": 1}}}) + b"\n"

    def messages():
        yield record
        print_buffer.write('{"type":"LOG","log":{"message":"stream s failed"}}\n')
        yield record
        raise RuntimeError("the sync failed")

    with pytest.raises(RuntimeError, match="the sync failed"):
        cdk_workarounds.write_messages(messages(), print_buffer, chunk_bytes=1 << 20)
    assert capfdbinary.readouterr().out.split(b"\n") == [
        record[:-1],
        b'{"type":"LOG","log":{"message":"stream s failed"}}',
        record[:-1],
        b"",
    ]


class PartialWrites(io.RawIOBase):
    """An unbuffered stdout (PYTHONUNBUFFERED) that takes at most 1,000 bytes a write, and notes
    whether the PrintBuffer's lock was held by the writing thread at each write."""

    def __init__(self, print_buffer):
        self.print_buffer, self.data, self.locked = print_buffer, bytearray(), []

    def writable(self):
        return True

    def write(self, data):
        self.locked.append(self.print_buffer.lock._is_owned())
        taken = bytes(data[:1000])
        self.data += taken
        return len(taken)


def test_write_messages_writes_each_chunk_whole_under_the_print_buffers_lock():
    # A worker thread's log line is written by the PrintBuffer under its lock: holding it, a chunk
    # of records can no longer be split by one (seen in a record line, make test, PYTHONUNBUFFERED).
    print_buffer = PrintBuffer()
    stdout = PartialWrites(print_buffer)
    lines = [
        orjson.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"n": n, "pad": "x" * 2000}}}) + b"\n"
        for n in range(40)
    ]
    cdk_workarounds.write_messages(iter(lines), print_buffer, chunk_bytes=1 << 16, stdout=stdout)
    assert bytes(stdout.data) == b"".join(lines)  # nothing lost to a short write
    assert len(stdout.locked) > 80 and all(stdout.locked)


def test_write_messages_fails_loudly_when_the_print_buffer_has_no_lock():
    print_buffer = PrintBuffer()
    print_buffer.lock = None
    with pytest.raises(CdkChanged, match="write_messages"):
        cdk_workarounds.write_messages(iter(()), print_buffer)


def test_write_messages_fails_loudly_when_the_print_buffer_no_longer_holds_a_stringio():
    print_buffer = PrintBuffer()
    print_buffer.buffer = []
    with pytest.raises(CdkChanged, match="write_messages"):
        cdk_workarounds.write_messages(iter(()), print_buffer)


def test_count_records_gives_the_state_messages_the_record_counts_the_cdk_gives_them():
    def messages():
        for stream in ("a", "b", "a"):
            yield AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream=stream, data={}, emitted_at=0))
        for stream in ("a", "b"):
            state = AirbyteStreamState(stream_descriptor=StreamDescriptor(name=stream))
            yield AirbyteMessage(type=Type.STATE, state=AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=state))

    def counts(handle):
        counter: DefaultDict[Any, float] = defaultdict(float)
        return [m.state.sourceStats.recordCount for m in (handle(m, counter) for m in messages()) if m.state]

    assert counts(cdk_workarounds.count_records) == counts(AirbyteEntrypoint.handle_record_counts) == [2.0, 1.0]
    assert TimifyEntrypoint.handle_record_counts is cdk_workarounds.count_records


def test_record_message_builds_the_message_the_cdk_builds_around_the_record_itself():
    data = {"id": "a1", "externalId": None, "customFields": [{"id": "f", "value": "v"}], "n": 1.5}
    ours = cdk_workarounds.record_message("appointments", data)
    cdk = record_helper.stream_data_to_airbyte_message("appointments", dict(data))
    assert ours.record.data is data  # no copy
    assert abs(ours.record.emitted_at - cdk.record.emitted_at) < 60_000  # both "now", in ms
    ours.record.emitted_at = cdk.record.emitted_at
    assert AirbyteMessageSerializer.dump(ours) == AirbyteMessageSerializer.dump(cdk)
    assert cdk_workarounds.record_line(ours) == cdk_workarounds.record_line(cdk)


def test_record_message_leaves_every_other_message_and_any_transform_to_the_cdk(monkeypatch):
    calls = []
    monkeypatch.setattr(cdk_workarounds, "_cdk_record_message", lambda *args, **kwargs: calls.append((args, kwargs)))
    trace = AirbyteTraceMessage(type=TraceType.ERROR, emitted_at=0, error=AirbyteErrorTraceMessage(message="x"))
    transformer = TypeTransformer(TransformConfig.DefaultSchemaNormalization)
    cdk_workarounds.record_message("s", trace)
    cdk_workarounds.record_message("s", types.MappingProxyType({"id": 1}))  # a Mapping, not a dict
    cdk_workarounds.record_message("s", {"id": 1}, transformer=transformer)
    cdk_workarounds.record_message("s", {"id": 1}, schema={"type": "object"})
    assert [args[1] for args, _ in calls] == [trace, {"id": 1}, {"id": 1}, {"id": 1}]
    assert calls[2][1]["transformer"] is transformer and calls[3][1]["schema"] == {"type": "object"}
    assert "transformer" not in calls[0][1]  # the CDK's own default, not None


def test_lean_record_messages_makes_a_real_read_emit_the_records_the_cdk_would(monkeypatch):
    monkeypatch.setattr(
        concurrent_read_processor, "stream_data_to_airbyte_message", record_helper.stream_data_to_airbyte_message
    )
    today = days_from_today(0)
    config = {**CONFIG, "start_date": today}
    appointments = [appointment(COMPANY, n, f"{today}T10:00:00Z") for n in range(5)]

    def read_records():
        with requests_mock.Mocker() as mocker:
            mocker.post(f"{BASE}/v1/auth/token", json=login())
            mocker.get(f"{BASE}/v1/companies", json=page([company(COMPANY)]))
            register_list(mocker, "/v1/appointments", appointments, limit=2, company_id=COMPANY)
            return [(m.record.stream, m.record.data) for m in run_read(config, ["appointments"]).records]

    by_the_cdk = read_records()
    cdk_workarounds.lean_record_messages()
    assert concurrent_read_processor.stream_data_to_airbyte_message is cdk_workarounds.record_message
    assert read_records() == by_the_cdk and len(by_the_cdk) == 5


def test_lean_record_messages_fails_loudly_when_the_cdk_builds_record_messages_otherwise(monkeypatch):
    monkeypatch.setattr(concurrent_read_processor, "stream_data_to_airbyte_message", lambda record, context: None)
    with pytest.raises(CdkChanged, match="lean_record_messages"):
        cdk_workarounds.lean_record_messages()
    monkeypatch.delattr(concurrent_read_processor, "stream_data_to_airbyte_message")
    with pytest.raises(CdkChanged, match="lean_record_messages"):
        cdk_workarounds.lean_record_messages()


def test_quiet_memory_monitor_mutes_only_the_thresholds_announcement(caplog):
    with caplog.at_level(logging.INFO, logger="airbyte"):
        TimifyEntrypoint(SourceTimify(config=CONFIG))
    assert not [r for r in caplog.records if "MemoryMonitor" in r.getMessage()]
    # Without the workaround the CDK does announce it (so the assertion above can fail).
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="airbyte"):
        AirbyteEntrypoint(SourceTimify(config=CONFIG))
    assert [r for r in caplog.records if "MemoryMonitor" in r.getMessage()]


def test_parse_json_once_has_every_page_of_a_real_read_parsed_once(monkeypatch):
    parses = []
    counting = types.SimpleNamespace(
        loads=lambda content: parses.append(1) or orjson.loads(content), JSONDecodeError=orjson.JSONDecodeError
    )
    monkeypatch.setattr(response_json, "orjson", counting)
    stdlib_parses = []
    real_json = requests.Response.json
    monkeypatch.setattr(
        requests.Response, "json", lambda self, **kw: stdlib_parses.append(self.request.method) or real_json(self, **kw)
    )
    today = days_from_today(0)
    config = {**CONFIG, "start_date": today}  # lookahead_days 0: one window, today
    appointments = [appointment(COMPANY, n, f"{today}T10:00:00Z") for n in range(5)]  # 3 pages of 2
    with requests_mock.Mocker() as mocker:
        mocker.post(f"{BASE}/v1/auth/token", json=login())
        mocker.get(f"{BASE}/v1/companies", json=page([company(COMPANY)]))
        register_list(mocker, "/v1/appointments", appointments, limit=2, company_id=COMPANY)
        output = run_read(config, ["appointments"])
    assert len(records_of(output, "appointments")) == 5
    pages_read = [r for r in mocker.request_history if r.method == "GET"]
    assert len(parses) == len(pages_read)  # once per page, by orjson
    assert "GET" not in stdlib_parses  # a page is never parsed again by requests' own parser (the login is)


def test_carry_in_config_hands_the_sources_session_to_every_component_parent_streams_included():
    import gc

    from source_timify.auth import TimifyAuthenticator
    from source_timify.errors import OutageCutoff
    from source_timify.lists import PageGuard

    config = make_config()  # an enterprise install: every company-scoped stream has a parent stream
    source = SourceTimify(config=config)
    streams = source.streams(config)
    assert len(streams) == 11
    for kind in (TimifyAuthenticator, PageGuard, OutageCutoff):
        built = [o for o in gc.get_objects() if isinstance(o, kind) and getattr(o, "session", None) is not None]
        mine = [o for o in built if o.session is source._session]
        assert len(mine) >= 18, kind.__name__  # 11 streams and the 7 parents' own companies streams
    with pytest.raises(CdkChanged, match="carry_in_config"):
        cdk_workarounds.carry_in_config(types.SimpleNamespace(), lambda config: config)


def test_our_error_handler_treats_statuses_no_filter_names_as_the_cdks_own_handler_does():
    # The CDK's factory appends a catch-all filter to the DefaultErrorHandlers it builds; OutageCutoff,
    # a custom handler, used to copy it. The handler's own fallback does the same: this keeps it so.
    from airbyte_cdk.sources.declarative.requesters.error_handlers import DefaultErrorHandler

    from source_timify.errors import OutageCutoff

    def resolution(handler, status):
        response = requests.Response()
        response.status_code = status
        response._content = b"{}"
        response.request = requests.Request("GET", f"{BASE}/v1/services").prepare()
        return handler.interpret_response(response)

    cdk = next(  # what the factory builds for a DefaultErrorHandler with no filters of its own
        c
        for c in [
            SourceTimify(config=CONFIG)._constructor.create_component(
                __import__(
                    "airbyte_cdk.sources.declarative.models", fromlist=["DefaultErrorHandler"]
                ).DefaultErrorHandler,
                {"type": "DefaultErrorHandler"},
                CONFIG,
            )
        ]
    )
    assert isinstance(cdk, DefaultErrorHandler)
    ours = OutageCutoff(config=with_session(CONFIG), parameters={})
    for status in (418, 409, 200):
        assert resolution(ours, status).response_action == resolution(cdk, status).response_action, status


def test_the_factory_s_constructor_table_calls_the_overridden_methods():
    from airbyte_cdk.sources.declarative.models.declarative_component_schema import HttpRequester as HttpRequesterModel

    factory = SourceTimify(config=make_config())._constructor
    constructor = factory.PYDANTIC_MODEL_TO_CONSTRUCTOR[HttpRequesterModel]
    assert constructor.__func__ is TimifyComponentFactory.create_http_requester


def test_use_component_factory_fails_loudly_when_a_private_method_it_overrides_takes_other_parameters():
    class OtherSignature(ModelToComponentFactory):
        def _build_concurrent_cursor(self, model):  # the CDK's takes (model, stream_slicer, config)
            pass

    source = SourceTimify(config=CONFIG)
    source._constructor.__class__ = ModelToComponentFactory  # back to the CDK's class
    with pytest.raises(CdkChanged, match="_build_concurrent_cursor now takes"):
        cdk_workarounds.use_component_factory(source, OtherSignature)


def test_concurrent_cursor_parts_hand_the_per_company_cursor_the_factory_s_state_and_repository():
    entry = {"updatedAt": "2026-02-01T00:00:00Z"}
    state = StateBuilder().with_stream_state("appointments", {"companies": {COMPANY: entry}}).build()
    source = SourceTimify(config=CONFIG, state=state)
    appointments = next(stream for stream in source.streams(CONFIG) if stream.name == "appointments")
    factory = source._constructor
    parts = cdk_workarounds.concurrent_cursor_parts(factory, "appointments")
    assert parts.connector_state_manager is factory._connector_state_manager
    assert parts.message_repository is factory._message_repository
    assert parts.stream_state["companies"][COMPANY] == entry
    assert isinstance(appointments.cursor, CompanyCursor)
    assert appointments.cursor.state["companies"][COMPANY] == entry
    with pytest.raises(CdkChanged, match="concurrent_cursor_parts"):
        no_state_manager = types.SimpleNamespace(_message_repository=parts.message_repository)
        cdk_workarounds.concurrent_cursor_parts(no_state_manager, "appointments")


def test_extend_requester_makes_every_requester_the_factory_builds_a_prefetching_one():
    import gc

    source = SourceTimify(config=CONFIG)
    # Held until the end: a garbage collection in between would free what is looked for below
    # (the streams are freed by the collector, in cycles), and the test failed at random.
    streams = source.streams(CONFIG)
    requesters = [
        o
        for o in gc.get_objects()
        if isinstance(o, HttpRequester) and getattr(o.config, "timify_session", None) is source._session
    ]
    assert all(type(requester) is PrefetchingRequester for requester in requesters if requester.name != "companies")
    # The companies stream's own, and those of the parent streams, which the CDK builds with a
    # factory of its own (outside the slots: page_prefetch.py).
    assert {type(r) for r in requesters if r.name == "companies"} == {PrefetchingRequester, HttpRequester}
    assert [r.name for r in requesters if isinstance(r, PrefetchingRequester) and r._prefetch_pages] == ["appointments"]
    assert streams


def _cdk_requester():
    return HttpRequester(
        name="services", url_base=BASE, path="/v1/services", config=with_session(CONFIG), parameters={}
    )


def test_extend_requester_fails_loudly_when_the_cdk_builds_another_requester():
    with pytest.raises(CdkChanged, match="extend_requester"):
        cdk_workarounds.extend_requester(types.SimpleNamespace(), PrefetchingRequester)


def test_extend_requester_fails_loudly_when_send_request_takes_other_parameters_or_a_helper_name_is_taken():
    class NarrowSend(HttpRequester):
        def send_request(self, stream_slice):
            pass

    class TakenName(HttpRequester):
        def get_url_base(self, **kwargs):  # a method of the CDK's, not declared as an override
            pass

    with pytest.raises(CdkChanged, match="send_request now takes"):
        cdk_workarounds.extend_requester(_cdk_requester(), NarrowSend)
    with pytest.raises(CdkChanged, match="get_url_base"):
        cdk_workarounds.extend_requester(_cdk_requester(), TakenName)
    assert type(cdk_workarounds.extend_requester(_cdk_requester(), PrefetchingRequester)) is PrefetchingRequester


def test_read_stream_reads_every_record_of_a_stream_the_cdk_built():
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        register_list(mocker, "/v1/companies", [company(COMPANY), company("5f0000000000000000000002")], limit=2)
        companies = next(stream for stream in SourceTimify(config=CONFIG).streams(CONFIG) if stream.name == "companies")
        records = [record.data["id"] for record in cdk_workarounds.read_stream(companies)]
    assert records == [COMPANY, "5f0000000000000000000002"]
    with pytest.raises(CdkChanged, match="read_stream"):
        list(cdk_workarounds.read_stream(types.SimpleNamespace()))


def test_skip_record_copies_makes_every_record_selector_of_our_factory_hand_on_records_as_they_are():
    import gc

    from airbyte_cdk.sources.declarative.extractors.record_selector import RecordSelector

    source = SourceTimify(config=CONFIG)
    # Held until the end: a garbage collection in between would free what is looked for below
    # (the streams are freed by the collector, in cycles), and the test failed at random.
    streams = source.streams(CONFIG)
    selectors = [
        o for o in gc.get_objects() if isinstance(o, RecordSelector) and getattr(o.config, "timify_session", None)
    ]
    ours = {o.name for o in selectors if type(o) is cdk_workarounds.RecordsAsTheyAre}
    assert {"appointments", "customers", "services", "companies"} <= ours
    appointments = next(
        o for o in selectors if o.name == "appointments" and type(o) is cdk_workarounds.RecordsAsTheyAre
    )
    record = {"id": "a"}
    assert list(appointments._normalize_by_schema([record], {"type": "object"}))[0] is record
    assert streams


def test_skip_record_copies_still_copies_where_a_normalisation_transforms():
    from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor
    from airbyte_cdk.sources.declarative.extractors.record_selector import RecordSelector
    from airbyte_cdk.sources.utils.transform import TransformConfig, TypeTransformer

    selector = RecordSelector(
        extractor=DpathExtractor(field_path=[], config={}, parameters={}),
        config={},
        parameters={},
        schema_normalization=TypeTransformer(TransformConfig.DefaultSchemaNormalization),
        name="s",
    )
    cdk_workarounds.skip_record_copies(selector)
    schema = {"type": "object", "properties": {"n": {"type": "string"}}}
    assert list(selector._normalize_by_schema([{"n": 1}], schema)) == [{"n": "1"}]
    with pytest.raises(CdkChanged, match="skip_record_copies"):
        cdk_workarounds.skip_record_copies(selector)  # already swapped: not a RecordSelector the CDK built
