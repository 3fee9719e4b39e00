"""The benchmark's sections: cold start, latency-bound syncs, num_workers sweeps, page sizes,
throughput (with the baseline), and the optional py-spy profile. Each returns a dict for the report."""

import datetime as dt
import statistics
import subprocess
import time
from pathlib import Path

# The baseline's windows are the ones the benchmark counts pages in: one definition for both.
from baseline_client import windows
from cpu_profile import per_record_cpu, profile_read
from measure import (
    CONNECTOR,
    LOOKAHEAD_DAYS,
    PY,
    ROOT,
    WINDOW_DAYS,
    EmulatorProcess,
    economy,
    in_flight,
    latency_floor,
    log,
    read_baseline,
    read_connector,
)


def strip(res):
    """A measured read without its request log and per-company counts (kept out of the JSON)."""
    return {k: v for k, v in res.items() if k not in ("log", "per_company")}


def _walls(command, runs):
    """Wall seconds of `runs` fresh processes of `command`, one after another."""
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - t0)
    return walls


def section_cold_start(runs=10):
    """`source-timify spec` in fresh processes (a plain `spec` is printed without importing the CDK,
    issue 22), against the same spec through the CDK (the path of every other command) and the
    CDK's import alone."""
    log("cold start: source-timify spec x %d" % runs)
    times = _walls(CONNECTOR + ["spec"], runs)
    through_cdk = _walls([PY, "-m", "source_timify.entrypoint", "spec"], runs)
    bare = _walls([PY, "-c", "import airbyte_cdk.sources.declarative.yaml_declarative_source"], runs)
    return {
        "spec_median_s": statistics.median(times),
        "spec_max_s": max(times),
        "spec_runs_s": times,
        "spec_through_cdk_median_s": statistics.median(through_cdk),
        "spec_through_cdk_max_s": max(through_cdk),
        "import_cdk_median_s": statistics.median(bare),
    }


def section_latency(args, work):
    n_companies, months = args.latency_companies, args.latency_months
    log(
        "latency-bound: emulator %d companies x %d appointments, %d ms per request"
        % (n_companies, args.latency_appointments_per_company, args.latency_ms)
    )
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
            floor = latency_floor(res["log"], args.latency_ms / 1000, w)
            peak, mean = in_flight(res["log"])
            row = {
                "num_workers": w,
                "partitions": len(totals),
                "records": res["records"],
                "expected_records": sum(totals.values()),
                "requests": eco["requests"],
                "minimum_requests": eco["minimum"],
                "ideal_s": ideal,
                "sync_wall_s": res["sync_wall_s"],
                "process_wall_s": res["wall_s"],
                "ratio_sync": res["sync_wall_s"] / ideal,
                "floor_s": floor,
                "ratio_floor": res["sync_wall_s"] / floor,
                "ratio_process": res["wall_s"] / ideal,
                "records_per_s": res["records"] / res["wall_s"],
                "requests_per_s_sync": eco["requests"] / res["sync_wall_s"],
                "peak_rss_mb": res["peak_rss_mb"],
                "cpu_s": res["cpu_s"],
                "errors": res["errors"][:3],
                "economy": eco,
                "max_in_flight": peak,
                "mean_in_flight": mean,
                "before_first_request_s": res.get("before_first_request_s"),
                "after_last_response_s": res.get("after_last_response_s"),
            }
            rows.append(row)
            log(
                "  num_workers=%-2d sync %.2f s (ideal %.2f, x%.2f), process %.2f s, %d requests"
                % (w, row["sync_wall_s"], ideal, row["ratio_sync"], row["process_wall_s"], eco["requests"])
            )
        base = read_baseline(emu, work, "latency-baseline", start, today, args.page_size)
        baseline = {
            "requests": base["counters"]["requests"],
            "sync_wall_s": base["sync_wall_s"],
            "process_wall_s": base["wall_s"],
            "records": base["records"],
        }
        return {
            "latency_ms": args.latency_ms,
            "companies": n_companies,
            "months": months,
            "partitions": len(totals),
            "rows": rows,
            "baseline_sequential": baseline,
        }
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
            workers_rows.append(
                {
                    "num_workers": w,
                    "records": res["records"],
                    "expected_records": expected,
                    "wall_s": res["wall_s"],
                    "records_per_s": res["records_per_s"],
                    "cpu_s": res["cpu_s"],
                    "peak_rss_mb": res["peak_rss_mb"],
                    "requests": res["counters"]["requests"],
                    "errors": res["errors"][:3],
                }
            )
            log(
                "  num_workers=%-2d %.0f records/s, wall %.1f s, peak RSS %.0f MB"
                % (w, res["records_per_s"], res["wall_s"], res["peak_rss_mb"])
            )
        emu.set_faults(latency_ms=0)
        profile = profile_read(emu, work, "profile", start, lookahead, args) if args.profile else None
        return {
            "companies": n_companies,
            "appointments": expected,
            "windows": len(totals),
            "workers": workers_rows,
            "profile": profile,
        }
    finally:
        emu.stop()


