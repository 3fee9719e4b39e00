"""The naming rule and the type map of customers' custom-field columns (source_timify/custom_fields.py)."""

import pytest

from source_timify.custom_fields import Unfit, company_columns, merged_kinds, parse_value, place_values
from unit_tests.timify_responses import customer_fields

TOP_LEVEL = {"id", "company_id", "firstName", "lastName", "fullName", "email", "externalId", "fields", "customfields"}


def definition(field_id, type_, label=None, key=None, default_id=None):
    return {"id": field_id, "type": type_, "label": label, "translationKey": key, "defaultId": default_id}


def test_the_real_samples_basic_fields_duplicate_top_level_properties_and_get_no_column():
    assert company_columns(customer_fields(), TOP_LEVEL) == {}


def test_builtins_keep_their_timify_name_and_labels_are_camel_cased():
    columns = company_columns(
        [
            definition("a1", "PHONE", key="customerFields.basic.mobilePhone", default_id="mobilePhone"),
            definition("a2", "DATE", default_id="birthday"),
            definition("a3", "TEXT", label="Member number"),
            definition("a4", "CHECKBOX", label="Größe (cm)"),
        ],
        TOP_LEVEL,
    )
    assert columns == {
        "a1": ("mobilePhone", "phone"),
        "a2": ("birthday", "date"),
        "a3": ("memberNumber", "string"),
        "a4": ("grosseCm", "boolean"),
    }


def test_colliding_labels_get_numbered_suffixes_in_the_order_of_their_ids():
    columns = company_columns(
        [
            definition("b2", "TEXT", label="plan"),
            definition("b1", "SELECT", label="Plan"),
            definition("b3", "TEXT", label="Email"),
        ],
        TOP_LEVEL,
    )
    assert columns == {"b1": ("plan", "string"), "b2": ("plan_2", "string"), "b3": ("email_2", "string")}


def test_missing_labels_use_the_translation_key_then_the_id_and_unknown_types_are_strings():
    columns = company_columns(
        [
            definition("c1", "RATING", key="customerFields.custom.vatNumber"),
            definition("c2", "TEXT"),
        ],
        TOP_LEVEL,
    )
    assert columns == {"c1": ("vatNumber", "string"), "c2": ("field_c2", "string")}


def test_the_same_definitions_always_give_the_same_columns():
    defs = [definition(f"d{n}", "TEXT", label="Same") for n in range(5)]
    assert company_columns(defs, TOP_LEVEL) == company_columns(list(reversed(defs)), TOP_LEVEL)


def test_a_column_with_different_types_in_two_companies_is_a_string():
    assert merged_kinds([{"x": ("plan", "number")}, {"y": ("plan", "string"), "z": ("vip", "boolean")}]) == {
        "plan": "string",
        "vip": "boolean",
    }


@pytest.mark.parametrize(
    "value,kind,expected",
    [
        ("true", "boolean", True),
        (False, "boolean", False),
        ("12", "number", 12),
        ("1.5", "number", 1.5),
        ("1985-03-01", "date", "1985-03-01"),
        ("1985-03-01T00:00:00.000Z", "date", "1985-03-01"),
        ('{"number": "151", "country": "DE"}', "phone", {"number": "151", "country": "DE", "prefix": None}),
        ("15112345", "phone", {"number": "15112345", "country": None, "prefix": None}),
        ("+49 151 12345", "phone", {"number": "+49 151 12345", "country": None, "prefix": None}),
        (7, "string", "7"),
        ("", "number", None),
        (None, "boolean", None),
    ],
)
def test_values_are_parsed_to_their_column_type(value, kind, expected):
    assert parse_value(value, kind) == expected


@pytest.mark.parametrize(
    "value,kind",
    [
        ("yes-ish", "boolean"),
        ("twelve", "number"),
        ("31.02.1985", "date"),
        ([1], "phone"),
        ({"a": 1}, "string"),
        (True, "number"),
    ],
)
def test_values_that_do_not_fit_are_refused(value, kind):
    with pytest.raises(Unfit):
        parse_value(value, kind)


def test_values_are_read_from_fields_or_customfields_and_unfit_ones_are_null_and_reported():
    columns = {"f1": ("vip", "boolean"), "f2": ("size", "number")}
    kinds = {"vip": "boolean", "size": "number"}
    for key in ("fields", "customfields"):
        record = {key: [{"id": "f1", "value": "true"}, {"id": "f2", "value": "big"}]}
        assert place_values(record, columns, kinds) == ["size"]
        assert record["vip"] is True and record["size"] is None
        assert record[key][1]["value"] == "big"  # the raw array is unchanged
