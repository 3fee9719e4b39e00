"""Deterministic generation of TIMIFY-shaped records, modelled on ../shared/timify-samples/.

Everything here is a pure function of (seed, now): the same inputs give byte-identical records.
Records are plain dicts; the store serialises them once.
"""

import calendar
import datetime as dt
import json
import random
import time
from zoneinfo import ZoneInfo

ZONES = [
    ("Europe/Berlin", "EUROPE", "de-de", "+49", "DE", "Berlin"),
    ("America/New_York", "USA", "en-us", "+1", "US", "New York"),
    ("Asia/Kolkata", "ASIA", "en-gb", "+91", "IN", "Bengaluru"),
    ("Australia/Sydney", "AUSTRALIA", "en-gb", "+61", "AU", "Sydney"),
    ("Pacific/Auckland", "AUSTRALIA", "en-gb", "+64", "NZ", "Auckland"),
    ("America/Los_Angeles", "USA", "en-us", "+1", "US", "Los Angeles"),
    ("Europe/London", "EUROPE", "en-gb", "+44", "GB", "London"),
    ("America/Nome", "USA", "en-us", "+1", "US", "Nome"),
]
FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Katja",
    "Luca",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Rita",
    "Sven",
    "Tara",
    "Yusuf",
    "Zoë",
]
LAST = [
    "Müller",
    "Schmidt",
    "Weber",
    "Smith",
    "Garcia",
    "Rossi",
    "Kumar",
    "Nguyen",
    "Brown",
    "Novak",
    "Dubois",
    "Silva",
    "Jensen",
    "O'Brien",
    "Kowalski",
]
COLORS = ["#385f87", "#b26492", "#ebb65d", "#5da5eb", "#769851"]
DAY = 86400


_DAYS: dict = {}


def _day_text(day_number):
    text = _DAYS.get(day_number)
    if text is None:
        text = _DAYS[day_number] = time.strftime("%Y-%m-%d", time.gmtime(day_number * 86400))
    return text


def iso(epoch):
    """ISO-8601 UTC with second precision, like every TIMIFY date-time ("2024-03-05T09:02:24Z")."""
    day, rest = divmod(int(epoch), 86400)
    return "%sT%02d:%02d:%02dZ" % (_day_text(day), rest // 3600, rest // 60 % 60, rest % 60)


def parse_iso(text):
    return (
        int(dt.datetime.fromisoformat(text[:-1] + "+00:00").timestamp())
        if text.endswith("Z")
        else int(dt.datetime.fromisoformat(text).timestamp())
    )


def utc_day(epoch):
    return _day_text(int(epoch) // 86400)


def local_epoch(tz, day, minutes):
    """Epoch of local wall time `minutes` after midnight on date `day` in zone `tz`."""
    return int(dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=tz).timestamp())


def local_midnight(tz, day):
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


class Ids:
    """24-hex MongoDB ObjectIds as TIMIFY's servers make them (see the samples): 4 bytes of creation
    time, 5 bytes fixed per server process, 3 bytes of that process's counter. Four "processes"
    take turns in runs of a few ids, and their counters also count ids made for other accounts."""

    PROCESSES = 4

    def __init__(self, seed):
        rng = random.Random(seed)
        self._processes = [rng.getrandbits(40) for _ in range(self.PROCESSES)]
        self._counters = [rng.getrandbits(24) for _ in range(self.PROCESSES)]
        self._rng = rng
        self._n = 0

    def new(self, epoch):
        self._n += 1
        process = (self._n // 7) % self.PROCESSES
        self._counters[process] = (self._counters[process] + 1 + self._rng.randrange(40)) & 0xFFFFFF
        return "%08x%010x%06x" % (int(epoch) & 0xFFFFFFFF, self._processes[process], self._counters[process])


def hex_secret(rng, n=32):
    return "%0*x" % (n, rng.getrandbits(n * 4))


def uuid_like(rng):
    h = hex_secret(rng)
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])


