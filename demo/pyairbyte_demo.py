"""The main job: load every TIMIFY stream into DuckDB with PyAirbyte, change data, sync again.

    make demo                                   # against the TIMIFY emulator (no account needed)
    python demo/pyairbyte_demo.py --config secrets/config.json   # against a real TIMIFY account

PyAirbyte lives in its own virtual environment (.venv-pyairbyte, created on the first run): it
pins versions of cryptography, rich and protobuf that differ from the connector's. It runs the
connector through its console script in .venv (`local_executable=`), exactly as it would run any
connector installed on the machine, so the connector's own environment is untouched. The TIMIFY
emulator (the `timify_emulator` package in emulator/, standard library only) runs inside the job, so
it is installed into .venv-pyairbyte too (editable, like `make setup` installs it into .venv).

With the emulator, the second sync comes after changes made through the emulator (appointments in
the past, next week and months ahead updated and created, one cancelled; customers updated and
created, one deleted): the incremental streams (appointments, customers, enterprise_customers) read
only what changed and send a deletion record for the cancelled appointment and the deleted
customer, the others are read again in full. With --config, the second sync simply reads what
changed in your account since the first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYAIRBYTE_VENV = REPO / ".venv-pyairbyte"
# airbyte 0.71.x is what pip resolves for "airbyte>=0.71,<0.72" on Python 3.11 (0.71.3 when this
# was written); it needs Python < 3.13. duckdb is PyAirbyte's default cache backend.
REQUIREMENTS = ["airbyte>=0.71,<0.72", "duckdb"]
CONNECTOR = REPO / ".venv" / "bin" / "source-timify"
EMULATOR = REPO / "emulator"  # the timify_emulator package's project (pyproject.toml)
OUTPUT = REPO / "demo-output"
DB_PATH = OUTPUT / "warehouse.duckdb"

os.environ.setdefault("DO_NOT_TRACK", "1")  # no PyAirbyte telemetry
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # no registry lookups: the executable is given


# --------------------------------------------------------------------------------- bootstrap
def ensure_pyairbyte_venv() -> Path:
    """Create .venv-pyairbyte once (and again when REQUIREMENTS change), with this checkout's
    emulator installed in it; return its python."""
    python = PYAIRBYTE_VENV / "bin" / "python"
    stamp = PYAIRBYTE_VENV / (".installed-" + hashlib.sha1("\n".join(REQUIREMENTS).encode()).hexdigest()[:12])
    if stamp.exists() and python.exists():
        ensure_emulator(python)
        return python
    base = _python_for_pyairbyte()
    print(
        f"[setup] creating {PYAIRBYTE_VENV.name} with {base} and installing {' '.join(REQUIREMENTS)} "
        "(one time, a few minutes, ~800 MB)",
        flush=True,
    )
    if PYAIRBYTE_VENV.exists():
        shutil.rmtree(PYAIRBYTE_VENV)
    subprocess.run([base, "-m", "venv", str(PYAIRBYTE_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    stamp.touch()
    ensure_emulator(python)
    return python


def ensure_emulator(python: Path) -> None:
    """Install emulator/ into .venv-pyairbyte (editable, no dependencies: it has none) unless that
    venv already imports timify_emulator from this checkout (a venv made before the emulator was a
    package, or by another checkout, gets it installed)."""
    package = EMULATOR / "timify_emulator"
    probe = (
        "import pathlib, sys, timify_emulator; "
        "sys.exit(pathlib.Path(timify_emulator.__file__).resolve().parent != pathlib.Path(sys.argv[1]))"
    )
    if subprocess.run([str(python), "-c", probe, str(package.resolve())], capture_output=True).returncode == 0:
        return
    print(
        f"[setup] installing the TIMIFY emulator ({EMULATOR.relative_to(REPO)}) into {PYAIRBYTE_VENV.name}", flush=True
    )
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(EMULATOR)], check=True)


def _python_for_pyairbyte() -> str:
    """PyAirbyte 0.71 needs Python 3.10 to 3.12."""
    candidates = [sys.executable, "python3.11", "python3.12", "python3.10", "python3"]
    for candidate in candidates:
        exe = shutil.which(candidate) if os.sep not in candidate else candidate
        if not exe:
            continue
        ok = subprocess.run(
            [exe, "-c", "import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 13) else 1)"],
            capture_output=True,
        )
        if ok.returncode == 0:
            return exe
    sys.exit("PyAirbyte 0.71 needs Python 3.10, 3.11 or 3.12; none was found on PATH.")


# --------------------------------------------------------------------------------- the job
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        type=Path,
        help="a connector config JSON (real TIMIFY account); without it the demo starts the emulator",
    )
    parser.add_argument("--db", type=Path, default=DB_PATH, help=f"DuckDB file (default {DB_PATH.relative_to(REPO)})")
    parser.add_argument("--companies", type=int, default=3)
    parser.add_argument("--appointments-per-company", type=int, default=2000)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if not args.inner:
        if not CONNECTOR.exists():
            sys.exit(f"{CONNECTOR} not found: run `make setup` first (or `make demo`, which does).")
        python = ensure_pyairbyte_venv()
        # Google client libraries in PyAirbyte's dependencies warn about Python versions on import.
        env = dict(os.environ, PYTHONWARNINGS="ignore::FutureWarning")
        return subprocess.run(
            [str(python), str(Path(__file__).resolve()), "--inner", *sys.argv[1:]], env=env
        ).returncode
    return run_job(args)


def run_job(args) -> int:
    import airbyte as ab
    from airbyte.caches import DuckDBCache

    emulator = None
    if args.config:
        config = json.loads(args.config.read_text())
        print(f"Source: TIMIFY account from {args.config}")
    else:
        from timify_emulator import Emulator

        emulator = Emulator(
            companies=args.companies, appointments_per_company=args.appointments_per_company, seed=1, enterprise=True
        ).start()
        config = emulator.connector_config()
        print(
            f"Source: TIMIFY emulator at {emulator.base_url} ({args.companies} companies, "
            f"{args.appointments_per_company} appointments each, enterprise install)"
        )
    try:
        args.db.parent.mkdir(parents=True, exist_ok=True)
        for stale in (args.db, args.db.with_name(args.db.name + ".wal")):
            stale.unlink(missing_ok=True)  # every run starts from an empty warehouse
        cache = DuckDBCache(db_path=str(args.db), schema_name="timify")

        source = ab.get_source("source-timify", config=config, local_executable=str(CONNECTOR.resolve()))
        source.check()
        source.select_all_streams()
        streams = source.get_selected_streams()
        print(f"check: OK; streams: {', '.join(streams)}")

        print("\n== Sync 1: every stream into", args.db.relative_to(REPO) if args.db.is_relative_to(REPO) else args.db)
        started = time.monotonic()
        reset_traffic(emulator)
        source.read(cache=cache)
        print(f"   {time.monotonic() - started:.1f} s{traffic(emulator)}")
        counts_1 = table_counts(cache, streams)
        print_counts(counts_1, emulator, streams)
        print_appointments(cache, "The 5 most recently changed appointments", order='"updatedAt" DESC', limit=5)
        if "customers" in streams:
            print_customer_columns(cache, source)

        changed = {}
        if emulator is not None:
            print("\n== Changes in TIMIFY (through the emulator)")
            changed = change_data(emulator)

        incremental = [name for name in INCREMENTAL_STREAMS if name in streams]
        print(f"\n== Sync 2: incremental ({', '.join(incremental)}); full refresh for the others")
        started, sync_2_start = time.monotonic(), dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        reset_traffic(emulator)
        source.read(cache=cache)
        print(f"   {time.monotonic() - started:.1f} s{traffic(emulator)}")
        read_2 = records_loaded_since(cache, streams, sync_2_start)
        counts_2 = table_counts(cache, streams)
        print(f"   {'table':{TABLE_WIDTH}} {'loaded in sync 2':>17} {'rows after':>11}")
        for name in streams:
            print(f"   {name:{TABLE_WIDTH}} {read_2[name]:>17} {counts_2[name]:>11}")
        print(SYNC_2_NOTES)
        if emulator is not None:
            print_what_sync_2_sent(cache, changed, sync_2_start)
            check_second_sync(cache, emulator, changed, counts_2, streams)
            ids = [a["id"] for a in changed.get("appointments", [])]
            print_appointments(cache, "The changed appointments, as loaded", ids=ids)
            print_cancelled(cache, changed.get("cancelled"))
            print_deleted_customers(cache, changed.get("deleted_customers"))
        print(
            f"\nDuckDB file: {args.db} (schema `timify`). Query it with, e.g.:\n"
            f"  {PYAIRBYTE_VENV.name}/bin/python -c \"import duckdb; print(duckdb.connect('{args.db}', "
            f"read_only=True).sql('select company_id, count(*) from timify.appointments group by 1'))\""
        )
        return 0
    finally:
        if emulator is not None:
            emulator.stop()


INCREMENTAL_STREAMS = ["appointments", "customers", "enterprise_customers"]
# The tables' name column: wide enough for the longest stream, enterprise_customer_field_categories.
TABLE_WIDTH = len("enterprise_customer_field_categories")

SYNC_2_NOTES = """\
   "loaded in sync 2" counts what the incremental streams emitted: each change, each deletion
   record, and what the 5-minute lookback sent again (a record whose updatedAt falls in the last
   5 minutes before sync 1 started is sent again by sync 2, in case TIMIFY's lists showed it
   late; the destination deduplicates it on its primary key). "rows after" counts rows in DuckDB:
   the cancelled appointment's and the deleted customer's deletion records replace their rows and
   stay as rows in PyAirbyte's cache, so appointments and customers each hold one row more than
   the live records TIMIFY has."""


def reset_traffic(emulator):
    if emulator is not None:
        emulator.reset_log()


def traffic(emulator):
    """What the sync cost TIMIFY: logins and data requests, from the emulator's counters."""
    if emulator is None:
        return ""
    counters = emulator.counters()
    return f", {counters['logins']} login(s), {counters['data_requests']} data requests"


