"""HTTP plumbing: a threaded stdlib server that applies latency and injected faults around the Api,
keeps the request log and counters, and serves the small /_emulator/ control surface."""

import email.utils
import json
import socket
import threading
import time
import traceback
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .api import AUTH_PATHS, ITEMS, JSON, Request, bearer, error_body

REDACT = ("token", "secret", "authorization", "password")
FAULT_BODIES = {  # None: a JSON error body in the emulator's error shape
    500: (("INTERNAL", "Internal server error"), JSON),
    502: (b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"}),
    503: (b"", {}),
    504: (("INTERNAL", "Gateway timeout"), JSON),
}
ERROR_CODES = {400: "BAD_REQUEST", 401: "TOKEN_INVALID", 403: "FORBIDDEN", 404: "NOT_FOUND", 429: "RATE_LIMITED"}


def fault_response(status, shape="nested"):
    if status in FAULT_BODIES:
        body, headers = FAULT_BODIES[status]
        if isinstance(body, tuple):
            body = error_body(body[0], body[1], shape, status)
        return status, body, dict(headers)
    headers = dict(JSON)
    if status == 429:
        headers["Retry-After"] = "1"
    return status, error_body(ERROR_CODES.get(status, "INTERNAL"), "Injected fault", shape, status), headers


class Traffic:
    """Request log and counters (thread-safe). Never holds a secret or a token."""

    def __init__(self, maxlen=500000):
        self._lock = threading.Lock()
        self._log = deque(maxlen=maxlen)
        self._reset_counts()

    def _reset_counts(self):
        self.counts = {
            "requests": 0,
            "logins": 0,
            "login_failures": 0,
            "refreshes": 0,
            "refresh_failures": 0,
            "data_requests": 0,
            "by_status": {},
        }

    def next_data_request(self):
        with self._lock:
            self.counts["data_requests"] += 1
            return self.counts["data_requests"]

    def record(self, entry):
        with self._lock:
            self._log.append(entry)
            c = self.counts
            c["requests"] += 1
            c["by_status"][entry["status"]] = c["by_status"].get(entry["status"], 0) + 1
            if entry["path"] == "/v1/auth/token":
                c["logins" if entry["status"] == 200 else "login_failures"] += 1
            elif entry["path"] == "/v1/auth/refreshtoken":
                c["refreshes" if entry["status"] == 200 else "refresh_failures"] += 1

    def log(self):
        with self._lock:
            return [dict(e, query=dict(e["query"])) for e in self._log]

    def counters(self):
        with self._lock:
            return dict(self.counts, by_status=dict(self.counts["by_status"]))

    def reset(self):
        with self._lock:
            self._log.clear()
            self._reset_counts()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, core):
        self.core = core
        self.open_sockets = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_all(self):
        with self.sockets_lock:
            socks = list(self.open_sockets)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TimifyEmulator/1.0"
    sys_version = ""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):  # quiet: the Traffic log is the record
        pass

    def date_time_string(self, timestamp=None):
        """The `Date` header on the emulator's clock (TIMIFY's clock), which tests set and advance."""
        return email.utils.formatdate(self.server.core.clock.time() if timestamp is None else timestamp, usegmt=True)

    def _serve(self):
        core = self.server.core
        t0 = time.time()
        parts = urlsplit(self.path)
        path = parts.path
        query = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            # A repeated array parameter (`day[]=...&day[]=...`) arrives comma-joined.
            query[name] = query[name] + "," + value if name.endswith("[]") and name in query else value
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if path.startswith("/_emulator/"):
            status, out, extra = core.control(self.command, path, query, body)
            self._send(status, out, extra)
            return
        req = Request(self.command, path, query, headers, body)
        faults = core.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        mode = None
        if path in AUTH_PATHS:
            status, out, extra = core.api.handle(req)
        else:
            n = core.traffic.next_data_request()
            forced = (faults.fail_requests or {}).get(n)
            if forced is None and faults.roll_5xx():
                forced = faults.pick_5xx()
            if forced is not None:
                status, out, extra = fault_response(forced, faults.error_shape)
            else:
                core.before_data_request(
                    {
                        "method": self.command,
                        "path": path,
                        "query": dict(query),
                        "company_id": headers.get("company-id"),
                        "n": n,
                    }
                )
                status, out, extra = core.api.handle(req)
            if n in (faults.drop_connection_on or ()):
                mode = "dropped"
            elif n in (faults.malformed_json_on or ()):
                mode = "malformed"
                status, extra = 200, dict(JSON)
                out = out[: max(1, len(out) // 2)]
                if out in (b"", b"{", b"["):
                    out = b'{"data":[{"id":'
        _, scheme = bearer(headers)
        extra = dict(extra)
        items = extra.pop(ITEMS, None)
        core.traffic.record(
            {
                "method": self.command,
                "path": path,
                "query": {k: ("<redacted>" if any(r in k.lower() for r in REDACT) else v) for k, v in query.items()},
                "company_id": headers.get("company-id"),
                "status": status,
                "auth": scheme,
                "fault": mode,
                "items": items,
                "time": t0,
                "duration_ms": round((time.time() - t0) * 1000, 3),
            }
        )
        self._send(status, out, extra, mode)

    def _send(self, status, body, headers, mode=None):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if mode == "dropped":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        # one write for headers and body: two small writes on a keep-alive socket meet Nagle's
        # algorithm and the client's delayed ACK (a 40 ms stall per request)
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)
        self.flush_headers()

    def _guarded(self):
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            try:
                self._send(500, error_body("INTERNAL", "Emulator error"), dict(JSON))
            except OSError:
                pass
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _guarded


class HttpServer:
    def __init__(self, core, host="127.0.0.1", port=0):
        self._server = _Server((host, port), _Handler, core)
        self.port = self._server.server_address[1]
        self._thread = None

    def start(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="timify-emulator", daemon=True
        )
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def json_response(status, obj):
    return status, json.dumps(obj, default=str).encode(), dict(JSON)
