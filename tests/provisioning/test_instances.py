"""The instances panel against vcsim, the F5 double and a real Prometheus: base VMs (registered targets that are no
ManagedVM), autoscaled and warm VMs with power state, F5 member, target health, age and protection; each system
that does not answer blanks its column only, with a sentence, within the bounded timeout. The service page itself
asks none of them: the panel is a fragment of its own URL that the page loads after itself."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from django.urls import reverse

from autoscaling.models import ManagedVM
from ixnode.integrations.vcenter.client import vcenter_client
from provisioning import instances
from provisioning.instances import service_instances

pytest_plugins = ["tests.fixtures.vcsim", "tests.fixtures.prometheus", "tests.fixtures.f5",
                  "tests.fixtures.scripted_http", "tests.fixtures.config_pages"]
pytestmark = pytest.mark.django_db

METRICS = "# TYPE node_load1 gauge\nnode_load1 0.5\n"


@pytest.fixture
def blackhole():
    """A TCP port that accepts connections and never answers (a hung system): ``.port``, and ``.accepted``, the
    connections it took."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield SimpleNamespace(port=server.getsockname()[1], accepted=accepted)
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def estate(config, vcsim_fresh, settings, prometheus_server, prometheus_url, f5_settings, f5_double,
           scripted_http_server):
    """The service's VMs as each system holds them.

    base-up: vCenter VM DC0_H0_VM0 at 127.0.0.1, a Prometheus target that is up (the scripted exporter), an F5
    member. base-down: a registered target on 127.0.0.2 no VM in vCenter has, down, not in the pool. One
    autoscaled VM cloned in vcsim at 127.0.48.221 (target down, member), one warm VM (powered off, no target).
    """
    for key, value in vcsim_fresh.django_settings().items():
        setattr(settings, key, value)
    scripted_http_server.answer("/metrics", body=METRICS, content_type="text/plain; version=0.0.4")
    exporter_port = int(scripted_http_server.url.rsplit(":", 1)[1])
    job = f"instances-{uuid.uuid4().hex[:8]}"
    targets = [f"127.0.0.1:{exporter_port}", "127.0.0.2:9100", "127.0.48.221:9100"]
    prometheus_server.add_jobs({job: targets}, wait=True)
    config.prometheus_job_name = job
    config.save()

    client = vcenter_client()
    vcsim_fresh.set_guest_ip("DC0_H0_VM0", "127.0.0.1")
    clone = client.vm_clone(source="ubuntu-22.04-golden", name="auto-vm-test-20250101000000", power_on=True)
    vcsim_fresh.set_guest_ip(clone.name, "127.0.48.221")
    autoscaled = ManagedVM.objects.create(config=config, name=clone.name, ip_address="127.0.48.221",
                                          state="in_service", scale_in_protected=True)
    warm = ManagedVM.objects.create(config=config, name="auto-vm-test-20250101000100", ip_address="127.0.48.222",
                                    state="warm")
    f5_double.add_member("auto-vm-test-pool", "127.0.0.1", 80)
    f5_double.add_member("auto-vm-test-pool", "127.0.48.221", 80)
    # Wait until Prometheus has scraped every target once (scrape interval 1 s): the exporter up, the others down.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = [t["health"] for t in prometheus_server.active_targets(job)]
        if len(health) == 3 and "unknown" not in health:
            break
        time.sleep(0.2)
    return {"config": config, "autoscaled": autoscaled, "warm": warm, "exporter_port": exporter_port}


def test_every_vm_with_every_system_column(estate):
    panel = service_instances(config=estate["config"])
    assert panel.notes == []
    rows = {(i.name or i.ip): i for i in panel.instances}
    assert set(rows) == {"DC0_H0_VM0", "127.0.0.2", "auto-vm-test-20250101000000", "auto-vm-test-20250101000100"}
    base = rows["DC0_H0_VM0"]
    assert (base.kind, base.ip, base.power, base.target_health, base.protected) == (
        "base", "127.0.0.1", "poweredOn", "up", None)
    assert base.f5_state in ("up", "unchecked") and base.f5_enabled is True
    unknown = rows["127.0.0.2"]
    assert (unknown.kind, unknown.power, unknown.f5_state, unknown.target_health) == ("base", "", "", "down")
    autoscaled = rows["auto-vm-test-20250101000000"]
    assert (autoscaled.kind, autoscaled.power, autoscaled.target_health, autoscaled.protected) == (
        "autoscaled", "poweredOn", "down", True)
    assert autoscaled.f5_state and autoscaled.age_seconds is not None and autoscaled.can_protect
    warm = rows["auto-vm-test-20250101000100"]
    assert (warm.kind, warm.power, warm.f5_state, warm.target_health, warm.can_protect) == (
        "warm", "", "", "", False)
    assert panel.counts == {"base": 2, "autoscaled": 1, "warm": 1}


