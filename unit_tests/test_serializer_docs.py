"""serializer_docs: the CDK's protocol serializers built without attribute docstrings write and
read every message exactly as those built with them."""

import json
import subprocess
import sys

import pytest

from source_timify import serializer_docs
from source_timify.serializer_docs import attribute_docs_unread

MESSAGES = [
    {"type": "RECORD", "record": {"stream": "appointments", "data": {"id": "a1", "n": None}, "emitted_at": 1}},
    {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": "appointments"},
                "stream_state": {"states": [{"partition": {"company_id": "c1"}, "cursor": {"updatedAt": "x"}}]},
            },
            "sourceStats": {"recordCount": 3.0},
        },
    },
    {"type": "STATE", "state": {"type": "LEGACY", "data": {"__ab_full_refresh_sync_complete": True}}},
    {"type": "LOG", "log": {"level": "WARN", "message": "7 values did not fit"}},
    {
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "emitted_at": 2.0,
            "error": {"message": "m", "internal_message": "i", "stack_trace": "s", "failure_type": "config_error"},
        },
    },
    {
        "type": "TRACE",
        "trace": {
            "type": "STREAM_STATUS",
            "emitted_at": 3.0,
            "stream_status": {"stream_descriptor": {"name": "customers"}, "status": "INCOMPLETE"},
        },
    },
    {
        "type": "TRACE",
        "trace": {
            "type": "ESTIMATE",
            "emitted_at": 4.0,
            "estimate": {"name": "a", "type": "STREAM", "row_estimate": 5},
        },
    },
    {
        "type": "CATALOG",
        "catalog": {
            "streams": [
                {
                    "name": "appointments",
                    "json_schema": {"type": "object", "properties": {"id": {"type": "string"}}},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                    "source_defined_cursor": True,
                    "default_cursor_field": ["updatedAt"],
                    "source_defined_primary_key": [["id"]],
                    "is_resumable": True,
                }
            ]
        },
    },
    {"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": "App ID refused"}},
    {
        "type": "SPEC",
        "spec": {"connectionSpecification": {"type": "object"}, "documentationUrl": "https://example.com"},
    },
    {
        "type": "CONTROL",
        "control": {"type": "CONNECTOR_CONFIG", "emitted_at": 5.0, "connectorConfig": {"config": {"a": 1}}},
    },
]
CATALOG = {
    "streams": [
        {
            "stream": {"name": "appointments", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "incremental",
            "destination_sync_mode": "append_dedup",
            "cursor_field": ["updatedAt"],
            "primary_key": [["id"]],
        }
    ]
}


# A fresh process (serpyco-rs keeps what it learnt of a class, docstrings included) imports the
# CDK, inside the block as run.py does or outside it, and loads and dumps each message again.
PROCESS = """
import contextlib, json, sys
from source_timify.serializer_docs import attribute_docs_unread
with attribute_docs_unread() if sys.argv[1] == "unread" else contextlib.nullcontext():
    from airbyte_cdk.models import AirbyteMessageSerializer, ConfiguredAirbyteCatalogSerializer
messages, catalog = json.load(sys.stdin)
print(json.dumps({
    "messages": [AirbyteMessageSerializer.dump(AirbyteMessageSerializer.load(m)) for m in messages],
    "catalog": ConfiguredAirbyteCatalogSerializer.dump(ConfiguredAirbyteCatalogSerializer.load(catalog)),
    "schema": AirbyteMessageSerializer.get_json_schema(),
}))
"""


def in_a_fresh_process(code: str, *args: str, given: str = "") -> str:
    """What `code` prints, run by a new interpreter with `args` and `given` on its stdin."""
    run = subprocess.run([sys.executable, "-c", code, *args], input=given, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_serializers_built_without_docstrings_read_and_write_every_message_alike():
    given = json.dumps([MESSAGES, CATALOG])
    undocumented, documented = (in_a_fresh_process(PROCESS, docs, given=given) for docs in ("unread", "read"))
    assert len(json.loads(documented)["messages"]) == len(MESSAGES)
    # Every message and the catalog the same, key for key and in order; and what the docstrings
    # are for, the serializer's own JSON schema (which nothing reads): the protocol's classes have
    # none, so it is the same too.
    assert undocumented == documented


def test_serpyco_still_reads_docstrings_where_the_block_replaces_them():
    assert [module.__name__ for module in serializer_docs.readers()] == list(serializer_docs.READERS)


def test_docstrings_are_read_again_after_the_block_even_after_an_error():
    originals = [module.get_attributes_doc for module in serializer_docs.readers()]
    with pytest.raises(RuntimeError):
        with attribute_docs_unread():
            assert all(module.get_attributes_doc is serializer_docs.no_docs for module in serializer_docs.readers())
            raise RuntimeError
    assert [module.get_attributes_doc for module in serializer_docs.readers()] == originals


def test_the_cdk_imported_inside_the_block_reads_no_class_source():
    """What run.py does: the CDK imported in a fresh process inside the block calls `inspect` for no
    source (0 calls; outside the block serpyco-rs asks for ~50 classes' sources and their parents')."""
    probe = """
import inspect, sys
calls = []
getsource = inspect.getsource
inspect.getsource = lambda obj: calls.append(obj) or getsource(obj)
from source_timify.serializer_docs import attribute_docs_unread
with attribute_docs_unread():
    import source_timify.entrypoint
inside = len(calls)
from serpyco_rs import Serializer
from airbyte_cdk.models import ConnectorSpecification
Serializer(ConnectorSpecification, omit_none=True)  # outside: serpyco-rs reads its docstrings again
print(inside, len(calls) > inside)
"""
    assert in_a_fresh_process(probe).split() == ["0", "True"]
