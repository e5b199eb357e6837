"""The README's commands work as written, in a plain shell, from a fresh clone.

``make run`` runs in one terminal; the README's ``sh`` blocks run in order in a second, plain shell in the same
directory (no SECRET_KEY, no DJANGO_SETTINGS_MODULE, nothing of this test run's environment): ``manage.py``
commands find the secret key ``make run`` keeps in ``var/secret_key`` and the same database, the API answers
the token they create. Then Ctrl-C ends ``make run`` with status 0. All of it runs in a private network
namespace, so ``127.0.0.1:8000`` in the README is this test's server and nobody else's.

``make lab`` and ``make test`` (plain fences in the README) have their own tests: tests/lab/test_lab.py and the
suite itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.fresh_clone import plain_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                       reason="a fresh clone runs on SQLite as documented: covered by the SQLite run of the suite"),
]

DRIVER = Path(__file__).with_name("readme_driver.py")
FENCE = re.compile(r"^```sh\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def readme_blocks(readme: Path) -> list[str]:
    return [block.strip() for block in FENCE.findall(readme.read_text())]


def test_readme_has_shell_blocks():
    blocks = readme_blocks(Path(__file__).resolve().parents[2] / "README.md")
    assert len(blocks) >= 3
    assert any("manage.py drf_create_token" in b for b in blocks)
    assert any("manage.py render_artifacts" in b for b in blocks)
    assert any("manage.py simulate" in b for b in blocks)
    assert not any("<token>" in b for b in blocks), "placeholders cannot run as written: use a shell variable"


def test_readme_commands_run_as_written(fresh_clone, tmp_path):
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.fail("this test needs network namespaces (unshare -n, as root) to run the README's :8000 as written",
                    pytrace=False)
    # The venv first, outside the namespace (pip reaches the package index over the network); make run's own
    # step then finds it up to date, as on a second start.
    venv = subprocess.run(["make", "venv"], cwd=fresh_clone, env=plain_env(), capture_output=True, text=True,
                          timeout=600)
    assert venv.returncode == 0, venv.stdout[-3000:] + venv.stderr[-3000:]
    blocks = readme_blocks(fresh_clone / "README.md")
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    out = tmp_path / "result.json"
    driver = subprocess.run(["unshare", "-n", sys.executable, str(DRIVER), str(fresh_clone),
                             str(tmp_path / "blocks.json"), str(out)], capture_output=True, text=True, timeout=1200)
    assert driver.returncode == 0, driver.stdout + driver.stderr
    result = json.loads(out.read_text())
    output = result["shell_output"]
    assert result["shell_status"] == 0, f"a README command failed:\n{output[-6000:]}"
    for i in range(len(blocks)):
        assert f"@@block {i} ok" in output, output[-6000:]
    assert "ImproperlyConfigured" not in output
    # What the blocks did is visible: a token, the config created, its artifacts, the simulator's table.
    assert '"serviceName":"auto-vm-test"' in output.replace(" ", "")
    assert (fresh_clone / "var" / "artifacts" / "ixnode-auto-vm-test.rules.yml").exists()
    table = [line.split() for line in output.splitlines() if line.startswith(("step ", "recommended "))]
    assert [row[0] for row in table] == ["step", "recommended"], output[-3000:]
    assert all(int(row[3]) > 0 for row in table), table  # the example trace makes both policies scale out
    # make run explained itself, then stopped cleanly on Ctrl-C.
    summary = result["summary"]
    assert "IXNode Autoscaling is running: http://127.0.0.1:8000/" in summary
    assert "IXNODE_WEBHOOK_TOKEN" in summary and "IXNODE_PLG_MODE" in summary
    # The first start generated the admin's password and printed it once; the summary says where.
    assert "created admin user 'admin' with generated password: " in summary
    assert "(password: the one generated just now, printed once above after the migrations" in summary
    assert result["make_run_status"] == 0, result["make_run_tail"]
    assert "Error" not in result["make_run_tail"].split("Stopping")[-1]
    # gunicorn's control socket lives under var/ while it runs (and is gone once it stopped).
    assert result["control_socket"] is True
    assert not (fresh_clone / "var" / "gunicorn.ctl").exists()
