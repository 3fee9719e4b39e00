"""The command line (one JSON line, clean exit on SIGTERM/SIGINT) and the /_emulator/ control surface."""

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def cli():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "timify_emulator",
            "--port",
            "0",
            "--companies",
            "2",
            "--appointments-per-company",
            "50",
            "--seed",
            "1",
            "--now",
            "2025-03-20T12:00:00Z",
            "--max-page-size",
            "500",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    yield proc, line
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _token(base, cfg):
    return requests.post(
        base + "/v1/auth/token", json={"appid": cfg["app_id"], "appsecret": cfg["app_secret"]}, timeout=10
    ).json()["accessToken"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_json_line_serves_and_exits_cleanly_on_signal(cli, sig):
    proc, line = cli
    info = json.loads(line)
    base, cfg = info["base_url"], info["config"]
    assert base.startswith("http://127.0.0.1:") and cfg["base_url"] == base
    assert set(cfg) == {"app_id", "app_secret", "base_url", "enterprise_id"}
    tok = _token(base, cfg)
    r = requests.get(base + "/v1/companies", headers={"authorization": tok}, timeout=10)
    assert r.status_code == 200 and r.json()["total"] == 2 and r.json()["meta"]["limit"] == 500
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and out == ""


def test_cli_company_install():
    proc = subprocess.Popen(
        [sys.executable, "-m", "timify_emulator", "--company-install", "--appointments-per-company", "10"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        cfg = json.loads(proc.stdout.readline())["config"]
        assert "enterprise_id" not in cfg and len(cfg["company_ids"]) == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_control_surface_truth_mutations_faults_log_and_counters(cli):
    proc, line = cli
    info = json.loads(line)
    base, cfg = info["base_url"], info["config"]
    ctl = base + "/_emulator"
    truth = requests.get(ctl + "/truth/appointments", timeout=10).json()
    assert truth["count"] == 100 and len(truth["ids"]) == 100 and len(truth["by_company"]) == 2
    cid = next(iter(truth["by_company"]))
    created = requests.post(
        ctl + "/appointments", json={"company_id": cid, "start": "2025-04-01T10:00:00Z"}, timeout=10
    )
    assert created.status_code == 201 and created.json()["startDate"] == "2025-04-01T10:00:00Z"
    aid = created.json()["id"]
    requests.post(ctl + "/clock", json={"advance": 60}, timeout=10)
    touched = requests.patch(ctl + "/appointments/" + aid, json={"company_id": cid}, timeout=10).json()
    assert touched["updatedAt"] > created.json()["updatedAt"]
    cust = requests.post(ctl + "/customers", json={"company_id": cid, "firstName": "Ada"}, timeout=10).json()
    assert (
        requests.patch(ctl + "/customers/" + cust["id"], json={"company_id": cid, "lastName": "L"}, timeout=10).json()[
            "lastName"
        ]
        == "L"
    )
    assert requests.delete(ctl + "/customers/" + cust["id"], json={"company_id": cid}, timeout=10).status_code == 200
    assert requests.get(ctl + "/truth/appointments?ids=0", timeout=10).json()["count"] == 101
    faults = requests.post(ctl + "/faults", json={"fail_requests": {"1": 503}}, timeout=10).json()
    assert faults["fail_requests"] == {"1": 503}
    tok = _token(base, cfg)
    r = requests.get(base + "/v1/companies", headers={"authorization": tok}, timeout=10)
    assert r.status_code == 503
    log = requests.get(ctl + "/log", timeout=10).json()
    assert [e["status"] for e in log] == [200, 503]
    assert requests.get(ctl + "/counters", timeout=10).json()["by_status"] == {"200": 1, "503": 1}
    assert requests.get(ctl + "/nope", timeout=10).status_code == 404
