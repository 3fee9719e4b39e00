"""The simplest correct TIMIFY client (requests + json): the yardstick for the connector's throughput.

Logs in, lists the companies, and for each company reads every 31-day UTC window of appointments
page by page until `meta.totalPages`, writing each record as one JSON line with `company_id` added.
Same windows, same page size, same records as `source-timify read` of the appointments stream.

    python bench/baseline_client.py --base-url URL --app-id ID --app-secret S [--enterprise-id E]
        --start YYYY-MM-DD --end YYYY-MM-DD [--page-size 1000] [--window-days 31] [--company-ids a,b]

Records go to stdout; one JSON summary line goes to stderr at the end:
{"records": n, "requests": n, "pages": [[company, from, to, totalItems, pages_read], ...]}.
"""

import argparse
import datetime as dt
import json
import sys

import requests


def windows(start, end, days=31):
    """Consecutive inclusive windows of at most `days` days (TIMIFY's appointment limit) from start to end."""
    out = []
    while start <= end:
        stop = min(start + dt.timedelta(days=days - 1), end)
        out.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--app-id", required=True)
    p.add_argument("--app-secret", required=True)
    p.add_argument("--enterprise-id", default="")
    p.add_argument("--company-ids", default="")
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--window-days", type=int, default=31)
    a = p.parse_args(argv)
    base = a.base_url.rstrip("/")
    session = requests.Session()
    requests_made = 0

    def get(path, params, headers=None):
        nonlocal requests_made
        requests_made += 1
        r = session.get(base + path, params=params, headers=headers, timeout=60)
        r.raise_for_status()
        return r.json()

    login = session.post(base + "/v1/auth/token", json={"appid": a.app_id, "appsecret": a.app_secret}, timeout=60)
    requests_made += 1
    login.raise_for_status()
    session.headers.update({"authorization": login.json()["accessToken"], "accept": "application/json"})

    companies, page = [], 1
    while True:
        body = get("/v1/companies", {"enterprise_id": a.enterprise_id, "page": page, "limit": a.page_size})
        companies += [c["id"] for c in body["data"]]
        if page >= (body.get("meta") or {}).get("totalPages", 0):
            break
        page += 1
    wanted = [c for c in a.company_ids.split(",") if c]
    if wanted:
        companies = [c for c in companies if c in wanted]

    out = sys.stdout
    records = 0
    pages = []
    spans = windows(dt.date.fromisoformat(a.start), dt.date.fromisoformat(a.end), a.window_days)
    for company in companies:
        for frm, to in spans:
            page, total_items = 1, 0
            while True:
                body = get(
                    "/v1/appointments",
                    {
                        "from_date": frm.isoformat(),
                        "to_date": to.isoformat(),
                        "timezone": "UTC",
                        "page": page,
                        "limit": a.page_size,
                    },
                    headers={"company-id": company},
                )
                for record in body["data"]:
                    record["company_id"] = company
                    out.write(json.dumps(record) + "\n")
                    records += 1
                meta = body.get("meta") or {}
                total_items = meta.get("totalItems", total_items)
                if page >= meta.get("totalPages", 0):
                    break
                page += 1
            pages.append([company, frm.isoformat(), to.isoformat(), total_items, page])
    out.flush()
    sys.stderr.write(json.dumps({"records": records, "requests": requests_made, "pages": pages}) + "\n")


if __name__ == "__main__":
    main()