def section_page_sizes(args, work):
    """Dense windows (one company, many appointments, a few 31-day windows) at 100 ms per request:
    fewer, larger pages against memory."""
    log(
        "page sizes: emulator 1 company x %d appointments, %d windows, %d ms per request"
        % (args.page_appointments, args.page_windows, args.sweep_latency_ms)
    )
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
            rows.append(
                {
                    "page_size": ps,
                    "latency_ms": args.sweep_latency_ms,
                    "num_workers": args.default_workers,
                    "records": res["records"],
                    "expected_records": expected,
                    "wall_s": res["wall_s"],
                    "sync_wall_s": res["sync_wall_s"],
                    "records_per_s": res["records_per_s"],
                    "requests": eco["requests"],
                    "minimum_requests": eco["minimum"],
                    "peak_rss_mb": res["peak_rss_mb"],
                    "cpu_s": res["cpu_s"],
                    "errors": res["errors"][:3],
                }
            )
            log(
                "  page_size=%-5d %d requests, sync wall %.1f s, peak RSS %.0f MB"
                % (ps, eco["requests"], res["sync_wall_s"], res["peak_rss_mb"])
            )
        return {"appointments": expected, "windows": len(totals), "rows": rows}
    finally:
        emu.stop()


def cpu_ratio(conn, base):
    """The connector's records per CPU second over the bare client's."""
    return (conn["records"] / conn["cpu_s"]) / (base["records"] / base["cpu_s"])


