#!/usr/bin/env bash
# The image test (`make docker-test`, run by CI): build the production Dockerfile with podman on a
# stand-in base image, then run the container the way Airbyte does -- spec, check, discover, read
# with mounted files -- against the TIMIFY emulator on loopback, and assert on the JSON messages.
#
# Recipe: ../shared/containers.md (no Docker engine and no Docker Hub on these machines, so podman
# with runc, and a Debian bookworm base built with debootstrap in place of
# airbyte/python-connector-base). Only BASE_IMAGE differs from what users build.
#
# `--prepare` stops after step 2 (podman installed, stand-in base built): CI runs it in the
# background during the test command, since debootstrap is most of a cold run.
#
# Runs non-interactively as root (CI). Env knobs:
#   IMAGE=source-timify:dev                     tag of the image built
#   STANDIN_BASE=localhost/timify-python-base:3.11   stand-in base (built once, then reused)
#   APPOINTMENTS_PER_COMPANY=300 COMPANIES=3    emulator size
set -euo pipefail

PREPARE_ONLY=0
case "${1:-}" in
  --prepare) PREPARE_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--prepare]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
REPO="$PWD"
IMAGE="${IMAGE:-source-timify:dev}"
STANDIN_BASE="${STANDIN_BASE:-localhost/timify-python-base:3.11}"
COMPANIES="${COMPANIES:-3}"
APPOINTMENTS_PER_COMPANY="${APPOINTMENTS_PER_COMPANY:-300}"
export DEBIAN_FRONTEND=noninteractive

log() { printf '\n== [%3ds] %s\n' "$SECONDS" "$*"; }
die() { printf 'docker_test: FAIL: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo > /dev/null || die "needs root (podman as root, apt-get, debootstrap)"
  SUDO="sudo -n"
fi

# Python on the host drives the emulator and parses messages: the repo's venv if it exists
# (`make setup` installs the emulator package, timify_emulator, into it), otherwise the system
# Python 3 with the emulator installed (`pip install -e emulator`; it and the checks below are
# stdlib-only).
PY="$REPO/.venv/bin/python"
[[ -x "$PY" ]] || PY="$(command -v python3)"

# ---------------------------------------------------------------- 1. podman, runc, debootstrap
missing=()
for tool in podman runc debootstrap; do
  command -v "$tool" > /dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]} (apt-get)"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq podman runc debootstrap > /dev/null
fi

# crun fails on these machines (cgroups, rlimits): runc with the cgroupfs manager works.
STATE_DIR="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/source-timify-docker-test"
mkdir -p "$STATE_DIR"
export CONTAINERS_CONF="$STATE_DIR/containers.conf"
cat > "$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = []
pids_limit = 0
[engine]
cgroup_manager = "cgroupfs"
EOF
podman() { $SUDO env CONTAINERS_CONF="$CONTAINERS_CONF" podman --runtime runc "$@"; }

# ---------------------------------------------------------------- 2. stand-in base (cached)
if podman image exists "$STANDIN_BASE"; then
  log "stand-in base $STANDIN_BASE: cached"
else
  log "building stand-in base $STANDIN_BASE with debootstrap (about a minute, once)"
  ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/timify-rootfs.XXXXXX")"
  $SUDO debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
    bookworm "$ROOTFS" > "$STATE_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$STATE_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
  $SUDO tar -C "$ROOTFS" -c . | podman import --quiet - "$STANDIN_BASE" > /dev/null
  $SUDO rm -rf "$ROOTFS"
fi

if [[ $PREPARE_ONLY -eq 1 ]]; then
  echo "docker_test: prepared (podman, $STANDIN_BASE) in $SECONDS s"
  exit 0
fi

# ---------------------------------------------------------------- 3. the image
log "building $IMAGE from ./Dockerfile (BASE_IMAGE=$STANDIN_BASE)"
build_start=$SECONDS
podman build --network host -v /etc/ssl/certs:/etc/ssl/certs:ro \
  --build-arg BASE_IMAGE="$STANDIN_BASE" -t "$IMAGE" . > "$STATE_DIR/build.log" 2>&1 \
  || { tail -40 "$STATE_DIR/build.log" >&2; die "podman build failed (log: $STATE_DIR/build.log)"; }
echo "built in $((SECONDS - build_start)) s"

