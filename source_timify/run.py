"""`source-timify`: the Airbyte protocol entry point (spec, check, discover, read).

A plain `spec` is printed from printed_spec.json, the spec exactly as the CDK prints it for the
manifest, without importing the CDK (most of a second of every fresh process). Every other command
line, `spec` with an option or with the CDK's debug logging on included, goes through the CDK
(entrypoint.py). unit_tests/test_spec_fast_path.py fails when the two differ by a byte; after
changing the manifest's `spec`, regenerate the file with `scripts/generate_spec.py`.
"""

import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import Iterator, List, Optional

import orjson

PRINTED_SPEC = Path(__file__).parent / "printed_spec.json"


def prints_spec_alone(args: List[str]) -> bool:
    """Whether the CDK would print the SPEC message and nothing else: `spec` without options, and
    without the CDK's debug logging (`LOG_LEVEL=debug`, airbyte_cdk.logger's rule), which adds a
    log line."""
    return args == ["spec"] and os.environ.get("LOG_LEVEL", "info").lower() != "debug"


def print_spec() -> None:
    """The SPEC message as the CDK's entry point prints it: serialised by orjson, one line, one write."""
    message = {"type": "SPEC", "spec": orjson.loads(PRINTED_SPEC.read_bytes())}
    print(f"{orjson.dumps(message).decode()}\n", end="", flush=True)


def run(args: Optional[List[str]] = None) -> None:
    args = sys.argv[1:] if args is None else args
    if prints_spec_alone(args):
        print_spec()
        return
    from source_timify.serializer_docs import attribute_docs_unread

    with garbage_collection_paused(), attribute_docs_unread():  # the CDK's import: serializer_docs.py
        from source_timify.entrypoint import launch  # imports the CDK

    launch(args)


@contextlib.contextmanager
def garbage_collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while the CDK is imported: the import leaves some 96,000 objects
    the collector tracks and frees few, and the collections on the way walked them again and again
    (0.64-0.71 CPU s for the import instead of 0.78-0.84, five runs each, for issue 22). What the
    import left in cycles is collected after it, as it would have been anyway."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


if __name__ == "__main__":
    run()
