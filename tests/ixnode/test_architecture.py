"""The architecture's contracts (pyproject.toml ``[tool.importlinter]``) hold, and they catch an upward import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
APPS = ["ixnode", "templates_app", "events", "autoscaling", "artifacts", "exporters", "policies", "provisioning",
        "notifications"]
CONTRACT_PACKAGES = ["provisioning/stages", "ixnode/integrations"]  # named by a contract: they must exist


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(REPO / "pyproject.toml")], cwd=cwd,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A stand-in product: every app as an empty package, plus ``files`` (module path → source)."""
    for package in APPS + CONTRACT_PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            if str(parent) != ".":
                (tmp_path / parent / "__init__.py").touch()
        path.write_text(textwrap.dedent(source))
    return tmp_path


def test_the_product_keeps_its_contracts():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("files", "broken"),
    [
        # a lower app importing an upper one
        ({"events/models.py": "from provisioning import runner\n", "provisioning/runner.py": ""},
         "events.models -> provisioning.runner"),
        ({"autoscaling/services/decisions.py": "import policies.services\n", "policies/services.py": ""},
         "autoscaling.services.decisions -> policies.services"),
        # policies and provisioning are independent of each other
        ({"policies/services.py": "import provisioning.runner\n", "provisioning/runner.py": ""},
         "policies.services -> provisioning.runner"),
        # a stage calling an external system around the ports
        ({"provisioning/stages/scale_out.py": "from ixnode.integrations.f5.client import f5_client\n",
          "ixnode/integrations/f5/client.py": ""},
         "provisioning.stages.scale_out -> ixnode.integrations.f5.client"),
        # domain code importing a web module
        ({"autoscaling/services/configs.py": "from autoscaling.views import pages\n",
          "autoscaling/views/pages.py": ""},
         "autoscaling.services.configs -> autoscaling.views.pages"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path, files, broken):
    result = _lint(_tree(tmp_path, files))
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout


def test_web_modules_may_use_any_app(tmp_path):
    files = {"events/views/pages.py": "import autoscaling.models\nimport provisioning.diagnostics\n",
             "autoscaling/models.py": "", "provisioning/diagnostics.py": ""}
    result = _lint(_tree(tmp_path, files))
    assert result.returncode == 0, result.stdout + result.stderr
