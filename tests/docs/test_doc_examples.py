"""The examples the docs give in prose (not as ``sh`` blocks, which tests/docs/test_readme_commands.py runs) work as
written: a command a reader copies must not stop at its first key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_nasa_config_of_docs_policies_md_is_a_valid_simulator_config(tmp_path):
    """docs/policies.md reproduces its NASA table with ``--config nasa.json`` and gives the file inline."""
    from policies.management.config_file import config_from_file

    text = (ROOT / "docs" / "policies.md").read_text()
    found = re.search(r"with `nasa\.json` = `(\{.*?\})`", text)
    assert found, "docs/policies.md no longer gives nasa.json inline: update this test"
    path = tmp_path / "nasa.json"
    path.write_text(json.dumps(json.loads(found.group(1))))
    config, policy, simulation = config_from_file(path)
    assert (config.min_vms, config.max_vms, config.scale_out_cpu_threshold) == (2, 10, 80)
    assert policy is not None and policy.target == 65 and simulation == {"capacity": 150}
