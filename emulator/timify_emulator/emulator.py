"""The public face of the emulator: `Emulator` (start/stop, ground truth, mutations, clock, faults,
request log). Tests use only this and HTTP; everything else in the package is private."""

import datetime as dt
import json
import types

from . import control
from .api import ALL_SCOPES, Api
from .auth import Auth
from .clock import Clock
from .data import Generator, iso, parse_iso
from .faults import Faults
from .server import HttpServer, Traffic
from .store import ENTERPRISE_STREAMS, Store

STREAMS = (
    "companies",
    "appointments",
    "customers",
    "customer_fields",
    "customer_field_categories",
    "services",
    "resources",
    "timeshifts",
    "enterprise_customers",
    "enterprise_customer_fields",
    "enterprise_customer_field_categories",
)


def _epoch(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp())
    if isinstance(value, str):
        return parse_iso(value)
    return int(value)


def _plain(changes):
    """datetimes in mutation fields become TIMIFY's ISO strings."""
    return {k: (iso(_epoch(v)) if isinstance(v, dt.datetime) else v) for k, v in changes.items()}


class Emulator:
    """A TIMIFY DevAPI stand-in over real HTTP on 127.0.0.1.

    Emulator(companies=3, appointments_per_company=2000, seed=1, enterprise=True, ...).start()
    """

    def __init__(
        self,
        companies=3,
        appointments_per_company=2000,
        seed=1,
        enterprise=True,
        customers_per_company=None,
        now=None,
        scopes=None,
        token_lifetime=3600,
        max_window_days=31,
        host="127.0.0.1",
        port=0,
        **fault_knobs,
    ):
        if not enterprise and companies != 1:
            raise ValueError("a company install covers exactly one company (companies=1)")
        if now is None:
            now = dt.datetime.now(dt.timezone.utc)
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.timezone.utc)
        now = now.astimezone(dt.timezone.utc).replace(microsecond=0)
        if customers_per_company is None:
            customers_per_company = max(20, appointments_per_company // 10)
        self.seed = seed
        self.faults = Faults(seed=seed, token_lifetime=token_lifetime, max_window_days=max_window_days, **fault_knobs)
        self._clock = Clock()
        self._clock.set(now)
        gen = Generator(seed, now, companies, enterprise, appointments_per_company, customers_per_company)
        self._store = Store(gen)
        self._auth = Auth(gen.app_id, gen.app_secret, self._clock, self.faults)
        self._api = Api(self._store, self._auth, self.faults, scopes)
        self._traffic = Traffic()
        self.app_id = gen.app_id
        self.enterprise_id = gen.enterprise_id
        self.company_ids = list(self._store.company_ids)
        self._hooks = []
        self._host, self._port = host, port
        self._http = None
        self.base_url = None

    # ----- lifecycle ---------------------------------------------------------------------
    def start(self):
        core = types.SimpleNamespace(
            api=self._api,
            traffic=self._traffic,
            faults=self.faults,
            clock=self._clock,
            before_data_request=self._before_data_request,
            control=lambda *a: control.handle(self, *a),
        )
        self._http = HttpServer(core, self._host, self._port)
        self._http.start()
        # A test double on loopback serves plain HTTP; Airbyte's QA check for http:// URLs skipped it
        # while it lived under integration_tests/.
        self.base_url = "http://%s:%d" % (self._host, self._http.port)  # ignore-https-check
        return self

    def stop(self):
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self):
        return self.start() if self._http is None else self

    def __exit__(self, *exc):
        self.stop()

    # ----- credentials -------------------------------------------------------------------
    @property
    def app_secret(self):
        return self._auth.app_secret

    @property
    def scopes(self):
        return set(self._api.scopes)

    def set_scopes(self, scopes):
        """Grant the app exactly these scopes from now on (a scope removed or added in the
        Developer Platform after the connector was set up)."""
        unknown = set(scopes) - ALL_SCOPES
        if unknown:
            raise ValueError("unknown scopes %s (known: %s)" % (sorted(unknown), ", ".join(sorted(ALL_SCOPES))))
        self._api.scopes = set(scopes)

    def connector_config(self, **overrides):
        cfg = {"app_id": self.app_id, "app_secret": self.app_secret, "base_url": self.base_url}
        if self.enterprise_id:
            cfg["enterprise_id"] = self.enterprise_id
        else:
            cfg["company_ids"] = list(self.company_ids)
        cfg.update(overrides)
        return cfg

    def revoke_all_tokens(self):
        self._auth.revoke_all()

    def rotate_secret(self):
        return self._auth.rotate_secret()

    def issued_tokens(self):
        return self._auth.issued()

    # ----- ground truth ------------------------------------------------------------------
    def truth(self, stream, company_id=None, **filters):
        """Records exactly as the API serves them (deep copies), in API order, no extra keys."""
        if stream not in STREAMS:
            raise ValueError("unknown stream %r (known: %s)" % (stream, ", ".join(STREAMS)))
        if stream in ENTERPRISE_STREAMS:
            with self._store.lock:
                bodies = getattr(self._store, stream).bodies()
            return [json.loads(b) for b in bodies]
        if stream == "companies" and company_id is None:
            with self._store.lock:
                bodies = self._store.company_table.bodies()
            return [json.loads(b) for b in bodies]
        ids = [company_id] if company_id is not None else self.company_ids
        if "ids" in filters and isinstance(filters["ids"], str):
            filters["ids"] = [i for i in filters["ids"].split(",") if i]
        out = []
        for cid in ids:
            out += self._store.truth_company(stream, cid, filters)
        return out

    def truth_by_company(self, stream, **filters):
        if stream in ENTERPRISE_STREAMS:
            raise ValueError("%s belong to the enterprise, not to a company" % stream)
        return {cid: self.truth(stream, cid, **filters) for cid in self.company_ids}

    # ----- clock -------------------------------------------------------------------------
    def now(self):
        return self._clock.now()

    def set_clock(self, when):
        self._clock.set(when)

    def advance(self, seconds):
        self._clock.advance(seconds)

    # ----- mutations ---------------------------------------------------------------------
    def create_appointment(self, company_id, start=None, **fields):
        fields = _plain(fields)
        clock = self._clock.seconds()
        if start is None and "startDate" in fields:
            start = fields.pop("startDate")
        if start is None:
            start = (clock + 86400) // 300 * 300
        return self._store.create_appointment(company_id, _epoch(start), clock, fields)

    def update_appointment(self, company_id, appointment_id, updated_at=None, **changes):
        """Change an appointment; its updatedAt/timestamp become the clock, or `updated_at` when
        given (a back-dated change, or one stamped by a clock that runs ahead)."""
        stamp = None if updated_at is None else _epoch(updated_at)
        return self._store.update_appointment(company_id, appointment_id, self._clock.seconds(), _plain(changes), stamp)

    def delete_appointment(self, company_id, appointment_id):
        self._store.delete_appointment(company_id, appointment_id)

    def create_customer(self, company_id, **fields):
        return self._store.create_customer(company_id, self._clock.seconds(), _plain(fields))

    def update_customer(self, company_id, customer_id, updated_at=None, **changes):
        stamp = None if updated_at is None else _epoch(updated_at)
        return self._store.update_customer(company_id, customer_id, self._clock.seconds(), _plain(changes), stamp)

    def update_customer_field(self, company_id, field_id, **changes):
        """Changes a company's customer field definition (e.g. `label="Shoe size (EU)"`)."""
        return self._store.update_customer_field(company_id, field_id, self._clock.seconds(), _plain(changes))

    def delete_customer(self, company_id, customer_id):
        self._store.delete_customer(company_id, customer_id)

    def create_enterprise_customer(self, **fields):
        if self.enterprise_id is None:
            raise ValueError("a company install has no enterprise customers")
        return self._store.create_enterprise_customer(self._clock.seconds(), _plain(fields))

    def update_enterprise_customer(self, customer_id, updated_at=None, **changes):
        """Change an enterprise customer; its updatedAt/ts become the clock (or `updated_at`)."""
        stamp = None if updated_at is None else _epoch(updated_at)
        return self._store.update_enterprise_customer(customer_id, self._clock.seconds(), _plain(changes), stamp)

    def delete_enterprise_customer(self, customer_id):
        self._store.delete_enterprise_customer(customer_id)

    def add_company(self):
        """A branch joins the enterprise: a new company with a history of appointments and
        customers created and last changed long ago. Returns its id (also in `company_ids`)."""
        company_id = self._store.add_company()
        self.company_ids = list(self._store.company_ids)
        return company_id

    def remove_company(self, company_id):
        """A branch leaves the enterprise (or the installation): `/v1/companies` no longer lists
        it and its `company-id` gets 403; its data stays aside for `restore_company`."""
        self._store.remove_company(company_id)
        self.company_ids = list(self._store.company_ids)

    def restore_company(self, company_id):
        """A branch that left comes back, with its data as it was when it left."""
        self._store.restore_company(company_id)
        self.company_ids = list(self._store.company_ids)

    # ----- changes while a sync runs ------------------------------------------------------
    def on_data_request(self, hook):
        """Call `hook(request)` before each data request is answered, with request a dict of
        method, path, query (dict), company_id and n (the data request's number). A hook may
        change data (delete a record after page 1 of a window was served). Returns `hook`."""
        self._hooks.append(hook)
        return hook

    def clear_hooks(self):
        self._hooks.clear()

    def _before_data_request(self, request):
        for hook in list(self._hooks):
            hook(request)

    # ----- traffic -----------------------------------------------------------------------
    def requests_log(self):
        return self._traffic.log()

    def counters(self):
        return self._traffic.counters()

    def reset_log(self):
        """Clear the log and the counters; `fail_requests` etc. count data requests from here."""
        self._traffic.reset()
