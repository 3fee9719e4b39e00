"""Benchmark of `source-timify` against the TIMIFY emulator (issue 5). Run: `make bench`.

Each emulator runs in its own process (`python -m integration_tests.timify_emulator`), so the
connector's CPU, wall time and memory are measured apart from the server's (they still share the
machine's cores: the figures say how many). Sections, all in one run:

1. throughput  full read of N appointments (`--appointments`, default 200,000, 20 companies) by
               `source-timify read`: records/s, wall, CPU, peak RSS (wait4 ru_maxrss + /proc polling)
2. baseline    bench/baseline_client.py (requests + json, one thread) on the same pages: ratio
3. latency     100 ms per request, companies x 12 monthly windows (>= 40 partitions, small data):
               sync wall vs ideal (requests x latency / num_workers) for several num_workers
4. economy     requests made (emulator counters and log) vs the minimum: pages + companies + logins
5. cold start  `source-timify spec`, median of 5
plus num_workers without latency (10,000 appointments) and page_size at 100 ms on dense windows.

Output: a markdown table (stdout and bench/results/latest.md), bench/results/latest.json and
bench/results/num_workers.png. `--profile` adds a py-spy profile of a read (bench/results/profile.*).
"""

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The baseline's windows are the ones the benchmark counts pages in: one definition for both.
from baseline_client import windows

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
BIN = Path(PY).parent
CONNECTOR = [str(BIN / "source-timify")] if (BIN / "source-timify").exists() else [PY, "-m", "source_timify.run"]
BASELINE = [PY, str(ROOT / "bench" / "baseline_client.py")]
WINDOW_DAYS = 31
# The emulator spreads appointments from 729 days back to 364 days ahead (company time zones), and
# weekly chains reach 14 days further: a margin on each side, in UTC.
LOOKAHEAD_DAYS = 381


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The emulator, in its own process
# ---------------------------------------------------------------------------------------------


class EmulatorProcess:
    def __init__(self, companies, appointments_per_company, latency_ms=0, seed=1):
        self.companies = companies
        self.apc = appointments_per_company
        cmd = [PY, "-m", "integration_tests.timify_emulator", "--port", "0", "--companies", str(companies),
               "--appointments-per-company", str(appointments_per_company), "--seed", str(seed),
               "--latency-ms", str(latency_ms)]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the emulator did not start: %s" % " ".join(cmd))
        self.generation_s = time.perf_counter() - t0
        hello = json.loads(line)
        self.base_url = hello["base_url"]
        self.config = hello["config"]
        self.company_ids = [c["id"] for c in self._get_data_companies()]

    def _req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def _get_data_companies(self):
        token = self._req("POST", "/v1/auth/token", {"appid": self.config["app_id"],
                                                      "appsecret": self.config["app_secret"]})["accessToken"]
        req = urllib.request.Request(
            self.base_url + "/v1/companies?limit=10000&enterprise_id=" + self.config.get("enterprise_id", ""),
            headers={"authorization": token})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())["data"]

    def today(self):
        return dt.date.fromisoformat(self._req("GET", "/_emulator/clock")["now"][:10])

    def truth_count(self, company_id=None):
        q = "?ids=0" + ("&company_id=%s" % company_id if company_id else "")
        return self._req("GET", "/_emulator/truth/appointments" + q)["count"]

    def reset_log(self):
        self._req("POST", "/_emulator/reset-log", {})

    def counters(self):
        return self._req("GET", "/_emulator/counters")

    def requests_log(self):
        return self._req("GET", "/_emulator/log")

    def set_faults(self, **knobs):
        return self._req("POST", "/_emulator/faults", knobs)

    def cpu_seconds(self):
        return _proc_cpu(self.proc.pid)

    def window_totals(self, company_ids, spans):
        """totalItems of every company x window (limit=1 probes, 8 in parallel): the minimum pages."""
        token = self._req("POST", "/v1/auth/token", {"appid": self.config["app_id"],
                                                      "appsecret": self.config["app_secret"]})["accessToken"]

        def probe(key):
            cid, (frm, to) = key
            url = "%s/v1/appointments?from_date=%s&to_date=%s&timezone=UTC&page=1&limit=1" % (
                self.base_url, frm.isoformat(), to.isoformat())
            req = urllib.request.Request(url, headers={"authorization": token, "company-id": cid})
            with urllib.request.urlopen(req, timeout=120) as r:
                return key, json.loads(r.read())["meta"]["totalItems"]

        keys = [(cid, span) for cid in company_ids for span in spans]
        with ThreadPoolExecutor(8) as pool:
            return dict(pool.map(probe, keys))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def _rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------------------------
# Running a measured child
# ---------------------------------------------------------------------------------------------


