"""The optional py-spy profile (`--profile`): where a read's CPU goes.

py-spy samples every thread (cProfile would see only the main thread); `--gil` keeps the samples of
the thread holding the GIL, i.e. the Python work, which is what a CPU-bound read spends its CPU on.
`summarize_profile` gives self and inclusive shares of functions; `per_record_cpu` splits the
samples of the read into the stages every record goes through, and turns the shares into CPU
microseconds per record with the CPU seconds of the unprofiled read of the same run."""

import os
import shutil
import subprocess
from collections import Counter

from measure import BIN, CONNECTOR, RESULTS, ROOT, connector_config, ensure_tool, log

STARTUP = "_find_and_load ("

# The stages of a record, each named by frames of its code (substrings of py-spy's
# "function (file:line)"). A sample goes to the stage of its innermost frame that names one, so a
# filter's own work is "filter" while the page parse it pulls through the generators is "parse".
STAGES = [
    (
        "start-up (imports, manifest, streams, login)",
        (
            STARTUP,
            "_build_source (",
            "ConcurrentDeclarativeSource.streams (",
            "log_in_or_fail (",
            "validate_connection (",
            "ModelToComponentFactory.create_component (",
        ),
    ),
    ("HTTP send/receive (requests, urllib3)", ("HttpClient._send (", "/requests/", "/urllib3/", "/http/client.py")),
    (
        "request building (Jinja request options, partitions)",
        ("/jinja2/", "/interpolation/", "_get_request_options (", "generate_partitions (", "stream_slices ("),
    ),
    ("parse (orjson, extractor, page guard)", ("json_once (", "extract_records (", "_extract_and_count (")),
    ("filter (ObserveListed, ChangedSince)", ("filter_records (", "_told (", "RecordSelector._filter (")),
    (
        "transformations (company_id, booking secrets, _ab_cdc_deleted_at)",
        ("RecordSelector._transform (", ".transform (source_timify/"),
    ),
    ("schema type normalisation", ("TypeTransformer.transform (", "_normalize_by_schema (", "/jsonschema/")),
    ("Record objects, partition read", ("Record.__init__ (", "filter_and_transform (", "DeclarativePartition.read (")),
    ("cursor (observe, close_partition, state)", ("observe (", "close_partition (", "source_timify/incremental.py")),
    ("queue (put, get)", ("Queue.put (", "Queue.get (", "get_and_observe (", "/threading.py")),
    (
        "serialisation (record -> message -> JSON line, stdout, freeing it)",
        (
            "record_line (",
            "record_to_string (",
            "airbyte_message_to_string (",
            "stream_data_to_airbyte_message (",
            "write_messages (",
            "AirbyteEntrypoint.read (",
            "AirbyteEntrypoint.run (",
            "count_records (",
            "PrintBuffer.",
            "run (source_timify/run.py",
            "launch (source_timify/entrypoint.py",
        ),
    ),
    ("read loop (on_record, progress, message repository)", ("on_record (", "_consume_from_queue (", "progress.py")),
]
OTHER = "other"


def _stacks(raw_path):
    """(frames root to leaf, samples) of each line of py-spy's raw output, thread frames dropped."""
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if frames:
            yield frames, int(count)


def _stage_of(frames):
    """The stage of a sample: start-up wherever its frames are in the stack (an HTTP request of the
    login is start-up), else the stage of the innermost frame that names one."""
    if any(n in f for f in frames for n in STAGES[0][1]):
        return STAGES[0][0]
    for frame in reversed(frames):
        for label, needles in STAGES:
            if any(n in frame for n in needles):
                return label
    return OTHER


def per_record_cpu(raw_path, cpu_s, records):
    """[(stage, share of all samples %, CPU microseconds per record)] with `cpu_s`, the CPU seconds
    of an unprofiled read of `records` records, spread by the samples' shares."""
    by_stage, total = Counter(), 0
    for frames, n in _stacks(raw_path):
        by_stage[_stage_of(frames)] += n
        total += n
    rows = []
    for label in [label for label, _ in STAGES] + [OTHER]:
        share = by_stage[label] / total if total else 0.0
        rows.append((label, round(100 * share, 1), round(1e6 * share * cpu_s / records, 1) if records else None))
    return rows


