"""scripts/configured_catalog.py builds the configured catalog of a first run from `discover`:
every stream the install has (no enterprise_customers on a company install), incremental where
supported, and `read` syncs every one of them with it."""

import json
import subprocess
import sys
from pathlib import Path

from timify_emulator import Emulator

from integration_tests.connector import SOURCE_TIMIFY, STREAMS, parse_messages

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "configured_catalog.py"


def discover_then_script(tmp_path, config, *options):
    (tmp_path / "config.json").write_text(json.dumps(config))
    discover = subprocess.run(
        [SOURCE_TIMIFY, "discover", "--config", str(tmp_path / "config.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return subprocess.run(
        [sys.executable, str(SCRIPT), *options], input=discover.stdout, capture_output=True, text=True, timeout=60
    )


def test_the_catalog_from_discover_reads_every_stream_of_a_company_install(tmp_path):
    with Emulator(companies=1, appointments_per_company=30, enterprise=False, seed=43) as emu:
        built = discover_then_script(tmp_path, emu.connector_config())
        assert built.returncode == 0, built.stderr
        catalog = json.loads(built.stdout)
        modes = {
            e["stream"]["name"]: (e["sync_mode"], e["destination_sync_mode"], e.get("cursor_field"))
            for e in catalog["streams"]
        }
        assert set(modes) == set(STREAMS), "enterprise_customers is not discovered on a company install"
        assert modes["appointments"] == modes["customers"] == ("incremental", "append_dedup", ["updatedAt"])
        assert modes["services"] == ("full_refresh", "overwrite", None)
        assert all(e["primary_key"] == e["stream"]["source_defined_primary_key"] for e in catalog["streams"])

        (tmp_path / "catalog.json").write_text(built.stdout)
        read = subprocess.run(
            [
                SOURCE_TIMIFY,
                "read",
                "--config",
                str(tmp_path / "config.json"),
                "--catalog",
                str(tmp_path / "catalog.json"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        messages = parse_messages(read.stdout)
        assert read.returncode == 0, read.stdout[-2000:]
        read_streams = {m["record"]["stream"] for m in messages if m["type"] == "RECORD"}
        assert read_streams == set(STREAMS)
        states = {m["state"]["stream"]["stream_descriptor"]["name"] for m in messages if m["type"] == "STATE"}
        assert {"appointments", "customers"} <= states


def test_full_refresh_and_a_stream_selection(tmp_path, enterprise_emulator):
    built = discover_then_script(
        tmp_path,
        enterprise_emulator.connector_config(),
        "--full-refresh",
        "--streams",
        "appointments,enterprise_customers",
    )
    assert built.returncode == 0, built.stderr
    entries = json.loads(built.stdout)["streams"]
    assert [(e["stream"]["name"], e["sync_mode"]) for e in entries] == [
        ("appointments", "full_refresh"),
        ("enterprise_customers", "full_refresh"),
    ]

    unknown = discover_then_script(tmp_path, enterprise_emulator.connector_config(), "--streams", "appointment")
    assert unknown.returncode == 1 and "appointment not discovered" in unknown.stderr


def test_a_failed_discover_is_reported_in_the_connectors_words(tmp_path):
    built = discover_then_script(tmp_path, {"app_id": "", "app_secret": "x"})
    assert built.returncode == 1 and not built.stdout
    assert "discover failed: App ID (`app_id`) is empty" in built.stderr
