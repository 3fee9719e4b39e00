"""Turn `source-timify discover` output into a configured catalog for `source-timify read`.

    .venv/bin/source-timify discover --config secrets/config.json \
        | .venv/bin/python scripts/configured_catalog.py > secrets/configured_catalog.json
    .venv/bin/source-timify read --config secrets/config.json --catalog secrets/configured_catalog.json

Every stream your install discovers is selected (enterprise_customers, enterprise_customer_fields
and enterprise_customer_field_categories only on an enterprise install): incremental, deduplicated
on the primary key, where the stream supports it (appointments, customers, enterprise_customers),
full refresh otherwise. Options:
  --full-refresh      every stream in full refresh (overwrite)
  --streams a,b,c     only these streams (a name that was not discovered is an error)
  FILE                read the discover output from FILE instead of standard input
Standard library only.
"""

import argparse
import json
import sys
from typing import Any, Dict, Iterable, List, Optional

from airbyte_messages import airbyte_messages


def discovered_streams(lines: Iterable[str]) -> List[Dict[str, Any]]:
    """The streams of the CATALOG message; the connector's own error when discover failed."""
    errors = []
    for message in airbyte_messages(lines):
        if message.get("type") == "CATALOG":
            return message["catalog"]["streams"]
        if message.get("type") == "TRACE" and message.get("trace", {}).get("type") == "ERROR":
            errors.append(message["trace"]["error"].get("message", ""))
    reason = f": {errors[0]}" if errors else " (no CATALOG message in its output)"
    raise SystemExit(f"configured_catalog.py: discover failed{reason}")


def configured(stream: Dict[str, Any], full_refresh: bool = False) -> Dict[str, Any]:
    incremental = not full_refresh and "incremental" in stream.get("supported_sync_modes", [])
    entry: Dict[str, Any] = {
        "stream": stream,
        "sync_mode": "incremental" if incremental else "full_refresh",
        "destination_sync_mode": "append_dedup" if incremental else "overwrite",
    }
    if stream.get("source_defined_primary_key"):
        entry["primary_key"] = stream["source_defined_primary_key"]
    if incremental and stream.get("default_cursor_field"):
        entry["cursor_field"] = stream["default_cursor_field"]
    return entry


def configured_catalog(
    streams: List[Dict[str, Any]], full_refresh: bool = False, only: Optional[List[str]] = None
) -> Dict[str, Any]:
    names = [s["name"] for s in streams]
    unknown = [name for name in only or [] if name not in names]
    if unknown:
        raise SystemExit(f"configured_catalog.py: {', '.join(unknown)} not discovered (discovered: {', '.join(names)})")
    chosen = [s for s in streams if not only or s["name"] in only]
    return {"streams": [configured(s, full_refresh) for s in chosen]}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="discover output (default: standard input)")
    parser.add_argument("--full-refresh", action="store_true", help="every stream in full refresh")
    parser.add_argument("--streams", help="comma-separated stream names (default: every stream)")
    args = parser.parse_args(argv)
    if args.file:
        with open(args.file, encoding="utf-8") as handle:
            streams = discovered_streams(handle)
    else:
        streams = discovered_streams(sys.stdin)
    only = [name.strip() for name in args.streams.split(",") if name.strip()] if args.streams else None
    json.dump(configured_catalog(streams, args.full_refresh, only), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
