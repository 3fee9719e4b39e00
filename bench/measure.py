"""Measuring: the emulator in its own process, a measured child process (wall, CPU, peak RSS),
the connector's and the baseline's reads, and the request economy (requests made vs the minimum)."""

import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
    def __init__(self, companies, appointments_per_company, latency_ms=0, seed=1, max_window_days=31):
        self.companies = companies
        self.apc = appointments_per_company
        cmd = [
            PY,
            "-m",
            "timify_emulator",
            "--port",
            "0",
            "--companies",
            str(companies),
            "--appointments-per-company",
            str(appointments_per_company),
            "--seed",
            str(seed),
            "--latency-ms",
            str(latency_ms),
            "--max-window-days",
            str(max_window_days),
        ]
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
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def _get_data_companies(self):
        token = self._req(
            "POST", "/v1/auth/token", {"appid": self.config["app_id"], "appsecret": self.config["app_secret"]}
        )["accessToken"]
        req = urllib.request.Request(
            self.base_url + "/v1/companies?limit=10000&enterprise_id=" + self.config.get("enterprise_id", ""),
            headers={"authorization": token},
        )
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
        token = self._req(
            "POST", "/v1/auth/token", {"appid": self.config["app_id"], "appsecret": self.config["app_secret"]}
        )["accessToken"]

        def probe(key):
            cid, (frm, to) = key
            url = "%s/v1/appointments?from_date=%s&to_date=%s&timezone=UTC&page=1&limit=1" % (
                self.base_url,
                frm.isoformat(),
                to.isoformat(),
            )
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
                trace.append(
                    (
                        round(time.perf_counter() - t0, 2),
                        round(rss / 1024, 1),
                        round(os.path.getsize(out_path) / 1e6, 1),
                    )
                )

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
    return {
        "started_epoch": started_epoch,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "exit_code": proc.returncode,
        "rss_trace": trace,
    }


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
                    per_company[line[i + len(marker) : i + len(marker) + 24].decode()] += 1
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


# What the bench reads: appointments in full refresh (the stream as discover describes it, as
# scripts/configured_catalog.py --full-refresh --streams appointments configures it). Written out
# here, not taken from the integration tests' configured_catalog.json.
APPOINTMENTS_FULL_REFRESH = {
    "stream": {
        "name": "appointments",
        "json_schema": {},
        "supported_sync_modes": ["full_refresh", "incremental"],
        "source_defined_primary_key": [["company_id"], ["id"]],
        "source_defined_cursor": True,
        "default_cursor_field": ["updatedAt"],
    },
    "sync_mode": "full_refresh",
    "destination_sync_mode": "overwrite",
    "primary_key": [["company_id"], ["id"]],
}


def write_catalog(path):
    path.write_text(json.dumps({"streams": [APPOINTMENTS_FULL_REFRESH]}))


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
    keys = Counter(
        (
            e["company_id"],
            e["query"].get("from_date"),
            e["query"].get("to_date"),
            e["query"].get("page"),
            e["query"].get("limit"),
        )
        for e in appt
    )
    companies_calls = sum(1 for e in log_entries if e["path"] == "/v1/companies")
    other = sum(1 for e in log_entries if e["path"] not in ("/v1/appointments", "/v1/companies", "/v1/auth/token"))
    made = counters.get("requests", len(log_entries))
    return {
        "requests": made,
        "logins": logins,
        "refreshes": counters.get("refreshes", 0),
        "appointment_pages": len(appt),
        "companies_calls": companies_calls,
        "other_calls": other,
        "repeated_pages": sum(c - 1 for c in keys.values() if c > 1),
        "non_200": {k: v for k, v in counters.get("by_status", {}).items() if str(k) != "200"},
        "minimum_pages": min_pages,
        "minimum": min_pages + min_companies + 1,
        "excess": made - (min_pages + min_companies + 1),
    }


def in_flight(log_entries):
    """(max, mean) requests being served at once, from the emulator's log."""
    if not log_entries:
        return 0, 0.0
    events = sorted(
        [(e["time"], 1) for e in log_entries] + [(e["time"] + e["duration_ms"] / 1000, -1) for e in log_entries],
        key=lambda x: (x[0], x[1]),
    )
    now = peak = 0
    for _, d in events:
        now += d
        peak = max(peak, now)
    busy = sum(e["duration_ms"] for e in log_entries) / 1000
    return peak, busy / sync_wall(log_entries)


def latency_floor(log_entries, latency_s, workers):
    """The shortest sync wall the requests of this sync allow at `latency_s` each, `workers` in flight
    (issue 22, point 3): the requests that must go one after another before any window can be read
    (the login, the companies list, the window probe: each needs the one before), then the other
    requests `workers` at a time, and no window's later pages before its first (a page says how many
    the window has). `requests x latency / workers`, the "ideal", leaves out the first two rules."""
    serial = sum(
        1
        for e in log_entries
        if e["path"] in ("/v1/auth/token", "/v1/companies")
        or (e["path"] == "/v1/appointments" and str(e["query"].get("limit")) == "1")
    )
    pages = Counter(
        (e["company_id"], e["query"].get("from_date"), e["query"].get("to_date"))
        for e in log_entries
        if e["path"] == "/v1/appointments" and str(e["query"].get("limit")) != "1"
    )
    rest = len(log_entries) - serial
    longest_chain = 2 if any(n > 1 for n in pages.values()) else 1
    return latency_s * (serial + max(math.ceil(rest / workers), longest_chain if rest else 0))


def sync_wall(log_entries):
    """First request in to last response out, from the emulator's log (excludes process start-up)."""
    if not log_entries:
        return float("nan")
    start = min(e["time"] for e in log_entries)
    end = max(e["time"] + e["duration_ms"] / 1000 for e in log_entries)
    return end - start


def connector_config(emu, work, name, start, lookahead, **extra):
    cfg = dict(emu.config, start_date=start.isoformat(), lookahead_days=lookahead, **extra)
    return work.config(name, cfg)


def read_connector(emu, work, name, start, lookahead, page_size, workers, timeout=3600, **extra):
    cfg = connector_config(emu, work, name, start, lookahead, page_size=page_size, num_workers=workers, **extra)
    out = work.path / ("%s.out" % name)
    emu.reset_log()
    emu_cpu0 = emu.cpu_seconds()
    res = run_measured(
        CONNECTOR + ["read", "--config", str(cfg), "--catalog", str(work.catalog)],
        out,
        work.path / ("%s.err" % name),
        timeout=timeout,
    )
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
    cmd = BASELINE + [
        "--base-url",
        emu.base_url,
        "--app-id",
        emu.config["app_id"],
        "--app-secret",
        emu.config["app_secret"],
        "--enterprise-id",
        emu.config.get("enterprise_id", ""),
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--page-size",
        str(page_size),
    ]
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


def ensure_tool(module, package):
    try:
        __import__(module)
        return True
    except ImportError:
        pass
    log("installing %s into %s" % (package, sys.prefix))
    r = subprocess.run([PY, "-m", "pip", "install", "--quiet", package])
    return r.returncode == 0