def run_measured(cmd, out_path, err_path=None, timeout=3600, sample_s=0.25):
    """Runs cmd with stdout to a file; returns wall, CPU (user+sys), peak RSS (ru_maxrss of this
    child, exact) and an RSS trace [(seconds, rss_mb, stdout_mb)] from /proc polling."""
    with open(out_path, "wb") as out, open(err_path or os.devnull, "wb") as err:
        started_epoch = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        trace, done = [], threading.Event()

        def poll():
            while not done.wait(sample_s):
                rss = _rss_kb(proc.pid)
                if rss is None:
                    return
                trace.append((round(time.perf_counter() - t0, 2), round(rss / 1024, 1),
                              round(os.path.getsize(out_path) / 1e6, 1)))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        done.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"started_epoch": started_epoch, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "exit_code": proc.returncode, "rss_trace": trace}


def scan_connector_output(path):
    """Counts RECORD messages; keeps errors and the final state."""
    records, errors, per_company = 0, [], Counter()
    marker = b'"company_id":"'
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b'{"type":"RECORD"'):
                records += 1
                i = line.rfind(marker)
                if i >= 0:
                    per_company[line[i + len(marker):i + len(marker) + 24].decode()] += 1
            elif b'"ERROR"' in line or b'"FATAL"' in line:
                errors.append(line[:400].decode(errors="replace"))
    return records, errors, per_company


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 24)
            if not chunk:
                return n
            n += chunk.count(b"\n")


def write_catalog(path):
    catalog = json.loads((ROOT / "integration_tests" / "configured_catalog.json").read_text())
    streams = [s for s in catalog["streams"] if s["stream"]["name"] == "appointments"]
    streams[0].update(sync_mode="full_refresh", destination_sync_mode="overwrite")
    streams[0].pop("cursor_field", None)
    path.write_text(json.dumps({"streams": streams}))


class Workdir:
    def __init__(self, keep=False):
        self.path = Path(tempfile.mkdtemp(prefix="timify-bench-"))
        self.keep = keep
        self.catalog = self.path / "catalog.json"
        write_catalog(self.catalog)

    def config(self, name, cfg):
        p = self.path / ("%s.json" % name)
        p.write_text(json.dumps(cfg))
        return p

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


def economy(emu, counters, log_entries, totals, page_size, n_companies_listed):
    """Requests made vs the minimum: one page per empty window, ceil(total/page_size) otherwise,
    the companies list, one login."""
    min_pages = sum(max(1, math.ceil(t / page_size)) for t in totals.values())
    min_companies = max(1, math.ceil(n_companies_listed / page_size))
    logins = counters.get("logins", 0)
    appt = [e for e in log_entries if e["path"] == "/v1/appointments"]
    keys = Counter((e["company_id"], e["query"].get("from_date"), e["query"].get("to_date"),
                    e["query"].get("page"), e["query"].get("limit")) for e in appt)
    companies_calls = sum(1 for e in log_entries if e["path"] == "/v1/companies")
    other = sum(1 for e in log_entries if e["path"] not in ("/v1/appointments", "/v1/companies", "/v1/auth/token"))
    made = counters.get("requests", len(log_entries))
    return {
        "requests": made, "logins": logins, "refreshes": counters.get("refreshes", 0),
        "appointment_pages": len(appt), "companies_calls": companies_calls, "other_calls": other,
        "repeated_pages": sum(c - 1 for c in keys.values() if c > 1),
        "non_200": {k: v for k, v in counters.get("by_status", {}).items() if str(k) != "200"},
        "minimum_pages": min_pages, "minimum": min_pages + min_companies + 1,
        "excess": made - (min_pages + min_companies + 1),
    }


def in_flight(log_entries):
    """(max, mean) requests being served at once, from the emulator's log."""
    if not log_entries:
        return 0, 0.0
    events = sorted([(e["time"], 1) for e in log_entries] +
                    [(e["time"] + e["duration_ms"] / 1000, -1) for e in log_entries], key=lambda x: (x[0], x[1]))
    now = peak = 0
    for _, d in events:
        now += d
        peak = max(peak, now)
    busy = sum(e["duration_ms"] for e in log_entries) / 1000
    return peak, busy / sync_wall(log_entries)


def sync_wall(log_entries):
    """First request in to last response out, from the emulator's log (excludes process start-up)."""
    if not log_entries:
        return float("nan")
    start = min(e["time"] for e in log_entries)
    end = max(e["time"] + e["duration_ms"] / 1000 for e in log_entries)
    return end - start


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


def connector_config(emu, work, name, start, lookahead, **extra):
    cfg = dict(emu.config, start_date=start.isoformat(), lookahead_days=lookahead, **extra)
    return work.config(name, cfg)


