"""Fault knobs: settable at start (Emulator(..., latency_ms=100)) and at any time while running."""

import random
import threading

KNOBS = {
    "token_lifetime": 3600,  # seconds an access token lives (emulator clock)
    "rate_limit": None,  # None or (n_requests, window_seconds), per token, data calls only
    "fail_requests": None,  # {nth data request (1-based): status code}
    "random_5xx_rate": 0.0,  # 0..1, seeded RNG
    "latency_ms": 0,  # added before every response (auth calls included)
    "drop_connection_on": None,  # {nth data request}: headers + half the body, then the socket closes
    "malformed_json_on": None,  # {nth data request}: 200 with a truncated JSON body
    "max_page_size": None,  # None or int: `limit` is clamped to it
    "legacy_envelope": False,  # list responses are {"data": [...]} only
    "ignore_page": False,  # always serve page 1 (a server bug clients must survive)
    "max_window_days": 31,  # longest appointments window, counted inclusively
    "updated_since_filter": True,  # /v1/enterprise-customers honours updated_since (False: ignores it)
    "ids_filter": True,  # /v1/enterprise-customers honours ids (False: ignores it, serves the whole list)
    "forbidden_companies": None,  # company ids the app lost access to: their calls get 403
    "token_forms": "both",  # which `authorization` forms a data call may use: raw, bearer or both
    "error_shape": "nested",  # error bodies: nested {status, error: {code, message}} or flat (the reference's)
    "customer_values_key": "fields",  # customers' custom-field values under "fields" or "customfields"
}


class Faults:
    """Plain attributes, one per knob; unknown names are rejected so typos fail loudly."""

    def __init__(self, seed=0, **values):
        object.__setattr__(self, "_rng", random.Random("faults-%s" % seed))
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_initial", dict(values))
        self.reset()

    def reset(self):
        """Back to the values given at start (tests call this between cases)."""
        for name, default in KNOBS.items():
            object.__setattr__(self, name, default)
        self.update(**self._initial)

    def __setattr__(self, name, value):
        if name not in KNOBS:
            raise AttributeError("unknown fault knob %r (known: %s)" % (name, ", ".join(sorted(KNOBS))))
        if name == "rate_limit" and value is not None:
            n, window = value
            value = (int(n), float(window))
        if name in ("fail_requests",) and value:
            value = {int(k): int(v) for k, v in dict(value).items()}
        if name == "token_forms" and value not in ("raw", "bearer", "both"):
            raise ValueError("token_forms must be raw, bearer or both, not %r" % (value,))
        if name == "error_shape" and value not in ("nested", "flat"):
            raise ValueError("error_shape must be nested or flat, not %r" % (value,))
        if name in ("drop_connection_on", "malformed_json_on", "forbidden_companies") and value:
            value = {v if name == "forbidden_companies" else int(v) for v in value}
        if name == "customer_values_key" and value not in ("fields", "customfields"):
            raise ValueError("customer_values_key is 'fields' or 'customfields', not %r" % (value,))
        object.__setattr__(self, name, value)

    def update(self, **values):
        for name, value in values.items():
            setattr(self, name, value)

    def as_dict(self):
        out = {}
        for name in KNOBS:
            v = getattr(self, name)
            out[name] = sorted(v) if isinstance(v, set) else v
        return out

    def roll_5xx(self):
        """True with probability random_5xx_rate (deterministic sequence per seed)."""
        rate = self.random_5xx_rate
        if not rate:
            return False
        with self._lock:
            return self._rng.random() < rate

    def pick_5xx(self):
        with self._lock:
            return self._rng.choice((500, 502, 503, 504))
