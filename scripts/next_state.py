"""Turn the output of `source-timify read` into the `--state` file of the next read.

    .venv/bin/source-timify read --config secrets/config.json --catalog secrets/configured_catalog.json \
        > secrets/read-1.jsonl
    .venv/bin/python scripts/next_state.py secrets/read-1.jsonl > secrets/state.json
    .venv/bin/source-timify read --config secrets/config.json --catalog secrets/configured_catalog.json \
        --state secrets/state.json > secrets/read-2.jsonl      # only what changed since read 1

A read emits a STATE message per stream whenever it checkpoints; the platform keeps the latest
one of each stream and hands them all back to the next read. This does the same: the latest STATE
of each stream (a stream a read did not checkpoint keeps no state), as the JSON list `--state`
takes. With `--previous FILE`, the streams this read did not checkpoint keep their state from FILE
(a read of only some streams). Standard library only.
"""

import argparse
import json
import sys
from typing import Any, Dict, Iterable, List, Optional, Tuple

from airbyte_messages import airbyte_messages


def _stream_key(state: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """A STREAM state's stream: (namespace, name)."""
    descriptor = state["stream"]["stream_descriptor"]
    return descriptor.get("namespace"), descriptor["name"]


def latest_states(lines: Iterable[str]) -> List[Dict[str, Any]]:
    """The latest STATE message of each stream in a read's output, in the order the streams first
    checkpointed; a read that failed before any checkpoint gives none."""
    latest: Dict[Tuple[Optional[str], str], Dict[str, Any]] = {}
    for message in airbyte_messages(lines):
        if message.get("type") != "STATE":
            continue
        state = message["state"]
        if state.get("type", "STREAM") != "STREAM" or "stream" not in state:
            raise SystemExit(f"next_state.py: a {state.get('type')} state message; source-timify emits per-stream ones")
        stream_state = {"type": "STREAM", "stream": state["stream"]}
        latest[_stream_key(stream_state)] = stream_state
    return list(latest.values())


def merged(previous: List[Dict[str, Any]], current: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """`current`, plus the streams of `previous` it has no state for."""
    seen = {_stream_key(state) for state in current}
    return current + [state for state in previous if _stream_key(state) not in seen]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", help="the read's output (default: standard input)")
    parser.add_argument("--previous", help="the --state file the read was given")
    args = parser.parse_args(argv)
    if args.output:
        with open(args.output) as handle:
            states = latest_states(handle)
    else:
        states = latest_states(sys.stdin)
    if args.previous:
        with open(args.previous) as handle:
            states = merged(json.load(handle), states)
    json.dump(states, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
