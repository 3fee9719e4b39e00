"""App credentials and tokens: login, refresh, validation, revocation, secret rotation."""

import secrets
import threading

REFRESH_LIFETIME = 30 * 86400


class AuthError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Auth:
    def __init__(self, app_id, app_secret, clock, faults):
        self.app_id = app_id
        self.app_secret = app_secret
        self._clock = clock
        self._faults = faults
        self._lock = threading.Lock()
        self._access = {}  # token -> expiry epoch (emulator clock)
        self._refresh = {}  # token -> expiry epoch
        self._issued = []

    def _pair(self):
        now = self._clock.time()
        lifetime = int(self._faults.token_lifetime)
        access, refresh = secrets.token_hex(24), secrets.token_hex(24)
        self._access[access] = now + lifetime
        self._refresh[refresh] = now + REFRESH_LIFETIME
        self._issued += [access, refresh]
        return {"accessToken": access, "refreshToken": refresh, "expires": lifetime}

    def login(self, app_id, app_secret):
        with self._lock:
            if not (
                secrets.compare_digest(str(app_id), self.app_id)
                and secrets.compare_digest(str(app_secret), self.app_secret)
            ):
                raise AuthError("INVALID_CREDENTIALS", "The App ID or App Secret is not valid")
            return self._pair()

    def refresh(self, refresh_token):
        with self._lock:
            expiry = self._refresh.get(refresh_token)
            if expiry is None:
                raise AuthError("TOKEN_INVALID", "The refresh token is not valid")
            if self._clock.time() >= expiry:
                raise AuthError("TOKEN_EXPIRED", "The refresh token has expired")
            del self._refresh[refresh_token]
            return self._pair()

    def check(self, token):
        """Raise AuthError unless `token` is a live access token."""
        if not token:
            raise AuthError("TOKEN_INVALID", "An access token is required in the authorization header")
        expiry = self._access.get(token)
        if expiry is None:
            raise AuthError("TOKEN_INVALID", "The access token is not valid")
        if self._clock.time() >= expiry:
            raise AuthError("TOKEN_EXPIRED", "The access token has expired")

    def revoke_all(self):
        with self._lock:
            self._access.clear()
            self._refresh.clear()

    def rotate_secret(self):
        with self._lock:
            self.app_secret = secrets.token_hex(20)
            return self.app_secret

    def issued(self):
        with self._lock:
            return list(self._issued)
