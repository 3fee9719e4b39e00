"""What keeps a sync's memory flat: a short record queue between the workers and the writer; what
keeps its garbage collection cheap without letting garbage pile up; and a response's body read in
few socket reads."""

import gc
from typing import List

import requests
import requests.models

from source_timify import SourceTimify, entrypoint
from source_timify.cdk_workarounds import RECORD_QUEUE_SIZE
from source_timify.entrypoint import GC_GENERATION0_THRESHOLD, collect_garbage_less_often
from unit_tests.conftest import make_config


def test_the_record_queue_between_workers_and_writer_is_short():
    source = SourceTimify(config=make_config())
    assert source._concurrent_source._queue.maxsize == RECORD_QUEUE_SIZE == 500


def test_the_cli_collects_cyclic_garbage_after_50000_new_containers_with_the_older_generations_as_they_were():
    before = gc.get_threshold()
    try:
        collect_garbage_less_often()
        assert gc.get_threshold() == (GC_GENERATION0_THRESHOLD, *before[1:]) == (50_000, *before[1:])
    finally:
        gc.set_threshold(*before)


def test_the_cli_caps_glibcs_arenas_and_fixes_its_mmap_threshold_at_4_mb_and_trim_threshold_at_8_mb(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append((option, value))
            return 1

    monkeypatch.setattr(entrypoint.ctypes, "CDLL", lambda name: FakeLibc() if name == "libc.so.6" else None)
    entrypoint.limit_malloc_arenas()
    assert calls == [(-8, 2), (-3, 4 * 1024 * 1024), (-1, 8 * 1024 * 1024)]  # M_ARENA_MAX, M_MMAP_, M_TRIM_THRESHOLD


def test_without_glibc_the_allocator_is_left_as_it_is(monkeypatch):
    def no_glibc(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(entrypoint.ctypes, "CDLL", no_glibc)
    entrypoint.limit_malloc_arenas()  # nothing raised


class RecordedBody:
    """A response's raw body (urllib3's HTTPResponse, as far as requests reads it) that records the
    chunk size each read asks for."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.chunk_sizes: List[int] = []

    def stream(self, amt, decode_content=True):
        self.chunk_sizes.append(amt)
        for start in range(0, len(self.body), amt):
            yield self.body[start : start + amt]


def _content_read_through(body: bytes) -> RecordedBody:
    raw = RecordedBody(body)
    response = requests.Response()
    response.raw, response.status_code = raw, 200
    assert response.content == body
    return raw


def test_the_cli_makes_requests_read_a_body_in_1_mb_chunks_not_10_kb(monkeypatch):
    monkeypatch.setattr(requests.models, "CONTENT_CHUNK_SIZE", requests.models.CONTENT_CHUNK_SIZE)
    body = b"x" * (3 * 1024 * 1024)  # a page of ~1,000 appointments
    assert _content_read_through(body).chunk_sizes == [10 * 1024]  # requests' own
    entrypoint.read_bodies_in_large_chunks()
    assert _content_read_through(body).chunk_sizes == [entrypoint.BODY_CHUNK_BYTES] == [1024 * 1024]


def test_a_requests_that_no_longer_has_a_content_chunk_size_is_left_as_it_is(monkeypatch):
    monkeypatch.delattr(requests.models, "CONTENT_CHUNK_SIZE")
    entrypoint.read_bodies_in_large_chunks()  # nothing raised
    assert not hasattr(requests.models, "CONTENT_CHUNK_SIZE")