def read_connector(emu, work, name, start, lookahead, page_size, workers, timeout=3600, **extra):
    cfg = connector_config(emu, work, name, start, lookahead, page_size=page_size, num_workers=workers, **extra)
    out = work.path / ("%s.out" % name)
    emu.reset_log()
    emu_cpu0 = emu.cpu_seconds()
    res = run_measured(CONNECTOR + ["read", "--config", str(cfg), "--catalog", str(work.catalog)], out,
                       work.path / ("%s.err" % name), timeout=timeout)
    res["emulator_cpu_s"] = emu.cpu_seconds() - emu_cpu0
    res["records"], res["errors"], res["per_company"] = scan_connector_output(out)
    res["stdout_mb"] = os.path.getsize(out) / 1e6
    res["counters"] = emu.counters()
    res["log"] = emu.requests_log()
    res["sync_wall_s"] = sync_wall(res["log"])
    if res["log"]:
        first = min(e["time"] for e in res["log"])
        last = max(e["time"] + e["duration_ms"] / 1000 for e in res["log"])
        res["before_first_request_s"] = first - res["started_epoch"]
        res["after_last_response_s"] = res["started_epoch"] + res["wall_s"] - last
    res["records_per_s"] = res["records"] / res["wall_s"] if res["wall_s"] else 0
    if not work.keep:
        out.unlink()
    return res


def read_baseline(emu, work, name, start, end, page_size, company_ids=None):
    out = work.path / ("%s.out" % name)
    err = work.path / ("%s.err" % name)
    cmd = BASELINE + ["--base-url", emu.base_url, "--app-id", emu.config["app_id"],
                      "--app-secret", emu.config["app_secret"], "--enterprise-id", emu.config.get("enterprise_id", ""),
                      "--start", start.isoformat(), "--end", end.isoformat(), "--page-size", str(page_size)]
    if company_ids:
        cmd += ["--company-ids", ",".join(company_ids)]
    emu.reset_log()
    emu_cpu0 = emu.cpu_seconds()
    res = run_measured(cmd, out, err)
    res["emulator_cpu_s"] = emu.cpu_seconds() - emu_cpu0
    res["records"] = count_lines(out)
    res["stdout_mb"] = os.path.getsize(out) / 1e6
    res["counters"] = emu.counters()
    res["sync_wall_s"] = sync_wall(emu.requests_log())
    res["records_per_s"] = res["records"] / res["wall_s"] if res["wall_s"] else 0
    if not work.keep:
        out.unlink()
    return res


def strip(res):
    return {k: v for k, v in res.items() if k not in ("log", "per_company")}


