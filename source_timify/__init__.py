"""Airbyte source connector for TIMIFY."""

from source_timify.source import SourceTimify

__all__ = ["SourceTimify"]
