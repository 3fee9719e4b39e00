"""Customers' custom fields as typed columns (issue 12): the naming rule, the type map and the
value parsing over TIMIFY's field definitions (`/v1/customers/customfields` per company,
`/v1/enterprise-customers/customfields` for an enterprise) and records, and the two components the
manifest names: CustomFieldColumns (the stream's schema, one column per field) and
CustomFieldValues (each record's values in those columns). Both use one ColumnPlan per stream per
sync, read once per company from the definitions stream they are given (no request per record).

Naming rule (applied per company, fields in the order of their ids, i.e. of their creation):
1. A built-in field (a `defaultId`, or a `translationKey` `customerFields.basic.<name>`) is named
   by it (`birthday`, `mobilePhone`); one whose name is a top-level property of the stream's
   schema (`firstName`, `email`, ...) gets no column: its value is already there.
2. Any other field is named from its `label`, camelCased from its letters and digits (accents
   dropped: "Größe (cm)" -> `grosseCm`); without a label, from the last part of its
   `translationKey`; without either, `field_<id>`.
3. A name already taken (a top-level property, a built-in column, an earlier field) gets the next
   free `_2`, `_3`, ... suffix.
Over an enterprise's companies, columns of the same name merge; if their types differ, the column
is a string.
"""

import json
import logging
import math
import re
import unicodedata
from dataclasses import InitVar, dataclass
from datetime import date
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from airbyte_cdk.sources.declarative.schema.schema_loader import SchemaLoader
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

from source_timify import cdk_workarounds
from source_timify.session import session_of

logger = logging.getLogger("airbyte")

BASIC_PREFIX = "customerFields.basic."
NULLABLE = lambda kind: [kind, "null"]  # noqa: E731

# TIMIFY's definition type -> the column's kind.
TYPE_MAP = {
    "CHECKBOX": "boolean",
    "DATE": "date",
    "NUMBER": "number",
    "SELECT": "string",
    "TEXT": "string",
    "EMAIL": "string",
    "PHONE": "phone",
}

PHONE_SCHEMA = {
    "type": NULLABLE("object"),
    "additionalProperties": True,
    "properties": {k: {"type": NULLABLE("string")} for k in ("number", "country", "prefix")},
}


def column_kind(definition: Mapping[str, Any]) -> str:
    """The column's kind for a definition's `type`; an unknown type is a string."""
    return TYPE_MAP.get(str(definition.get("type") or "").upper(), "string")


def column_schema(kind: str) -> Dict[str, Any]:
    if kind == "phone":
        return json.loads(json.dumps(PHONE_SCHEMA))
    if kind == "date":
        return {"type": NULLABLE("string"), "format": "date"}
    return {"type": NULLABLE(kind)}


def builtin_name(definition: Mapping[str, Any]) -> Optional[str]:
    default_id = definition.get("defaultId")
    if isinstance(default_id, str) and default_id:
        return default_id
    key = definition.get("translationKey")
    if isinstance(key, str) and key.startswith(BASIC_PREFIX) and len(key) > len(BASIC_PREFIX):
        return key[len(BASIC_PREFIX) :]
    return None


def readable_name(text: str) -> str:
    """camelCase of the letters and digits of `text`, accents dropped; '' when none remain."""
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    words = re.findall(r"[A-Za-z0-9]+", text.encode("ascii", "ignore").decode())
    if not words:
        return ""
    name = words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])
    return "_" + name if name[0].isdigit() else name


def label_name(definition: Mapping[str, Any]) -> str:
    label = definition.get("label")
    if isinstance(label, str) and readable_name(label):
        return readable_name(label)
    key = definition.get("translationKey")
    if isinstance(key, str) and key:
        last = key.rsplit(".", 1)[-1]
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", last):
            return last
        if readable_name(last):
            return readable_name(last)
    return f"field_{definition.get('id')}"