# ---------------------------------------------------------------- 4. emulator on loopback
WORK="$(mktemp -d "${TMPDIR:-/tmp}/timify-docker-test.XXXXXX")"
EMU_PID=""
cleanup() {
  if [[ -n "$EMU_PID" ]] && kill -0 "$EMU_PID" 2> /dev/null; then
    kill "$EMU_PID" 2> /dev/null || true
    wait "$EMU_PID" 2> /dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# The container runs as the non-root user airbyte: the mounted files must be readable by it.
chmod 755 "$WORK"

log "starting the emulator ($COMPANIES companies, $APPOINTMENTS_PER_COMPANY appointments each)"
"$PY" -c "import timify_emulator" 2> /dev/null \
  || die "$PY cannot import timify_emulator: run \`make setup\` (or pip install -e emulator)"
"$PY" -m timify_emulator --host 127.0.0.1 --port 0 --companies "$COMPANIES" \
  --appointments-per-company "$APPOINTMENTS_PER_COMPANY" --seed 1 \
  > "$WORK/emulator.json" 2> "$WORK/emulator.log" < /dev/null &
EMU_PID=$!
for _ in $(seq 1 100); do
  [[ -s "$WORK/emulator.json" ]] && break
  kill -0 "$EMU_PID" 2> /dev/null || { cat "$WORK/emulator.log" >&2; die "emulator exited"; }
  sleep 0.1
done
[[ -s "$WORK/emulator.json" ]] || die "emulator printed no JSON line within 10 s"

# config.json, invalid_config.json (wrong secret), from the emulator's JSON line.
"$PY" - "$WORK" <<'EOF'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
line = json.loads((work / "emulator.json").read_text().splitlines()[0])
(work / "base_url").write_text(line["base_url"])
# The emulator's recurring series run a couple of weeks past today + 365 days, the default
# horizon of the connector (Lookahead Days): look further ahead so that every appointment the
# emulator holds is in range and the counts can be compared with its truth exactly.
config = dict(line["config"], lookahead_days=400)
(work / "config.json").write_text(json.dumps(config))
(work / "bad_config.json").write_text(json.dumps(dict(config, app_secret="not-the-app-secret")))
print("emulator at", line["base_url"], "| config keys:", ", ".join(sorted(config)))
EOF
BASE_URL="$(cat "$WORK/base_url")"

# run CMD ARGS...: the image's entrypoint with $WORK mounted read-only at /data, stdout to a file.
run() {
  local name="$1"; shift
  local rc=0
  podman run --rm --network host -v "$WORK:/data:ro" "$IMAGE" "$@" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" < /dev/null || rc=$?
  echo "$rc" > "$WORK/$name.rc"
}

# ---------------------------------------------------------------- 5. spec, check, discover
log "spec / check / discover / check with a wrong secret"
run spec spec
run check check --config /data/config.json
run discover discover --config /data/config.json
run bad_check check --config /data/bad_config.json

"$PY" - "$WORK" <<'EOF'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])

def messages(name):
    out = []
    for line in (work / f"{name}.out").read_text().splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg, dict) and "type" in msg:
            out.append(msg)
    return out

def fail(text):
    for name in ("spec", "check", "discover", "bad_check"):
        err = (work / f"{name}.err").read_text().strip()
        if err:
            print(f"--- {name} stderr:\n{err[-2000:]}", file=sys.stderr)
    sys.exit(f"docker_test: FAIL: {text}")

def one(name, kind):
    found = [m for m in messages(name) if m["type"] == kind]
    if not found:
        fail(f"`{name}` printed no {kind} message (rc {(work / f'{name}.rc').read_text().strip()})")
    return found[-1]

spec = one("spec", "SPEC")["spec"]
props = spec.get("connectionSpecification", {}).get("properties", {})
if not {"app_id", "app_secret"} <= set(props):
    fail(f"spec lacks app_id/app_secret: {sorted(props)}")
print(f"spec: connectionSpecification with {len(props)} properties; rc {(work / 'spec.rc').read_text().strip()}")

status = one("check", "CONNECTION_STATUS")["connectionStatus"]
if status["status"] != "SUCCEEDED":
    fail(f"check: {status}")
print("check: SUCCEEDED")

bad = [m for m in messages("bad_check") if m["type"] in ("CONNECTION_STATUS", "TRACE")]
bad_status = next((m["connectionStatus"] for m in bad if m["type"] == "CONNECTION_STATUS"), None)
if not bad_status or bad_status["status"] != "FAILED":
    fail(f"check with a wrong secret did not report FAILED: {bad}")
print(f"check (wrong secret): FAILED -- {bad_status.get('message', '')[:160]}")

config = json.loads((work / "config.json").read_text())
expected = {
    "companies", "appointments", "customers", "customer_fields", "customer_field_categories", "services",
    "resources", "timeshifts",
}
if config.get("enterprise_id"):
    expected |= {"enterprise_customers", "enterprise_customer_fields", "enterprise_customer_field_categories"}
streams = one("discover", "CATALOG")["catalog"]["streams"]
names = {s["name"] for s in streams}
if names != expected:
    fail(f"discover: streams {sorted(names)}, expected {sorted(expected)}")
print(f"discover: {len(streams)} streams: {', '.join(sorted(names))}")

# Configured catalog: every stream, incremental append_dedup where the stream supports it.
configured = []
for s in streams:
    incremental = "incremental" in s["supported_sync_modes"]
    entry = {
        "stream": s,
        "sync_mode": "incremental" if incremental else "full_refresh",
        "destination_sync_mode": "append_dedup" if incremental else "overwrite",
    }
    if s.get("source_defined_primary_key"):
        entry["primary_key"] = s["source_defined_primary_key"]
    if incremental and s.get("default_cursor_field"):
        entry["cursor_field"] = s["default_cursor_field"]
    configured.append(entry)
