"""Airbyte source connector for TIMIFY."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from source_timify.source import SourceTimify

__all__ = ["SourceTimify"]


def __getattr__(name: str) -> Any:
    # Imported on first use, not with the package: `source-timify spec` (run.py) answers without
    # importing the CDK, which source.py does (most of a second).
    if name == "SourceTimify":
        from source_timify.source import SourceTimify

        return SourceTimify
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
