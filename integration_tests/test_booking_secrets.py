"""Booking secrets (`reschedulingSecret`, `metadata.secret`: the tokens of a customer's reschedule
and cancel links) stay out of records and schema unless `include_booking_secrets` is true; no
other field changes."""

from integration_tests.connector import (
    expected_records,
    full_range_config,
    keyed,
    run_connector,
    without_booking_secrets,
)


def appointments_schema(run):
    streams = {s["name"]: s for s in run.of_type("CATALOG")[0]["catalog"]["streams"]}
    return streams["appointments"]["json_schema"]["properties"]


def test_appointments_are_synced_without_booking_secrets_by_default(enterprise_emulator):
    emu = enterprise_emulator
    config = full_range_config(emu, page_size=100)
    truth = expected_records(emu, "appointments", dict(config, include_booking_secrets=True))
    assert all(a["reschedulingSecret"] for a in truth)
    assert any((a.get("metadata") or {}).get("secret") for a in truth), "the emulator serves metadata.secret"

    run = run_connector("read", config, ["appointments"])
    assert run.returncode == 0 and not run.errors(), run.stdout[-2000:]
    records = run.records("appointments")
    assert not [r for r in records if "reschedulingSecret" in r or "secret" in (r.get("metadata") or {})]
    # Every other field arrives as TIMIFY sent it (metadata without its secret stays an object).
    assert keyed(records, "appointments") == keyed([without_booking_secrets(a) for a in truth], "appointments")
    secrets = {a["reschedulingSecret"] for a in truth} | {(a.get("metadata") or {}).get("secret") for a in truth}
    assert not [s for s in secrets if s and s in run.stdout]

    schema = appointments_schema(run_connector("discover", config))
    assert "reschedulingSecret" not in schema
    assert "secret" not in schema["metadata"].get("properties", {})
    assert "rescheduleUntil" in schema and "metadata" in schema


def test_include_booking_secrets_syncs_them_and_declares_them(enterprise_emulator):
    emu = enterprise_emulator
    config = full_range_config(emu, page_size=100, include_booking_secrets=True)
    run = run_connector("read", config, ["appointments"])
    assert run.returncode == 0 and not run.errors(), run.stdout[-2000:]
    assert keyed(run.records("appointments"), "appointments") == keyed(
        expected_records(emu, "appointments", config), "appointments"
    )
    assert all(r["reschedulingSecret"] for r in run.records("appointments"))

    schema = appointments_schema(run_connector("discover", config))
    assert schema["reschedulingSecret"]["type"] == ["string", "null"]
    assert schema["metadata"]["properties"]["secret"]["type"] == ["string", "null"]


def test_spec_documents_the_booking_secrets_switch_off_by_default():
    prop = run_connector("spec").of_type("SPEC")[0]["spec"]["connectionSpecification"]["properties"][
        "include_booking_secrets"
    ]
    assert prop["type"] == "boolean" and prop["default"] is False
    assert "reschedulingSecret" in prop["description"] and "metadata.secret" in prop["description"]