def _sql(cache, query):
    from sqlalchemy import text

    with cache.get_sql_engine().connect() as conn:
        return conn.execute(text(query)).fetchall()


def _table(cache, stream):
    return f"{cache.schema_name}.{cache.processor.get_sql_table_name(stream)}"


def table_counts(cache, streams):
    return {name: _sql(cache, f"select count(*) from {_table(cache, name)}")[0][0] for name in streams}


def print_counts(counts, emulator, streams):
    header = f"   {'table':{TABLE_WIDTH}} {'rows':>8}" + (f" {'expected':>9}" if emulator else "")
    print(header)
    mismatches = []
    for name in streams:
        line = f"   {name:{TABLE_WIDTH}} {counts[name]:>8}"
        if emulator is not None:
            truth = expected_rows(emulator, name)
            line += f" {truth:>9}" + ("" if truth == counts[name] else "  <-- differs")
            if truth != counts[name]:
                mismatches.append(name)
        print(line)
    if mismatches:
        raise SystemExit(f"row counts differ from the emulator for: {', '.join(mismatches)}")


def expected_rows(emulator, stream, lookahead_days=365):
    """What the connector should load: every record, except appointments after today plus
    Lookahead Days (default 365), which the connector leaves out by design. The emulator's
    recurring series run a couple of weeks past that horizon."""
    records = emulator.truth(stream)
    if stream == "appointments":
        horizon = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=lookahead_days)).isoformat()
        records = [r for r in records if r["startDate"][:10] <= horizon]
    return len(records)