(work / "catalog.json").write_text(json.dumps({"streams": configured}))
print("incremental streams:", ", ".join(sorted(e["stream"]["name"] for e in configured
                                                if e["sync_mode"] == "incremental")))
EOF

# ---------------------------------------------------------------- 6. read, then read from its state
log "read (every stream)"
read_start=$SECONDS
run read read --config /data/config.json --catalog /data/catalog.json
echo "read took $((SECONDS - read_start)) s"

"$PY" - "$WORK" "$BASE_URL" <<'EOF'
import collections, json, pathlib, sys, urllib.request
work, base_url = pathlib.Path(sys.argv[1]), sys.argv[2]

def fail(text):
    err = (work / "read.err").read_text().strip()
    if err:
        print(f"--- read stderr:\n{err[-3000:]}", file=sys.stderr)
    sys.exit(f"docker_test: FAIL: {text}")

rc = (work / "read.rc").read_text().strip()
records = collections.Counter()
ids = collections.defaultdict(set)
states = collections.defaultdict(list)
errors = []
for line in (work / "read.out").read_text().splitlines():
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    kind = msg.get("type") if isinstance(msg, dict) else None
    if kind == "RECORD":
        rec = msg["record"]
        records[rec["stream"]] += 1
        data = rec["data"]
        ids[rec["stream"]].add((data.get("company_id"), data.get("id")))
    elif kind == "STATE" and msg["state"].get("type") == "STREAM":
        stream_state = msg["state"]["stream"]
        states[stream_state["stream_descriptor"]["name"]].append(msg["state"])
    elif kind == "TRACE" and msg["trace"].get("type") == "ERROR":
        errors.append(msg["trace"]["error"].get("message"))
if rc != "0" or errors:
    fail(f"read exited {rc}; errors: {errors}")

catalog = json.loads((work / "catalog.json").read_text())
problems = []
print(f"{'stream':22} {'records':>8} {'truth':>8} {'unique':>8}")
for entry in catalog["streams"]:
    name = entry["stream"]["name"]
    with urllib.request.urlopen(f"{base_url}/_emulator/truth/{name}?ids=0", timeout=30) as resp:
        truth = json.load(resp)["count"]
    print(f"{name:22} {records[name]:>8} {truth:>8} {len(ids[name]):>8}")
    if records[name] == 0:
        problems.append(f"{name}: no RECORD messages")
    if records[name] != truth:
        problems.append(f"{name}: {records[name]} records, emulator holds {truth}")
for name in ("appointments", "customers"):
    if not states[name]:
        problems.append(f"{name}: no STATE message")
if problems:
    fail("; ".join(problems))
print(f"STATE messages: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(states.items())))
# The last state per stream, as Airbyte would pass it to the next sync.
(work / "state.json").write_text(json.dumps([v[-1] for v in states.values()]))
EOF

log "read again from the final state (incremental)"
run read2 read --config /data/config.json --catalog /data/catalog.json --state /data/state.json
"$PY" - "$WORK" <<'EOF'
import collections, json, pathlib, sys
work = pathlib.Path(sys.argv[1])
rc = (work / "read2.rc").read_text().strip()
counts, states = collections.Counter(), 0
for line in (work / "read2.out").read_text().splitlines():
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("type") == "RECORD":
        counts[msg["record"]["stream"]] += 1
    elif msg.get("type") == "STATE":
        states += 1
    elif msg.get("type") == "TRACE" and msg["trace"].get("type") == "ERROR":
        sys.exit(f"docker_test: FAIL: second read: {msg['trace']['error'].get('message')}")
if rc != "0" or not states:
    print((work / "read2.err").read_text()[-3000:], file=sys.stderr)
    sys.exit(f"docker_test: FAIL: second read exited {rc} with {states} STATE messages")
print("second read: records " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"; {states} STATE messages")
# From the final state, the incremental streams emit only what changed since (plus the lookback
# of the previous sync's duration), far fewer than a full read.
first = {}
for line in (work / "read.out").read_text().splitlines():
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("type") == "RECORD":
        first[msg["record"]["stream"]] = first.get(msg["record"]["stream"], 0) + 1
for name in ("appointments", "customers"):
    if counts[name] * 2 > first.get(name, 0):
        sys.exit(f"docker_test: FAIL: second read emitted {counts[name]} {name} of {first.get(name)}: state not applied")
EOF

# ---------------------------------------------------------------- 7. summary
log "image"
size="$(podman image inspect "$IMAGE" --format '{{.Size}}')"
echo "image $IMAGE: $size bytes ($(numfmt --to=iec-i --suffix=B "$size" 2> /dev/null || echo "$((size / 1048576)) MiB"))"
podman image inspect "$IMAGE" --format 'user {{.Config.User}}  entrypoint {{.Config.Entrypoint}}'
podman run --rm --entrypoint sh "$IMAGE" -c 'echo "AIRBYTE_ENTRYPOINT=$AIRBYTE_ENTRYPOINT uid=$(id -u)"'
echo
echo "docker_test: PASS (spec, check, discover, read, incremental read, wrong-secret check) in $SECONDS s"
