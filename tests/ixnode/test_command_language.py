"""The operator commands speak LANGUAGE_CODE (docs/i18n.md): output, CommandError texts and --help in Korean with
``LANGUAGE_CODE=ko``, English by default; machine-readable output stays English."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from tests.fixtures.catalogue import po_entries

ROOT = Path(__file__).resolve().parents[2]
HANGUL = range(0xAC00, 0xD7A4)


def korean(text: str) -> bool:
    return any(ord(c) in HANGUL for c in text)


def write_trace(path: Path, loads: list[float]) -> Path:
    start = datetime(2025, 1, 6, tzinfo=UTC)
    lines = ["timestamp,load"] + [f"{(start + timedelta(minutes=i)).isoformat()},{load}" for i, load in
                                  enumerate(loads)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def replay(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "svc.json"
    config.write_text(json.dumps({"serviceName": "sim-svc", "minVms": 2, "maxVms": 6,
                                  "simulation": {"capacity": 100}}))
    trace = write_trace(tmp_path / "t.csv", ([50] * 30 + [300] * 30) * 2)
    return {"trace": str(trace), "config": str(config), "load_column": "load"}


def run(name: str, *args: object, **kwargs: object) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO(), **kwargs)
    return out.getvalue()


def test_simulate_in_korean_and_english(settings, replay, tmp_path):
    settings.LANGUAGE_CODE = "ko"
    with translation.override("en"):  # whatever the caller has active: the command uses LANGUAGE_CODE
        out = run("simulate", **replay, policy=["step", "step:warm_pool=2", "oracle"], rate_window=60,
                  plot=str(tmp_path / "p.png"))
    for words in ("과부하(분)", "VM-시간", "정지 VM-시간", "스케일아웃", "매개변수:", "쿨다운 300초", "웜 시작 120초",
                  "시뮬레이션했습니다", "그래프를"):
        assert words in out, words
    for english in ("overload min", "parameters:", "warm start", "simulated", "plot written"):
        assert english not in out, english
    assert "step:warm_pool=2" in out  # names and specs are what the operator typed

    settings.LANGUAGE_CODE = "en"
    out = run("simulate", **replay, policy=["step", "step:warm_pool=2"], rate_window=60)
    assert "overload min" in out and "stopped VM-h" in out and "parameters:\n  step: scale-out > 80 % for 1 min" in out
    assert "(warm start 120 s)" in out and not korean(out)


def test_simulate_korean_table_columns_line_up(settings, replay):
    from policies.simulator.report import width

    settings.LANGUAGE_CODE = "ko"
    out = run("simulate", **replay, policy=["step", "oracle"], rate_window=60)
    head, first, second = out.splitlines()[1:4]
    # every row as wide on a terminal as the header (Hangul takes two columns)
    assert width(head.rstrip()) <= width(first) == width(second)
    assert first.index("step") == 0 and second.startswith("oracle")


def test_simulate_json_stays_english(settings, replay):
    settings.LANGUAGE_CODE = "ko"
    (row,) = json.loads(run("simulate", **replay, policy=["step"], rate_window=60, json=True))
    assert row["policy"] == "step" and "overload_minutes" in row
    assert row["parameters"].startswith("scale-out > 80 % for 1 min") and not korean(json.dumps(row))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policy": ["magic"]}, "알 수 없는 정책 'magic'"),
        ({"policy": ["target_tracking:target=high"]}, r"target = 'high'은\(는\) 숫자가 아닙니다"),
        ({"warm_pool": -1}, r"--warm-pool은 0\(끔\) 이상의 VM 수여야 합니다 \(입력값 -1\)"),
        ({"plot_window": "2025-01-06T00:00Z..2025-01-06T00:10Z"}, "--plot-window에는 --plot FILE이 필요합니다"),
        ({"load_column": "nope"}, "'nope' 열이 없습니다"),
        ({"gap": ["2025-01-06T00:00Z"]}, "START..END로 쓰세요"),
    ],
)
def test_simulate_errors_in_korean(settings, replay, kwargs, message):
    settings.LANGUAGE_CODE = "ko"
    with pytest.raises(CommandError, match=message):
        call_command("simulate", **{**replay, **kwargs}, stdout=StringIO())


def test_simulate_config_file_errors_in_korean(settings, replay, tmp_path):
    settings.LANGUAGE_CODE = "ko"
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"monitoring": {"cpuTreshold": 60}}))
    with pytest.raises(CommandError, match=r"알 수 없는 키 monitoring.cpuTreshold \(monitoring.cpuThreshold을"):
        call_command("simulate", **{**replay, "config": str(typo)}, stdout=StringIO())
    empty = tmp_path / "empty.png"
    with pytest.raises(CommandError, match="트레이스의 샘플이 없습니다"):
        call_command("simulate", **replay, plot=str(empty), plot_window="2030-01-01T00:00Z..2030-01-01T01:00Z",
                     stdout=StringIO())


def _manage(*args: str, language: str) -> subprocess.CompletedProcess[str]:
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin", "PYTHONPATH": ".",
           "LANGUAGE_CODE": language, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([sys.executable, "manage.py", *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120, check=False)


def test_manage_py_simulate_with_language_code_ko(replay, tmp_path):
    """What an operator does: LANGUAGE_CODE=ko in the environment."""
    proc = _manage("simulate", "--trace", replay["trace"], "--load-column", "load", "--config", replay["config"],
                   "--policy", "step", "--rate-window", "60", language="ko")
    assert proc.returncode == 0, proc.stderr
    assert "과부하(분)" in proc.stdout and "매개변수:" in proc.stdout and "overload min" not in proc.stdout
    proc = _manage("simulate", "--trace", replay["trace"], "--load-column", "load", "--config", replay["config"],
                   "--warm-pool", "-3", language="ko")
    assert proc.returncode == 1 and "--warm-pool은 0(끔) 이상의 VM 수여야 합니다 (입력값 -3)" in proc.stderr
    proc = _manage("simulate", "--help", language="ko")
    assert "시간 열과 부하 열이 있는 CSV 파일." in proc.stdout and "VM 한 대가 CPU 100 %에서" in proc.stdout


@pytest.mark.django_db
def test_render_artifacts_in_korean(settings, config, tmp_path):
    settings.LANGUAGE_CODE = "ko"
    out = run("render_artifacts", "auto-vm-test", "--output-dir", str(tmp_path / "out"), "--mask-secrets")
    assert "auto-vm-test의 아티팩트 8개를" in out
    with pytest.raises(CommandError,
                       match="에 missing\\(이\\)라는 오토스케일링 설정이 없습니다\\(있는 설정: auto-vm-test\\)"):
        run("render_artifacts", "missing", "--output-dir", str(tmp_path / "out"))
    settings.LANGUAGE_CODE = "en"
    assert "8 artifact(s) of auto-vm-test written to" in run("render_artifacts", "auto-vm-test", "--output-dir",
                                                             str(tmp_path / "out"))


@pytest.mark.django_db
def test_ensure_admin_in_korean(settings, monkeypatch):
    settings.LANGUAGE_CODE = "ko"
    monkeypatch.setenv("IXNODE_ADMIN_USER", "operator")
    monkeypatch.setenv("IXNODE_ADMIN_PASSWORD", "a-long-test-password")
    assert "관리자 사용자 'operator'을(를) 만들었습니다" in run("ensure_admin")
    assert "관리자 사용자 'operator'이(가) 이미 있습니다" in run("ensure_admin")
    monkeypatch.setenv("IXNODE_ADMIN_USER", " ")
    with pytest.raises(CommandError, match="IXNODE_ADMIN_USER가 비어 있습니다"):
        run("ensure_admin")
    settings.LANGUAGE_CODE = "en"
    monkeypatch.setenv("IXNODE_ADMIN_USER", "operator")
    assert run("ensure_admin").strip() == "admin user 'operator' exists"


@pytest.mark.django_db
def test_policy_schedule_warm_pool_trim_pipeline_step_in_korean(settings, config):
    settings.LANGUAGE_CODE = "ko"
    assert "5분마다" in run("policy_schedule", "--interval", "300")
    with pytest.raises(CommandError, match="60의 배수"):
        run("policy_schedule", "--interval", "90")
    with pytest.raises(CommandError, match="nope\\(이\\)라는 오토스케일링 설정이 없습니다"):
        run("warm_pool_trim", "nope")
    assert "오래되었거나 풀 크기 0을(를) 넘는 웜 VM 없음" in run("warm_pool_trim", config.service_name)
    with pytest.raises(CommandError, match="스케일 이벤트 999999이\\(가\\) 없습니다"):
        run("pipeline_step", "--run", "999999", "--step", "clone")
    with pytest.raises(CommandError, match="drift-nope\\(이\\)라는 오토스케일링 설정이 없습니다"):
        run("drift_report", "drift-nope")
    assert "스케줄 ixnode-pipelines-reconcile 준비됨" in run("ensure_schedules", "--no-reconcile")
    settings.LANGUAGE_CODE = "en"
    assert "every 5 min" in run("policy_schedule", "--interval", "300")
    assert "no warm VM(s) stale or above the pool size of 0" in run("warm_pool_trim", config.service_name)
    with pytest.raises(CommandError, match="No scale event 999999"):
        run("pipeline_step", "--run", "999999", "--step", "clone")


def test_drift_findings_shown_in_korean_json_in_english():
    from provisioning.drift import DriftReport, _finding

    report = DriftReport("svc", findings=[_finding("orphan_vm", "svc-1", "not a member of F5 pool %(pool)s",
                                                   pool="pool-a")])
    assert report.as_dict()["findings"] == [{"kind": "orphan_vm", "subject": "svc-1",
                                             "detail": "not a member of F5 pool pool-a"}]
    with translation.override("ko"):
        assert report.findings[0].shown_detail() == "F5 풀 pool-a의 멤버가 아님"


# --- every word the commands and the simulator's report print has its Korean --------------------------------
SOURCES = [
    "ixnode/management/commands/ensure_admin.py", "ixnode/management/commands/serve.py",
    "artifacts/management/commands/render_artifacts.py", "autoscaling/management/commands/warm_pool_trim.py",
    "autoscaling/services/warm_pool.py", "policies/management/commands/policy_schedule.py",
    "policies/management/commands/simulate.py", "policies/management/config_file.py", "policies/simulator/catalog.py",
    "policies/simulator/config.py", "policies/simulator/report.py", "policies/simulator/trace.py",
    "provisioning/drift.py", "provisioning/management/commands/drift_report.py",
    "provisioning/management/commands/ensure_schedules.py", "provisioning/management/commands/pipeline_step.py",
    "provisioning/management/commands/setup_summary.py", "provisioning/runner.py",
    # what manage.py itself says (a database not migrated or unreachable), the checks, a config not found
    "ixnode/management/errors.py", "ixnode/database.py", "ixnode/checks.py", "autoscaling/selectors.py",
]
GETTEXT = {"_", "gettext", "gettext_lazy", "gettext_noop", "N_", "ngettext"}


def marked_strings(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT:
            found += [a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return found


def test_every_marked_string_of_the_commands_has_its_korean():
    korean_of = {e["msgid"]: e.get("msgstr") or e.get("msgstr[0]", "") for e in po_entries()}
    korean_of.update({e["msgid_plural"]: e.get("msgstr[0]", "") for e in po_entries() if "msgid_plural" in e})
    strings = [s for source in SOURCES for s in marked_strings(ROOT / source)]
    assert len(strings) > 150
    missing = [s for s in strings if not korean_of.get(s)]
    assert not missing, missing