def print_appointments(cache, title, order=None, limit=None, ids=None):
    where = ""
    if ids:
        where = "where id in (" + ", ".join(f"'{i}'" for i in ids) + ")"
    order_by = "order by " + (order or '"startDate"')
    limit_by = f"limit {limit}" if limit else ""
    query = (
        f'select company_id, id, "startDate", "updatedAt", title from {_table(cache, "appointments")} '
        f"{where} {order_by} {limit_by}"
    )
    rows = _sql(cache, query)
    print(f"\n   {title}:")
    print(f"   {'company_id':26} {'id':26} {'startDate':22} {'updatedAt':22} title")
    for company_id, rid, start, updated, name in rows:
        print(f"   {company_id:26} {rid:26} {str(start):22} {str(updated):22} {name}")


def change_data(emulator):
    """Update and create appointments (past, next week, months ahead), cancel one ten days ahead,
    update and create customers, and delete one (a GDPR erasure, say)."""
    emulator.advance(120)  # the changes are stamped two minutes after the first sync
    now = emulator.now()
    company = emulator.company_ids[0]
    appointments = emulator.truth("appointments", company)
    by_start = sorted(appointments, key=lambda a: a["startDate"])

    def pick(target):
        return min(
            by_start, key=lambda a: abs(dt.datetime.fromisoformat(a["startDate"].replace("Z", "+00:00")) - target)
        )

    changed = {"appointments": [], "customers": []}
    for label, delta in (("past", -90), ("near", 3), ("far", 240)):
        old = pick(now + dt.timedelta(days=delta))
        rec = emulator.update_appointment(
            company, old["id"], title=f"Demo: updated ({label})", notes="changed between sync 1 and sync 2"
        )
        changed["appointments"].append(rec)
        print(f"   updated appointment {rec['id']} starting {rec['startDate']} ({label})")
    for label, delta in (("past", -20), ("near", 1), ("far", 300)):
        start = (now + dt.timedelta(days=delta)).replace(hour=9, minute=0, second=0, microsecond=0)
        rec = emulator.create_appointment(company, start=start, title=f"Demo: created ({label})")
        changed["appointments"].append(rec)
        print(f"   created appointment {rec['id']} starting {rec['startDate']} ({label})")
    touched = {a["id"] for a in changed["appointments"]}
    cancelled = next(
        a
        for a in sorted(
            by_start,
            key=lambda a: abs(
                dt.datetime.fromisoformat(a["startDate"].replace("Z", "+00:00")) - (now + dt.timedelta(days=10))
            ),
        )
        if a["id"] not in touched
    )
    emulator.delete_appointment(company, cancelled["id"])  # cancelling deletes it in TIMIFY
    changed["cancelled"] = [cancelled]
    print(f"   cancelled appointment {cancelled['id']} starting {cancelled['startDate']} (TIMIFY deletes it)")
    customer = emulator.truth("customers", company)[0]
    rec = emulator.update_customer(company, customer["id"], lastName=customer["lastName"] + " (updated)")
    changed["customers"].append(rec)
    print(f"   updated customer {rec['id']}")
    rec = emulator.create_customer(company, firstName="Demo", lastName="Customer")
    changed["customers"].append(rec)
    print(f"   created customer {rec['id']}")
    # The deleted customer: neither the updated one nor a customer of the changed or cancelled
    # appointments (TIMIFY keeps a deleted customer's appointments, with the customer in them; the
    # demo shows those appointments, so it deletes someone else's customer record).
    booked = {c["id"] for a in changed["appointments"] + changed["cancelled"] for c in a.get("customers") or []}
    erased = next(c for c in emulator.truth("customers", company) if c["id"] not in booked | {customer["id"]})
    emulator.delete_customer(company, erased["id"])
    changed["deleted_customers"] = [dict(erased, company_id=company)]
    print(f"   deleted customer {erased['id']} ({erased['firstName']} {erased['lastName']}; TIMIFY erases it)")
    return changed


