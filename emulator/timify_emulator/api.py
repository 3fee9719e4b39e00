"""The TIMIFY API itself (see ../shared/timify-api.md): routes, checks in the contract's order, envelopes.

`Api.handle()` takes a parsed request and returns (status, body bytes, extra headers); it knows
nothing about sockets, latency or injected faults (server.py adds those).
"""

import datetime as dt
import json
import math
import re
import threading
import time
from zoneinfo import ZoneInfo

from .auth import AuthError
from .data import local_midnight

ALL_SCOPES = frozenset({"Customers", "Events", "Resources", "Services", "Companies", "Enterprises"})
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_RE = re.compile(r"^\d+$")
DEFAULT_LIMIT = 10000
JSON = {"Content-Type": "application/json; charset=utf-8"}
ITEMS = "x-emulator-items"  # not sent: the number of records a list page served, for the log

# path -> (scope, company scoped)
LISTS = {
    "/v1/companies": ("Companies", False),
    "/v1/appointments": ("Events", True),
    "/v1/customers": ("Customers", True),
    "/v1/customers/customfields": ("Customers", True),
    "/v1/customers/customfields/categories": ("Customers", True),
    "/v1/services": ("Services", True),
    "/v1/resources": ("Resources", True),
    "/v1/timeshifts": ("Resources", True),
    "/v1/enterprise-customers": ("Enterprises", False),
    "/v1/enterprise-customers/customfields": ("Enterprises", False),
    "/v1/enterprise-customers/customfields/categories": ("Enterprises", False),
}
SINGLE_APPOINTMENT = re.compile(r"^/v1/appointments/([^/]+)$")
AUTH_PATHS = ("/v1/auth/token", "/v1/auth/refreshtoken")


class ApiError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


# The flat shape's `name` per HTTP status (TIMIFY's reference shows BadRequestError).
ERROR_NAMES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    429: "TooManyRequestsError",
}


def error_body(code, message, shape="nested", status=500):
    """An error body in the older nested shape, or the reference's flat one."""
    if shape == "flat":
        return json.dumps(
            {
                "error": message,
                "name": ERROR_NAMES.get(status, "InternalServerError"),
                "errorCode": code,
                "details": {},
                "extras": None,
            }
        ).encode()
    return json.dumps({"status": 0, "error": {"code": code, "message": message}}).encode()


class Request:
    __slots__ = ("method", "path", "query", "headers", "body")

    def __init__(self, method, path, query, headers, body):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body


def bearer(headers):
    """(token, scheme) from `authorization: <token>` or `Authorization: Bearer <token>`."""
    raw = (headers.get("authorization") or "").strip()
    if raw[:7].lower() == "bearer ":
        return raw[7:].strip(), "bearer"
    return raw, ("raw" if raw else None)


