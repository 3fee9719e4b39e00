"""The report: the markdown table of a run's results and the num_workers plot."""

import math

from measure import (
    ensure_tool,
    log,
)


def fmt(v, nd=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return "%.*f" % (nd, v)
    return str(v)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def per_record_table(profile, args):
    """The per-record CPU of the throughput read (`--profile`): each stage's share of the py-spy
    samples, and that share of the unprofiled read's CPU seconds per record."""
    if not profile:
        return []
    if "per_record_cpu" not in profile:
        return ["Profile of the throughput read failed: %s" % profile.get("error", "?"), ""]
    L = [
        "### Per-record CPU of the read above (py-spy --gil, %d samples; shares of the samples applied "
        "to the unprofiled read's CPU seconds)" % profile["samples"],
        "",
        "| stage | share of samples | CPU us per record |",
        "|---|---|---|",
    ]
    rows = profile["per_record_cpu"]
    for stage, share, us in rows:
        L.append("| %s | %.1f%% | %s |" % (stage, share, fmt(us)))
    L.append("| total | 100%% | %s |" % fmt(sum(us for _, _, us in rows if us is not None)))
    L.append("")
    return L


def report(results, args):
    L = []
    tp, lat, sw, cs = (
        results.get("throughput"),
        results.get("latency"),
        results.get("sweeps"),
        results.get("cold_start"),
    )
    m = results["machine"]
    L.append("# source-timify benchmark (%s)" % results["started"])
    L.append("")
    L.append(
        "Machine: %s cores, Python %s, airbyte-cdk %s. The emulator runs in its own process on the same "
        "cores; `make bench` reproduces this (`python bench/run_bench.py --help` for sizes)."
        % (m["cpus"], m["python"], m["airbyte_cdk"])
    )
    L.append("")
    L.append(
        "Load average at start %s, at end %s (other work on the machine skews absolute figures; "
        "ratios taken in the same run less so)."
        % tuple("/".join("%.1f" % x for x in results.get(k) or ()) for k in ("loadavg_start", "loadavg_end"))
    )
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    if tp and tp["ratio"]:
        L.append(
            "| throughput >= 0.5 x baseline | %.2f x (%.0f vs %.0f records/s) | %s |"
            % (
                tp["ratio"],
                tp["connector"]["records_per_s"],
                tp["baseline"]["records_per_s"],
                verdict(tp["ratio"] >= 0.5),
            )
        )
    if tp and tp.get("cpu_ratio"):
        c, b = tp["connector"], tp["baseline"]
        rounds = tp.get("cpu_ratio_rounds") or [tp["cpu_ratio"]]  # a results file from before --rounds
        L.append(
            "| records per CPU second >= 0.8 x baseline (issue 22) | %.2f x, median of %d rounds (%s; "
            "first: %.0f vs %.0f) | %s |"
            % (
                tp["cpu_ratio"],
                len(rounds),
                " / ".join("%.2f" % r for r in rounds),
                c["records"] / c["cpu_s"],
                b["records"] / b["cpu_s"],
                verdict(tp["cpu_ratio"] >= 0.8),
            )
        )
    if lat:
        d = [r for r in lat["rows"] if r["num_workers"] == args.default_workers]
        if d:
            r = d[0]
            L.append(
                "| latency-bound wall <= 1.3 x ideal at num_workers=%d | %.2f x (sync %.2f s vs ideal %.2f s; "
                "process incl. start-up %.2f x) | %s |"
                % (
                    r["num_workers"],
                    r["ratio_sync"],
                    r["sync_wall_s"],
                    r["ideal_s"],
                    r["ratio_process"],
                    verdict(r["ratio_sync"] <= 1.3),
                )
            )
    if tp:
        L.append(
            "| peak RSS <= 200 MB (issue 22: at 1,000,000 appointments; here %s; not growing with N) "
            "| %.0f MB (by output progress 25/50/75/100%%: %s MB) | %s |"
            % (
                "{:,}".format(tp["appointments"]),
                tp["connector"]["peak_rss_mb"],
                " / ".join(fmt(v, 0) for v in tp["rss_by_progress_mb"].values()),
                verdict(tp["connector"]["peak_rss_mb"] <= 200),
            )
        )
        e = tp["economy"]
        L.append(
            "| requests = minimum + logins | %d made, minimum %d (%d pages + companies + 1 login); "
            "%d login(s), %d repeated pages | %s |"
            % (
                e["requests"],
                e["minimum"],
                e["minimum_pages"],
                e["logins"],
                e["repeated_pages"],
                verdict(e["excess"] <= 0 and e["logins"] == 1),
            )
        )
    L.append("")
    if tp:
        c, b = tp["connector"], tp["baseline"]
        L.append(
            "## 1-2. Throughput: full read of %s appointments, %d companies, %d windows of 31 days "
            "(page_size %d, num_workers %d)"
            % ("{:,}".format(tp["appointments"]), tp["companies"], tp["windows"], tp["page_size"], tp["num_workers"])
        )
        L.append("")
        L.append(
            "| client | records | wall s | records/s | CPU s | records per CPU s | peak RSS MB | "
            "emulator CPU s | output MB |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|")
        for name, r in (("source-timify read", c), ("baseline (requests + json)", b)):
            L.append(
                "| %s | %d | %.1f | %.0f | %.1f | %.0f | %.0f | %.1f | %.0f |"
                % (
                    name,
                    r["records"],
                    r["wall_s"],
                    r["records_per_s"],
                    r["cpu_s"],
                    r["records"] / max(r["cpu_s"], 1e-9),
                    r["peak_rss_mb"],
                    r["emulator_cpu_s"],
                    r["stdout_mb"],
                )
            )
        L.append("")
        ratio = "**%.2f x**" % tp["ratio"] if tp["ratio"] is not None else "not measured (--skip-baseline)"
        cpu_ratio = tp.get("cpu_ratio")
        L.append(
            "Ratio connector / baseline: %s (records/s), **%s x** (records per CPU second, the median of "
            "the rounds in the targets). Records equal "
            "the emulator's truth: %s; per company: %s. Emulator generation: %.0f s."
            % (ratio, fmt(cpu_ratio, 2), tp["records_match_truth"], tp["per_company_match"], tp["generation_s"])
        )
        L.append("")
        L += per_record_table(tp.get("profile"), args)
    if tp:
        e = tp["economy"]
        L.append("## 4. Request economy (full read above)")
        L.append("")
        L.append(
            "| requests made | minimum | appointment pages | minimum pages | companies calls | logins | "
            "refreshes | repeated pages | non-200 |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|")
        L.append(
            "| %d | %d | %d | %d | %d | %d | %d | %d | %s |"
            % (
                e["requests"],
                e["minimum"],
                e["appointment_pages"],
                e["minimum_pages"],
                e["companies_calls"],
                e["logins"],
                e["refreshes"],
                e["repeated_pages"],
                e["non_200"] or "none",
            )
        )
        L.append("")
    if lat:
        L.append(
            "## 3. Latency-bound: %d ms per request, %d companies x %d monthly windows = %d partitions"
            % (lat["latency_ms"], lat["companies"], lat["months"], lat["partitions"])
        )
        L.append("")
        L.append(
            "Ideal = requests x latency / num_workers. Floor = the shortest wall these requests allow: "
            "the login, the companies list and the window probe one after another (each needs the one "
            "before), then the rest num_workers at a time (`measure.latency_floor`). Sync wall = first "
            "request to last response (emulator log); process wall adds interpreter and manifest "
            "start-up (see cold start)."
        )
        L.append("")
        L.append(
            "| num_workers | requests (min) | ideal s | floor s | sync wall s | x ideal | x floor | process wall s "
            "| x ideal | requests in flight max / mean | start to 1st request s | last response to exit s "
            "| peak RSS MB |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in lat["rows"]:
            L.append(
                "| %d | %d (%d) | %.2f | %s | %.2f | %.2f | %s | %.2f | %.2f | %s | %s | %s | %.0f |"
                % (
                    r["num_workers"],
                    r["requests"],
                    r["minimum_requests"],
                    r["ideal_s"],
                    fmt(r.get("floor_s"), 2),
                    r["sync_wall_s"],
                    r["ratio_sync"],
                    fmt(r.get("ratio_floor"), 2),
                    r["process_wall_s"],
                    r["ratio_process"],
                    "%d / %.1f" % (r["max_in_flight"], r["mean_in_flight"]) if "max_in_flight" in r else "-",
                    fmt(r.get("before_first_request_s"), 2),
                    fmt(r.get("after_last_response_s"), 2),
                    r["peak_rss_mb"],
                )
            )
        b = lat["baseline_sequential"]
        L.append("")
        L.append("Sequential baseline for scale: %d requests, sync wall %.2f s." % (b["requests"], b["sync_wall_s"]))
        L.append("")
    if sw:
        L.append(
            "## num_workers without latency (%s appointments, %d companies)"
            % ("{:,}".format(sw["appointments"]), sw["companies"])
        )
        L.append("")
        L.append("| num_workers | wall s | records/s | CPU s | peak RSS MB |")
        L.append("|---|---|---|---|---|")
        for r in sw["workers"]:
            L.append(
                "| %d | %.1f | %.0f | %.1f | %.0f |"
                % (r["num_workers"], r["wall_s"], r["records_per_s"], r["cpu_s"], r["peak_rss_mb"])
            )
        L.append("")
        prof = sw.get("profile")
        if prof and "key_functions" in prof:
            L.append(
                "## Profile: py-spy --gil of a read of the sweep data (page_size %d, num_workers %d), "
                "%d samples of the GIL-holding thread" % (args.page_size, args.default_workers, prof["samples"])
            )
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
        L.append(
            "## page_size: %s appointments in %d dense windows of one company, %d ms per request, num_workers %d"
            % ("{:,}".format(ps["appointments"]), ps["windows"], p0["latency_ms"], p0["num_workers"])
        )
        L.append("")
        L.append("| page_size | requests (min) | sync wall s | process wall s | records/s | CPU s | peak RSS MB |")
        L.append("|---|---|---|---|---|---|---|")
        for r in ps["rows"]:
            L.append(
                "| %d | %d (%d) | %.1f | %.1f | %.0f | %.1f | %.0f |"
                % (
                    r["page_size"],
                    r["requests"],
                    r["minimum_requests"],
                    r["sync_wall_s"],
                    r["wall_s"],
                    r["records_per_s"],
                    r["cpu_s"],
                    r["peak_rss_mb"],
                )
            )
        L.append("")
    if cs:
        L.append("## 5. Cold start")
        L.append("")
        L.append(
            "`source-timify spec`: median **%.3f s**, max %.3f s of %d (%s)."
            % (
                cs["spec_median_s"],
                cs.get("spec_max_s", max(cs["spec_runs_s"])),
                len(cs["spec_runs_s"]),
                ", ".join("%.3f" % t for t in cs["spec_runs_s"]),
            )
        )
        if "spec_through_cdk_median_s" in cs:
            L.append(
                "The same spec through the CDK (`python -m source_timify.entrypoint spec`, the path of every "
                "other command): median %.3f s, max %.3f s."
                % (cs["spec_through_cdk_median_s"], cs["spec_through_cdk_max_s"])
            )
        L.append("Importing the CDK's declarative source alone: %.2f s." % cs["import_cdk_median_s"])
        L.append("")
    L += windows_report(results)
    return "\n".join(L)


def windows_report(results):
    """The window-width section's table (issue 10), or [] when it did not run."""
    w = results.get("windows")
    if not w:
        return []
    L = [
        "",
        "## Appointment windows: sparse and dense accounts on 31- and 365-day servers",
        "",
        "%d ms per request, page size %d. Minimum = pages of the widest window the server accepts + "
        "companies + login; ideal = minimum x latency / num_workers; floor = the shortest wall these "
        "requests allow (login, companies and probe in turn, then num_workers at a time: "
        "`measure.latency_floor`). CPU s is the connector process's, start-up (~1 s) included: where "
        "it nears the sync wall, the sync is bound by CPU, not by latency." % (w["latency_ms"], w["page_size"]),
        "",
        "| account | companies | appointments | server window | requests (min) | refused | sync wall s | ideal s "
        "| floor s | x ideal | x floor | CPU s | records |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in w["rows"]:
        L.append(
            "| %s | %d | %d | %d days | %d (%d) | %s | %.2f | %.2f | %s | %.2f | %s | %s | %d |"
            % (
                r["account"],
                r["companies"],
                r["appointments"],
                r["server_max_days"],
                r["requests"],
                r["minimum_requests"],
                sum(r["refused"].values()) if r["refused"] else 0,
                r["sync_wall_s"],
                r["ideal_s"],
                fmt(r.get("floor_s"), 2),
                r["ratio_sync"],
                fmt(r.get("ratio_floor"), 2),
                fmt(r.get("cpu_s"), 1),
                r["records"],
            )
        )
    return L


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
            ax2.plot(
                w,
                [r["records_per_s"] for r in sw["workers"]],
                "o-",
                label="no latency, %s appointments" % "{:,}".format(sw["appointments"]),
            )
        if lat:
            w = [r["num_workers"] for r in lat["rows"]]
            ax2.plot(
                w,
                [r["records_per_s"] for r in lat["rows"]],
                "s--",
                label="%d ms latency (small data)" % lat["latency_ms"],
            )
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
