"""A TIMIFY DevAPI emulator for the connector's integration tests, demo and benchmark.

Standard library only. See README.md in this folder.
"""

from .emulator import Emulator

__all__ = ["Emulator"]
