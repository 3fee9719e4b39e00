"""Every command through the CDK's entry point: check, discover, read, and each `spec` that run.py
does not answer itself (it answers a plain `spec` without importing the CDK)."""

import ctypes
import gc
import sys
from typing import Any, List, Mapping

import orjson
import requests.models
from airbyte_cdk.entrypoint import PRINT_BUFFER, AirbyteEntrypoint
from airbyte_cdk.models import (
    AirbyteMessageSerializer,
    ConnectorSpecification,
    FailureType,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify import cdk_workarounds
from source_timify.config_validation import config_problem, read_config_file
from source_timify.source import SourceTimify


class TimifyEntrypoint(AirbyteEntrypoint):
    """The CDK's entry point, with the config checked as one sentence, the memory monitor's
    announcement muted and each record counted without building a stream descriptor for it."""

    def __init__(self, source: SourceTimify) -> None:
        with cdk_workarounds.quiet_memory_monitor():
            super().__init__(source)

    @staticmethod
    def validate_connection(source_spec: ConnectorSpecification, config: Mapping[str, Any]) -> None:
        problem = config_problem(config, source_spec.connectionSpecification)
        if problem:
            raise AirbyteTracedException(message=problem, failure_type=FailureType.config_error)
        AirbyteEntrypoint.validate_connection(source_spec, config)


cdk_workarounds.count_records_cheaply(TimifyEntrypoint)


def _build_source(args: List[str]) -> SourceTimify:
    catalog_path = AirbyteEntrypoint.extract_catalog(args)
    config_path = AirbyteEntrypoint.extract_config(args)
    state_path = AirbyteEntrypoint.extract_state(args)
    return SourceTimify(
        catalog=SourceTimify.read_catalog(catalog_path) if catalog_path else None,
        config=read_config_file(config_path) if config_path else None,
        state=SourceTimify.read_state(state_path) if state_path else None,
    )


def _command(args: List[str]) -> str:
    try:
        return AirbyteEntrypoint.parse_args(args).command or ""
    except SystemExit:
        return ""


def _print(message: Any) -> None:
    print(orjson.dumps(AirbyteMessageSerializer.dump(message)).decode(), flush=True)


MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 8 * 1024 * 1024


def limit_malloc_arenas(
    arenas: int = 2, mmap_threshold: int = MMAP_THRESHOLD_BYTES, trim_threshold: int = TRIM_THRESHOLD_BYTES
) -> None:
    """Cap glibc's per-thread malloc arenas and fix its mmap and trim thresholds, before the
    workers start.

    - Each worker thread otherwise gets its own arena, and large pages parsed in eight of them
      leave memory fragmented across arenas: peak RSS of a 200,000-appointment read fell from
      250 MB to 186 MB with two arenas, at the same speed.
    - glibc serves a block of `mmap_threshold` bytes or more with a mapping of its own, returned to
      the system when freed, but by default raises the threshold to the largest block freed so far
      (up to 32 MB): once a large block was freed, every later one came from the heap, which kept
      the high-water mark of every page in flight (a 1,000,000-appointment read peaked at 231-254
      MB, bench/RESULTS.md, "Issue 22 as it stands"). Fixed, it no longer moves.
    - orjson parses a body with a working buffer of about 12 times its size (yyjson's), freed after
      the parse: 3-4.5 MB for a page of 140-200 appointments. Under a 1 MB threshold each one was a
      fresh mapping, and so were the heap's pages that glibc gave back above 128 KB free (its trim
      threshold): 186,000 page faults in a 100,000-appointment read (the bare client: 15,000),
      0.3 s of its 0.8 s in the kernel. At 4 MB, with up to 8 MB kept free at the heap's top, the
      buffers are served from memory the process already has: 35,000 faults, 0.5 s in the kernel,
      peak RSS 101 -> 106 MB; at 1,000,000 appointments (full pages' buffers, ~25 MB, still mapped
      on their own) 2.3 -> 1.4 million faults and 182-186 -> 184-196 MB (bench/RESULTS.md, issue 22).

    A no-op off glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's name; these mallopt options are glibc's too
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
        libc.mallopt(-3, mmap_threshold)  # M_MMAP_THRESHOLD (setting it also stops its adjustment)
        libc.mallopt(-1, trim_threshold)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


GC_GENERATION0_THRESHOLD = 50_000


def collect_garbage_less_often(threshold: int = GC_GENERATION0_THRESHOLD) -> None:
    """Run the cyclic garbage collector after `threshold` more container objects than were freed
    (Python's default is 700), the older generations' thresholds unchanged.

    A read creates some 50 containers per record (orjson's dicts and lists, the CDK's Record and
    messages) and frees them by reference counting; the records and pages in flight between the
    workers and the writer kept the count above 700 thousands of times per sync, and each
    collection of the older generations walked the CDK's whole object graph: a sixth of a read's
    CPU. Records hold no reference cycles (response_json.parse_json_once is written not to create
    one), so a later collection frees no less.
    """
    gc.set_threshold(threshold, *gc.get_threshold()[1:])


BODY_CHUNK_BYTES = 1024 * 1024


def read_bodies_in_large_chunks(chunk_bytes: int = BODY_CHUNK_BYTES) -> None:
    """Make requests read a response's body in chunks of `chunk_bytes` (its CONTENT_CHUNK_SIZE,
    10 KB by default, which `Response.content` reads with at call time).

    A page is up to 2-3 MB (1,000 appointments): in 10 KB chunks a 100,000-appointment read made
    28,000 socket reads, each of which lets go of the GIL and takes it back against seven other
    workers and the writer (40,000-44,000 voluntary context switches; the bare client, one thread,
    made 720). In 1 MB chunks: 2,200 reads and 18,000-19,500 switches (bench/RESULTS.md, "Issue
    22: bodies in 1 MB chunks, record messages without a copy"). http.client never asks the socket
    for more than is left of the body (its Content-Length, or the HTTP chunk being read), so a
    short body costs no more memory than before.
    """
    if not isinstance(getattr(requests.models, "CONTENT_CHUNK_SIZE", None), int):
        return  # a requests that no longer reads `content` this way: nothing to tune
    requests.models.CONTENT_CHUNK_SIZE = chunk_bytes


def launch(args: List[str]) -> None:
    limit_malloc_arenas()
    collect_garbage_less_often()
    read_bodies_in_large_chunks()
    try:
        source = _build_source(args)
        entrypoint = TimifyEntrypoint(source)
        parsed_args = entrypoint.parse_args(args)
        cdk_workarounds.keep_null_fields()
        cdk_workarounds.lean_record_messages()
        with PRINT_BUFFER:
            # Whole lines only, in order: concurrent streams must not interleave lines.
            cdk_workarounds.write_messages(entrypoint.run(parsed_args), PRINT_BUFFER)
    except AirbyteTracedException as error:
        # A config error is the user's to fix: say it in one sentence, without a traceback.
        if error.failure_type != FailureType.config_error:
            raise
        if _command(args) == "check":
            # `check` reports every bad config as a failed connection status, this one too (a
            # config file that could not be read fails before the CDK's entry point runs).
            _print(error.as_connection_status_message())
            sys.stdout.flush()
            return
        trace_message = error.as_airbyte_message()
        trace_message.trace.error.stack_trace = None  # type: ignore[union-attr]  # a trace with its error
        _print(trace_message)
        sys.stdout.flush()
        sys.exit(1)


if __name__ == "__main__":
    # `python -m source_timify.entrypoint spec`: the CDK's answer, which scripts/generate_spec.py
    # writes to printed_spec.json and the tests and the bench compare `source-timify spec` with.
    launch(sys.argv[1:])