def company_columns(definitions: Iterable[Mapping[str, Any]], taken: Iterable[str]) -> Dict[str, Tuple[str, str]]:
    """{field id: (column, kind)} for one company's definitions; `taken`: the schema's top-level
    properties. Built-in fields whose name is taken get no column."""
    reserved = set(taken)
    ordered = sorted((d for d in definitions if isinstance(d, Mapping) and d.get("id")), key=lambda d: str(d["id"]))
    out: Dict[str, Tuple[str, str]] = {}
    used = set()
    for definition in ordered:  # built-ins first: they keep their TIMIFY name
        name = builtin_name(definition)
        if name and name not in reserved and name not in used:
            out[str(definition["id"])] = (name, column_kind(definition))
            used.add(name)
    for definition in ordered:
        if builtin_name(definition):
            continue
        base = label_name(definition)
        name, n = base, 1
        while name in reserved or name in used:
            n += 1
            name = f"{base}_{n}"
        out[str(definition["id"])] = (name, column_kind(definition))
        used.add(name)
    return out


def merged_kinds(per_company: Iterable[Mapping[str, Tuple[str, str]]]) -> Dict[str, str]:
    """{column: kind} over all companies; a column whose kinds differ is a string."""
    kinds: Dict[str, str] = {}
    for columns in per_company:
        for name, kind in columns.values():
            kinds[name] = kind if kinds.get(name, kind) == kind else "string"
    return dict(sorted(kinds.items()))


class Unfit(Exception):
    """A value that does not fit its column's type."""


def parse_value(value: Any, kind: str) -> Any:
    """`value` as the column's kind; None for no value; raises Unfit."""
    if value is None or (value == "" and kind != "string"):
        return None
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        raise Unfit(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise Unfit(value)
    if kind == "number":
        if isinstance(value, bool):
            raise Unfit(value)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise Unfit(value) from None
            if math.isfinite(number):
                return int(number) if re.fullmatch(r"-?\d+", value.strip()) else number
        raise Unfit(value)
    if kind == "date":
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10]).isoformat()
            except ValueError:
                pass
        raise Unfit(value)
    if kind == "phone":
        if isinstance(value, str):  # the reference writes phones as JSON strings; a bare number is the number
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            value = parsed if isinstance(parsed, Mapping) else {"number": value}
        if isinstance(value, Mapping):
            out = {}
            for key in ("number", "country", "prefix"):
                part = value.get(key)
                if part is not None and not isinstance(part, (str, int)) or isinstance(part, bool):
                    raise Unfit(value)
                out[key] = None if part is None else str(part)
            return out
        raise Unfit(value)
    raise Unfit(value)


