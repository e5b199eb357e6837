"""The policies' live paths end to end against the real binaries.

- per-VM utilisation: load-controlled node exporters scraped by a real Prometheus, read by the evaluation loop;
- predictive: the forecast history read with query_range from a Prometheus whose data dir holds two days of
  node_exporter history backfilled by ``promtool tsdb create-blocks-from openmetrics``;
- the seed path's cooldown-end re-check against a real Alertmanager holding a firing alert.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone

from artifacts.targets import target_add
from autoscaling.models import AutoscalingConfig, CooldownState, ManagedVM
from events.choices import Decision, EventStatus, ScaleAction, Trigger
from events.models import ScaleEvent
from ixnode.integrations.prometheus.client import PrometheusClient
from policies import services
from policies.engine import recommended
from policies.models import ScalingPolicy
from tests.fixtures.plg_stack import LoadExporter
from tests.fixtures.prometheus import free_port
from tests.fixtures.prometheus_history import prometheus_process
from tests.fixtures.waiting import wait_for as _wait

pytest_plugins = ["tests.fixtures.prometheus", "tests.fixtures.plg_stack"]

pytestmark = pytest.mark.slow



# --- per-VM utilisation through Prometheus ------------------------------------------------------------------


@pytest.fixture
def scraped_service(config, prometheus_server, load_exporters, prometheus_url, settings):
    """The config's job = two load exporters scraped every second by the session Prometheus."""
    job = f"policies-live-{time.monotonic_ns()}"
    load_exporters[0].set_load(cpu=90, memory=20)
    load_exporters[1].set_load(cpu=50, memory=20)
    prometheus_server.set_targets(job, [e.target for e in load_exporters])
    config.prometheus_job_name = job
    config.save(update_fields=["prometheus_job_name"])
    settings.IXNODE_POLICY_RATE_WINDOW = "5s"
    return config


def test_per_vm_utilisation_read_through_prometheus(scraped_service):
    policy = ScalingPolicy.objects.create(config=scraped_service, policy_type="target_tracking",
                                          target_utilisation=60, stabilisation_seconds=0, dry_run=True)
    client = PrometheusClient()

    def settled():
        vms, error = services._utilisation_read(config=scraped_service, policy=policy, prometheus=client)
        values = sorted(round(vm.utilisation) for vm in vms or [])
        return values if len(values) == 2 and abs(values[0] - 50) <= 3 and abs(values[1] - 90) <= 3 else None

    _wait(settled, what="per-instance CPU 50 % / 90 % from the exporters")
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert 66 <= outcome.metric <= 74  # the average of the two VMs' own utilisation
    assert (outcome.action, outcome.desired) == (ScaleAction.SCALE_OUT, 3)  # ceil(2 × 70 / 60)
    assert (event.decision, event.status, event.trigger, event.current_vm_count) == (
        Decision.ALLOW, EventStatus.DRY_RUN, Trigger.POLICY, 2)
    assert event.triggered_by == "target_tracking policy" and "utilisation" in event.trigger_detail


def test_vms_in_warm_up_are_matched_by_ip_and_ignored(scraped_service):
    ScalingPolicy.objects.create(config=scraped_service, policy_type="target_tracking", target_utilisation=60,
                                 warmup_seconds=600, dry_run=True)
    # both exporters listen on 127.0.0.1: a VM that went into service a minute ago at that IP covers both
    ManagedVM.objects.create(config=scraped_service, name="auto-vm-test-20250101000000", ip_address="127.0.0.1",
                             state="in_service", in_service_at=timezone.now() - timedelta(minutes=1))
    outcome = _wait(lambda: (o := services.policy_evaluate(config=scraped_service)[0]) and "warm-up" in o.reason
                    and o, what="the warm-up verdict")
    assert outcome.action is None and "no VM past its warm-up" in outcome.reason
    assert not ScaleEvent.objects.filter(config=scraped_service).exists()