def dst_days(tz, first, last):
    """Local dates in [first, last] on which the zone's UTC offset changes."""
    out = []
    day = first
    prev = dt.datetime(day.year, day.month, day.day, tzinfo=tz).utcoffset()
    while day <= last:
        nxt = day + dt.timedelta(days=1)
        off = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).utcoffset()
        if off != prev:
            out.append(day)
        prev = off
        day = nxt
    return out


class Generator:
    """Builds one installation's records. `now` is an aware UTC datetime (second precision)."""

    def __init__(self, seed, now, companies, enterprise, appointments_per_company, customers_per_company):
        self.seed = seed
        self.now = int(now.timestamp())
        self.rng = random.Random("timify-%s-%d" % (seed, self.now))
        self.ids = Ids("%s-%d" % (seed, self.now))
        # The customer field categories take their ids from a sequence of their own: adding them
        # left every other record of a seed as it was.
        self.category_ids = Ids("%s-%d-categories" % (seed, self.now))
        self.n_companies = companies
        self.enterprise = enterprise
        self.apc = appointments_per_company
        self.cpc = customers_per_company
        self.app_id = hex_secret(self.rng, 24)
        self.app_secret = hex_secret(self.rng, 40)
        self.enterprise_id = self.ids.new(self.now - 900 * DAY) if enterprise else None
        self.enterprise_name = "Enterprise %d" % seed

    # ----- small, per-company catalogues -------------------------------------------------
    def company(self, idx):
        rng = self.rng
        zone, region, locale, prefix, country, city = ZONES[idx % len(ZONES)]
        created = self.now - 800 * DAY + idx * 3600
        cid = self.ids.new(created)
        return {
            "id": cid,
            "externalId": str(1082 + idx) if idx % 3 else None,
            "name": "Company %s - %s" % (chr(65 + idx % 26), city) + ("" if idx < 26 else " %d" % idx),
            "region": region,
            "locale": locale,
            "timezone": zone,
            "contactEmail": "branch%d@example.com" % idx,
            "phone": {"prefix": prefix, "country": country, "number": "%09d" % rng.randrange(10**9)},
            "address": {
                "city": city,
                "street": "Main Street",
                "streetNumber": str(idx + 1),
                "zipCode": "%05d" % rng.randrange(10**5),
                "country": country,
                "formatted": "Main Street %d, %s, %s" % (idx + 1, city, country),
            },
            "onlineStatus": {"isOnline": idx % 4 != 3},
            "enterprise": {"id": self.enterprise_id, "name": self.enterprise_name} if self.enterprise else None,
            "createdAt": iso(created),
            "updatedAt": iso(created + rng.randrange(400 * DAY)),
        }

    def catalogue(self, company, idx=0):
        """Resource categories, resources, services (incl. courses) and customer field definitions."""
        rng = self.rng
        base = int(parse_iso(company["createdAt"])) + 3600
        cats = []
        for i, name in enumerate(["Managers", "Subscriptions"]):
            cats.append(
                {
                    "id": self.ids.new(base),
                    "externalId": name.lower(),
                    "internalId": self.ids.new(base),
                    "orderIndex": i + 1,
                    "name": name,
                    "isDefault": i == 0,
                    "isDependency": False,
                }
            )
        resources = []
        for i in range(4 + rng.randrange(3)):
            t = base + (i + 1) * 600
            cat = cats[i % 2]
            resources.append(
                {
                    "id": self.ids.new(t),
                    "externalId": str(1076 + i) if i % 2 == 0 else "",
                    "orderIndex": i + 1,
                    "name": "Department - %s" % chr(65 + i),
                    "color": COLORS[i % 5],
                    "avatarUrl": None,
                    "email": "dept%d@example.com" % i if i % 3 else "",
                    "categoryId": cat["id"],
                    "createdAt": iso(t),
                    "updatedAt": iso(t + rng.randrange(90 * DAY)),
                }
            )
        services = []
        cat_id = self.ids.new(base)
        course_cat_id = self.ids.new(base)
        for i in range(7):
            t = base + 7200 + i * 600
            course = i >= 4
            svc = {
                "id": self.ids.new(t),
                "externalId": None if i % 2 else "svc-%d" % i,
                "name": ("Course - %d" if course else "Service - %d") % (i + 1),
                "color": COLORS[i % 5],
                "description": "<p>Lorem ipsum dolor sit amet.</p>",
                "duration": [30, 60, 90, 120][i % 4],
                "price": [0, 25, 49.5][i % 3],
                "hasOnlinePayment": False,
                "isPaymentMandatory": False,
                "discount": None,
                "categoryId": course_cat_id if course else cat_id,
                "orderIndex": i + 1,
                "isCourse": course,
                "createdAt": iso(t),
                "updatedAt": iso(t + rng.randrange(90 * DAY)),
            }
            if course:
                svc.update({"maxParticipants": [15, 50, 100][i % 3], "extraPersonsPerParticipant": 0, "isTitle": None})
            services.append(svc)
        fields = self.field_definitions(base + 20000, self.company_field_specs(idx))
        return cats, resources, services, fields

    # ----- customer field definitions ------------------------------------------------------
    # (type, translationKey, label, defaultId). Every company has the built-in fields and the
    # four below; companies differ by idx % 3 (a NUMBER, a field with only a translationKey, two
    # labels that collide once camelCased, an unknown type, a field with neither label nor key),
    # and every fifth company types its member number as a NUMBER (the merged column: a string).
    BASIC_FIELDS = [
        ("EMAIL", "customerFields.basic.email", None, "email"),
        ("TEXT", "customerFields.basic.firstName", None, "firstName"),
        ("TEXT", "customerFields.basic.lastName", None, "lastName"),
        ("PHONE", "customerFields.basic.mobilePhone", None, "mobilePhone"),
    ]

    def company_field_specs(self, idx):
        specs = list(self.BASIC_FIELDS) + [
            ("NUMBER" if idx % 5 == 4 else "TEXT", None, "Member number", None),
            ("CHECKBOX", None, "Newsletter", None),
            ("DATE", None, "Birthday", None),
            ("SELECT", None, "Plan", None),
        ]
        if idx % 3 == 1:
            specs += [
                ("NUMBER", None, "Shoe size", None),
                ("TEXT", "customerFields.custom.allergies", None, None),
                ("TEXT", None, "Notes", None),
                ("TEXT", None, "notes!", None),
                ("SIGNATURE", None, "Signature", None),
            ]
        elif idx % 3 == 2:
            specs += [
                ("NUMBER", None, "Shoe size", None),
                ("NUMBER", None, "Visits per year", None),
                ("TEXT", None, None, None),
            ]
        return specs

    def enterprise_field_specs(self):
        return list(self.BASIC_FIELDS) + [
            ("SELECT", None, "Loyalty tier", None),
            ("DATE", None, "Member since", None),
            ("CHECKBOX", None, "Marketing consent", None),
        ]

    def field_definitions(self, t0, specs):
        out = []
        for i, (ftype, key, label, default_id) in enumerate(specs):
            t = t0 + i * 60
            options = None
            if ftype == "SELECT":
                options = [
                    {"value": v, "label": v.title()}
                    for v in (("bronze", "silver", "gold") if label == "Loyalty tier" else ("basic", "premium"))
                ]
            out.append(
                {
                    "id": self.ids.new(t),
                    "type": ftype,
                    "isMandatoryOnline": i < 3,
                    "isAfterAuth": i < 4,
                    "hasOverwrite": i < 4,
                    "translationKey": key,
                    "label": label,
                    "selectOptions": options,
                    "orderIndex": 5 + i,
                    "placeholder": None,
                    "defaultId": default_id,
                    "createdAt": iso(t),
                    "updatedAt": iso(t),
                }
            )
        return out

    # ----- customer field categories -----------------------------------------------------
    # (name, translationKey, isDefault). Like the samples' service categories, the default one is
    # named "default" and sorts last (orderIndex 999999999); companies differ by idx % 3, and the
    # enterprise has categories of its own (/v1/enterprise-customers/customfields/categories).
    def company_category_specs(self, idx):
        specs = [("default", None, True), ("Contact details", "customerFields.categories.contact", False)]
        if idx % 3 == 1:
            specs += [("Health", None, False)]
        elif idx % 3 == 2:
            specs += [("Preferences", None, False), ("Membership", None, False)]
        return specs

    def enterprise_category_specs(self):
        return [("default", None, True), ("Loyalty", None, False), ("Consent", None, False)]

    def field_categories(self, t0, specs):
        out = []
        for i, (name, key, default) in enumerate(specs):
            t = t0 + i * 60
            out.append(
                {
                    "id": self.category_ids.new(t),
                    "name": name,
                    "orderIndex": 999999999 if default else i,
                    "isDefault": default,
                    "translationKey": key,
                    "createdAt": iso(t),
                    "updatedAt": iso(t + (i % 2) * 86400),
                }
            )
        return out

    # ----- customers ---------------------------------------------------------------------
    def field_value(self, rng, field, basic, phone_as_text):
        """A customer's value for one field definition, as TIMIFY might send it: mostly fitting the
        type, sometimes absent (None), sometimes not parseable as it (a date in another format,
        "n/a" for a number)."""
        ftype, label = field["type"], field["label"] or field["translationKey"] or ""
        if field["defaultId"]:
            value = basic[field["defaultId"]]
            if field["defaultId"] == "mobilePhone" and phone_as_text:
                return json.dumps(value, separators=(",", ":"))
            return value
        r = rng.random()
        if ftype == "CHECKBOX":
            return r < 0.5
        if ftype == "DATE":
            if r < 0.05:
                return "%02d.%02d.19%02d" % (rng.randrange(1, 29), rng.randrange(1, 13), rng.randrange(50, 100))
            return (
                None
                if r < 0.15
                else "19%02d-%02d-%02d" % (rng.randrange(50, 100), rng.randrange(1, 13), rng.randrange(1, 29))
            )
        if ftype == "NUMBER":
            if r < 0.1:
                return "n/a"
            if label == "Member number":
                return rng.randrange(10**5, 10**6)
            return rng.choice([38, 39, 40.5, 42, 44]) if label == "Shoe size" else rng.randrange(30)
        if ftype == "SELECT":
            return rng.choice([o["value"] for o in field["selectOptions"]])
        if label == "Member number":
            return "M-%06d" % rng.randrange(10**6)
        if ftype == "SIGNATURE":
            return "signature-%08x" % rng.getrandbits(32)
        return None if r < 0.3 else rng.choice(["", "peanuts", "call after 5pm", "prefers Maria"])

    def customer(self, rng, fields, created, updated, cid=None, company_ids=None):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = "%s.%s%d@example.com" % (first.lower(), last.lower().replace("'", ""), rng.randrange(1000))
        basic = {
            "email": email,
            "firstName": first,
            "lastName": last,
            "mobilePhone": {"number": "151%07d" % rng.randrange(10**7), "country": "DE", "prefix": "+49"},
        }
        phone_as_text = len(fields) % 2 == 0  # some companies send the phone as a JSON string
        values = []
        for f in fields:
            if f["label"] in ("Plan", "Loyalty tier") and rng.random() < 0.2:
                continue  # a customer without a value for the field: not in the array
            values.append(
                {"id": f["id"], "defaultId": f["defaultId"], "value": self.field_value(rng, f, basic, phone_as_text)}
            )
        rec = {
            "id": cid or self.ids.new(created),
            "externalId": None if rng.random() < 0.3 else "C%05d" % rng.randrange(10**5),
            "firstName": first,
            "lastName": last,
            "fullName": "%s %s" % (first, last),
            "email": email,
            "totalBookings": 0,
            "createdAt": iso(created),
            "updatedAt": iso(updated),
            "ts": updated,
            "fields": values,
        }
        if company_ids is not None:
            rec["companyIds"] = company_ids
        return rec

    def customers(self, fields, count):
        rng = self.rng
        out = []
        for _ in range(count):
            created = self.now - rng.randrange(2 * 365 * DAY)
            updated = created if rng.random() < 0.4 else created + rng.randrange(self.now - created + 1)
            out.append(self.customer(rng, fields, created, updated))
        return out

    def enterprise_customers(self, company_ids, fields):
        rng = self.rng
        out = []
        for i in range(36):
            created = self.now - rng.randrange(2 * 365 * DAY)
            updated = created if rng.random() < 0.4 else created + rng.randrange(self.now - created + 1)
            out.append(
                self.customer(
                    rng,
                    fields,
                    created,
                    updated,
                    company_ids=sorted(rng.sample(company_ids, min(len(company_ids), 1 + i % 3))),
                )
            )
        return out

    # ----- appointments ------------------------------------------------------------------
    def special_starts(self, tz):
        """Starts that exercise edges: DST change days in the company's zone, UTC midnight and
        23:59:59 on month boundaries and around `now`."""
        now_day = dt.datetime.fromtimestamp(self.now, tz).date()
        first, last = now_day - dt.timedelta(days=729), now_day + dt.timedelta(days=364)
        out = []
        for day in dst_days(tz, first, last):
            for minutes in (90, 150, 210, 12 * 60, 23 * 60 + 30):
                out.append(local_epoch(tz, day, minutes))
        utc_now = dt.datetime.fromtimestamp(self.now, dt.timezone.utc).date()
        edges = [utc_now, utc_now - dt.timedelta(days=30), utc_now - dt.timedelta(days=31)]
        d = utc_now.replace(day=1)
        for _ in range(4):
            edges.append(d)
            d = (d - dt.timedelta(days=1)).replace(day=1)
        for day in edges:
            midnight = calendar.timegm(day.timetuple())
            out += [midnight, midnight + DAY - 1]
        return sorted(set(out))

    def appointments(self, company, resources, cats, services, customers, count):
        rng = self.rng
        tz = ZoneInfo(company["timezone"])
        now = self.now
        now_day = dt.datetime.fromtimestamp(now, tz).date()
        first_ord = now_day.toordinal() - 729
        span = 729 + 365
        specials = self.special_starts(tz)
        specials = specials[: max(min(len(specials), count // 4), min(count, 6))]
        starts = list(specials)
        while len(starts) < count:
            day = dt.date.fromordinal(first_ord + rng.randrange(span))
            starts.append(local_epoch(tz, day, 7 * 60 + 5 * rng.randrange(144)))
        # A few weekly chains of three (chainedEvents reference each other).
        plan = []
        i = 0
        while i < count:
            if i >= len(specials) and i + 3 <= count and rng.random() < 0.05:
                chain = [starts[i], starts[i] + 7 * DAY, starts[i] + 14 * DAY]
                plan.append(chain)
                i += 3
            else:
                plan.append([starts[i]])
                i += 1
        frags = self.fragments(company, resources, cats, services)
        cust_frags = [self.customer_fragment(c) for c in customers]
        out = []
        for group in plan:
            metas = []
            for start in group:
                created = min(start, now) - rng.randrange(1, 60 * DAY)
                updated = created if rng.random() < 0.4 else created + rng.randrange(now - created + 1)
                metas.append((start, created, updated, self.ids.new(created)))
            chain_id = self.ids.new(metas[0][1]) if len(group) > 1 else None
            for k, (start, created, updated, aid) in enumerate(metas):
                res = rng.choice(frags["resources"])
                svc = rng.choice(frags["services"])
                cust = rng.choice(cust_frags) if cust_frags and rng.random() < 0.7 else None
                chain = None
                if chain_id:
                    chained = ",".join(
                        '{"date":"%sZ","startDate":"%s","id":"%s","externalId":null,"type":"booking","title":%s,"notes":""}'
                        % (utc_day(s), iso(s), oid, svc["title"])
                        for (s, _, _, oid) in metas
                        if oid != aid
                    )
                    chain = (chain_id, k == len(metas) - 1, "[" + chained + "]")
                text = self.appointment_json(rng, aid, start, created, updated, res, svc, cust, frags, chain)
                out.append((aid, text.encode("utf-8"), start, (cust[0],) if cust else ()))
        return out

    @staticmethod
    def _j(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def fragments(self, company, resources, cats, services):
        """Pre-serialised JSON pieces shared by a company's appointments (what makes generation fast)."""
        j = self._j
        cat_by_id = {c["id"]: c for c in cats}
        res = [
            (
                r["id"],
                j(
                    {
                        "id": r["id"],
                        "externalId": r["externalId"],
                        "name": r["name"],
                        "email": r["email"],
                        "category": cat_by_id[r["categoryId"]],
                    }
                ),
            )
            for r in resources
        ]
        svcs = []
        for svc in services:
            course = svc["isCourse"]
            svcs.append(
                {
                    "title": j(svc["name"]),
                    "color": j(svc["color"]),
                    "price": j(svc["price"]),
                    "duration": svc["duration"],
                    "isCourse": j(course),
                    "max": j(svc.get("maxParticipants", 1)),
                    "serviceId": "null" if course else j(svc["id"]),
                    "service": "null"
                    if course
                    else j({"id": svc["id"], "externalId": svc["externalId"], "name": svc["name"]}),
                }
            )
        return {
            "resources": res,
            "services": svcs,
            "zone": j(company["timezone"]),
            "company": j(company["name"]),
            "enterprise": j(self.enterprise_id),
        }

    def customer_fragment(self, cust):
        return (
            cust["id"],
            self._j(
                [
                    {
                        "id": cust["id"],
                        "externalId": cust["externalId"],
                        "fullName": cust["fullName"],
                        "email": cust["email"],
                        "participantsCount": 1,
                    }
                ]
            ),
        )

    def appointment_json(self, rng, aid, start, created, updated, res, svc, cust, frags, chain=None, recurring=None):
        """One appointment as compact JSON text, shaped like timify-samples/*/appointments/*.json."""
        duration = svc["duration"]
        edited = updated != created
        user = '"65f95e4428d1042df88046fc"'
        if recurring is None:
            recurring = rng.random() < 0.1
        res_id, res_json = res
        bookings = []
        for b in range(3 if recurring else 1):
            t = start + b * 7 * DAY
            st = iso(t)
            bookings.append(
                '{"id":"%s","startDate":"%s","interval":{"begin":"%s","end":"%s"},"batchNumber":0,"isFirstBatch":true,'
                '"isLastBatch":true,"recurringDay":%s,"duration":%d,"durationBefore":0,"durationAfter":0,'
                '"durationTotal":%d,"resourceId":"%s"}'
                % (
                    hex_secret(rng),
                    st,
                    st,
                    iso(t + duration * 60),
                    '"%s"' % utc_day(t) if recurring else "null",
                    duration,
                    duration,
                    res_id,
                )
            )
        external = '""' if rng.random() < 0.8 else '"EXT-%d"' % rng.randrange(10**6)
        notes = '""' if rng.random() < 0.6 else '"booking notes"'
        online = "true" if rng.random() < 0.3 else "false"
        secret = uuid_like(rng)
        if recurring:
            rec_json = (
                '{"timezone":%s,"frequency":"WEEKS","period":1,"weekDays":[%d],"monthDays":[],"yearMonths":[],'
                '"repeatTimes":3,"repeatLastDay":null,"maxDay":null,"isFixedByRecurringDay":false}'
                % (frags["zone"], (start // DAY + 4) % 7)
            )
        else:
            rec_json = "null"
        chain_id, last, chained = chain if chain else (None, None, "[]")
        metadata = "{}" if rng.random() < 0.7 else '{"secret":"%s"}' % uuid_like(rng)
        return (
            '{"id":"%s","externalId":%s,"type":"booking","title":%s,"notes":%s,"color":%s,"price":%s,"date":"%sZ",'
            '"duration":%d,"durationBefore":0,"durationAfter":0,"durationsPattern":[%d],"startDate":"%s",'
            '"createdAt":"%s","createdBy":"Steven Strange","createdByUserId":%s,"createdByScope":"COMPANY",'
            '"updatedAt":"%s","updatedBy":%s,"updatedByUserId":%s,"updatedByScope":%s,"rescheduleUntil":"%s",'
            '"reschedulingSecret":"%s","companyName":%s,"timestamp":"%d","isOnlineBooking":%s,"isBookable":true,'
            '"isCourse":%s,"isPaidOnlineWithStripe":false,"isPaidOnlineWithPaypal":false,"hasNotifyCustomers":true,'
            '"hasNotifyResources":false,"maxParticipants":%s,"participants":%d,"customers":%s,"singleCustomers":[],'
            '"customfields":%s,"resources":[%s],"serviceId":%s,"service":%s,"recurring":%s,"chainId":%s,'
            '"chainedEvents":%s,"isLastInTheChain":%s,"bookings":[%s],"tagIds":[],"tags":[],"combination":null,'
            '"reservedUntil":null,"metadata":%s,"scheduledForDeletionAt":null,"enterpriseId":%s}'
        ) % (
            aid,
            external,
            svc["title"],
            notes,
            svc["color"],
            svc["price"],
            utc_day(start),
            duration,
            duration,
            iso(start),
            iso(created),
            user,
            iso(updated),
            '"Steven Strange"' if edited else "null",
            user if edited else "null",
            '"COMPANY"' if edited else "null",
            iso(start - DAY),
            secret,
            frags["company"],
            updated * 1000,
            online,
            svc["isCourse"],
            svc["max"],
            1 if cust else 0,
            cust[1] if cust else "[]",
            '[{"id":"65c39ebd07a04b9210cccb99","value":"booking data"}]' if cust else "[]",
            res_json,
            svc["serviceId"],
            svc["service"],
            rec_json,
            '"%s"' % chain_id if chain_id else "null",
            chained,
            "null" if last is None else ("true" if last else "false"),
            ",".join(bookings),
            metadata,
            frags["enterprise"],
        )

    # ----- timeshifts --------------------------------------------------------------------
    def timeshifts(self, company, resources):
        """One shift per resource per working day, from two weeks before to four weeks after now."""
        rng = self.rng
        tz = ZoneInfo(company["timezone"])
        today = dt.datetime.fromtimestamp(self.now, tz).date()
        out = []
        for r in resources:
            for offset in range(-14, 29):
                day = today + dt.timedelta(days=offset)
                if day.isoweekday() > 5:
                    continue
                begin, end = local_midnight(tz, day), local_midnight(tz, day + dt.timedelta(days=1))
                denial = rng.random() < 0.08
                work = (
                    []
                    if denial
                    else [{"begin": iso(local_epoch(tz, day, 8 * 60)), "end": iso(local_epoch(tz, day, 17 * 60))}]
                )
                created = min(begin, self.now) - rng.randrange(1, 30 * DAY)
                updated = created if rng.random() < 0.5 else created + rng.randrange(self.now - created + 1)
                out.append(
                    {
                        "id": self.ids.new(created),
                        "resourceId": r["id"],
                        "resourceExternalId": r["externalId"],
                        "type": "DENIAL" if denial else "WORKING",
                        "isDenial": denial,
                        "denialReason": "Holiday" if denial else None,
                        "from": iso(begin),
                        "to": iso(end),
                        "workingTimes": work,
                        "bookingTimes": list(work),
                        "denialTimes": [{"begin": iso(begin), "end": iso(end)}] if denial else [],
                        "createdAt": iso(created),
                        "updatedAt": iso(updated),
                    }
                )
        return out
