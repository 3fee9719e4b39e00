"""Reproduce the emulator's figures: generation time, memory, single-client serve rate.

    python -m timify_emulator.measure --companies 20 --appointments-per-company 50000

Serve rate: one client (http.client, keep-alive) logs in, then pages through 31-day appointment
windows with limit=1000 and reads each body without parsing it, so the figure is the emulator's,
not a JSON parser's.
"""

import argparse
import datetime as dt
import http.client
import json
import resource
import time
from urllib.parse import urlsplit

from .emulator import Emulator


def rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--companies", type=int, default=20)
    p.add_argument("--appointments-per-company", type=int, default=50000)
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=20, help="how long to page for")
    a = p.parse_args()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    emu = Emulator(
        companies=a.companies,
        appointments_per_company=a.appointments_per_company,
        seed=1,
        now=dt.datetime(2025, 3, 20, 12, tzinfo=dt.timezone.utc),
    )
    gen = time.perf_counter() - t0
    rss = rss_mb()
    emu.start()
    u = urlsplit(emu.base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.request(
        "POST",
        "/v1/auth/token",
        json.dumps({"appid": emu.app_id, "appsecret": emu.app_secret}),
        {"content-type": "application/json"},
    )
    token = json.loads(conn.getresponse().read())["accessToken"]
    records = nbytes = requests_ = 0
    t0 = time.perf_counter()
    start = dt.date(2023, 3, 21)
    while time.perf_counter() - t0 < a.seconds:
        for cid in emu.company_ids:
            frm = start
            while frm < dt.date(2026, 3, 20) and time.perf_counter() - t0 < a.seconds:
                to = frm + dt.timedelta(days=30)
                page = 1
                while True:
                    conn.request(
                        "GET",
                        "/v1/appointments?from_date=%s&to_date=%s&timezone=UTC&page=%d&limit=%d"
                        % (frm, to, page, a.limit),
                        headers={"authorization": token, "company-id": cid},
                    )
                    body = conn.getresponse().read()
                    requests_ += 1
                    nbytes += len(body)
                    tail = json.loads(b"{" + body[body.rindex(b',"total"') + 1 :])
                    n = min(a.limit, tail["total"] - (page - 1) * a.limit)
                    records += max(0, n)
                    if page >= tail["meta"]["totalPages"]:
                        break
                    page += 1
                frm = to + dt.timedelta(days=1)
    el = time.perf_counter() - t0
    emu.stop()
    out = {
        "appointments": a.companies * a.appointments_per_company,
        "generation_s": round(gen, 1),
        "rss_mb_after_generation": round(rss, 0),
        "rss_mb_delta": round(rss - rss0, 0),
        "requests": requests_,
        "records": records,
        "seconds": round(el, 1),
        "records_per_s": round(records / el),
        "mb_per_s": round(nbytes / el / 1e6, 1),
        "avg_page_kb": round(nbytes / max(1, requests_) / 1024, 1),
        "avg_record_bytes": round(nbytes / max(1, records)),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
