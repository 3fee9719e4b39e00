"""python -m timify_emulator --port 0 --companies 3 --appointments-per-company 2000 --seed 1

Prints one JSON line {"base_url": ..., "config": {...}} and serves until SIGINT/SIGTERM.
"""

import argparse
import datetime as dt
import json
import signal
import sys
import threading

from .emulator import Emulator


def _rate(text):
    n, window = text.split("/")
    return int(n), float(window)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m timify_emulator", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 inside a container)")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--companies", type=int, default=3)
    p.add_argument("--appointments-per-company", type=int, default=2000)
    p.add_argument("--customers-per-company", type=int, default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", default=None, help="ISO UTC datetime anchoring the data and the clock")
    p.add_argument("--company-install", action="store_true", help="single company install (implies --companies 1)")
    p.add_argument("--scopes", default=None, help="comma-separated granted scopes (default: all)")
    p.add_argument("--token-lifetime", type=int, default=3600)
    p.add_argument("--max-window-days", type=int, default=31)
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--rate-limit", type=_rate, default=None, metavar="N/WINDOW")
    p.add_argument("--max-page-size", type=int, default=None)
    p.add_argument("--legacy-envelope", action="store_true")
    p.add_argument("--ignore-page", action="store_true")
    p.add_argument("--random-5xx-rate", type=float, default=0.0)
    p.add_argument(
        "--no-updated-since-filter",
        action="store_true",
        help="/v1/enterprise-customers ignores updated_since (a server without the filter)",
    )
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    now = dt.datetime.fromisoformat(a.now.replace("Z", "+00:00")) if a.now else None
    emu = Emulator(
        companies=1 if a.company_install else a.companies,
        appointments_per_company=a.appointments_per_company,
        seed=a.seed,
        enterprise=not a.company_install,
        customers_per_company=a.customers_per_company,
        now=now,
        scopes=set(a.scopes.split(",")) if a.scopes else None,
        token_lifetime=a.token_lifetime,
        max_window_days=a.max_window_days,
        host=a.host,
        port=a.port,
        latency_ms=a.latency_ms,
        rate_limit=a.rate_limit,
        max_page_size=a.max_page_size,
        legacy_envelope=a.legacy_envelope,
        ignore_page=a.ignore_page,
        random_5xx_rate=a.random_5xx_rate,
        updated_since_filter=not a.no_updated_since_filter,
    )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emu.start()
    print(json.dumps({"base_url": emu.base_url, "config": emu.connector_config()}), flush=True)
    while not stop.wait(0.5):
        pass
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
