"""The emulator's data: records pre-serialised to JSON bytes once, indexed for the API's queries.

Each record is kept only as its JSON bytes (plus a small sort key), which is what lets one process
hold a million appointments: a page body is built by joining bytes, and truth() parses them back,
so callers always get deep copies.
"""

import bisect
import json
import threading
from zoneinfo import ZoneInfo

from .data import DAY, iso, parse_iso, utc_day

# The streams of the enterprise itself, not of a company (Store attributes of these names).
ENTERPRISE_STREAMS = ("enterprise_customers", "enterprise_customer_fields", "enterprise_customer_field_categories")


def dumps(record):
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Table:
    """Records in a stable order: by (createdAt, id), so updates never move a record between pages."""

    def __init__(self, records=()):
        self.rows = {}
        self.order = []
        for rec in records:
            self.rows[rec["id"]] = dumps(rec)
            self.order.append((rec["createdAt"], rec["id"]))
        self.order.sort()

    def __len__(self):
        return len(self.order)

    def ids(self):
        return [k[1] for k in self.order]

    def bodies(self):
        rows = self.rows
        return [rows[k[1]] for k in self.order]

    def get(self, rid):
        raw = self.rows.get(rid)
        return None if raw is None else json.loads(raw)

    def put(self, rec):
        key = (rec["createdAt"], rec["id"])
        if rec["id"] not in self.rows:
            bisect.insort(self.order, key)
        self.rows[rec["id"]] = dumps(rec)

    def delete(self, rid):
        rec = json.loads(self.rows.pop(rid))
        self.order.remove((rec["createdAt"], rid))


class Appointments:
    """One company's appointments, sorted by (startDate epoch, id) for bisect window queries."""

    def __init__(self, rows=()):
        """rows: (id, JSON bytes, start epoch, tuple of customer ids) from the generator."""
        self.keys = []
        self.rows = {}  # id -> (bytes, start epoch, tuple of customer ids)
        for rid, body, start, customers in rows:
            self.rows[rid] = (body, start, customers)
            self.keys.append((start, rid))
        self.keys.sort()

    def __len__(self):
        return len(self.keys)

    def window(self, lo, hi):
        """Index range of keys with lo <= start < hi."""
        return bisect.bisect_left(self.keys, (lo, "")), bisect.bisect_left(self.keys, (hi, ""))

    def select(self, lo=None, hi=None, ids=None, customer_id=None):
        """Matching keys as (list or slice range). Returns (keys list, start, end)."""
        i, j = (0, len(self.keys)) if lo is None else self.window(lo, hi)
        if ids is None and customer_id is None:
            return self.keys, i, j
        rows = self.rows
        if ids is not None and (j - i) > len(ids):
            found = []
            for rid in ids:
                row = rows.get(rid)
                if row is not None and (lo is None or lo <= row[1] < hi):
                    found.append((row[1], rid))
            keys = sorted(set(found))
        else:
            keys = self.keys[i:j]
            if ids is not None:
                wanted = set(ids)
                keys = [k for k in keys if k[1] in wanted]
        if customer_id is not None:
            keys = [k for k in keys if customer_id in rows[k[1]][2]]
        return keys, 0, len(keys)

    def body(self, rid):
        row = self.rows.get(rid)
        return None if row is None else row[0]

    def get(self, rid):
        row = self.rows.get(rid)
        return None if row is None else json.loads(row[0])

    def put(self, rec):
        start = parse_iso(rec["startDate"])
        old = self.rows.get(rec["id"])
        if old is not None and old[1] != start:
            self.keys.pop(bisect.bisect_left(self.keys, (old[1], rec["id"])))
        if old is None or old[1] != start:
            bisect.insort(self.keys, (start, rec["id"]))
        self.rows[rec["id"]] = (dumps(rec), start, tuple(c["id"] for c in rec.get("customers") or ()))

    def delete(self, rid):
        old = self.rows.pop(rid)
        self.keys.pop(bisect.bisect_left(self.keys, (old[1], rid)))


class Company:
    """Everything one company holds."""

    def __init__(self, record, tz, catalogue, customers, appointments, timeshifts):
        cats, resources, services, fields = catalogue
        self.id = record["id"]
        self.record = record
        self.tz = tz
        self.categories = cats
        self.resource_list = resources
        self.service_list = services
        self.field_list = fields
        self.appointments = Appointments(appointments)
        self.customers = Table(customers)
        self.customer_fields = Table(fields)
        self.services = Table(services)
        self.resources = Table(resources)
        self.timeshifts = Table(timeshifts)
        # timeshift spans for overlap queries: id -> (from epoch, to epoch)
        self.shift_span = {t["id"]: (parse_iso(t["from"]), parse_iso(t["to"])) for t in timeshifts}