def check_second_sync(cache, emulator, changed, counts, streams):
    problems = []
    for name in streams:
        truth = expected_rows(emulator, name)
        if name in DELETION_STREAMS:  # PyAirbyte keeps deletion records' rows; count live ones
            counts = dict(counts, **{name: live_rows(cache, name)})
        if counts[name] != truth:
            problems.append(f"{name}: {counts[name]} rows, emulator holds {truth}")
    for stream, key, what in (
        ("appointments", "cancelled", "cancelled appointment"),
        ("customers", "deleted_customers", "deleted customer"),
    ):
        for rec in changed.get(key, []):
            deleted_at = _sql(
                cache, f"select \"_ab_cdc_deleted_at\" from {_table(cache, stream)} where id = '{rec['id']}'"
            )
            if not deleted_at or any(row[0] is None for row in deleted_at):
                problems.append(f"{what} {rec['id']}: no deletion record")
    titles = {rid: title for rid, title in _sql(cache, f"select id, title from {_table(cache, 'appointments')}")}
    for rec in changed["appointments"]:
        if titles.get(rec["id"]) != rec["title"]:
            problems.append(f"appointment {rec['id']}: title {titles.get(rec['id'])!r}, expected {rec['title']!r}")
    last_names = {
        rid: name
        for rid, name in _sql(
            cache, f'select id, lastname from {_table(cache, "customers")} where "_ab_cdc_deleted_at" is null'
        )
    }
    for rec in changed["customers"]:
        if last_names.get(rec["id"]) != rec["lastName"]:
            problems.append(
                f"customer {rec['id']}: lastName {last_names.get(rec['id'])!r}, expected {rec['lastName']!r}"
            )
    if problems:
        raise SystemExit("second sync is missing changes: " + "; ".join(problems))
    print(
        "   every change is in DuckDB; row counts equal the emulator's (appointments and customers: the "
        "live rows, without the deletion records')"
    )