def section_cold_start(runs=5):
    log("cold start: source-timify spec x %d" % runs)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(CONNECTOR + ["spec"], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    bare = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", "import airbyte_cdk.sources.declarative.yaml_declarative_source"], check=True)
        bare.append(time.perf_counter() - t0)
    return {"spec_median_s": statistics.median(times), "spec_runs_s": times,
            "import_cdk_median_s": statistics.median(bare)}


def section_latency(args, work):
    n_companies, months = args.latency_companies, args.latency_months
    log("latency-bound: emulator %d companies x %d appointments, %d ms per request"
        % (n_companies, args.latency_appointments_per_company, args.latency_ms))
    emu = EmulatorProcess(n_companies, args.latency_appointments_per_company)
    try:
        today = emu.today()
        start = today - dt.timedelta(days=months * WINDOW_DAYS - 1)
        spans = windows(start, today)
        totals = emu.window_totals(emu.company_ids, spans)
        emu.set_faults(latency_ms=args.latency_ms)
        rows = []
        for w in args.workers:
            res = read_connector(emu, work, "latency-w%d" % w, start, 0, args.page_size, w, timeout=900)
            eco = economy(emu, res["counters"], res["log"], totals, args.page_size, n_companies)
            ideal = eco["requests"] * args.latency_ms / 1000 / w
            peak, mean = in_flight(res["log"])
            row = {"num_workers": w, "partitions": len(totals), "records": res["records"],
                   "expected_records": sum(totals.values()), "requests": eco["requests"],
                   "minimum_requests": eco["minimum"], "ideal_s": ideal, "sync_wall_s": res["sync_wall_s"],
                   "process_wall_s": res["wall_s"], "ratio_sync": res["sync_wall_s"] / ideal,
                   "ratio_process": res["wall_s"] / ideal, "records_per_s": res["records"] / res["wall_s"],
                   "requests_per_s_sync": eco["requests"] / res["sync_wall_s"], "peak_rss_mb": res["peak_rss_mb"],
                   "cpu_s": res["cpu_s"], "errors": res["errors"][:3], "economy": eco,
                   "max_in_flight": peak, "mean_in_flight": mean,
                   "before_first_request_s": res.get("before_first_request_s"),
                   "after_last_response_s": res.get("after_last_response_s")}
            rows.append(row)
            log("  num_workers=%-2d sync %.2f s (ideal %.2f, x%.2f), process %.2f s, %d requests"
                % (w, row["sync_wall_s"], ideal, row["ratio_sync"], row["process_wall_s"], eco["requests"]))
        base = read_baseline(emu, work, "latency-baseline", start, today, args.page_size)
        baseline = {"requests": base["counters"]["requests"], "sync_wall_s": base["sync_wall_s"],
                    "process_wall_s": base["wall_s"], "records": base["records"]}
        return {"latency_ms": args.latency_ms, "companies": n_companies, "months": months,
                "partitions": len(totals), "rows": rows, "baseline_sequential": baseline}
    finally:
        emu.stop()


def section_sweeps(args, work):
    """num_workers without latency (CPU-bound), and the optional py-spy profile."""
    n_companies = args.sweep_companies
    log("sweeps: emulator %d companies x %d appointments" % (n_companies, args.sweep_appointments_per_company))
    emu = EmulatorProcess(n_companies, args.sweep_appointments_per_company)
    try:
        today = emu.today()
        start, lookahead = today - dt.timedelta(days=731), LOOKAHEAD_DAYS
        spans = windows(start, today + dt.timedelta(days=lookahead))
        totals = emu.window_totals(emu.company_ids, spans)
        expected = sum(totals.values())
        workers_rows = []
        for w in args.sweep_workers:
            res = read_connector(emu, work, "sweep-w%d" % w, start, lookahead, args.page_size, w)
            workers_rows.append({"num_workers": w, "records": res["records"], "expected_records": expected,
                                 "wall_s": res["wall_s"], "records_per_s": res["records_per_s"],
                                 "cpu_s": res["cpu_s"], "peak_rss_mb": res["peak_rss_mb"],
                                 "requests": res["counters"]["requests"], "errors": res["errors"][:3]})
            log("  num_workers=%-2d %.0f records/s, wall %.1f s, peak RSS %.0f MB"
                % (w, res["records_per_s"], res["wall_s"], res["peak_rss_mb"]))
        emu.set_faults(latency_ms=0)
        profile = section_profile(emu, work, start, lookahead, args) if args.profile else None
        return {"companies": n_companies, "appointments": expected, "windows": len(totals),
                "workers": workers_rows, "profile": profile}
    finally:
        emu.stop()


def section_page_sizes(args, work):
    """Dense windows (one company, many appointments, a few 31-day windows) at 100 ms per request:
    fewer, larger pages against memory."""
    log("page sizes: emulator 1 company x %d appointments, %d windows, %d ms per request"
        % (args.page_appointments, args.page_windows, args.sweep_latency_ms))
    emu = EmulatorProcess(1, args.page_appointments)
    try:
        today = emu.today()
        start = today - dt.timedelta(days=args.page_windows * WINDOW_DAYS - 1)
        totals = emu.window_totals(emu.company_ids, windows(start, today))
        expected = sum(totals.values())
        emu.set_faults(latency_ms=args.sweep_latency_ms)
        rows = []
        for ps in args.page_sizes:
            res = read_connector(emu, work, "page-%d" % ps, start, 0, ps, args.default_workers)
            eco = economy(emu, res["counters"], res["log"], totals, ps, 1)
            rows.append({"page_size": ps, "latency_ms": args.sweep_latency_ms, "num_workers": args.default_workers,
                         "records": res["records"], "expected_records": expected, "wall_s": res["wall_s"],
                         "sync_wall_s": res["sync_wall_s"], "records_per_s": res["records_per_s"],
                         "requests": eco["requests"], "minimum_requests": eco["minimum"],
                         "peak_rss_mb": res["peak_rss_mb"], "cpu_s": res["cpu_s"], "errors": res["errors"][:3]})
            log("  page_size=%-5d %d requests, sync wall %.1f s, peak RSS %.0f MB"
                % (ps, eco["requests"], res["sync_wall_s"], res["peak_rss_mb"]))
        return {"appointments": expected, "windows": len(totals), "rows": rows}
    finally:
        emu.stop()


def section_throughput(args, work):
    apc = args.appointments // args.companies
    log("throughput: generating %d companies x %d appointments (about %.0f s; 141 s per million)"
        % (args.companies, apc, 141 * args.appointments / 1e6))
    emu = EmulatorProcess(args.companies, apc)
    try:
        log("  emulator ready in %.1f s" % emu.generation_s)
        today = emu.today()
        start, lookahead = today - dt.timedelta(days=731), LOOKAHEAD_DAYS
        end = today + dt.timedelta(days=lookahead)
        spans = windows(start, end)
        # The emulator makes exactly appointments-per-company per company; its truth endpoint parses
        # every record (minutes at 1M), so it checks only smaller runs.
        truth = emu.truth_count() if args.appointments <= 200_000 else args.companies * apc
        totals = emu.window_totals(emu.company_ids, spans)
        log("  connector read (page_size %d, num_workers %d)" % (args.page_size, args.default_workers))
        conn = read_connector(emu, work, "throughput", start, lookahead, args.page_size, args.default_workers)
        eco = economy(emu, conn["counters"], conn["log"], totals, args.page_size, args.companies)
        per_company_ok = all(conn["per_company"].get(c, 0) == sum(t for (cid, _), t in totals.items() if cid == c)
                             for c in emu.company_ids)
        log("  connector: %d records in %.1f s (%.0f/s), peak RSS %.0f MB"
            % (conn["records"], conn["wall_s"], conn["records_per_s"], conn["peak_rss_mb"]))
        if args.skip_baseline:
            base = {"records": 0, "wall_s": float("nan"), "records_per_s": 0, "peak_rss_mb": float("nan"),
                    "cpu_s": float("nan"), "emulator_cpu_s": float("nan"), "stdout_mb": 0, "counters": {}}
        else:
            log("  baseline read")
            base = read_baseline(emu, work, "baseline", start, end, args.page_size)
        log("  baseline: %d records in %.1f s (%.0f/s), peak RSS %.0f MB"
            % (base["records"], base["wall_s"], base["records_per_s"], base["peak_rss_mb"]))
        trace = conn["rss_trace"]
        final_mb = conn["stdout_mb"] or 1
        rss_at = {}
        for frac in (0.25, 0.5, 0.75, 1.0):
            seen = [rss for _, rss, out_mb in trace if out_mb <= frac * final_mb]
            rss_at["%d%%" % (frac * 100)] = max(seen) if seen else None
        return {"appointments": truth, "companies": args.companies, "windows": len(spans),
                "partitions": len(totals), "generation_s": emu.generation_s,
                "page_size": args.page_size, "num_workers": args.default_workers,
                "connector": strip(conn), "baseline": strip(base), "economy": eco,
                "expected_records": sum(totals.values()), "truth_records": truth,
                "records_match_truth": conn["records"] == sum(totals.values()) == truth
                and (args.skip_baseline or base["records"] == truth),
                "per_company_match": per_company_ok, "rss_by_progress_mb": rss_at,
                "ratio": conn["records_per_s"] / base["records_per_s"] if base["records_per_s"] else None}
    finally:
        emu.stop()


# ---------------------------------------------------------------------------------------------
# Profile (py-spy: samples every thread; cProfile would see only the main thread)
# ---------------------------------------------------------------------------------------------


def ensure_tool(module, package):
    try:
        __import__(module)
        return True
    except ImportError:
        pass
    log("installing %s into %s" % (package, sys.prefix))
    r = subprocess.run([PY, "-m", "pip", "install", "--quiet", package])
    return r.returncode == 0


def section_profile(emu, work, start, lookahead, args):
    pyspy = BIN / "py-spy"
    if not pyspy.exists() and not ensure_tool("py_spy_dummy_never", "py-spy"):
        return {"error": "py-spy unavailable"}
    if not pyspy.exists():
        pyspy = shutil.which("py-spy")
    cfg = connector_config(emu, work, "profile", start, lookahead, page_size=args.page_size,
                           num_workers=args.default_workers)
    raw = RESULTS / "profile.txt"
    cmd = [str(pyspy), "record", "--gil", "--rate", "200", "--format", "raw", "--output", str(raw), "--"] + \
        CONNECTOR + ["read", "--config", str(cfg), "--catalog", str(work.catalog)]
    log("profile: py-spy record --gil on a %d-company read" % args.sweep_companies)
    with open(os.devnull, "wb") as null, open(work.path / "pyspy.err", "wb") as err:
        r = subprocess.run(cmd, cwd=ROOT, stdout=null, stderr=err)
    if r.returncode != 0 or not raw.exists():
        return {"error": (work.path / "pyspy.err").read_text()[-500:]}
    return summarize_profile(raw)


KEY_FUNCTIONS = [
    # (label, substring of a py-spy frame "function (file:line)"): inclusive share of GIL-holding samples
    ("start-up: imports (CDK, serpyco-rs schema docs)", "_find_and_load ("),
    ("start-up: manifest -> components", "ModelToComponentFactory.create_component ("),
    ("partition reads (worker threads)", "PartitionReader.process_partition ("),
    ("  HTTP send/receive (requests, urllib3)", "HttpClient._send ("),
    ("  response JSON parse, all calls (stdlib json via requests)", "Response.json ("),
    ("  PageGuard.extract_records (parse #1)", "PageGuard.extract_records ("),
    ("  TimifyPagination.next_page_token (parse #2 of the same body)", "TimifyPagination.next_page_token ("),
    ("  error-handler predicate `'data' not in response` (parse #3)", "HttpResponseFilter._matches_filter ("),
    ("  record filtering (RecordSelector._filter)", "RecordSelector._filter ("),
    ("    client-side incremental check (should_be_synced)", "ConcurrentPerPartitionCursor.should_be_synced ("),
    ("      a new ConcurrentCursor per record (global cursor)", "ConcurrentPerPartitionCursor._create_cursor ("),
    ("    Jinja `condition` (start_date with a time)", "InterpolatedBoolean.eval ("),
    ("  AddFields company_id (Jinja)", "AddFields.transform ("),
    ("  schema type normalization", "TypeTransformer.transform ("),
    ("main thread: queue -> messages -> stdout", "ConcurrentSource._consume_from_queue ("),
    ("  record -> JSON line (record_to_string / serializer)", "airbyte_message_to_string ("),
    ("  record -> JSON line (record_to_string)", "record_to_string ("),
]


def summarize_profile(raw_path, top=25):
    """py-spy collapsed stacks -> self share per function and inclusive share of key functions."""
    self_t, incl_t = Counter(), Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        self_t[frames[-1]] += n
        for f in set(frames):
            incl_t[f] += n
    pct = lambda c: round(100.0 * c / total, 1) if total else 0.0  # noqa: E731
    # Start-up (imports) is a fixed cost that a small profiled read over-weights: the key functions
    # are shares of the samples outside imports, i.e. of the read itself.
    lines = [line.rpartition(" ") for line in raw_path.read_text().splitlines()]
    startup = sum(int(n) for stack, _, n in lines if stack and "_find_and_load (" in stack)
    read_total = total - startup
    key = [("start-up: imports (share of all samples)", pct(startup))]
    for label, needle in KEY_FUNCTIONS[1:]:
        n = sum(int(c) for stack, _, c in lines if stack and needle in stack and "_find_and_load (" not in stack)
        key.append((label, round(100.0 * n / read_total, 1) if read_total else 0.0))
    return {"samples": total, "startup_samples": startup,
            "self": [(f, pct(c)) for f, c in self_t.most_common(top)],
            "inclusive": [(f, pct(c)) for f, c in incl_t.most_common(top * 2)],
            "key_functions": key}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt(v, nd=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return "%.*f" % (nd, v)
    return str(v)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def report(results, args):
    L = []
    tp, lat, sw, cs = results.get("throughput"), results.get("latency"), results.get("sweeps"), results.get("cold_start")
    m = results["machine"]
    L.append("# source-timify benchmark (%s)" % results["started"])
    L.append("")
    L.append("Machine: %s cores, Python %s, airbyte-cdk %s. The emulator runs in its own process on the same "
             "cores; `make bench` reproduces this (`python bench/run_bench.py --help` for sizes)."
             % (m["cpus"], m["python"], m["airbyte_cdk"]))
    L.append("")
    L.append("Load average at start %s, at end %s (other work on the machine skews absolute figures; "
             "ratios taken in the same run less so)." % tuple(
                 "/".join("%.1f" % x for x in results.get(k) or ()) for k in ("loadavg_start", "loadavg_end")))
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    if tp and tp["ratio"]:
        L.append("| throughput >= 0.5 x baseline | %.2f x (%.0f vs %.0f records/s) | %s |" % (
            tp["ratio"], tp["connector"]["records_per_s"], tp["baseline"]["records_per_s"], verdict(tp["ratio"] >= 0.5)))
    if lat:
        d = [r for r in lat["rows"] if r["num_workers"] == args.default_workers]
        if d:
            r = d[0]
            L.append("| latency-bound wall <= 1.3 x ideal at num_workers=%d | %.2f x (sync %.2f s vs ideal %.2f s; "
                     "process incl. start-up %.2f x) | %s |" % (
                         r["num_workers"], r["ratio_sync"], r["sync_wall_s"], r["ideal_s"], r["ratio_process"],
                         verdict(r["ratio_sync"] <= 1.3)))
    if tp:
        L.append("| peak RSS <= 250 MB (at %s appointments; not growing with N) | %.0f MB (by output progress "
                 "25/50/75/100%%: %s MB) | %s |" % (
                     "{:,}".format(tp["appointments"]), tp["connector"]["peak_rss_mb"],
                     " / ".join(fmt(v, 0) for v in tp["rss_by_progress_mb"].values()),
                     verdict(tp["connector"]["peak_rss_mb"] <= 250)))
        e = tp["economy"]
        L.append("| requests = minimum + logins | %d made, minimum %d (%d pages + companies + 1 login); "
                 "%d login(s), %d repeated pages | %s |" % (
                     e["requests"], e["minimum"], e["minimum_pages"], e["logins"], e["repeated_pages"],
                     verdict(e["excess"] <= 0 and e["logins"] == 1)))
    L.append("")
    if tp:
        c, b = tp["connector"], tp["baseline"]
        L.append("## 1-2. Throughput: full read of %s appointments, %d companies, %d windows of 31 days "
                 "(page_size %d, num_workers %d)" % ("{:,}".format(tp["appointments"]), tp["companies"],
                                                     tp["windows"], tp["page_size"], tp["num_workers"]))
        L.append("")
        L.append("| client | records | wall s | records/s | CPU s | records per CPU s | peak RSS MB | "
                 "emulator CPU s | output MB |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for name, r in (("source-timify read", c), ("baseline (requests + json)", b)):
            L.append("| %s | %d | %.1f | %.0f | %.1f | %.0f | %.0f | %.1f | %.0f |" % (
                name, r["records"], r["wall_s"], r["records_per_s"], r["cpu_s"], r["records"] / max(r["cpu_s"], 1e-9),
                r["peak_rss_mb"], r["emulator_cpu_s"], r["stdout_mb"]))
        L.append("")
        ratio = "**%.2f x**" % tp["ratio"] if tp["ratio"] is not None else "not measured (--skip-baseline)"
        L.append("Ratio connector / baseline: %s (records/s). Records equal the emulator's truth: %s; "
                 "per company: %s. Emulator generation: %.0f s." % (
                     ratio, tp["records_match_truth"], tp["per_company_match"], tp["generation_s"]))
        L.append("")
    if tp:
        e = tp["economy"]
        L.append("## 4. Request economy (full read above)")
        L.append("")
        L.append("| requests made | minimum | appointment pages | minimum pages | companies calls | logins | "
                 "refreshes | repeated pages | non-200 |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        L.append("| %d | %d | %d | %d | %d | %d | %d | %d | %s |" % (
            e["requests"], e["minimum"], e["appointment_pages"], e["minimum_pages"], e["companies_calls"],
            e["logins"], e["refreshes"], e["repeated_pages"], e["non_200"] or "none"))
        L.append("")
    if lat:
        L.append("## 3. Latency-bound: %d ms per request, %d companies x %d monthly windows = %d partitions"
                 % (lat["latency_ms"], lat["companies"], lat["months"], lat["partitions"]))
        L.append("")
        L.append("Ideal = requests x latency / num_workers. Sync wall = first request to last response "
                 "(emulator log); process wall adds interpreter and manifest start-up (see cold start).")
        L.append("")
        L.append("| num_workers | requests (min) | ideal s | sync wall s | x ideal | process wall s | x ideal | "
                 "requests in flight max / mean | start to 1st request s | last response to exit s | peak RSS MB |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in lat["rows"]:
            L.append("| %d | %d (%d) | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %s | %.0f |" % (
                r["num_workers"], r["requests"], r["minimum_requests"], r["ideal_s"], r["sync_wall_s"],
                r["ratio_sync"], r["process_wall_s"], r["ratio_process"],
                "%d / %.1f" % (r["max_in_flight"], r["mean_in_flight"]) if "max_in_flight" in r else "-",
                fmt(r.get("before_first_request_s"), 2),
                fmt(r.get("after_last_response_s"), 2), r["peak_rss_mb"]))
        b = lat["baseline_sequential"]
        L.append("")
        L.append("Sequential baseline for scale: %d requests, sync wall %.2f s." % (b["requests"], b["sync_wall_s"]))
        L.append("")
    if sw:
        L.append("## num_workers without latency (%s appointments, %d companies)" % ("{:,}".format(sw["appointments"]),
                                                                                   sw["companies"]))
        L.append("")
        L.append("| num_workers | wall s | records/s | CPU s | peak RSS MB |")
        L.append("|---|---|---|---|---|")
        for r in sw["workers"]:
            L.append("| %d | %.1f | %.0f | %.1f | %.0f |" % (r["num_workers"], r["wall_s"], r["records_per_s"],
                                                          r["cpu_s"], r["peak_rss_mb"]))
        L.append("")
        prof = sw.get("profile")
        if prof and "key_functions" in prof:
            L.append("## Profile: py-spy --gil of a read of the sweep data (page_size %d, num_workers %d), "
                     "%d samples of the GIL-holding thread" % (args.page_size, args.default_workers, prof["samples"]))
            L.append("")
            L.append("Shares of the read (samples outside start-up imports), inclusive; start-up as a share of all.")
            L.append("")
            L.append("| where (inclusive) | share of GIL time |")
            L.append("|---|---|")
            for k, v in prof["key_functions"]:
                L.append("| %s | %.1f%% |" % (k.replace("  ", "&nbsp;&nbsp;"), v))
            L.append("")
            L.append("Top self time:")
            L.append("")
            for f, v in prof["self"][:12]:
                L.append("- %.1f%% `%s`" % (v, f))
            L.append("")
    ps = results.get("page_sizes")
    if ps:
        p0 = ps["rows"][0]
        L.append("## page_size: %s appointments in %d dense windows of one company, %d ms per request, num_workers %d"
                 % ("{:,}".format(ps["appointments"]), ps["windows"], p0["latency_ms"], p0["num_workers"]))
        L.append("")
        L.append("| page_size | requests (min) | sync wall s | process wall s | records/s | CPU s | peak RSS MB |")
        L.append("|---|---|---|---|---|---|---|")
        for r in ps["rows"]:
            L.append("| %d | %d (%d) | %.1f | %.1f | %.0f | %.1f | %.0f |" % (
                r["page_size"], r["requests"], r["minimum_requests"], r["sync_wall_s"], r["wall_s"],
                r["records_per_s"], r["cpu_s"], r["peak_rss_mb"]))
        L.append("")
    if cs:
        L.append("## 5. Cold start")
        L.append("")
        L.append("`source-timify spec`: median **%.2f s** of %d (%s); importing the CDK's declarative source alone: "
                 "%.2f s." % (cs["spec_median_s"], len(cs["spec_runs_s"]), ", ".join("%.2f" % t for t in cs["spec_runs_s"]),
                              cs["import_cdk_median_s"]))
        L.append("")
    return "\n".join(L)


def plot(results, path):
    try:
        import matplotlib
    except ImportError:
        if not ensure_tool("matplotlib", "matplotlib"):
            log("matplotlib unavailable: no PNG")
            return False
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat, sw = results.get("latency"), results.get("sweeps")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    if lat:
        w = [r["num_workers"] for r in lat["rows"]]
        ax1.plot(w, [r["sync_wall_s"] for r in lat["rows"]], "o-", label="sync wall (first request to last response)")
        ax1.plot(w, [r["process_wall_s"] for r in lat["rows"]], "s--", label="process wall (incl. start-up)")
        ax1.plot(w, [r["ideal_s"] for r in lat["rows"]], "k:", label="ideal = requests x latency / workers")
        ax1.set_xscale("log", base=2)
        ax1.set_yscale("log")
        ax1.set_xticks(w, [str(x) for x in w])
        ax1.set_xlabel("num_workers")
        ax1.set_ylabel("seconds")
        ax1.set_title("Latency-bound: %d ms/request, %d partitions" % (lat["latency_ms"], lat["partitions"]))
        ax1.legend(fontsize=8)
        ax1.grid(True, alpha=0.3)
    if sw or lat:
        if sw:
            w = [r["num_workers"] for r in sw["workers"]]
            ax2.plot(w, [r["records_per_s"] for r in sw["workers"]], "o-", label="no latency, %s appointments" % "{:,}".format(sw["appointments"]))
        if lat:
            w = [r["num_workers"] for r in lat["rows"]]
            ax2.plot(w, [r["records_per_s"] for r in lat["rows"]], "s--", label="%d ms latency (small data)" % lat["latency_ms"])
        ax2.set_xscale("log", base=2)
        ax2.set_xticks(w, [str(x) for x in w])
        ax2.set_xlabel("num_workers")
        ax2.set_ylabel("records/s (process wall)")
        ax2.set_title("Throughput vs num_workers")
        ax2.legend(fontsize=8)
        ax2.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def ints(text):
    return [int(x) for x in text.split(",") if x]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--appointments", type=int, default=100_000,
                   help="N for the throughput read; default 100,000 so that a run fits in ~10 minutes on 2 cores "
                        "(the issue's 200000 and 1000000 are supported)")
    p.add_argument("--skip-baseline", action="store_true", help="no baseline read (e.g. at 1M, for RSS only)")
    p.add_argument("--companies", type=int, default=20)
    p.add_argument("--page-size", type=int, default=1000, help="page_size for the throughput and latency reads")
    p.add_argument("--default-workers", type=int, default=8, help="the connector's default num_workers")
    p.add_argument("--workers", type=ints, default=[1, 2, 4, 8, 16], help="num_workers for the latency-bound runs")
    p.add_argument("--latency-ms", type=float, default=100)
    p.add_argument("--latency-companies", type=int, default=4)
    p.add_argument("--latency-months", type=int, default=12, help="31-day windows per company (partitions = companies x months)")
    p.add_argument("--latency-appointments-per-company", type=int, default=200)
    p.add_argument("--sweep-companies", type=int, default=4)
    p.add_argument("--sweep-appointments-per-company", type=int, default=2_500)
    p.add_argument("--sweep-workers", type=ints, default=[1, 4, 8, 16])
    p.add_argument("--page-sizes", type=ints, default=[100, 250, 1000, 2500, 5000])
    p.add_argument("--page-appointments", type=int, default=90_000, help="one company's appointments for the page_size sweep")
    p.add_argument("--page-windows", type=int, default=3, help="31-day windows read in the page_size sweep")
    p.add_argument("--sweep-latency-ms", type=float, default=100)
    p.add_argument("--sections", default="cold,latency,sweeps,pages,throughput",
                   help="comma-separated subset of cold,latency,sweeps,pages,throughput")
    p.add_argument("--profile", action="store_true", help="py-spy profile of a read (in the sweeps section)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (outputs, configs)")
    p.add_argument("--output", default=str(RESULTS / "latest"), help="path prefix of .md/.json/.png outputs")
    args = p.parse_args(argv)
    sections = set(args.sections.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        from importlib.metadata import version
        cdk = version("airbyte-cdk")
    except Exception:
        cdk = "?"
    t_start = time.perf_counter()
    results = {"started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "airbyte_cdk": cdk},
               "args": vars(args), "loadavg_start": os.getloadavg()}
    work = Workdir(keep=args.keep)
    try:
        if "cold" in sections:
            results["cold_start"] = section_cold_start()
        if "latency" in sections:
            results["latency"] = section_latency(args, work)
        if "sweeps" in sections:
            results["sweeps"] = section_sweeps(args, work)
        if "pages" in sections:
            results["page_sizes"] = section_page_sizes(args, work)
        if "throughput" in sections:
            results["throughput"] = section_throughput(args, work)
    finally:
        work.cleanup()
    results["bench_wall_s"] = time.perf_counter() - t_start
    results["loadavg_end"] = os.getloadavg()
    md = report(results, args) + "\nBenchmark wall time: %.0f s.\n" % results["bench_wall_s"]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))
    if plot(results, out.parent / "num_workers.png"):
        md += "\n![throughput and wall vs num_workers](num_workers.png)\n"
    out.with_suffix(".md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
