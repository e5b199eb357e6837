"""Runs inside a private network namespace (``unshare -n``), so the README's commands can use port 8000 as
written without meeting any other server on the machine. Usage: readme_driver.py CLONE BLOCKS_JSON OUT_JSON.

In CLONE it starts ``make run`` on a pseudo-terminal (the operator's first shell), waits for its summary, runs
the README's ``sh`` blocks in order in one plain ``bash`` (the second shell: nothing of the test run's
environment), then sends Ctrl-C to ``make run`` and records its exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fixtures.fresh_clone import plain_env  # noqa: E402
from tests.fixtures.terminal import PtyProcess  # noqa: E402

START_TIMEOUT = 300
BLOCK_TIMEOUT = 180


def main() -> int:
    clone, blocks_file, out_file = map(Path, sys.argv[1:4])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    blocks = json.loads(blocks_file.read_text())
    result: dict = {"blocks": []}
    started = time.monotonic()
    server = PtyProcess(["make", "run"], cwd=clone, env=plain_env(), log=out_file.with_suffix(".make-run.log"))
    try:
        server.expect("Setup checklist:", START_TIMEOUT)
        server.expect("items are off or unreachable", 60)
        result["start_seconds"] = round(time.monotonic() - started, 1)
        result["summary"] = server.output
        result["control_socket"] = (clone / "var" / "gunicorn.ctl").is_socket()
        shell = subprocess.Popen(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-s"], cwd=clone,
                                 env=plain_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        # One shell for every block, as a person types them in a second terminal; a marker after each block
        # tells where its output ends (bash -e stops at the first failing command).
        script = "".join(f"{block}\necho '@@block {i} ok'\n" for i, block in enumerate(blocks))
        began = time.monotonic()
        try:
            output, _ = shell.communicate(script, timeout=BLOCK_TIMEOUT * max(1, len(blocks)))
        except subprocess.TimeoutExpired:
            shell.kill()
            output, _ = shell.communicate()
        result["shell_seconds"] = round(time.monotonic() - began, 1)
        result["shell_status"] = shell.returncode
        result["shell_output"] = output
        server.ctrl_c()
        result["make_run_status"] = server.wait(90)
        result["make_run_tail"] = server.output[-3000:]
    finally:
        server.kill()
    out_file.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