# The DuckDB type each custom-field column's JSON-schema type becomes (docs/timify.md, "Custom
# fields as columns"): the demo fails if a column lands with another type.
DUCKDB_TYPES = {"boolean": "BOOLEAN", "number": "DECIMAL(38,9)", "string": "VARCHAR", "date": "DATE", "object": "JSON"}


def print_customer_columns(cache, source):
    """The customers table's custom-field columns, their DuckDB types, and three rows."""
    base = json.loads((REPO / "source_timify" / "schemas" / "customers.json").read_text())["properties"]
    schema = source.get_stream_json_schema("customers")["properties"]
    columns = [name for name in schema if name not in base]
    table = _table(cache, "customers")
    types = {
        name: kind
        for name, kind in _sql(
            cache,
            f"select column_name, data_type from information_schema.columns "
            f"where table_schema = '{cache.schema_name}' and table_name = "
            f"'{cache.processor.get_sql_table_name('customers')}'",
        )
    }
    print(
        "\n   customers: one typed column per custom field (the raw array stays in `fields`);"
        " PyAirbyte lower-cases column names:"
    )
    print(f"   {'column (connector)':24} {'DuckDB column':24} {'DuckDB type':12} declared")
    wrong, sql_names = [], []
    for name in columns:
        sql_name = cache.processor.normalizer.normalize(name)
        sql_names.append(sql_name)
        declared = schema[name]["type"][0] if schema[name].get("format") != "date" else "date"
        print(f"   {name:24} {sql_name:24} {types.get(sql_name, '(missing)'):12} {declared}")
        if types.get(sql_name) != DUCKDB_TYPES[declared]:
            wrong.append(f"{name}: {types.get(sql_name)} for {declared}")
    if wrong:
        raise SystemExit("customers columns with the wrong type in DuckDB: " + "; ".join(wrong))
    shown = ["company_id", "firstname"] + [n for n in sql_names if not n.startswith("field_")]
    rows = _sql(
        cache,
        f"select {', '.join(shown)} from (select *, row_number() over (partition by company_id "
        f"order by id) as n from {table}) where n <= 2 order by company_id, n",
    )  # two per company
    print("\n   " + " | ".join(shown))
    for row in rows:
        print("   " + " | ".join("" if v is None else str(v) for v in row))


# The streams whose second sync sends deletion records in the demo (the cancelled appointment, the
# deleted customer).
DELETION_STREAMS = ["appointments", "customers"]


def live_rows(cache, stream):
    """The stream's rows without deletion records' rows: what TIMIFY still holds."""
    return _sql(cache, f'select count(*) from {_table(cache, stream)} where "_ab_cdc_deleted_at" is null')[0][0]