def panel_url(service_name: str) -> str:
    return reverse("autoscaling:service-instances", args=[service_name])


def settle_hanging(seconds: float = 5.0) -> None:
    """Wait until reads an earlier test left hanging have ended (a hanging read is not started again)."""
    deadline = time.monotonic() + seconds
    while instances._hanging and time.monotonic() < deadline:
        time.sleep(0.05)
        with instances._hanging_lock:
            for key in [k for k, f in instances._hanging.items() if f.done()]:
                del instances._hanging[key]


def test_the_service_page_loads_the_panel_from_its_fragment(estate, engineer_client):
    page = engineer_client.get(reverse("autoscaling:service", args=["auto-vm-test"])).content.decode()
    placeholder = page.split('<section class="card" id="instances"')[1].split("</section>")[0]
    assert f'data-fragment-url="{panel_url("auto-vm-test")}"' in placeholder
    assert "Loading instances…" in placeholder and f'href="{panel_url("auto-vm-test")}"' in placeholder  # no JS
    assert 'id="instance-table"' not in page and 'data-instance=' not in page

    response = engineer_client.get(panel_url("auto-vm-test"), headers={"X-IXNode-Fragment": "1"})  # the script's ask
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="instances">') and "<html" not in body
    assert 'id="instance-table"' in body
    row = body.split('data-instance="DC0_H0_VM0"')[1].split("</tr>")[0]
    assert "127.0.0.1" in row and "base VMs are never scaled in" in row
    managed = body.split('data-instance="auto-vm-test-20250101000000"')[1].split("</tr>")[0]
    assert 'data-action="unprotect"' in managed and "protected" in managed
    assert 'id="manual-actions"' in body and 'data-action="scale-out"' in body


def test_systems_that_do_not_answer_blank_their_column_only(estate, settings, blackhole):
    settings.IXNODE_INSTANCES_TIMEOUT = 1.0
    settings.IXNODE_VCENTER_PORT = blackhole.port  # accepts, never answers
    settings.IXNODE_F5_HOST = f"127.0.0.1:{blackhole.port}"
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{blackhole.port}"
    started = time.monotonic()
    panel = service_instances(config=estate["config"])
    elapsed = time.monotonic() - started
    assert elapsed < 4.0, elapsed  # the slowest system bounds the page, not the sum of the three
    assert {n.system for n in panel.notes} == {"vcenter", "f5", "prometheus"}
    for note in panel.notes:
        assert "did not answer" in note.text and "Error" not in note.text and "(" not in note.text
    rows = {(i.name or i.ip): i for i in panel.instances}
    # Prometheus is down: base VMs come from the registered targets only (publishing is off here: none), the
    # autoscaled and warm VMs from the database; their columns are unknown, not "absent".
    assert set(rows) == {"auto-vm-test-20250101000000", "auto-vm-test-20250101000100"}
    vm = rows["auto-vm-test-20250101000000"]
    assert (vm.power, vm.f5_state, vm.target_health, vm.protected) == (None, None, None, True)


def test_unconfigured_systems_say_which_setting(config, settings, engineer_client):
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_VCENTER_HOST = ""
    settings.IXNODE_F5_HOST = ""
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    panel = service_instances(config=config)
    notes = {n.system: n for n in panel.notes}
    assert "IXNODE_VCENTER_HOST" in notes["vcenter"].text and not notes["vcenter"].detail
    assert "IXNODE_F5_HOST" in notes["f5"].text
    assert "Prometheus did not answer" in notes["prometheus"].text and "unreachable" in notes["prometheus"].detail
    body = engineer_client.get(panel_url(config.service_name)).content.decode()
    assert 'data-note="prometheus"' in body and "<details><summary>Technical detail</summary>" in body
    assert "No VM known for this service" in body


UNUSABLE_F5 = [  # settings set to something the client cannot use; the reason in English, then in Korean
    pytest.param("https://192.0.2.10", "pw", "IXNODE_F5_HOST is not configured correctly (it starts with a scheme)",
                 "IXNODE_F5_HOST 설정이 올바르지 않습니다(스킴(scheme)으로 시작합니다)", id="scheme"),
    pytest.param("[bad", "pw", "IXNODE_F5_HOST is not configured correctly (InvalidURL: Failed to parse",
                 "IXNODE_F5_HOST 설정이 올바르지 않습니다(InvalidURL: Failed to parse", id="no-url"),
    pytest.param("127.0.0.1:1", "비밀번호", "IXNODE_F5_USER or IXNODE_F5_PASSWORD is not configured correctly",
                 "IXNODE_F5_USER 또는 IXNODE_F5_PASSWORD 설정이 올바르지 않습니다", id="latin-1"),
]