KEY_FUNCTIONS = [
    # (label, substring of a py-spy frame "function (file:line)"): inclusive share of GIL-holding samples
    ("start-up: manifest -> components", "ModelToComponentFactory.create_component ("),
    ("partition reads (worker threads)", "PartitionReader.process_partition ("),
    ("  HTTP send/receive (requests, urllib3)", "HttpClient._send ("),
    ("  response JSON parse (parse_json_once)", "json_once ("),
    ("  PageGuard.extract_records", "PageGuard.extract_records ("),
    ("  TimifyPagination.next_page_token", "TimifyPagination.next_page_token ("),
    ("  record filtering (RecordSelector._filter)", "RecordSelector._filter ("),
    ("  record transformations (RecordSelector._transform)", "RecordSelector._transform ("),
    ("  schema type normalization", "TypeTransformer.transform ("),
    ("  cursor.observe", "observe ("),
    ("main thread: queue -> messages -> stdout", "ConcurrentSource._consume_from_queue ("),
    ("  record -> JSON line (record_to_string)", "record_to_string ("),
]


def summarize_profile(raw_path, top=25):
    """py-spy collapsed stacks -> self share per function and inclusive share of key functions
    (shares of the samples outside start-up imports, i.e. of the read itself; a small profiled read
    over-weights that fixed cost)."""
    stacks = list(_stacks(raw_path))
    self_t, incl_t = Counter(), Counter()
    total = startup = 0
    for frames, n in stacks:
        total += n
        startup += n if any(STARTUP in f for f in frames) else 0
        self_t[frames[-1]] += n
        for f in set(frames):
            incl_t[f] += n
    pct = lambda c: round(100.0 * c / total, 1) if total else 0.0  # noqa: E731
    read_total = total - startup
    key = [("start-up: imports (share of all samples)", pct(startup))]
    for label, needle in KEY_FUNCTIONS:
        n = sum(c for frames, c in stacks if any(needle in f for f in frames) and not any(STARTUP in f for f in frames))
        key.append((label, round(100.0 * n / read_total, 1) if read_total else 0.0))
    return {
        "samples": total,
        "startup_samples": startup,
        "self": [(f, pct(c)) for f, c in self_t.most_common(top)],
        "inclusive": [(f, pct(c)) for f, c in incl_t.most_common(top * 2)],
        "key_functions": key,
    }


def profile_read(emu, work, name, start, lookahead, args):
    """A read of the emulator's appointments under `py-spy record --gil`: its raw stacks in
    bench/results/<name>.txt and their summary (or {"error": ...})."""
    pyspy = BIN / "py-spy"
    if not pyspy.exists() and not ensure_tool("py_spy_dummy_never", "py-spy"):
        return {"error": "py-spy unavailable"}
    if not pyspy.exists():
        pyspy = shutil.which("py-spy")
    cfg = connector_config(
        emu, work, name, start, lookahead, page_size=args.page_size, num_workers=args.default_workers
    )
    raw = RESULTS / ("%s.txt" % name)
    cmd = (
        [str(pyspy), "record", "--gil", "--rate", "200", "--format", "raw", "--output", str(raw), "--"]
        + CONNECTOR
        + ["read", "--config", str(cfg), "--catalog", str(work.catalog)]
    )
    log("profile: py-spy record --gil on a read (%s)" % name)
    with open(os.devnull, "wb") as null, open(work.path / "pyspy.err", "wb") as err:
        r = subprocess.run(cmd, cwd=ROOT, stdout=null, stderr=err)
    if r.returncode != 0 or not raw.exists():
        return {"error": (work.path / "pyspy.err").read_text()[-500:]}
    summary = summarize_profile(raw)
    summary["raw"] = str(raw)
    return summary
