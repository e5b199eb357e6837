"""``python manage.py simulate``: replay a load trace through the real decision code."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ixnode.management.base import OperatorCommand
from policies.engine.evaluate import PolicySettings
from policies.management.config_file import config_from_file
from policies.simulator import report
from policies.simulator.catalog import (
    PolicySpecError,
    SimPolicy,
    parameters_text,
    parse_policy,
    policy_names,
    run_policy,
)
from policies.simulator.config import ConfigError, config_from_service, params_with
from policies.simulator.engine import SimConfig, SimResult
from policies.simulator.suite import (
    DEFAULT_POLICIES,
    DEFAULT_SEEDS,
    FAMILIES,
    added_traces,
    available,
    run_suite,
    suite_report,
    suite_traces,
)
from policies.simulator.trace import TraceError, parse_time, read_trace


class Command(OperatorCommand):
    help = gettext_noop(
        "Replay a load trace (CSV with a time and a load column; empty cells are gaps) through the real "
        "decision code on a simulated clock and report overload minutes, VM-hours, scale actions and flaps."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--trace", help=_("CSV file with a time column and a load column."))
        parser.add_argument("--config", help=_("Service name of an autoscaling config, or a JSON file."))
        parser.add_argument(
            "--policy", action="append", metavar="NAME[:KEY=VALUE,...]",
            help=_("Policy to replay, one of %(names)s, optionally with its own settings "
                   "(e.g. target_tracking:target=68,scale_in_target=60, or warm_pool=3 for this run's warm pool); "
                   "repeat to compare several (default: the config's policy, else step). oracle and reactive_ideal "
                   "are references, not product policies.") % {"names": ", ".join(policy_names())},
        )
        parser.add_argument("--suite", action="store_true",
                            help=_("Run the benchmark suite (real traces and seeded synthetic families) instead of "
                                   "one trace; prints every trace × policy and the goal line."))
        parser.add_argument("--policies", metavar="A,B,...",
                            help=_("With --suite: the policies (default %(names)s).")
                            % {"names": ",".join(DEFAULT_POLICIES)})
        parser.add_argument("--seed", type=int, action="append", metavar="N",
                            help=_("With --suite: a synthetic seed (repeatable; default %(seeds)s).")
                            % {"seeds": " ".join(map(str, DEFAULT_SEEDS))})
        parser.add_argument("--traces-dir", help=_("With --suite: the directory of the real traces "
                                                   "(default IXNODE_TRACES_DIR or /work/shared/data/traces)."))
        parser.add_argument("--suite-trace", action="append", default=[], metavar="FILE",
                            help=_("With --suite: add this CSV trace (repeatable), sized like the real traces and "
                                   "reported as its own set, 'added'; its columns are --time-column and "
                                   "--load-column, or the only column besides the time."))
        parser.add_argument("--only-added", action="store_true",
                            help=_("With --suite-trace: run only the added traces, not the built-in ones."))
        parser.add_argument("--families", metavar="A,B,...",
                            help=_("With --suite: only these synthetic families (default all: %(families)s).")
                            % {"families": ",".join(FAMILIES)})
        parser.add_argument("--processes", type=int, default=1,
                            help=_("With --suite: worker processes (default 1)."))
        parser.add_argument("--time-column", default="timestamp",
                            help=_("The trace's time column (default timestamp)."))
        parser.add_argument("--load-column",
                            help=_("The trace's load column (default request_count)."))
        parser.add_argument("--gap", action="append", default=[], metavar="START..END",
                            help=_("Treat samples in this time span as gaps (repeatable), e.g. "
                                   "1995-07-28T13:35-04:00.."))
        parser.add_argument("--capacity", type=float,
                            help=_("Requests per trace interval one VM serves at 100 %% CPU."))
        parser.add_argument("--clone-seconds", type=int)
        parser.add_argument("--warm-pool", type=int, metavar="N",
                            help=_("Warm pool size: powered-off VMs kept on scale-in for reuse (the config's "
                                   "warm_pool_size; 0 = off)."))
        parser.add_argument("--warm-start-seconds", type=int,
                            help=_("A warm-pool VM: power on to in service (s, default 120)."))
        parser.add_argument("--delete-seconds", type=int)
        parser.add_argument("--dispatch-seconds", type=int)
        parser.add_argument("--eval-interval", type=int, help=_("Prometheus rule evaluation interval (s)."))
        parser.add_argument("--rate-window", type=int, help=_("CPU rate window (s), the rules' [5m]."))
        parser.add_argument("--policy-rate-window", type=int,
                            help=_("CPU rate window (s) of the evaluation loop's query (IXNODE_POLICY_RATE_WINDOW, "
                                   "120)."))
        parser.add_argument("--group-wait", type=int)
        parser.add_argument("--group-interval", type=int)
        parser.add_argument("--repeat-interval", type=int, help=_("Alertmanager repeat_interval (s)."))
        parser.add_argument("--policy-interval", type=int, help=_("Evaluation loop interval (s)."))
        parser.add_argument("--initial-vms", type=int)
        parser.add_argument("--target", type=float,
                            help=_("Target utilisation %% (target tracking / predictive)."))
        parser.add_argument("--scale-in-target", type=float,
                            help=_("Scale-in target utilisation %% (hysteresis below the target)."))
        parser.add_argument("--tolerance", type=float)
        parser.add_argument("--stabilisation-seconds", type=int)
        parser.add_argument("--max-change", type=int, help=_("Per-run maximum of VMs added/removed."))
        parser.add_argument("--warmup-seconds", type=int)
        parser.add_argument("--forecast-only", action="store_true")
        parser.add_argument("--plot", help=_("Write load, capacity and VM count to this .png/.svg or .html file."))
        parser.add_argument("--plot-window", metavar="START..END",
                            help=_("Plot only this time span (an error if it holds no sample of the trace)."))
        parser.add_argument("--load-label",
                            help=_("The load axis label of the plot (default: the load column's name)."))
        parser.add_argument("--json", action="store_true", help=_("Print the results as JSON."))
        parser.add_argument("--markdown", action="store_true", help=_("Print the table as Markdown."))

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["only_added"] and not opts["suite_trace"]:
            raise CommandError(_("--only-added needs at least one --suite-trace."))
        if opts["suite_trace"] and not opts["suite"]:
            raise CommandError(_("--suite-trace adds a trace to the suite: give --suite as well (or --trace for "
                                 "one trace)."))
        if opts["suite"]:
            self._suite(opts)
            return
        if not opts["trace"] or not opts["config"]:
            raise CommandError(_("Give --trace and --config (or --suite for the benchmark suite)."))
        opts["load_column"] = opts["load_column"] or "request_count"
        try:
            trace = read_trace(opts["trace"], time_column=opts["time_column"], load_column=opts["load_column"])
            spans = [self._span(text) for text in opts["gap"]]
            if spans:
                trace = trace.with_gaps(spans)
            source = opts["config"]
            if source.endswith(".json") or "/" in source:
                config, settings, simulation = config_from_file(source)
            else:
                config, settings, simulation = config_from_service(source)
            if opts["repeat_interval"]:
                config = replace(config, alert_repeat_interval_seconds=opts["repeat_interval"])
            if opts["warm_pool"] is not None:
                config = replace(config, warm_pool_size=opts["warm_pool"])
            overrides = {
                key: opts[key]
                for key in ("capacity", "clone_seconds", "warm_start_seconds", "delete_seconds", "dispatch_seconds",
                            "eval_interval", "rate_window", "policy_rate_window", "group_wait", "group_interval",
                            "policy_interval", "initial_vms")
            }
            params = params_with(simulation, **overrides)
        except (TraceError, ConfigError) as exc:
            raise CommandError(str(exc)) from exc
        if params.capacity <= 0:
            raise CommandError(_("--capacity must be above 0 requests per interval."))
        if config.warm_pool_size < 0:
            raise CommandError(_("--warm-pool must be 0 (off) or more VMs (got %(size)s).")
                               % {"size": config.warm_pool_size})
        if params.warm_start_seconds < 0:
            raise CommandError(_("--warm-start-seconds must be 0 or more (got %(seconds)s).")
                               % {"seconds": params.warm_start_seconds})

        window = None
        if opts["plot_window"]:
            if not opts["plot"]:
                raise CommandError(_("--plot-window needs --plot FILE."))
            try:
                window = self._span(opts["plot_window"])
            except TraceError as exc:
                raise CommandError(str(exc)) from exc
            if not any(window[0] <= t <= window[1] for t in trace.times):
                raise CommandError(
                    _("--plot-window %(window)s holds no sample of the trace (it runs from %(start)s to %(end)s); "
                      "choose a span inside it.")
                    % {"window": repr(opts["plot_window"]), "start": _iso(trace.start, trace.tz_offset),
                       "end": _iso(trace.end, trace.tz_offset)}
                )
        base = settings or PolicySettings(scale_out_threshold=config.scale_out_cpu_threshold)
        tuned = {k: opts[k] for k in ("target", "tolerance", "stabilisation_seconds", "max_change", "warmup_seconds",
                                         "scale_in_target")
                 if opts[k] is not None}
        if opts["forecast_only"]:
            tuned["forecast_only"] = True
        base = replace(base, scale_out_threshold=config.scale_out_cpu_threshold, **tuned)
        names = opts["policy"] or [str(base.policy_type)]
        try:
            chosen = [parse_policy(spec, base=base) for spec in names]
        except PolicySpecError as exc:
            raise CommandError(str(exc)) from exc
        results = [run_policy(trace, config, params, policy) for policy in chosen]
        if opts["json"]:
            # machine-readable: English keys and parameter lines, whatever LANGUAGE_CODE
            self.stdout.write(json.dumps([{**r.summary(), "parameters": p.describe(config)}
                                          for p, r in zip(chosen, results, strict=True)], indent=2))
        else:
            self.stdout.write(
                _("%(days).1f days of %(trace)s, %(service)s: VMs %(min)s..%(max)s, capacity %(capacity)s "
                  "%(load)s/interval/VM, clone %(clone)s s, delete %(delete)s s, warm pool %(pool)s "
                  "(warm start %(warm_start)s s)")
                % {"days": trace.days, "trace": opts["trace"], "service": config.service_name,
                   "min": config.min_vms, "max": config.max_vms, "capacity": f"{params.capacity:g}",
                   "load": opts["load_column"], "clone": params.clone_seconds, "delete": params.delete_seconds,
                   "pool": config.warm_pool_size, "warm_start": params.warm_start_seconds}
            )
            self.stdout.write(report.table(results, markdown=opts["markdown"]))
            self.stdout.write(self._parameters(chosen, results, config))
            speed = sum(r.wall_seconds for r in results)
            self.stdout.write(_("simulated %(days).1f days in %(seconds).2f s")
                              % {"days": trace.days * len(results), "seconds": speed})
        if opts["plot"]:
            try:
                report.plot(results, opts["plot"], threshold=config.scale_out_cpu_threshold,
                            tz_offset=trace.tz_offset, window=window,
                            load_label=opts["load_label"] or opts["load_column"],
                            title=f"{config.service_name}, {Path(opts['trace']).name}: {', '.join(names)}",
                            words=report.plot_words())
            except report.PlotError as exc:
                raise CommandError(_("Cannot plot %(path)s: %(error)s.") % {"path": opts["plot"], "error": exc}) \
                    from exc
            except (OSError, ValueError) as exc:
                raise CommandError(_("Cannot write the plot %(path)s: %(error)s")
                                   % {"path": opts["plot"], "error": exc}) from exc
            self.stdout.write(_("plot written to %(path)s") % {"path": opts["plot"]})

    @staticmethod
    def _parameters(chosen: list[SimPolicy], results: list[SimResult], config: SimConfig) -> str:
        return _("parameters:") + "\n" + "\n".join(f"  {r.policy}: {parameters_text(p.describe_parts(config))}"
                                                   for p, r in zip(chosen, results, strict=True))

    def _suite(self, opts: dict[str, Any]) -> None:
        notes: list[str] = []
        names = [n.strip() for n in opts["policies"].split(",") if n.strip()] if opts["policies"] else list(
            DEFAULT_POLICIES)
        known = available(names, notes)
        try:
            for spec in known:
                parse_policy(str(spec), presets=True)
        except PolicySpecError as exc:
            raise CommandError(str(exc)) from exc
        if opts["processes"] < 1:
            raise CommandError(_("--processes must be 1 or more."))
        try:
            families = [f.strip() for f in opts["families"].split(",") if f.strip()] if opts["families"] else None
            unknown = [f for f in families or () if f not in FAMILIES]
            if unknown:
                raise CommandError(_("--families: unknown %(unknown)s; choose from %(families)s.")
                                   % {"unknown": ", ".join(unknown), "families": ", ".join(FAMILIES)})
            traces = [] if opts["only_added"] else suite_traces(
                opts["seed"] or DEFAULT_SEEDS, directory=opts["traces_dir"], families=families, notes=notes)
            traces += added_traces(opts["suite_trace"], time_column=opts["time_column"],
                                   load_column=opts["load_column"], notes=notes)
        except TraceError as exc:
            raise CommandError(str(exc)) from exc
        result = run_suite(known, traces, processes=opts["processes"])
        result.notes[:0] = notes
        if opts["json"]:
            self.stdout.write(json.dumps(
                [{"trace": r.trace, "set": r.role, "parameters": r.parameters,
                  "avoidable_overload_minutes": r.avoidable_overload_minutes, **r.result.summary()}
                 for r in result.rows], indent=2))
            return
        self.stdout.write(suite_report(result, markdown=opts["markdown"]))

    @staticmethod
    def _span(text: str) -> tuple[float, float]:
        lo, sep, hi = text.partition("..")
        if not sep:
            raise TraceError(
                _("%(text)s: write START..END (ISO times, e.g. 1995-07-28T13:35-04:00..1995-07-31T23:55-04:00).")
                % {"text": repr(text)}
            )
        try:
            return parse_time(lo).timestamp(), parse_time(hi).timestamp()
        except ValueError as exc:
            raise TraceError(f"{text!r}: {exc}") from exc


def _iso(t: float, tz_offset: float) -> str:
    return datetime.fromtimestamp(t, UTC).astimezone(timezone(timedelta(seconds=tz_offset))).isoformat()