@pytest.mark.parametrize(("host", "password", "english", "korean"), UNUSABLE_F5)
def test_f5_settings_set_but_unusable_say_why(config, settings, engineer_client, host, password, english, korean):
    """Not "not configured" with nothing more: the panel says the settings cannot be used and why, in the reader's
    language (the client's English text kept as the technical detail)."""
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_VCENTER_HOST = ""
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_F5_HOST, settings.IXNODE_F5_USER, settings.IXNODE_F5_PASSWORD = host, "admin", password
    settle_hanging()
    note = {n.system: n for n in service_instances(config=config).notes}["f5"]
    assert "is not configured (IXNODE_F5_HOST" not in note.text
    assert note.text.startswith("The F5 BIG-IP settings cannot be used") and english in note.text, note.text
    assert not note.detail  # the reason is the text already (English reader)

    def f5_note(language: str) -> str:
        body = engineer_client.get(panel_url(config.service_name), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        return body.split('data-note="f5"')[1].split("</div>")[0]

    assert english in f5_note("en") and "Technical detail" not in f5_note("en")
    shown = f5_note("ko")
    assert "F5 BIG-IP 설정을 사용할 수 없어 풀 멤버 상태를 표시하지 않습니다." in shown and korean in shown, shown
    assert english in shown.split("<details>")[1]  # the client's English text, folded away


def test_viewers_see_the_panel_without_actions(estate, operator_client):
    body = operator_client.get(panel_url("auto-vm-test")).content.decode()
    assert 'id="instance-table"' in body and 'data-instance="auto-vm-test-20250101000000"' in body
    assert 'id="manual-actions"' not in body and 'data-action="unprotect"' not in body
    page = operator_client.get(reverse("autoscaling:service", args=["auto-vm-test"])).content.decode()
    assert 'id="dry-run-toggle"' not in page and 'id="enable-config"' not in page


def test_the_service_page_asks_no_system_the_panel_does(estate, settings, blackhole, engineer_client):
    """vCenter, the F5 and Prometheus hang (they accept and never answer): the page does not connect to any of
    them; the panel does, and says in its notes that they did not answer, as a page (200), not an error."""
    settings.IXNODE_INSTANCES_TIMEOUT = 1.0
    settings.IXNODE_VCENTER_PORT = blackhole.port
    settings.IXNODE_F5_HOST = f"127.0.0.1:{blackhole.port}"
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{blackhole.port}"
    settle_hanging()
    page = engineer_client.get(reverse("autoscaling:service", args=["auto-vm-test"]))
    assert page.status_code == 200 and 'data-fragment-url="' in page.content.decode()
    time.sleep(0.3)  # the blackhole's accept loop polls every 0.2 s: a connection would have been taken by now
    assert blackhole.accepted == []

    response = engineer_client.get(panel_url("auto-vm-test"), headers={"X-IXNode-Fragment": "1"})  # the script's ask
    assert response.status_code == 200
    body = response.content.decode()
    for system in ("vcenter", "f5", "prometheus"):
        note = body.split(f'data-note="{system}"')[1].split("</div>")[0]
        assert "did not answer" in note, system
    assert 'data-instance="auto-vm-test-20250101000000"' in body  # the database's VMs, their columns unknown
    assert len(blackhole.accepted) >= 3  # vCenter, the F5 and Prometheus were asked by the panel


def test_a_hanging_system_is_not_asked_again_while_it_hangs(config, settings):
    settings.IXNODE_INSTANCES_TIMEOUT = 0.2
    release = threading.Event()
    calls = []

    def hanging_vcenter():
        calls.append("vcenter")
        release.wait(10)
        return []

    reads = {"vcenter": hanging_vcenter, "f5": lambda: [], "prometheus": lambda: [], "targets": lambda: []}
    try:
        first = service_instances(config=config, reads=reads)
        assert [n.system for n in first.notes] == ["vcenter"] and "within 0.2 s" in first.notes[0].text
        started = time.monotonic()
        second = service_instances(config=config, reads=reads)
        assert time.monotonic() - started < 0.5  # not asked again: answered at once
        assert [n.system for n in second.notes] == ["vcenter"] and calls == ["vcenter"]
    finally:
        release.set()
    settle_hanging()
    third = service_instances(config=config, reads=reads)
    assert third.notes == [] and calls == ["vcenter", "vcenter"]
