"""Benchmark of `source-timify` against the TIMIFY emulator (issue 5). Run: `make bench`.

Each emulator runs in its own process (`python -m timify_emulator`), so the
connector's CPU, wall time and memory are measured apart from the server's (they still share the
machine's cores: the figures say how many). Sections, all in one run:

1. throughput  full read of N appointments (`--appointments`, default 200,000, 20 companies) by
               `source-timify read`: records/s, wall, CPU, peak RSS (wait4 ru_maxrss + /proc polling)
2. baseline    bench/baseline_client.py (requests + json, one thread) on the same pages: ratio
               (records per CPU second: the median of `--rounds` alternated pairs of reads)
3. latency     100 ms per request, companies x 12 monthly windows (>= 40 partitions, small data):
               sync wall vs ideal (requests x latency / num_workers) for several num_workers
4. economy     requests made (emulator counters and log) vs the minimum: pages + companies + logins
5. cold start  `source-timify spec`, median and max of 10 (and through the CDK, for comparison)
6. windows     sparse and dense accounts on 31- and 365-day servers at 100 ms per request: requests
               and sync wall vs minimum requests x latency / num_workers
plus num_workers without latency (10,000 appointments) and page_size at 100 ms on dense windows.

Output: a markdown table (stdout and bench/results/latest.md), bench/results/latest.json and
bench/results/num_workers.png. `--profile` adds a py-spy profile of a read (bench/results/profile.*), and
with the throughput section one of its read split into the stages of a record (CPU per record of
parse, filter, transformations, cursor, serialisation, queue, ...; bench/results/profile-throughput.txt).
"""

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

from measure import RESULTS, Workdir
from report import plot, report
from sections import (
    section_cold_start,
    section_latency,
    section_page_sizes,
    section_sweeps,
    section_throughput,
    section_windows,
)


def ints(text):
    return [int(x) for x in text.split(",") if x]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--appointments",
        type=int,
        default=100_000,
        help="N for the throughput read; default 100,000 so that a run fits in ~10 minutes on 2 cores "
        "(the issue's 200000 and 1000000 are supported)",
    )
    p.add_argument("--skip-baseline", action="store_true", help="no baseline read (e.g. at 1M, for RSS only)")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="throughput: connector and baseline read this many times, alternated; the CPU ratio is the "
        "median of the rounds' (the first round's reads fill the table)",
    )
    p.add_argument("--companies", type=int, default=20)
    p.add_argument("--page-size", type=int, default=1000, help="page_size for the throughput and latency reads")
    p.add_argument("--default-workers", type=int, default=8, help="the connector's default num_workers")
    p.add_argument("--workers", type=ints, default=[1, 2, 4, 8, 16], help="num_workers for the latency-bound runs")
    p.add_argument("--latency-ms", type=float, default=100)
    p.add_argument("--latency-companies", type=int, default=4)
    p.add_argument(
        "--latency-months", type=int, default=12, help="31-day windows per company (partitions = companies x months)"
    )
    p.add_argument("--latency-appointments-per-company", type=int, default=200)
    p.add_argument("--sweep-companies", type=int, default=4)
    p.add_argument("--sweep-appointments-per-company", type=int, default=2_500)
    p.add_argument("--sweep-workers", type=ints, default=[1, 4, 8, 16])
    p.add_argument("--page-sizes", type=ints, default=[100, 250, 1000, 2500, 5000])
    p.add_argument(
        "--page-appointments", type=int, default=90_000, help="one company's appointments for the page_size sweep"
    )
    p.add_argument("--page-windows", type=int, default=3, help="31-day windows read in the page_size sweep")
    p.add_argument("--sweep-latency-ms", type=float, default=100)
    p.add_argument("--windows-sparse-companies", type=int, default=4)
    p.add_argument("--windows-sparse-per-company", type=int, default=300, help="3 years of a sparse account")
    p.add_argument("--windows-dense-companies", type=int, default=4)
    p.add_argument("--windows-dense-per-company", type=int, default=10_000)
    p.add_argument(
        "--sections",
        default="cold,latency,windows,sweeps,pages,throughput",
        help="comma-separated subset of cold,latency,windows,sweeps,pages,throughput",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy profile of a read in the sweeps section, and of the throughput read (its per-record CPU by stage)",
    )
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
    results = {
        "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "airbyte_cdk": cdk},
        "args": vars(args),
        "loadavg_start": os.getloadavg(),
    }
    work = Workdir(keep=args.keep)
    try:
        if "cold" in sections:
            results["cold_start"] = section_cold_start()
        if "latency" in sections:
            results["latency"] = section_latency(args, work)
        if "windows" in sections:
            results["windows"] = section_windows(args, work)
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
