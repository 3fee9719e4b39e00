"""Booking secrets stay out of the warehouse unless the config asks for them.

An appointment's `reschedulingSecret` is the token in the customer's reschedule and cancel links,
and some appointments carry another one in `metadata.secret`: whoever reads them can move or
cancel the booking. They are left out of the records and of the schema unless
`include_booking_secrets` is true. The two classes share one list, so records and schema agree
in both settings:
- DropBookingSecrets: the record transformation (named in manifest.yaml, appointments).
- SchemaWithoutBookingSecrets: wraps the appointments' schema loader.
"""

import copy
from dataclasses import InitVar, dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from airbyte_cdk.sources.declarative.schema.schema_loader import SchemaLoader
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

OPT_IN = "include_booking_secrets"
BOOKING_SECRETS: Tuple[Tuple[str, ...], ...] = (("reschedulingSecret",), ("metadata", "secret"))


def include_booking_secrets(config: Optional[Mapping[str, Any]]) -> bool:
    return bool((config or {}).get(OPT_IN))


def _remove(tree: Any, path: Tuple[str, ...], through: Tuple[str, ...] = ()) -> None:
    """Delete `path` from nested dicts, stepping through the keys `through` at each level
    (("properties",) for a JSON schema); missing levels are fine."""
    for key in path[:-1]:
        for step in through:
            tree = tree.get(step) if isinstance(tree, dict) else None
        tree = tree.get(key) if isinstance(tree, dict) else None
    for step in through:
        tree = tree.get(step) if isinstance(tree, dict) else None
    if isinstance(tree, dict):
        tree.pop(path[-1], None)


@dataclass
class DropBookingSecrets(RecordTransformation):
    """Removes the booking secrets from each appointment, unless `include_booking_secrets`."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._drop = not include_booking_secrets(self.config)

    def transform(
        self,
        record: Dict[str, Any],
        config: Optional[Config] = None,
        stream_state: Optional[StreamState] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> None:
        if self._drop:
            for path in BOOKING_SECRETS:
                _remove(record, path)


@dataclass
class SchemaWithoutBookingSecrets(SchemaLoader):
    """The schema of `schema_loader` without the booking secrets, unless `include_booking_secrets`."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    schema_loader: SchemaLoader

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._drop = not include_booking_secrets(self.config)

    def get_json_schema(self) -> Mapping[str, Any]:
        schema = self.schema_loader.get_json_schema()
        if not self._drop:
            return schema
        schema = copy.deepcopy(schema)
        for path in BOOKING_SECRETS:
            _remove(schema, path, through=("properties",))
        return schema
