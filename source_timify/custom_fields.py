"""Customers' custom fields as typed columns (issue 12): the naming rule, the type map and the
value parsing. Pure functions over TIMIFY's field definitions (`/v1/customers/customfields`,
`/v1/enterprise-customers/customfields`) and records; not wired into the manifest yet.

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
import math
import re
import unicodedata
from datetime import date
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

BASIC_PREFIX = "customerFields.basic."
NULLABLE = lambda kind: [kind, "null"]  # noqa: E731

# TIMIFY's definition type -> the column's kind.
TYPE_MAP = {"CHECKBOX": "boolean", "DATE": "date", "NUMBER": "number", "SELECT": "string", "TEXT": "string",
            "EMAIL": "string", "PHONE": "phone"}

PHONE_SCHEMA = {"type": NULLABLE("object"), "additionalProperties": True,
                "properties": {k: {"type": NULLABLE("string")} for k in ("number", "country", "prefix")}}


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
        return key[len(BASIC_PREFIX):]
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
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = {"number": value}
            value = parsed
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