class Store:
    """All companies of one installation, with a lock around every read and mutation."""

    def __init__(self, generator):
        g = generator
        self.lock = threading.RLock()
        self.generator = g
        self.companies = {}
        self.departed = {}  # the companies that left the installation (remove_company)
        company_records = [self._generate_company(idx) for idx in range(g.n_companies)]
        self.company_table = Table(company_records)
        self.company_ids = list(self.companies)
        # An enterprise has customer field definitions of its own (/v1/enterprise-customers/customfields).
        self.enterprise_field_list = (
            g.field_definitions(int(parse_iso(company_records[0]["createdAt"])) - 3600, g.enterprise_field_specs())
            if g.enterprise
            else []
        )
        self.enterprise_customer_fields = Table(self.enterprise_field_list)
        self.enterprise_customer_field_categories = Table(
            g.field_categories(int(parse_iso(company_records[0]["createdAt"])) - 7200, g.enterprise_category_specs())
            if g.enterprise
            else []
        )
        self.enterprise_customers = Table(
            g.enterprise_customers(self.company_ids, self.enterprise_field_list) if g.enterprise else []
        )

    def _generate_company(self, idx):
        """Generate company number `idx` with its whole history, created 800 days before `now`."""
        g = self.generator
        crec = g.company(idx)
        cat = g.catalogue(crec, idx)
        customers = g.customers(cat[3], g.cpc)
        appts = g.appointments(crec, cat[1], cat[0], cat[2], customers, g.apc)
        counts = {}
        for row in appts:
            for cust in row[3]:
                counts[cust] = counts.get(cust, 0) + 1
        for c in customers:
            c["totalBookings"] = counts.get(c["id"], 0)
        shifts = g.timeshifts(crec, cat[1])
        company = Company(crec, ZoneInfo(crec["timezone"]), cat, customers, appts, shifts)
        company.fragments = g.fragments(crec, cat[1], cat[0], cat[2])
        company.customer_field_categories = Table(
            g.field_categories(int(parse_iso(crec["createdAt"])) + 19000, g.company_category_specs(idx))
        )
        self.companies[crec["id"]] = company
        return crec

    def add_company(self):
        """A branch joins the installation: a new company whose records were all created and last
        changed long ago (its history is generated like the others'). Returns its id."""
        with self.lock:
            crec = self._generate_company(len(self.companies))
            self.company_table.put(crec)
            self.company_ids.append(crec["id"])
            return crec["id"]

    def remove_company(self, company_id):
        """A branch leaves the installation (its enterprise): no longer listed, its company-id
        refused with 403; its data is kept aside for restore_company."""
        with self.lock:
            company = self.companies.pop(company_id)
            self.company_table.delete(company_id)
            self.company_ids.remove(company_id)
            self.departed[company_id] = company

    def restore_company(self, company_id):
        """A branch that left comes back, with its data as it was."""
        with self.lock:
            company = self.departed.pop(company_id)
            self.companies[company_id] = company
            self.company_table.put(company.record)
            self.company_ids.append(company_id)

    # ----- helpers for truth() -----------------------------------------------------------
    def table(self, stream, company_id):
        c = self.companies[company_id]
        return {
            "customers": c.customers,
            "customer_fields": c.customer_fields,
            "customer_field_categories": c.customer_field_categories,
            "services": c.services,
            "resources": c.resources,
            "timeshifts": c.timeshifts,
        }[stream]

    def truth_company(self, stream, company_id, filters):
        with self.lock:
            c = self.companies[company_id]
            if stream == "appointments":
                frm, to = filters.get("from_date"), filters.get("to_date")
                lo = hi = None
                if frm or to:
                    lo = _day_epoch(frm) if frm else -(2**62)
                    hi = _day_epoch(to) + DAY if to else 2**62
                keys, i, j = c.appointments.select(lo, hi, filters.get("ids"), filters.get("customer_id"))
                bodies = [c.appointments.rows[k[1]][0] for k in keys[i:j]]
            elif stream == "timeshifts":
                frm, to = filters.get("from"), filters.get("to")
                lo = _day_epoch(frm) if frm else -(2**62)
                hi = _day_epoch(to) + DAY if to else 2**62
                bodies = [
                    c.timeshifts.rows[k[1]]
                    for k in c.timeshifts.order
                    if c.shift_span[k[1]][0] < hi and c.shift_span[k[1]][1] > lo
                ]
            elif stream == "companies":
                bodies = [self.company_table.rows[company_id]]
            else:
                bodies = self.table(stream, company_id).bodies()
        return [json.loads(b) for b in bodies]

    # ----- mutations ---------------------------------------------------------------------
    def create_appointment(self, company_id, start, clock, fields):
        g = self.generator
        with self.lock:
            c = self.companies[company_id]
            rng, frags = g.rng, c.fragments
            cust = None
            if c.customers.order:
                cust = g.customer_fragment(c.customers.get(c.customers.order[rng.randrange(len(c.customers.order))][1]))
            aid = g.ids.new(clock)
            rec = json.loads(
                g.appointment_json(
                    rng,
                    aid,
                    start,
                    clock,
                    clock,
                    rng.choice(frags["resources"]),
                    rng.choice(frags["services"]),
                    cust,
                    frags,
                    recurring=False,
                )
            )
            rec.update(fields)
            rec["id"] = aid
            _restamp(rec, clock)
            rec["createdAt"] = rec["updatedAt"]
            rec["updatedBy"] = rec["updatedByUserId"] = rec["updatedByScope"] = None
            c.appointments.put(rec)
            return rec

    def update_appointment(self, company_id, appointment_id, clock, changes, stamp=None):
        with self.lock:
            c = self.companies[company_id]
            rec = c.appointments.get(appointment_id)
            if rec is None:
                raise KeyError("no appointment %s in company %s" % (appointment_id, company_id))
            rec.update(changes)
            rec["id"] = appointment_id
            if "startDate" in changes:
                start = parse_iso(rec["startDate"])
                rec["date"] = utc_day(start) + "Z"
            _restamp(rec, stamp if stamp is not None else clock)
            rec["updatedBy"], rec["updatedByUserId"], rec["updatedByScope"] = (
                "TIMIFY API",
                "000000000000000000000000",
                "APP",
            )
            c.appointments.put(rec)
            return rec

    def delete_appointment(self, company_id, appointment_id):
        with self.lock:
            c = self.companies[company_id]
            if appointment_id not in c.appointments.rows:
                raise KeyError("no appointment %s in company %s" % (appointment_id, company_id))
            c.appointments.delete(appointment_id)

    def create_customer(self, company_id, clock, fields):
        g = self.generator
        with self.lock:
            c = self.companies[company_id]
            rec = g.customer(g.rng, c.field_list, clock, clock)
            rec.update(fields)
            rec["id"] = g.ids.new(clock) if "id" not in fields else fields["id"]
            rec["createdAt"] = rec["updatedAt"] = iso(clock)
            rec["ts"] = clock
            c.customers.put(rec)
            return rec

    def update_customer_field(self, company_id, field_id, clock, changes):
        with self.lock:
            c = self.companies[company_id]
            rec = c.customer_fields.get(field_id)
            if rec is None:
                raise KeyError("no customer field %s in company %s" % (field_id, company_id))
            rec.update(changes, id=field_id, updatedAt=iso(clock))
            c.customer_fields.put(rec)
            c.field_list = [rec if f["id"] == field_id else f for f in c.field_list]
            return rec

    def update_customer(self, company_id, customer_id, clock, changes, stamp=None):
        with self.lock:
            table = self.companies[company_id].customers
            return _update_customer(
                table, customer_id, "customer %s in company %s" % (customer_id, company_id), clock, changes, stamp
            )

    def create_enterprise_customer(self, clock, fields):
        g = self.generator
        with self.lock:
            rec = g.customer(g.rng, self.enterprise_field_list, clock, clock, company_ids=sorted(self.company_ids[:1]))
            rec.update(fields)
            rec["id"] = g.ids.new(clock) if "id" not in fields else fields["id"]
            rec["createdAt"] = rec["updatedAt"] = iso(clock)
            rec["ts"] = clock
            self.enterprise_customers.put(rec)
            return rec

    def update_enterprise_customer(self, customer_id, clock, changes, stamp=None):
        with self.lock:
            return _update_customer(
                self.enterprise_customers, customer_id, "enterprise customer %s" % customer_id, clock, changes, stamp
            )

    def delete_enterprise_customer(self, customer_id):
        with self.lock:
            if customer_id not in self.enterprise_customers.rows:
                raise KeyError("no enterprise customer %s" % customer_id)
            self.enterprise_customers.delete(customer_id)

    def delete_customer(self, company_id, customer_id):
        with self.lock:
            c = self.companies[company_id]
            if customer_id not in c.customers.rows:
                raise KeyError("no customer %s in company %s" % (customer_id, company_id))
            c.customers.delete(customer_id)


def _update_customer(table, customer_id, what, clock, changes, stamp):
    """`changes` applied to a customer of `table` (a company's or the enterprise's), stamped
    `stamp` (default: `clock`). Callers hold the store's lock."""
    rec = table.get(customer_id)
    if rec is None:
        raise KeyError("no %s" % what)
    rec.update(changes)
    rec["id"] = customer_id
    stamp = clock if stamp is None else stamp
    rec["updatedAt"] = iso(stamp)
    rec["ts"] = stamp
    table.put(rec)
    return rec


def _restamp(rec, clock):
    rec["updatedAt"] = iso(clock)
    rec["timestamp"] = str(clock * 1000)


def _day_epoch(day):
    import calendar
    import time

    return calendar.timegm(time.strptime(day, "%Y-%m-%d"))