def test_a_vm_no_longer_scraped_leaves_the_utilisation_at_once(scraped_service, prometheus_server, settings,
                                                               load_exporters):
    """A scaled-in (or crashed and deregistered) VM's rate lingers for the whole window after its target is gone:
    it must not stay in the average the policy acts on (90 % and 50 % read 70 %, but the service now runs at 50 %)."""
    settings.IXNODE_POLICY_RATE_WINDOW = "2m"
    policy = ScalingPolicy.objects.create(config=scraped_service, policy_type="target_tracking",
                                          target_utilisation=60, stabilisation_seconds=0, dry_run=True)
    client = PrometheusClient()

    def read():
        vms, _ = services._utilisation_read(config=scraped_service, policy=policy, prometheus=client)
        return sorted(round(vm.utilisation) for vm in vms or [])

    _wait(lambda: len(read()) == 2, what="both VMs' CPU")
    prometheus_server.set_targets(scraped_service.prometheus_job_name, [load_exporters[1].target])
    values = _wait(lambda: (v := read()) and len(v) == 1 and v, what="the remaining VM's CPU alone", timeout=10)
    assert abs(values[0] - 50) <= 3


class BrokenMemoryExporter(LoadExporter):
    """A VM whose node_exporter reports memory that makes the used share infinite: MemTotal 0 (a container, a
    broken /proc/meminfo) gives −Inf, a MemAvailable of -Inf gives +Inf."""

    def __init__(self, *, broken: str) -> None:
        super().__init__()
        self.broken = broken

    def render(self) -> str:
        text = super().render()
        if self.broken == "total-zero":
            return text.replace(f"node_memory_MemTotal_bytes {self.mem_total}", "node_memory_MemTotal_bytes 0")
        return re.sub(r"^node_memory_MemAvailable_bytes \S+$", "node_memory_MemAvailable_bytes -Inf", text,
                      flags=re.M)


@pytest.mark.parametrize("broken", ["total-zero", "available-minus-inf"])
def test_an_infinite_reading_is_left_out_never_a_decision(config, prometheus_server, prometheus_url, settings, caplog,
                                                           broken):
    """±Inf from Prometheus (a ratio over a zero) is no load: the other VMs decide; all infinite → no action."""
    healthy, bad = LoadExporter(), BrokenMemoryExporter(broken=broken)
    try:
        healthy.set_load(cpu=10, memory=50)
        job = f"policies-inf-{time.monotonic_ns()}"
        prometheus_server.set_targets(job, [healthy.target, bad.target])
        config.prometheus_job_name = job
        config.save(update_fields=["prometheus_job_name"])
        ScalingPolicy.objects.create(config=config, policy_type="target_tracking", metric="memory",
                                     target_utilisation=50, stabilisation_seconds=0, dry_run=True)
        client = PrometheusClient()
        query = services._by_instance(config=config, metric="memory", window="5s")
        _wait(lambda: len(client.query(query).samples) == 2, what="both VMs' memory readings")
        outcome, _ = services.policy_evaluate(config=config)
        assert outcome.metric == pytest.approx(50, abs=1)  # the healthy VM alone, not ±Inf averaged in
        assert outcome.action is None and outcome.desired == 2
        assert "infinite (check node_exporter there); left out" in caplog.text and bad.target in caplog.text

        prometheus_server.set_targets(job, [bad.target])
        _wait(lambda: len(client.query(query).samples) == 1, what="only the broken VM's reading")
        outcome, event = services.policy_evaluate(config=config)
        assert outcome.action is None and event is None
        assert "are infinite" in outcome.reason and bad.target in outcome.reason
    finally:
        healthy.stop()
        bad.stop()


# --- forecast history via query_range from backfilled Prometheus -----------------------------------------------

HISTORY_JOB = "policies-forecast-job"
HISTORY_STEP = 60


def _history_openmetrics(*, now: float, end: float, busy_fraction) -> str:
    instances = ["10.255.60.1:9100", "10.255.60.2:9100"]
    start = (now - 2 * 86400) // HISTORY_STEP * HISTORY_STEP
    lines = ["# TYPE node_cpu_seconds counter"]
    for instance in instances:
        for mode in ("idle", "user"):  # node_exporter's counters of one core: seconds spent idle and busy
            seconds = 5000.0
            t = start
            while t <= end:
                labels = f'job="{HISTORY_JOB}",instance="{instance}",cpu="0",mode="{mode}"'
                lines.append(f"node_cpu_seconds_total{{{labels}}} {seconds:.3f} {t:.0f}")
                busy = busy_fraction(t)
                seconds += HISTORY_STEP * ((1 - busy) if mode == "idle" else busy)
                t += HISTORY_STEP
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


