"""What the emulator's tests share (a helper module, not a test module): the clock they start at
and a thin HTTP client. The fixtures built on them are in conftest.py."""

import datetime as _dt

import requests

EMULATOR_NOW = _dt.datetime(2025, 3, 20, 12, 0, 0, tzinfo=_dt.timezone.utc)


class TimifyHttp:
    """A thin requests wrapper for emulator tests: logs in once, sends raw `authorization`."""

    def __init__(self, emu):
        self.emu = emu
        self.session = requests.Session()
        self._token = None

    def login(self, **body):
        body = body or {"appid": self.emu.app_id, "appsecret": self.emu.app_secret}
        return self.session.post(self.emu.base_url + "/v1/auth/token", json=body, timeout=10)

    @property
    def token(self):
        if self._token is None:
            self._token = self.login().json()["accessToken"]
        return self._token

    def get(self, path, company_id=None, token=None, headers=None, **params):
        h = {"authorization": token if token is not None else self.token}
        if company_id is not None:
            h["company-id"] = company_id
        h.update(headers or {})
        return self.session.get(self.emu.base_url + path, params=params, headers=h, timeout=10)

    def pages(self, path, company_id=None, limit=100, **params):
        """Every record of a list endpoint, paging on meta.totalPages."""
        out, page = [], 1
        while True:
            body = self.get(path, company_id, page=page, limit=limit, **params).json()
            out += body["data"]
            if page >= body["meta"]["totalPages"]:
                return out
            page += 1
