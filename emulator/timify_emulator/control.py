"""The /_emulator/ control surface: not part of TIMIFY, no auth. For the docker test and the demo,
which drive the emulator from other processes."""

import datetime as dt
import json

from .server import json_response
from .store import ENTERPRISE_STREAMS


def handle(emu, method, path, query, body):
    try:
        payload = json.loads(body) if body else {}
        if not isinstance(payload, dict):
            return json_response(400, {"error": "body must be a JSON object"})
        return _route(emu, method, path.rstrip("/").split("/")[2:], query, payload)
    except KeyError as e:
        return json_response(404, {"error": "not found: %s" % e})
    except (ValueError, TypeError, AttributeError) as e:
        return json_response(400, {"error": str(e)})


def _route(emu, method, parts, query, payload):
    head = parts[0] if parts else ""
    if head == "truth" and method == "GET" and len(parts) == 2:
        by = emu.truth_by_company(parts[1]) if parts[1] not in ENTERPRISE_STREAMS else {None: emu.truth(parts[1])}
        if query.get("company_id"):
            by = {query["company_id"]: by[query["company_id"]]}
        records = [r for recs in by.values() for r in recs]
        out = {"stream": parts[1], "count": len(records), "by_company": {k: len(v) for k, v in by.items()}}
        if query.get("ids", "1") != "0":
            out["ids"] = [r["id"] for r in records]
        return json_response(200, out)
    if head in ("appointments", "customers"):
        kind = head[:-1]
        cid = payload.pop("company_id", None) or query.get("company_id")
        if cid is None:
            raise ValueError("company_id is required")
        if method == "POST" and len(parts) == 1:
            if kind == "appointment":
                start = payload.pop("start", None)
                rec = emu.create_appointment(cid, start=_when(start), **payload)
            else:
                rec = emu.create_customer(cid, **payload)
            return json_response(201, rec)
        if len(parts) == 2 and method == "PATCH":
            return json_response(200, getattr(emu, "update_" + kind)(cid, parts[1], **payload))
        if len(parts) == 2 and method == "DELETE":
            getattr(emu, "delete_" + kind)(cid, parts[1])
            return json_response(200, {"deleted": parts[1]})
    if head == "enterprise-customers":
        if method == "POST" and len(parts) == 1:
            return json_response(201, emu.create_enterprise_customer(**payload))
        if len(parts) == 2 and method == "PATCH":
            return json_response(200, emu.update_enterprise_customer(parts[1], **payload))
        if len(parts) == 2 and method == "DELETE":
            emu.delete_enterprise_customer(parts[1])
            return json_response(200, {"deleted": parts[1]})
    if head == "scopes" and method == "POST" and "scopes" in payload:
        emu.set_scopes(payload["scopes"])
        return json_response(200, {"scopes": sorted(emu.scopes)})
    if head == "companies" and method == "POST" and len(parts) == 1:
        return json_response(201, {"id": emu.add_company()})
    if head == "companies" and method == "DELETE" and len(parts) == 2:
        emu.remove_company(parts[1])
        return json_response(200, {"removed": parts[1]})
    if head == "companies" and method == "POST" and len(parts) == 3 and parts[2] == "restore":
        emu.restore_company(parts[1])
        return json_response(200, {"restored": parts[1]})
    if head == "faults":
        if method == "POST":
            emu.faults.update(**payload)
        return json_response(200, emu.faults.as_dict())
    if head == "log" and method == "GET":
        return json_response(200, emu.requests_log())
    if head == "counters" and method == "GET":
        return json_response(200, emu.counters())
    if head == "reset-log" and method == "POST":
        emu.reset_log()
        return json_response(200, {"ok": True})
    if head == "clock":
        if method == "POST" and "set" in payload:
            emu.set_clock(_when(payload["set"]))
        if method == "POST" and "advance" in payload:
            emu.advance(float(payload["advance"]))
        return json_response(200, {"now": emu.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
    if head == "revoke-tokens" and method == "POST":
        emu.revoke_all_tokens()
        return json_response(200, {"ok": True})
    if head == "rotate-secret" and method == "POST":
        return json_response(200, {"app_secret": emu.rotate_secret()})
    return json_response(404, {"error": "unknown control route %s /_emulator/%s" % (method, "/".join(parts))})


def _when(text):
    if text is None or isinstance(text, (int, float)):
        return text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