def raw_values(record: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """The record's custom-field values, from `fields` or `customfields`, whichever is present."""
    for key in ("fields", "customfields"):
        values = record.get(key)
        if isinstance(values, list):
            return [v for v in values if isinstance(v, Mapping)]
    return []


def place_values(record: Dict[str, Any], columns: Mapping[str, Tuple[str, str]], kinds: Mapping[str, str]) -> List[str]:
    """Puts each of the company's columns on `record` (null without a value); returns the columns
    whose value did not fit (left null there, kept in the raw array)."""
    unfit = []
    by_id = {str(v.get("id")): v.get("value") for v in raw_values(record) if v.get("id") is not None}
    for field_id, (name, _) in columns.items():
        try:
            record[name] = parse_value(by_id.get(field_id), kinds.get(name, "string"))
        except Unfit:
            record[name] = None
            unfit.append(name)
    return unfit


# ---------------------------------------------------------------------------------------------
# The components
# ---------------------------------------------------------------------------------------------


@dataclass
class ColumnPlan:
    """One stream's custom-field columns for one sync: per company (the `company_id` of the
    definitions; "" for an enterprise's own), {field id: (column, kind)}, and each column's kind
    over all companies."""

    by_company: Dict[str, Dict[str, Tuple[str, str]]]
    kinds: Dict[str, str]

    @classmethod
    def from_definitions(cls, definitions: Iterable[Mapping[str, Any]], taken: Iterable[str]) -> "ColumnPlan":
        grouped: Dict[str, List[Mapping[str, Any]]] = {}
        for definition in definitions:
            grouped.setdefault(str(definition.get("company_id") or ""), []).append(definition)
        taken = set(taken)
        by_company = {company: company_columns(defs, taken) for company, defs in sorted(grouped.items())}
        return cls(by_company, merged_kinds(by_company.values()))

    def properties(self) -> Dict[str, Any]:
        return {name: column_schema(kind) for name, kind in self.kinds.items()}


def read_definitions(stream: Any) -> List[Mapping[str, Any]]:
    """Every record of the definitions stream (one list per company, or the enterprise's)."""
    return [dict(record.data) for record in cdk_workarounds.read_stream(stream)]


@dataclass
class CustomFieldColumns(SchemaLoader):
    """The stream's schema (`schema_loader`, the file) plus one column per custom field the
    `definitions` stream lists (the union over the companies; see the naming rule above). If the
    definitions cannot be read at discover time (a missing scope, an outage), the schema is the
    file's alone and the log says why; a read then fails on them (CustomFieldValues), loudly."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    schema_loader: SchemaLoader
    definitions: Any  # a stream (built by the CDK from the manifest) listing the definitions
    stream_name: str = ""  # the stream whose schema this is, for the log

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._key = f"custom_fields:{self.definitions.name}"
        self._session = session_of(self.config)
        self._taken: Optional[set] = None

    def plan(self) -> ColumnPlan:
        """This sync's columns: read once per sync per definitions stream (session.per_sync)."""
        if self._taken is None:  # the file's top-level properties: names no column may take
            self._taken = set(self.schema_loader.get_json_schema().get("properties", {}))
        taken = self._taken
        return self._session.per_sync.once(
            self._key, lambda: ColumnPlan.from_definitions(read_definitions(self.definitions), taken)
        )

    def get_json_schema(self) -> Mapping[str, Any]:
        schema = json.loads(json.dumps(self.schema_loader.get_json_schema()))
        try:
            plan = self.plan()
        except Exception as error:  # discover goes on without the columns; a read fails on them
            message = getattr(error, "message", None) or str(error)
            logger.warning(
                f"The custom field definitions ({self.definitions.name}) could not be read, so the "
                f"{self.stream_name} schema has no custom-field columns: {message}"
            )
            return schema
        schema.setdefault("properties", {}).update(plan.properties())
        return schema


UNFIT = "custom_fields_unfit"


@dataclass
class CustomFieldValues(RecordTransformation):
    """Puts each record's custom-field values (under `fields` or `customfields`, left as they are)
    in the columns of `columns` (a CustomFieldColumns), parsed to each column's type. A value that
    does not fit is null in its column and counted; SourceTimify logs the counts once per sync."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    columns: CustomFieldColumns

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._session = session_of(self.config)

    def transform(
        self,
        record: Dict[str, Any],
        config: Optional[Config] = None,
        stream_state: Optional[StreamState] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> None:
        plan = self.columns.plan()
        company = str(record.get("company_id") or "")
        unfit = place_values(record, plan.by_company.get(company, {}), plan.kinds)
        for column in unfit:
            self._session.counts.add((UNFIT, self.columns.stream_name, column))


def unfit_summary(counts: Mapping[Any, int]) -> Optional[str]:
    """The sync's one log line about values that did not fit their column, or None."""
    unfit = sorted((key[1], key[2], n) for key, n in counts.items() if isinstance(key, tuple) and key[0] == UNFIT)
    if not unfit:
        return None
    total = sum(n for _, _, n in unfit)
    each = ", ".join(f"{stream}.{column}: {n}" for stream, column, n in unfit)
    return (
        f"{total} custom-field value(s) did not fit their column's type and were emitted as null in the "
        f"column (the raw value stays in `fields`/`customfields`): {each}."
    )