class ForecastPrometheus:
    def __init__(self, url: str, exporters: list[LoadExporter]) -> None:
        self.url, self.exporters = url, exporters


@pytest.fixture
def forecast_prometheus(tmp_path) -> Iterator[ForecastPrometheus]:
    """Two days of history (both VMs 80 % busy each day from 30 min before to 60 min after the current time of
    day, 20 % otherwise) backfilled into the data dir; two live load exporters scraped as the same job."""
    for binary in ("prometheus", "promtool"):
        if shutil.which(binary) is None:
            pytest.fail(f"'{binary}' is not installed: run scripts/install-test-deps.sh", pytrace=False)
    now = time.time()
    day_offset = now % 86400

    def busy(t: float) -> float:
        delta = (t % 86400 - day_offset + 43200) % 86400 - 43200  # seconds from now's time of day, ±12 h
        return 0.8 if -1800 <= delta <= 3600 else 0.2

    history = tmp_path / "history.om"
    history.write_text(_history_openmetrics(now=now, end=now - 900, busy_fraction=busy))
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(history), str(tmp_path / "data")],
                   check=True, capture_output=True, cwd=tmp_path)
    exporters = [LoadExporter(), LoadExporter()]
    for exporter in exporters:
        exporter.set_load(cpu=30, memory=20)
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": HISTORY_JOB, "static_configs": [{"targets": [e.target for e in exporters]}]}],
    }
    try:
        with prometheus_process(tmp_path, config) as url:
            yield ForecastPrometheus(url, exporters)
    finally:
        for exporter in exporters:
            exporter.stop()


def test_predictive_forecast_history_from_prometheus_query_range(config, forecast_prometheus, settings):
    settings.IXNODE_PROMETHEUS_URL = forecast_prometheus.url
    settings.IXNODE_POLICY_RATE_WINDOW = "5s"
    config.prometheus_job_name = HISTORY_JOB
    config.save(update_fields=["prometheus_job_name"])
    policy = ScalingPolicy.objects.create(config=config, policy_type="predictive", target_utilisation=60,
                                          forecast_history_days=2, clone_lead_seconds=300, dry_run=True)
    client = PrometheusClient()
    now = timezone.now()
    peak = services._forecast_peak_read(config=config, policy=policy, prometheus=client, now=now)
    # yesterday and the day before, at this time of day, both VMs ran at 80 %: 160 VM-% (trend ≈ 1)
    assert peak is not None and 140 <= peak <= 180, peak

    def live():
        vms, _ = services._utilisation_read(config=config, policy=policy, prometheus=client)
        return vms and len(vms) == 2 and all(abs(vm.utilisation - 30) <= 3 for vm in vms)

    _wait(live, what="live 30 % from the exporters")
    outcome, event = services.policy_evaluate(config=config)
    # measured 30 % on 2 VMs alone would keep the minimum of 2; the forecast floor ceil(160 / 60) = 3 scales out
    assert outcome.forecast_desired == 3 and outcome.trigger == "predictive"
    assert (event.action, event.decision, event.status, event.trigger) == (
        ScaleAction.SCALE_OUT, Decision.ALLOW, EventStatus.DRY_RUN, Trigger.POLICY)
    assert "forecast peak" in event.trigger_detail

    # Six hours on, outside the busy hours, the history says 2 × 20 % = 40 VM-%: a floor of the minimum only.
    far = now + timedelta(hours=6)
    quiet = services._forecast_peak_read(config=config, policy=policy, prometheus=client, now=far)
    assert quiet is not None and quiet < 60


# --- cooldown-end re-check against a real Alertmanager --------------------------------------------------------