def print_deletion_rows(cache, stream, deleted, columns, title):
    """The rows of the `deleted` records in `stream`'s table, under `title`: PyAirbyte's DuckDB
    cache keeps a deletion record as a row (a destination with CDC deletion handling removes the
    row instead). `columns`: (SQL name, heading, width) each; the last one is not padded."""
    if not deleted:
        return
    ids = ", ".join(f"'{record['id']}'" for record in deleted)
    rows = _sql(
        cache,
        f"select {', '.join(name for name, _, _ in columns)} from {_table(cache, stream)} where id in ({ids})",
    )
    print(title)
    print("   " + "".join(f"{heading:{width}} " for _, heading, width in columns[:-1]) + columns[-1][1])
    for row in rows:
        print(
            "   "
            + "".join(f"{str(value):{width}} " for value, (_, _, width) in zip(row[:-1], columns[:-1], strict=True))
            + str(row[-1])
        )


def print_cancelled(cache, cancelled):
    """The cancelled appointments' rows: their deletion records."""
    columns = [
        ("company_id", "company_id", 26),
        ("id", "id", 26),
        ('"startDate"', "startDate", 22),
        ('"updatedAt"', "updatedAt", 22),
        ('"_ab_cdc_deleted_at"', "_ab_cdc_deleted_at", 0),
    ]
    title = (
        "\n   The cancelled appointment, as loaded (a deletion record; Append + Deduped destinations "
        "with CDC deletion handling drop the row):"
    )
    print_deletion_rows(cache, "appointments", cancelled, columns, title)


def print_deleted_customers(cache, deleted):
    """The deleted customers' rows: like the cancelled appointment's, a deletion record (the
    customer's key, `updatedAt` and `_ab_cdc_deleted_at`; the personal data is gone from it)."""
    columns = [
        ("company_id", "company_id", 26),
        ("id", "id", 26),
        ("firstname", "firstName", 10),
        ("lastname", "lastName", 10),
        ("email", "email", 6),
        ('"updatedAt"', "updatedAt", 26),
        ('"_ab_cdc_deleted_at"', "_ab_cdc_deleted_at", 0),
    ]
    title = (
        "\n   The deleted customer, as loaded (a deletion record: its key and when the sync noticed; "
        "no name, e-mail or fields left):"
    )
    print_deletion_rows(cache, "customers", deleted, columns, title)


def records_loaded_since(cache, streams, since):
    """Rows whose `_airbyte_extracted_at` is after `since`: what the second sync read and loaded
    (the whole table for a full-refresh stream, only changed records for an incremental one)."""
    stamp = since.strftime("%Y-%m-%d %H:%M:%S+00")
    return {
        name: _sql(
            cache, f"select count(*) from {_table(cache, name)} where _airbyte_extracted_at >= '{stamp}'::timestamptz"
        )[0][0]
        for name in streams
    }


def print_what_sync_2_sent(cache, changed, since):
    """The appointments and customers sync 2 loaded, by why they were sent: changed (updated or
    created), deleted (a deletion record: the cancelled appointment, the deleted customer) or sent
    again by the lookback (changed in the 5 minutes before sync 1 started)."""
    stamp = since.strftime("%Y-%m-%d %H:%M:%S+00")
    for stream, deleted_key in (("appointments", "cancelled"), ("customers", "deleted_customers")):
        loaded = _sql(
            cache,
            f'select id, "_ab_cdc_deleted_at" is not null from {_table(cache, stream)} '
            f"where _airbyte_extracted_at >= '{stamp}'::timestamptz",
        )
        changed_ids = {r["id"] for r in changed.get(stream, [])}
        deleted_ids = {r["id"] for r in changed.get(deleted_key, [])}
        deletions = [i for i, is_deletion in loaded if is_deletion and i in deleted_ids]
        changes = [i for i, is_deletion in loaded if not is_deletion and i in changed_ids]
        again = [i for i, is_deletion in loaded if not is_deletion and i not in changed_ids]
        unexplained = len(loaded) - len(deletions) - len(changes) - len(again)
        print(
            f"   {stream} loaded in sync 2: {len(loaded)} = {len(changes)} changed"
            f" + {len(deletions)} deletion record(s) + {len(again)} sent again by the 5-minute lookback"
            + (f" + {unexplained} unexplained deletion record(s)" if unexplained else "")
        )


if __name__ == "__main__":
    sys.exit(main())