def section_throughput(args, work):
    apc = args.appointments // args.companies
    log(
        "throughput: generating %d companies x %d appointments (about %.0f s; 141 s per million)"
        % (args.companies, apc, 141 * args.appointments / 1e6)
    )
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
        per_company_ok = all(
            conn["per_company"].get(c, 0) == sum(t for (cid, _), t in totals.items() if cid == c)
            for c in emu.company_ids
        )
        log(
            "  connector: %d records in %.1f s (%.0f/s), peak RSS %.0f MB"
            % (conn["records"], conn["wall_s"], conn["records_per_s"], conn["peak_rss_mb"])
        )
        if args.skip_baseline:
            base = {
                "records": 0,
                "wall_s": float("nan"),
                "records_per_s": 0,
                "peak_rss_mb": float("nan"),
                "cpu_s": float("nan"),
                "emulator_cpu_s": float("nan"),
                "stdout_mb": 0,
                "counters": {},
            }
        else:
            log("  baseline read")
            base = read_baseline(emu, work, "baseline", start, end, args.page_size)
        log(
            "  baseline: %d records in %.1f s (%.0f/s), peak RSS %.0f MB"
            % (base["records"], base["wall_s"], base["records_per_s"], base["peak_rss_mb"])
        )
        # (connector, baseline) reads of each round; the first round's fill the table.
        pairs = [] if args.skip_baseline else [(conn, base)]
        for k in range(1, args.rounds if pairs else 1):
            # Alternated (baseline first in every other round): the machine's speed drifts within
            # minutes (the bare client's CPU for the same reads moved 4.0-9.6 s in one hour), and
            # a ratio of two reads taken one after the other moves with it.
            log("  round %d of %d: connector and baseline again" % (k + 1, args.rounds))
            reads = {}
            for client in ("baseline", "connector") if k % 2 else ("connector", "baseline"):
                if client == "connector":
                    reads[client] = read_connector(
                        emu, work, "throughput-%d" % k, start, lookahead, args.page_size, args.default_workers
                    )
                else:
                    reads[client] = read_baseline(emu, work, "baseline-%d" % k, start, end, args.page_size)
                if reads[client]["records"] != truth:
                    raise RuntimeError(
                        "round %d: the %s read %d records, not %d" % (k + 1, client, reads[client]["records"], truth)
                    )
            pairs.append((reads["connector"], reads["baseline"]))
        rounds = [cpu_ratio(c, b) for c, b in pairs]
        profile = None
        if args.profile:
            profile = profile_read(emu, work, "profile-throughput", start, lookahead, args)
            if "raw" in profile:
                profile["per_record_cpu"] = per_record_cpu(Path(profile["raw"]), conn["cpu_s"], conn["records"])
        trace = conn["rss_trace"]
        final_mb = conn["stdout_mb"] or 1
        rss_at = {}
        for frac in (0.25, 0.5, 0.75, 1.0):
            seen = [rss for _, rss, out_mb in trace if out_mb <= frac * final_mb]
            rss_at["%d%%" % (frac * 100)] = max(seen) if seen else None
        return {
            "appointments": truth,
            "companies": args.companies,
            "windows": len(spans),
            "partitions": len(totals),
            "generation_s": emu.generation_s,
            "page_size": args.page_size,
            "num_workers": args.default_workers,
            "connector": strip(conn),
            "baseline": strip(base),
            "economy": eco,
            "expected_records": sum(totals.values()),
            "truth_records": truth,
            "records_match_truth": conn["records"] == sum(totals.values()) == truth
            and (args.skip_baseline or base["records"] == truth),
            "per_company_match": per_company_ok,
            "rss_by_progress_mb": rss_at,
            "ratio": conn["records_per_s"] / base["records_per_s"] if base["records_per_s"] else None,
            "cpu_ratio": statistics.median(rounds) if rounds else None,
            "cpu_ratio_rounds": rounds,
            "cpu_s_rounds": [(c["cpu_s"], b["cpu_s"]) for c, b in pairs],  # (connector, baseline) of each round
            "profile": profile,
        }
    finally:
        emu.stop()


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def section_windows(args, work):
    """Appointment window width (issue 10): sparse and dense accounts on servers that accept 31- or
    365-day windows, at `latency_ms` per request and the default num_workers. The minimum is the
    pages of the widest window the server accepts (plus the companies list and the login); the
    goal is a sync wall within 1.3x of minimum x latency / num_workers."""
    accounts = [
        ("sparse", args.windows_sparse_companies, args.windows_sparse_per_company),
        ("dense", args.windows_dense_companies, args.windows_dense_per_company),
    ]
    rows = []
    for name, n_companies, per_company in accounts:
        for max_days in (31, 365):
            log(
                "windows: %s account, %d companies x %d appointments, %d-day server, %d ms per request"
                % (name, n_companies, per_company, max_days, args.latency_ms)
            )
            emu = EmulatorProcess(n_companies, per_company, max_window_days=max_days)
            try:
                today = emu.today()
                start, lookahead = today - dt.timedelta(days=731), LOOKAHEAD_DAYS
                totals = emu.window_totals(
                    emu.company_ids, windows(start, today + dt.timedelta(days=lookahead), max_days)
                )
                emu.set_faults(latency_ms=args.latency_ms)
                w = args.default_workers
                res = read_connector(
                    emu, work, "windows-%s-%d" % (name, max_days), start, lookahead, args.page_size, w, timeout=1800
                )
                eco = economy(emu, res["counters"], res["log"], totals, args.page_size, n_companies)
                ideal = eco["minimum"] * args.latency_ms / 1000 / w
                floor = latency_floor(res["log"], args.latency_ms / 1000, w)
                rows.append(
                    {
                        "account": name,
                        "companies": n_companies,
                        "appointments": sum(totals.values()),
                        "records": res["records"],
                        "server_max_days": max_days,
                        "num_workers": w,
                        "requests": eco["requests"],
                        "minimum_requests": eco["minimum"],
                        "refused": eco["non_200"],
                        "ideal_s": ideal,
                        "sync_wall_s": res["sync_wall_s"],
                        "ratio_sync": res["sync_wall_s"] / ideal,
                        "floor_s": floor,
                        "ratio_floor": res["sync_wall_s"] / floor,
                        "cpu_s": res["cpu_s"],
                        "process_wall_s": res["wall_s"],
                        "errors": res["errors"][:3],
                    }
                )
                log(
                    "  %d requests (minimum %d), sync %.2f s vs ideal %.2f s (x%.2f)"
                    % (eco["requests"], eco["minimum"], res["sync_wall_s"], ideal, res["sync_wall_s"] / ideal)
                )
            finally:
                emu.stop()
    return {"latency_ms": args.latency_ms, "page_size": args.page_size, "rows": rows}