class Api:
    def __init__(self, store, auth, faults, scopes):
        self.store = store
        self.auth = auth
        self.faults = faults
        self.scopes = set(ALL_SCOPES if scopes is None else scopes)
        self._buckets = {}  # token -> [window start (monotonic), count]
        self._bucket_lock = threading.Lock()
        self._zones = {}

    # ----- entry point -------------------------------------------------------------------
    def handle(self, req):
        try:
            if req.path in AUTH_PATHS:
                return self._auth(req)
            return self._data(req)
        except ApiError as e:
            return e.status, error_body(e.code, e.message, self.faults.error_shape, e.status), e.headers

    # ----- auth --------------------------------------------------------------------------
    def _auth(self, req):
        if req.method != "POST":
            raise ApiError(405, "BAD_REQUEST", "Use POST for %s" % req.path)
        ctype = (req.headers.get("content-type") or "").lower()
        if "form" in ctype:
            raise ApiError(400, "BAD_REQUEST", "The body must be JSON, not a form")
        try:
            body = json.loads(req.body or b"")
        except ValueError:
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object")
        try:
            if req.path == "/v1/auth/token":
                if not isinstance(body.get("appid"), str) or not isinstance(body.get("appsecret"), str):
                    raise ApiError(400, "BAD_REQUEST", "The body must carry the keys appid and appsecret")
                pair = self.auth.login(body["appid"], body["appsecret"])
            else:
                if not isinstance(body.get("refreshtoken"), str):
                    raise ApiError(400, "BAD_REQUEST", "The body must carry the key refreshtoken")
                pair = self.auth.refresh(body["refreshtoken"])
        except AuthError as e:
            raise ApiError(401, e.code, e.message) from None
        return 200, json.dumps(pair).encode(), JSON

    # ----- data --------------------------------------------------------------------------
    def _data(self, req):
        path = req.path.rstrip("/") or "/"
        single = SINGLE_APPOINTMENT.match(path)
        if path == "/v1/appointments/" or (single and single.group(1) == "customfields"):
            single = None
        if path in LISTS:
            scope, scoped = LISTS[path]
        elif single:
            scope, scoped = "Events", True
        else:
            raise ApiError(404, "NOT_FOUND", "No such endpoint: %s %s" % (req.method, req.path))
        if req.method != "GET":
            raise ApiError(405, "BAD_REQUEST", "Only GET is supported on %s" % path)
        token, form = bearer(req.headers)
        allowed = self.faults.token_forms
        if form is not None and allowed != "both" and form != allowed:
            raise ApiError(
                401,
                "TOKEN_INVALID",
                "The access token must be sent as %s"
                % (
                    "Authorization: Bearer <token>" if allowed == "bearer" else "authorization: <token>, without Bearer"
                ),
            )
        try:
            self.auth.check(token)
        except AuthError as e:
            raise ApiError(401, e.code, e.message) from None
        self._rate_limit(token)
        if scope not in self.scopes:
            raise ApiError(403, "FORBIDDEN", "The app is not granted the %s scope" % scope)
        company = self._company(req) if scoped else None
        q = req.query
        if single:
            with self.store.lock:
                body = company.appointments.body(single.group(1))
            if body is None:
                raise ApiError(
                    404, "NOT_FOUND", "Appointment %s not found in company %s" % (single.group(1), company.id)
                )
            return 200, b'{"data":' + body + b',"status":1}', JSON
        handler = {
            "/v1/companies": self._companies,
            "/v1/appointments": self._appointments,
            "/v1/customers": self._customers,
            "/v1/customers/customfields": self._customer_fields,
            "/v1/customers/customfields/categories": self._customer_field_categories,
            "/v1/services": self._services,
            "/v1/resources": self._resources,
            "/v1/timeshifts": self._timeshifts,
            "/v1/enterprise-customers": self._enterprise_customers,
            "/v1/enterprise-customers/customfields": self._enterprise_customer_fields,
            "/v1/enterprise-customers/customfields/categories": self._enterprise_customer_field_categories,
        }[path]
        return handler(q, company)

    def _rate_limit(self, token):
        limit = self.faults.rate_limit
        if not limit:
            return
        n, window = limit
        now = time.monotonic()
        with self._bucket_lock:
            bucket = self._buckets.get(token)
            if bucket is None or now >= bucket[0] + window:
                bucket = self._buckets[token] = [now, 0]
            if bucket[1] >= n:
                retry = max(1, math.ceil(bucket[0] + window - now))
                raise ApiError(
                    429, "RATE_LIMITED", "Too many requests; retry in %d s" % retry, {"Retry-After": str(retry)}
                )
            bucket[1] += 1

    def _company(self, req):
        cid = (req.headers.get("company-id") or "").strip()
        companies = self.store.companies
        if not cid:
            if len(companies) > 1:
                raise ApiError(
                    400,
                    "COMPANY_REQUIRED",
                    "The company-id header is required: this installation covers %d companies" % len(companies),
                )
            return next(iter(companies.values()))
        company = companies.get(cid)
        if company is not None and cid in (self.faults.forbidden_companies or ()):
            raise ApiError(403, "FORBIDDEN", "The app has lost access to company %s" % cid)
        if company is None:
            if not re.match(r"^[0-9a-f]{24}$", cid):
                raise ApiError(403, "FORBIDDEN", "The company-id %s is malformed (expected a 24-hex id)" % cid)
            raise ApiError(403, "FORBIDDEN", "The installation does not cover company %s" % cid)
        return company

    @staticmethod
    def _paging(q):
        values = []
        for name, default in (("page", 1), ("limit", DEFAULT_LIMIT)):
            raw = q.get(name, "")
            if raw == "":
                values.append(default)
                continue
            if not INT_RE.match(raw):
                raise ApiError(400, "BAD_REQUEST", "%s must be a non-negative integer, got %r" % (name, raw))
            values.append(int(raw) or default)
        return values

    def _envelope(self, rows_for, total, page, limit):
        """rows_for(offset, count) -> list of JSON bytes."""
        max_size = self.faults.max_page_size
        if max_size:
            limit = min(limit, int(max_size))
        served = 1 if self.faults.ignore_page else page
        offset = (served - 1) * limit
        rows = rows_for(offset, limit) if offset < total else []
        data = b"[" + b",".join(rows) + b"]"
        # How many records this page served, for the request log (server.py takes it out).
        headers = dict(JSON, **{ITEMS: len(rows)})
        if self.faults.legacy_envelope:
            return 200, b'{"data":' + data + b"}", headers
        pages = math.ceil(total / limit) if total else 0
        tail = ',"total":%d,"meta":{"page":%d,"limit":%d,"totalItems":%d,"totalPages":%d},"status":1}' % (
            total,
            page,
            limit,
            total,
            pages,
        )
        return 200, b'{"data":' + data + tail.encode(), headers

    def _list(self, bodies, page, limit):
        return self._envelope(lambda o, n: bodies[o : o + n], len(bodies), page, limit)

    # ----- endpoints ---------------------------------------------------------------------
    def _companies(self, q, _company):
        eid = q.get("enterprise_id")
        own = self.store.generator.enterprise_id
        if eid:
            if own is None:
                raise ApiError(
                    403, "FORBIDDEN", "This app is installed on a single company, not on enterprise %s" % eid
                )
            if eid != own:
                raise ApiError(403, "FORBIDDEN", "The installation does not cover enterprise %s" % eid)
        page, limit = self._paging(q)
        with self.store.lock:
            bodies = self.store.company_table.bodies()
        return self._list(bodies, page, limit)

    def _zone(self, name):
        tz = self._zones.get(name)
        if tz is None:
            try:
                tz = ZoneInfo(name)
            except Exception:
                raise ApiError(400, "BAD_REQUEST", "Unknown time zone %r (expected an IANA name)" % name) from None
            self._zones[name] = tz
        return tz

    @staticmethod
    def _date(q, name):
        raw = q.get(name, "")
        if not DATE_RE.match(raw):
            raise ApiError(400, "BAD_REQUEST", "%s must be a date YYYY-MM-DD, got %r" % (name, raw))
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ApiError(400, "BAD_REQUEST", "%s is not a valid date: %r" % (name, raw)) from None

    def _appointments(self, q, company):
        page, limit = self._paging(q)
        ids = [i.strip() for i in q.get("ids", "").split(",") if i.strip()] or None
        has_from, has_to = bool(q.get("from_date")), bool(q.get("to_date"))
        lo = hi = None
        if has_from or has_to or ids is None:
            if not (has_from and has_to):
                raise ApiError(
                    400, "BAD_REQUEST", "from_date and to_date are required (YYYY-MM-DD) unless ids is given"
                )
            frm, to = self._date(q, "from_date"), self._date(q, "to_date")
            tz = self._zone(q["timezone"]) if q.get("timezone") else company.tz
            if to < frm:
                raise ApiError(400, "BAD_REQUEST", "to_date %s is before from_date %s" % (to, frm))
            days = (to - frm).days + 1
            max_days = int(self.faults.max_window_days)
            if days > max_days:
                raise ApiError(
                    400, "BAD_REQUEST", "The date window spans %d days; at most %d are allowed" % (days, max_days)
                )
            lo, hi = local_midnight(tz, frm), local_midnight(tz, to + dt.timedelta(days=1))
        # `from_time`/`to_time` (the reference: they may replace the dates; format undocumented)
        # are accepted and ignored: the dates above decide.
        customer_id = q.get("customer_id") or None
        appts = company.appointments
        with self.store.lock:
            keys, i, j = appts.select(lo, hi, ids, customer_id)
            rows = appts.rows
            return self._envelope(
                lambda o, n: [rows[k[1]][0] for k in keys[i + o : min(j, i + o + n)]], j - i, page, limit
            )

    def _customers(self, q, company):
        page, limit = self._paging(q)
        with self.store.lock:
            bodies = company.customers.bodies()
        return self._list(self._values_key(bodies), page, limit)

    def _values_key(self, bodies):
        """Customers' custom-field values under `fields` (stored) or `customfields` (a setting)."""
        if self.faults.customer_values_key == "fields":
            return bodies
        return [body.replace(b'"fields":[', b'"customfields":[', 1) for body in bodies]

    def _customer_fields(self, q, company):
        page, limit = self._paging(q)
        with self.store.lock:
            bodies = company.customer_fields.bodies()
        return self._list(bodies, page, limit)

    def _customer_field_categories(self, q, company):
        page, limit = self._paging(q)
        with self.store.lock:
            bodies = company.customer_field_categories.bodies()
        return self._list(bodies, page, limit)

    def _resources(self, q, company):
        page, limit = self._paging(q)
        with self.store.lock:
            bodies = company.resources.bodies()
        return self._list(bodies, page, limit)

    def _services(self, q, company):
        page, limit = self._paging(q)
        sort, sort_type = q.get("sort"), (q.get("sort_type") or "asc").lower()
        if sort_type not in ("asc", "desc"):
            raise ApiError(400, "BAD_REQUEST", "sort_type must be asc or desc, got %r" % sort_type)
        with self.store.lock:
            bodies = company.services.bodies()
        if sort:
            recs = [json.loads(b) for b in bodies]
            if not any(sort in r for r in recs):
                raise ApiError(400, "BAD_REQUEST", "Cannot sort services by %r" % sort)
            order = sorted(
                range(len(recs)),
                key=lambda k: (recs[k].get(sort) is None, recs[k].get(sort) or 0),
                reverse=sort_type == "desc",
            )
            bodies = [bodies[k] for k in order]
        elif sort_type == "desc":
            bodies = bodies[::-1]
        return self._list(bodies, page, limit)

    def _timeshifts(self, q, company):
        """Shifts overlapping `from`..`to`, or the days of `day[]` (`day`): "if from and to are sent,
        day[] will be ignored" (the reference), so both together is no error. `resource_ids` and
        `resource_external_ids` (comma-separated) keep the shifts of those resources."""
        page, limit = self._paging(q)
        days_text = q.get("day[]") or q.get("day") or ""
        if q.get("from") or q.get("to"):
            frm, to = self._date(q, "from"), self._date(q, "to")
            if to < frm:
                raise ApiError(400, "BAD_REQUEST", "to %s is before from %s" % (to, frm))
            spans = [(frm, to)]
        elif days_text:
            spans = [(d, d) for d in (self._date({"day": part.strip()}, "day") for part in days_text.split(","))]
        else:
            raise ApiError(400, "BAD_REQUEST", "Give day[] (one or more days) or from and to")
        ranges = [
            (local_midnight(company.tz, a), local_midnight(company.tz, b + dt.timedelta(days=1))) for a, b in spans
        ]
        resource_ids = {i.strip() for i in q.get("resource_ids", "").split(",") if i.strip()}
        external_ids = {i.strip() for i in q.get("resource_external_ids", "").split(",") if i.strip()}
        with self.store.lock:
            span, rows = company.shift_span, company.timeshifts.rows
            keys = [
                k
                for k in company.timeshifts.order
                if any(span[k[1]][0] < hi and span[k[1]][1] > lo for lo, hi in ranges)
            ]
            if resource_ids or external_ids:
                records = {k[1]: json.loads(rows[k[1]]) for k in keys}
                keys = [
                    k
                    for k in keys
                    if (resource_ids and records[k[1]]["resourceId"] in resource_ids)
                    or (external_ids and records[k[1]].get("resourceExternalId") in external_ids)
                ]
            bodies = [rows[k[1]] for k in keys]
        return self._list(bodies, page, limit)

    def _enterprise_only(self):
        if self.store.generator.enterprise_id is None:
            raise ApiError(
                403,
                "FORBIDDEN",
                "Enterprise customers need an enterprise installation; this app is installed on a single company",
            )

    def _enterprise_customer_fields(self, q, _company):
        self._enterprise_only()
        page, limit = self._paging(q)
        with self.store.lock:
            bodies = self.store.enterprise_customer_fields.bodies()
        return self._list(bodies, page, limit)

    def _enterprise_customer_field_categories(self, q, _company):
        self._enterprise_only()
        page, limit = self._paging(q)
        with self.store.lock:
            bodies = self.store.enterprise_customer_field_categories.bodies()
        return self._list(bodies, page, limit)

    def _enterprise_customers(self, q, _company):
        self._enterprise_only()
        page, limit = self._paging(q)
        since = self._date(q, "updated_since") if q.get("updated_since") else None
        ids = [i.strip() for i in q.get("ids", "").split(",") if i.strip()]
        with self.store.lock:
            table = self.store.enterprise_customers
            if ids and self.faults.ids_filter:
                # `ids` (comma-separated, the reference): those of them the enterprise still has,
                # in the list's order; an unknown id is simply not served.
                wanted = set(ids)
                bodies = [table.rows[i] for i in table.ids() if i in wanted]
            else:
                bodies = table.bodies()
        if since is not None and self.faults.updated_since_filter:
            # The customers whose updatedAt is on or after that UTC date (its midnight).
            midnight = since.isoformat() + "T00:00:00Z"
            bodies = [b for b in bodies if json.loads(b)["updatedAt"] >= midnight]
        return self._list(self._values_key(bodies), page, limit)
