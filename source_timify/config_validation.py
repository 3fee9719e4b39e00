"""Refuse a bad config with one sentence that names the field (or the unreadable file) and says
what to do.

The CDK validates the config against the spec too, but its messages quote JSON-schema
("'x' does not match '^[0-9a-f]{24}$'") without naming the field. This module runs first.
"""

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from source_timify.timify import APP_OVERVIEW

# What to do about a bad value, per field. {minimum} and {maximum} are the field's bounds in the
# spec (manifest.yaml), so a hint never contradicts what the spec allows.
HINTS = {
    "app_id": f"copy the App ID from the {APP_OVERVIEW}.",
    "app_secret": f"copy the App Secret from the {APP_OVERVIEW}.",
    "start_date": (
        "use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, e.g. 2024-01-01, or leave it empty to start at each company's "
        "creation date."
    ),
    "subdomain": "use only the part before .timify.com, e.g. api.",
    "company_ids": (
        "list 24-character hexadecimal TIMIFY company ids, e.g. 5f1b2c3d4e5f6a7b8c9d0e1f, or leave the list empty "
        "for every company the app can access."
    ),
    "enterprise_id": (
        "use the 24-character hexadecimal id of the enterprise the app is installed on, or leave it empty for a "
        "company install."
    ),
    "lookahead_days": "use a whole number of days from {minimum} to {maximum}.",
    "base_url": (
        "use an https:// URL, or http://localhost / http://127.0.0.1 for a local test server, "  # ignore-https-check
        "or leave it empty."
    ),
    "page_size": "use a whole number from {minimum} to {maximum}.",
    "num_workers": "use a whole number from {minimum} to {maximum}.",
    "include_booking_secrets": "use true to sync the booking secrets, or false (the default) to leave them out.",
}


# JSON-schema type names as a sentence says them ("must be an integer", not "a integer").
TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def _expected_type(validator_value: Any) -> str:
    kinds = validator_value if isinstance(validator_value, list) else [validator_value]
    return " or ".join(TYPE_WORDS.get(str(kind), f"of type {kind}") for kind in kinds)


def _shown(value: Any, prop: Mapping[str, Any]) -> Optional[str]:
    """The value as the user wrote it in the JSON config; None for a secret field's value."""
    if prop.get("airbyte_secret"):
        return None
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _hint(field: str, prop: Mapping[str, Any]) -> str:
    hint = HINTS.get(field, "see the field's description.")
    if "{minimum}" in hint or "{maximum}" in hint:
        hint = hint.format(minimum=prop["minimum"], maximum=prop["maximum"])
    return hint


def _describe(error: ValidationError, properties: Mapping[str, Any]) -> str:
    if error.validator == "required":
        field = error.message.split("'")[1]
        problem = "is missing"
    elif error.path:
        field = str(error.path[0])
        value = error.instance
        shown = _shown(value, properties.get(field, {}))
        if error.validator == "minLength" and value == "":
            problem = "is empty"
        elif error.validator == "type":
            problem = f"must be {_expected_type(error.validator_value)}" + (f", not {shown}" if shown else "")
        elif error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            problem = f"is out of range ({shown})" if shown else "is out of range"
        elif shown and not isinstance(value, (dict, list)):
            problem = f"has an invalid value ({shown})"
        else:
            problem = "is invalid"
    else:
        return f"The configuration is invalid: {error.message}."
    title = properties.get(field, {}).get("title", field)
    hint = _hint(field, properties.get(field, {}))
    return f"{title} (`{field}`) {problem}: {hint}"


def config_problem(
    config: Mapping[str, Any],
    connection_specification: Mapping[str, Any],
    now: Optional[datetime] = None,
) -> Optional[str]:
    """Return one sentence describing the first problem in `config`, or None when it is valid."""
    properties = connection_specification.get("properties", {})
    errors = sorted(
        Draft7Validator(connection_specification).iter_errors(config),
        key=lambda e: properties.get(str(e.path[0]) if e.path else "", {}).get("order", -1),
    )
    if errors:
        return _describe(errors[0], properties)
    start_date = config.get("start_date")
    if start_date:
        now = now or datetime.now(timezone.utc)
        parsed = (
            datetime.strptime(start_date, "%Y-%m-%dT%H:%M:%SZ")
            if "T" in start_date
            else datetime.strptime(start_date, "%Y-%m-%d")
        ).replace(tzinfo=timezone.utc)
        if parsed > now:
            return (
                f"Start Date (`start_date`) {start_date} is in the future: set a date on or before "
                "today, or leave it empty to start at each company's creation date."
            )
    return None


_WRITE_AN_OBJECT = (
    "write the config as one JSON object with at least `app_id` and `app_secret` "
    "(`source-timify spec` lists every field)"
)
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def read_config_file(path: str) -> Mapping[str, Any]:
    """The config in the JSON file at `path`, or a config error in one sentence naming the file.

    The CDK's own reader raises a bare ValueError or OSError for these cases, which reached the
    user as a traceback, without a CONNECTION_STATUS on `check`. The file's content is never
    quoted: it may hold the App Secret.
    """
    to_config = "pass the path of your config file to --config"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _unreadable(f"The config file {path} does not exist: {to_config}.") from None
    except IsADirectoryError:
        raise _unreadable(f"The config file {path} is a directory: {to_config}.") from None
    except UnicodeDecodeError:
        raise _unreadable(f"The config file {path} is not UTF-8 text: {_WRITE_AN_OBJECT}.") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise _unreadable(
            f"The config file {path} cannot be read ({reason}): make it readable by the user that runs the connector."
        ) from None
    if not text.strip():
        raise _unreadable(f"The config file {path} is empty: {_WRITE_AN_OBJECT}.")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"{error.msg[:1].lower()}{error.msg[1:]} at line {error.lineno}, column {error.colno}"
        raise _unreadable(f"The config file {path} is not valid JSON ({where}): {_WRITE_AN_OBJECT}.") from None
    if not isinstance(config, dict):
        kind = "null" if config is None else _JSON_KINDS.get(type(config), "a JSON value")
        raise _unreadable(f"The config file {path} holds {kind}, not an object: {_WRITE_AN_OBJECT}.")
    return config


def _unreadable(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.config_error)
