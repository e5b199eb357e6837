"""The port boundary, as a test: the stages reach external systems only through ``provisioning.ports``, and product
code outside an integration knows the integration by its interface and builds it by its one factory.

The import-linter contract ``stages-through-ports`` (pyproject.toml) keeps the stages from importing an integration;
mypy checks each client against its Protocol (the factories return the Protocol). What neither can see is checked
here on the source: who reads the run's clients, and which names are taken from a ``client`` module.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APPS = ["ixnode", "templates_app", "events", "autoscaling", "artifacts", "exporters", "policies", "provisioning",
        "notifications"]
INTEGRATIONS = REPO / "ixnode" / "integrations"
#: The only product module that calls the run's clients (``ctx.clients.vcenter....``).
PORTS = "provisioning/ports.py"
#: Modules that hold the run's clients without calling them: the context builds them, the runner closes them.
CLIENT_HOLDERS = {"provisioning/stages/base.py", "provisioning/runner.py"}


def product_modules() -> list[Path]:
    return sorted(
        path for app in APPS for path in (REPO / app).rglob("*.py") if "migrations" not in path.parts
    )


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def client_uses(source: str) -> list[tuple[int, str]]:
    """Where ``source`` reads ``.clients`` (line, expression), and whether a client is called through it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "clients":
            found.append((node.lineno, ast.unparse(node)))
    return found


def client_calls(source: str) -> list[tuple[int, str]]:
    """Where ``source`` uses a run's client: ``<x>.clients.<system>``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "clients":
            found.append((node.lineno, ast.unparse(node)))
    return found


def concrete_imports(source: str) -> list[tuple[int, str]]:
    """Names taken from an integration's ``client`` module other than its factory ``<system>_client`` (and any
    ``import ...client`` of the module itself)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[:2] == ["ixnode", "integrations"] and len(parts) == 4 and parts[3] == "client":
                system = parts[2]
                for alias in node.names:
                    if alias.name != f"{system}_client":
                        found.append((node.lineno, f"from {node.module} import {alias.name}"))
            elif parts[:2] == ["ixnode", "integrations"] and len(parts) == 3:
                found += [(node.lineno, f"from {node.module} import {alias.name}") for alias in node.names
                          if alias.name == "client"]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["ixnode", "integrations"] and parts[-1] == "client":
                    found.append((node.lineno, f"import {alias.name}"))
    return found


# ---- the product keeps the boundary -------------------------------------------------------------------------


def test_only_the_ports_call_the_runs_clients():
    offenders = [
        f"{relative(path)}:{line}: {expr}"
        for path in product_modules()
        if relative(path) != PORTS
        for line, expr in client_calls(path.read_text())
        if not (relative(path) in CLIENT_HOLDERS and expr.endswith(".clients.close"))
    ]
    assert offenders == [], "call external systems through provisioning/ports.py:\n" + "\n".join(offenders)


def test_no_stage_touches_the_runs_clients():
    stages = sorted((REPO / "provisioning" / "stages").rglob("*.py"))
    assert len(stages) >= 3
    offenders = [
        f"{relative(path)}:{line}: {expr}"
        for path in stages
        if relative(path) not in CLIENT_HOLDERS
        for line, expr in client_uses(path.read_text())
    ]
    assert offenders == [], "a stage goes through provisioning.ports, never ctx.clients:\n" + "\n".join(offenders)


def test_product_code_takes_only_the_factory_from_a_client_module():
    """Outside ``ixnode/integrations`` (whose modules may share helpers, e.g. the PLG host's SSH key check)."""
    offenders = [
        f"{relative(path)}:{line}: {statement}"
        for path in product_modules()
        if not relative(path).startswith("ixnode/integrations/")
        for line, statement in concrete_imports(path.read_text())
    ]
    assert offenders == [], (
        "depend on ixnode.integrations.<system>.interface; build the client with <system>_client():\n"
        + "\n".join(offenders)
    )


@pytest.mark.parametrize("client", sorted(INTEGRATIONS.glob("*/client.py")), ids=lambda path: path.parent.name)
def test_every_integration_has_an_interface_and_one_factory_returning_it(client):
    system = client.parent.name
    interface = ast.parse((client.parent / "interface.py").read_text())
    protocols = {
        node.name for node in interface.body
        if isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "Protocol" for base in node.bases)
    }
    assert protocols, f"ixnode/integrations/{system}/interface.py declares no typing.Protocol"
    factories = [
        node for node in ast.parse(client.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name == f"{system}_client"
    ]
    assert len(factories) == 1, f"ixnode/integrations/{system}/client.py must define {system}_client()"
    returns = ast.unparse(factories[0].returns) if factories[0].returns else ""
    assert returns.removesuffix(" | None") in protocols, f"{system}_client() must return its Protocol, not {returns!r}"


# ---- and the checks catch a breach ---------------------------------------------------------------------------


def test_the_checks_catch_a_stage_calling_a_client_and_a_concrete_import():
    stage = textwrap.dedent("""
        from ixnode.integrations.f5.client import F5Client, f5_client
        import ixnode.integrations.vcenter.client
        from ixnode.integrations.vcenter import client

        def run(ctx):
            return ctx.clients.f5.add_member(pool="p", address="a", port=1)
    """)
    assert client_calls(stage) == [(7, "ctx.clients.f5")]
    assert [line for line, _ in client_uses(stage)] == [7]
    assert concrete_imports(stage) == [
        (2, "from ixnode.integrations.f5.client import F5Client"),
        (3, "import ixnode.integrations.vcenter.client"),
        (4, "from ixnode.integrations.vcenter import client"),
    ]