def _post_alert(url: str, labels: dict[str, str]) -> None:
    starts = datetime.now(UTC) - timedelta(minutes=10)
    response = requests.post(f"{url}/api/v2/alerts", json=[{
        "labels": labels, "annotations": {"summary": "CPU above 80 %"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }], timeout=5)
    assert response.status_code == 200, response.text


def _scaled_out_past_the_cooldown(config) -> None:
    """A scale-out run that finished just over a cooldown ago: the cooldown-end re-check's moment."""
    finished = timezone.now() - timedelta(seconds=config.cooldown_seconds + 5)
    ScaleEvent.objects.create(config=config, service_name=config.service_name, action=ScaleAction.SCALE_OUT,
                              decision=Decision.ALLOW, status=EventStatus.SUCCEEDED, requested_count=1,
                              finished_at=finished)
    CooldownState.objects.update_or_create(config=config, defaults={"last_scale_out_at": finished})


def test_cooldown_end_recheck_acts_on_a_still_firing_alert(config, plg_stack, prometheus_server, settings):
    settings.IXNODE_PROMETHEUS_URL = prometheus_server.url
    config.prometheus_job_name = prometheus_server.job_with_count(2)
    config.save(update_fields=["prometheus_job_name"])
    # Publishing is on: the count is acted on only when it matches the service's registered targets.
    for target in prometheus_server.active_targets(config.prometheus_job_name):
        target_add(config=config, target=target["labels"]["instance"])
    ScalingPolicy.objects.create(config=config, policy_type="step", recheck_alert_at_cooldown_end=True)
    _scaled_out_past_the_cooldown(config)

    # no alert firing: the re-check asks Alertmanager and does nothing
    assert services.alert_recheck(config=config) is None
    ScalingPolicy.objects.filter(config=config).update(last_alert_recheck_at=None)

    _post_alert(plg_stack.alertmanager_url, {"alertname": "AutoVmTestHighCpu", "service": config.service_name,
                                             "autoscale": "scale-out", "severity": "warning"})
    _post_alert(plg_stack.alertmanager_url, {"alertname": "OtherHighCpu", "service": "another-service",
                                             "autoscale": "scale-out"})
    event = services.alert_recheck(config=AutoscalingConfig.objects.get(pk=config.pk))
    assert event is not None
    assert (event.decision, event.trigger, event.triggered_by, event.alert_name) == (
        Decision.ALLOW, Trigger.ALERT, "re-check at cooldown end", "AutoVmTestHighCpu")
    assert len(event.alert_fingerprint) == 16 and event.status == EventStatus.QUEUED
    # once per cooldown end: the next evaluation does not act again on the same alert
    assert services.alert_recheck(config=AutoscalingConfig.objects.get(pk=config.pk)) is None


def test_recheck_reports_an_unreachable_alertmanager(config, prometheus_server, settings, caplog):
    settings.IXNODE_ALERTMANAGER_URL = f"http://127.0.0.1:{free_port()}"
    config.prometheus_job_name = prometheus_server.job_with_count(2)
    config.save(update_fields=["prometheus_job_name"])
    ScalingPolicy.objects.create(config=config, policy_type="step")
    _scaled_out_past_the_cooldown(config)
    assert services.alert_recheck(config=config) is None
    assert "IXNODE_ALERTMANAGER_URL" in caplog.text and ScaleEvent.objects.count() == 1  # only the finished run



# --- the recommended policy: the rules' window and the freshest reading -------------------------------------


def _recommended(config, settings, load_exporters, *, cpu: float, memory: float = 20, **fields
                 ) -> tuple[ScalingPolicy, PrometheusClient]:
    """The recommended policy (dry run) on the scraped service, the rules' window 40 s and the freshest reading
    over 3 s, both VMs set to ``cpu`` / ``memory`` %."""
    settings.IXNODE_PROMETHEUS_RATE_WINDOW = "40s"
    settings.IXNODE_POLICY_FRESH_WINDOW = "3s"
    policy = ScalingPolicy.objects.create(config=config, policy_type="recommended", dry_run=True, **fields)
    for exporter in load_exporters:
        exporter.set_load(cpu=cpu, memory=memory)
    return policy, PrometheusClient()


def _readings(config, policy, client) -> tuple[list[float], list[float]]:
    window, _ = services._utilisation_read(config=config, policy=policy, prometheus=client)
    fresh, _ = services._utilisation_read(config=config, policy=policy, prometheus=client, fresh=True)
    return sorted(vm.utilisation for vm in window or []), sorted(vm.utilisation for vm in fresh or [])


def _wait_quiet(config, policy, client) -> None:
    """Until both VMs read below 25 % over the rules' window and in the fresh reading (the exporters at 20 %)."""

    def quiet():
        window, fresh = _readings(config, policy, client)
        return len(window) == len(fresh) == 2 and max(window) < 25 and max(fresh) < 25

    _wait(quiet, what="both VMs at 20 % over the rules' window and in the fresh reading", timeout=90)


def test_recommended_scales_out_on_a_sustained_load_but_not_on_a_spike_that_has_ended(scraped_service, settings,
                                                                                     load_exporters):
    """Against the real Prometheus: the rules' window (here 40 s) and irate of the last two scrapes. While both
    are above the threshold the loop scales out to the target; once the load has dropped, the window still holds
    the spike but the fresh reading does not, and nothing scales out."""
    policy, client = _recommended(scraped_service, settings, load_exporters, cpu=95)

    def hot():
        window, fresh = _readings(scraped_service, policy, client)
        return len(window) == len(fresh) == 2 and min(window) > 85 and min(fresh) > 90

    started = time.monotonic()
    _wait(hot, what="both VMs at 95 % over the rules' window and in the fresh reading", timeout=60)
    # the loop's memory: the load was already above the trigger for the policy's confirmation time
    before = time.time() - recommended.DEFAULT_CONFIRM_SECONDS - 1
    policy.recommendations = [[before, 190]]
    policy.save(update_fields=["recommendations"])
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert (outcome.action, outcome.desired) == (ScaleAction.SCALE_OUT, 3), outcome.reason  # ceil(2 × 9x / 70)
    assert (event.decision, event.status, event.trigger) == (Decision.ALLOW, EventStatus.DRY_RUN, Trigger.POLICY)
    assert event.triggered_by == "recommended policy" and "above the scale-out trigger" in event.trigger_detail

    # the job is new to Prometheus: its 40 s window must be full of the 95 % load before the load drops
    time.sleep(max(0.0, 45 - (time.monotonic() - started)))
    for exporter in load_exporters:
        exporter.set_load(cpu=20, memory=20)

    def ended():
        window, fresh = _readings(scraped_service, policy, client)
        return len(window) == len(fresh) == 2 and min(window) > 80 and max(fresh) < 40

    _wait(ended, what="the fresh reading down while the 40 s window still holds the spike", timeout=30)
    policy.recommendations = [[before, 190]]
    policy.save(update_fields=["recommendations"])
    outcome, _ = services.policy_evaluate(config=scraped_service)
    assert outcome.action is None and outcome.desired == 2, outcome.reason
    assert outcome.metric is not None and outcome.metric > 80  # the window still holds it; the decision did not
    # the spike stays in the memory: no scale-in below what it needs either
    assert "inside the band" in outcome.reason


def test_recommended_records_the_fresh_demand_and_holds_a_recurring_spike_against_the_scale_in(
        scraped_service, settings, load_exporters):
    """Against the real Prometheus: each evaluation records the demand of the rules' window and of the freshest
    reading (VMs × irate of the last two scrapes). Two spikes recorded in the loop's memory (older than the
    scale-in's hour, inside the two hours a spike is remembered) keep the capacity that carries them; with one,
    the quiet load scales in."""
    scraped_service.min_vms = 1
    scraped_service.save(update_fields=["min_vms"])
    # the band's recurring-spike rule: the step guard (on by default) would keep the seed's 2 VMs, a fresh shadow's
    policy, client = _recommended(scraped_service, settings, load_exporters, cpu=20, step_guard=False)

    _wait_quiet(scraped_service, policy, client)
    now = time.time()
    spike = [now - 100 * 60, 60, 180]  # 2 VMs at 90 % in the fresh reading, averaged away by the window
    later = [now - 50 * 60, 60, 180]
    policy.recommendations = [spike, later]
    policy.save(update_fields=["recommendations"])
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert outcome.action is None and outcome.desired == 2, outcome.reason  # ceil(180 / 100): 2 carry it
    assert "recurring spike of 180 VM-%" in outcome.reason
    policy.refresh_from_db()
    at, window_demand, fresh_demand = policy.recommendations[-1]
    assert at >= now - 5 and 30 <= window_demand <= 50 and 30 <= fresh_demand <= 50  # 2 VMs × ~20 %

    policy.recommendations = [later]  # one spike is chance: the quiet load needs 1 VM
    policy.save(update_fields=["recommendations"])
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert (outcome.action, outcome.desired) == (ScaleAction.SCALE_IN, 1), outcome.reason
    assert (event.decision, event.status) == (Decision.ALLOW, EventStatus.DRY_RUN)


@pytest.mark.parametrize(("load", "steady", "smooth_says", "noise", "noisy_says", "noisy_does_not_say"), [
    # both VMs at 73 %, 7 points below the threshold: smooth, the least margin (trigger 75 %) and no scale-out;
    # ± 20 VM-% of noise, the full margin (trigger 70 %) and a scale-out
    pytest.param(73, (71, 74.5), "scale-out margin 5 points", 20, "scale-out margin 10 points", None,
                 id="margin-from-the-noise"),
    # both VMs at 76 %, above the trigger the least margin sets (75 %) but below the threshold: smooth, no reading
    # would overload 2 VMs at the level expected when a clone would serve, the margin does not pay and nothing is
    # bought; ± 12 VM-% of noise, half of the readings would: the margin stays and it scales out
    pytest.param(76, (75.5, 78), "no scale-out margin: 0% of the fresh readings", 12, None, "no scale-out margin",
                 id="margin-only-where-it-pays"),
])
def test_recommended_margin_from_the_fresh_demand_in_the_loops_memory(scraped_service, settings, load_exporters,
                                                                      load, steady, smooth_says, noise, noisy_says,
                                                                      noisy_does_not_say):
    """Against the real Prometheus: the margin comes from the noise of the fresh demand the loop recorded over the
    last hour (the policy row's memory), and is used only where it pays — an hour of smooth fresh demand, then one
    of ± ``noise`` VM-% around the same level."""
    policy, client = _recommended(scraped_service, settings, load_exporters, cpu=load)
    low, high = steady

    def at_load():
        window, fresh = _readings(scraped_service, policy, client)
        return len(window) == len(fresh) == 2 and all(low <= v <= high for v in window + fresh)

    _wait(at_load, what=f"both VMs at {load} % over the rules' window and in the fresh reading", timeout=90)
    demand = 2 * load
    now = time.time()
    policy.recommendations = [[now - m * 60, demand, demand] for m in range(60, 0, -1)]
    policy.save(update_fields=["recommendations"])
    outcome, _ = services.policy_evaluate(config=scraped_service)
    assert outcome.action is None and outcome.desired == 2, outcome.reason
    assert smooth_says in outcome.reason

    _wait(at_load, what=f"both VMs still at {load} %", timeout=30)
    now = time.time()
    policy.recommendations = [[now - m * 60, demand, demand + noise if m % 2 else demand - noise]
                              for m in range(60, 0, -1)]
    policy.save(update_fields=["recommendations"])
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert (outcome.action, outcome.desired) == (ScaleAction.SCALE_OUT, 3), outcome.reason  # ceil(2 × 7x / 70)
    if noisy_says:
        assert noisy_says in outcome.reason
    if noisy_does_not_say:
        assert noisy_does_not_say not in outcome.reason
    assert (event.decision, event.status) == (Decision.ALLOW, EventStatus.DRY_RUN)
    policy.refresh_from_db()
    assert len(policy.recommendations) == 61 and len(policy.recommendations[-1]) == 3


def test_recommended_seed_rule_waits_for_memory_read_from_prometheus(scraped_service, settings, load_exporters):
    """Against the real Prometheus: the option that waits for the seed's scale-in rule reads memory the way the loop
    reads the policy's CPU (per instance, the rules' window) and records it with each evaluation. CPU at 10 % but
    memory at 60 %: the seed's alert (CPU < 30 % and memory < 30 %) would not fire, the VMs stay; memory down to
    20 %, the rule holds over the recorded 5 minutes and the scale-in goes."""
    scraped_service.min_vms = 1
    scraped_service.save(update_fields=["min_vms"])
    assert (scraped_service.scale_in_cpu_threshold, scraped_service.scale_in_memory_threshold,
            scraped_service.scale_in_duration_minutes) == (30, 30, 5)
    # the option's own rule: the step guard (on by default) would keep the seed's 2 VMs, a fresh shadow's
    policy, client = _recommended(scraped_service, settings, load_exporters, cpu=10, memory=60,
                                  scale_in_on_seed_rule=True, step_guard=False)

    def memory_of_both():
        vms, _ = services._utilisation_read(config=scraped_service, policy=policy, prometheus=client,
                                            metric="memory")
        return sorted(round(vm.utilisation) for vm in vms or [])

    def settled(low: float, high: float):
        window, fresh = _readings(scraped_service, policy, client)
        memory = memory_of_both()
        return (len(window) == len(fresh) == len(memory) == 2 and max(window + fresh) < 15
                and all(low <= m <= high for m in memory))

    _wait(lambda: settled(57, 63), what="both VMs at 10 % CPU and 60 % memory", timeout=90)
    # the last 10 minutes in the loop's memory: CPU and memory low (as if memory had just risen)
    now = time.time()
    policy.recommendations = [[now - m * 60, 20, 20, 20] for m in range(10, 0, -1)]
    policy.save(update_fields=["recommendations"])
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert outcome.action is None and outcome.desired == 2 and event is None, outcome.reason
    assert "waits for the seed's scale-in rule (CPU below 30% and memory below 30% for 5 min)" in outcome.reason
    policy.refresh_from_db()
    at, window_demand, fresh_demand, memory_demand = policy.recommendations[-1]
    assert at >= now - 5 and window_demand <= 30 and fresh_demand <= 30 and 114 <= memory_demand <= 126  # 2 × 60 %

    for exporter in load_exporters:
        exporter.set_load(cpu=10, memory=20)
    _wait(lambda: settled(17, 23), what="both VMs at 20 % memory", timeout=30)
    now = time.time()
    policy.recommendations = [[now - m * 60, 20, 20, 40] for m in range(10, 0, -1)]
    policy.save(update_fields=["recommendations"])
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert (outcome.action, outcome.desired) == (ScaleAction.SCALE_IN, 1), outcome.reason
    assert (event.decision, event.status) == (Decision.ALLOW, EventStatus.DRY_RUN)
    policy.refresh_from_db()
    assert 34 <= policy.recommendations[-1][3] <= 46  # 2 VMs × 20 %


def test_recommended_step_guard_kept_in_the_policy_row_and_holding_the_seeds_count(scraped_service, settings,
                                                                                   load_exporters):
    """Against the real Prometheus: the step guard replays the seed beside the policy from the loop's own readings
    and keeps its state in the policy row. A quiet load the band would scale in is held at the seed's count while
    the service has no overload to spare against the seed; with overload to spare (the seed was overloaded 20
    minutes more), the scale-in goes ahead."""
    scraped_service.min_vms = 1
    scraped_service.save(update_fields=["min_vms"])
    policy, client = _recommended(scraped_service, settings, load_exporters, cpu=20, step_guard=True)

    _wait_quiet(scraped_service, policy, client)
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert outcome.action is None and outcome.desired == 2, outcome.reason
    assert "step guard: kept at the seed's 2 VMs" in outcome.reason and event is None
    policy.refresh_from_db()
    state = policy.guard_state
    assert state["serving"] == 2 and state["current"] == 2 and abs(state["at"] - time.time()) < 10
    assert len(state["recent"]) == 1 and 30 <= state["recent"][0][1] <= 50  # 2 VMs × ~20 %, the fresh reading

    policy.guard_state = {**state, "at": time.time() - 60, "shadow_over": 1200.0, "own_over": 0.0}
    policy.save(update_fields=["guard_state"])
    outcome, event = services.policy_evaluate(config=scraped_service)
    assert (outcome.action, outcome.desired) == (ScaleAction.SCALE_IN, 1), outcome.reason
    assert (event.decision, event.status) == (Decision.ALLOW, EventStatus.DRY_RUN)
    assert "step guard" not in outcome.reason
    policy.refresh_from_db()
    assert policy.guard_state["shadow_vm"] >= 2 * 50  # the minute just ended at the seed's 2 VMs, counted
