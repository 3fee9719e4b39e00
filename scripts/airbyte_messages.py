"""The Airbyte messages in a connector's output: one JSON object a line; other lines (a stray
print, a traceback) are skipped. Shared by configured_catalog.py and next_state.py. Standard
library only."""

import json
from typing import Any, Dict, Iterable, Iterator


def airbyte_messages(lines: Iterable[str]) -> Iterator[Dict[str, Any]]:
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue
