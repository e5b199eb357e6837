"""Monitoring agents on a VM, over SSH: Node Exporter and Promtail, installed idempotently, or removed.

Each operation is one POSIX ``sh`` script (rendered here, pure) run on the host through the SSH client.
The scripts only change what differs from the wanted state, and print ``CHANGED: <what>`` for each change,
so running an install twice reports (and does) nothing the second time.

Service management works with and without systemd:

- systemd (``/run/systemd/system`` exists): Debian's ``prometheus-node-exporter`` unit with its ARGS in
  ``/etc/default/prometheus-node-exporter`` when installed from the package; otherwise a unit
  ``ixnode-<agent>.service`` written by us. Units are enabled and (re)started only when something changed.
- no systemd (containers, minimal images, the test sshd): the agent runs detached (``setsid nohup``) with
  a pid file and the arguments it was started with under ``<dir>/run``; it is restarted only when those
  arguments or the binary changed, and started again when its process is gone.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import yaml

NODE_EXPORTER = "node_exporter"
PROMTAIL = "promtail"
DEBIAN_PACKAGE = "prometheus-node-exporter"
DEBIAN_DEFAULTS = "/etc/default/prometheus-node-exporter"
PROMTAIL_PORT = 9080


@dataclass(frozen=True)
class AgentPlan:
    """What to run for one agent on one host."""

    agent: str  # node_exporter | promtail
    base_dir: str  # e.g. /opt/ixnode-exporters
    args: tuple[str, ...]
    source: str = "package"  # package | upload (binary uploaded to <base_dir>/bin/<agent>)
    config_path: str = ""  # promtail: its config file (uploaded before the script runs)

    @property
    def uploaded_binary(self) -> str:
        return f"{self.base_dir}/bin/{self.agent}"


def node_exporter_args(*, listen_host: str, port: int) -> tuple[str, ...]:
    return (f"--web.listen-address={listen_host}:{port}",)


def promtail_config(*, loki_url: str, service: str, host: str, base_dir: str, port: int = PROMTAIL_PORT,
                    listen_host: str = "") -> str:
    """Promtail's YAML: ship /var/log/*.log and the journal-less syslog to Loki, labelled service and host."""
    labels = {"service": service or "unassigned", "host": host}
    config = {
        "server": {"http_listen_address": listen_host or "0.0.0.0", "http_listen_port": port,  # noqa: S104
                   "grpc_listen_port": 0},
        "positions": {"filename": f"{base_dir}/promtail-positions.yaml"},
        "clients": [{"url": f"{loki_url.rstrip('/')}/loki/api/v1/push"}],
        "scrape_configs": [
            {
                "job_name": "varlogs",
                "static_configs": [
                    {"targets": ["localhost"], "labels": {**labels, "job": "varlogs", "__path__": "/var/log/*log"}}
                ],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def promtail_args(*, config_path: str) -> tuple[str, ...]:
    return (f"-config.file={config_path}",)


_PRELUDE = r"""set -eu
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
HAS_SYSTEMD=0
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then HAS_SYSTEMD=1; fi
changed() { echo "CHANGED: $*"; }
put_if_different() {  # put_if_different <path> <content>; returns 0 when it wrote the file
  if [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; then return 1; fi
  printf '%s\n' "$2" | $SUDO tee "$1.ixnode-tmp" >/dev/null && $SUDO mv -f "$1.ixnode-tmp" "$1"
  return 0
}
"""


def install_script(plan: AgentPlan) -> str:
    """The idempotent install script for one agent (pure; tested for its text and by running it)."""
    q = shlex.quote
    name = plan.agent
    args = " ".join(q(a) for a in plan.args)
    unit = f"ixnode-{name.replace('_', '-')}"
    lines = [
        _PRELUDE,
        f"NAME={q(name)}; DIR={q(plan.base_dir)}; ARGS={q(args)}; UNIT={q(unit)}",
        '$SUDO mkdir -p "$DIR/bin" "$DIR/run" "$DIR/log"',
        "RESTART=0",
    ]
    if plan.agent == NODE_EXPORTER and plan.source == "package":
        lines.append(
            f"""BIN=$(command -v {DEBIAN_PACKAGE} || command -v node_exporter || true)
if [ -z "$BIN" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "no {DEBIAN_PACKAGE} binary and no apt-get on this host: use the 'upload' source" >&2; exit 3
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {DEBIAN_PACKAGE} >&2
  BIN=$(command -v {DEBIAN_PACKAGE})
  changed "installed package {DEBIAN_PACKAGE}"; RESTART=1
fi"""
        )
    else:
        lines.append(
            f"""BIN={q(plan.uploaded_binary)}
if [ ! -x "$BIN" ]; then
  BIN=$(command -v "$NAME" || true)
  if [ -z "$BIN" ]; then
    echo "no $NAME binary on this host and none uploaded (set IXNODE_{name.upper()}_BINARY)" >&2; exit 3
  fi
fi
if [ -f "$DIR/run/$NAME.uploaded" ]; then $SUDO rm -f "$DIR/run/$NAME.uploaded"; RESTART=1; fi"""
        )
    if plan.config_path:
        lines.append('if [ -f "$DIR/run/$NAME.config-changed" ]; then $SUDO rm -f "$DIR/run/$NAME.config-changed"; '
                     "RESTART=1; fi")
    lines.append(
        r"""if [ "$HAS_SYSTEMD" = 1 ]; then
  if [ "$BIN" = "$(command -v prometheus-node-exporter 2>/dev/null || true)" ] && [ "$NAME" = node_exporter ]; then
    SERVICE=prometheus-node-exporter
    if put_if_different /etc/default/prometheus-node-exporter "ARGS=\"$ARGS\""; then changed "ARGS"; RESTART=1; fi
  else
    SERVICE="$UNIT"
    UNIT_TEXT="[Unit]
Description=$NAME (installed by IXNode Autoscaling)
After=network-online.target

[Service]
ExecStart=$BIN $ARGS
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target"
    if put_if_different "/etc/systemd/system/$UNIT.service" "$UNIT_TEXT"; then
      $SUDO systemctl daemon-reload; changed "unit $UNIT"; RESTART=1
    fi
  fi
  if ! systemctl is-enabled --quiet "$SERVICE"; then
    $SUDO systemctl enable "$SERVICE" >/dev/null 2>&1; changed "enabled $SERVICE"
  fi
  if ! systemctl is-active --quiet "$SERVICE"; then $SUDO systemctl start "$SERVICE"; changed "started $SERVICE"
  elif [ "$RESTART" = 1 ]; then $SUDO systemctl restart "$SERVICE"; changed "restarted $SERVICE"; fi
  echo "SERVICE: systemd $SERVICE"
else
  PIDFILE="$DIR/run/$NAME.pid"; WANT="$BIN $ARGS"
  PID=$(cat "$PIDFILE" 2>/dev/null || true)
  RUNNING=0
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null \
     && [ "$(cat "$DIR/run/$NAME.args" 2>/dev/null)" = "$WANT" ]; then RUNNING=1; fi
  if [ "$RUNNING" = 1 ] && [ "$RESTART" = 1 ]; then kill "$PID" 2>/dev/null || true; RUNNING=0; sleep 0.5; fi
  if [ "$RUNNING" = 0 ]; then
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill "$PID" 2>/dev/null || true; sleep 0.5; fi
    # An external sh (not eval: a builtin's redirections would leak the session's pipes to the agent),
    # exec'ing setsid/nohup so the pid recorded is the agent's own. ARGS holds pre-quoted words.
    sh -c "exec setsid nohup \"\$0\" $ARGS" "$BIN" </dev/null >>"$DIR/log/$NAME.log" 2>&1 &
    echo $! | $SUDO tee "$PIDFILE" >/dev/null
    printf '%s\n' "$WANT" | $SUDO tee "$DIR/run/$NAME.args" >/dev/null
    changed "started $NAME (pid $!, no systemd)"
  fi
  echo "SERVICE: process $(cat "$PIDFILE")"
fi
"""
    )
    return "\n".join(lines)


def uninstall_script(plan: AgentPlan) -> str:
    """Stop and remove the agent (the package itself stays installed; its service is stopped and disabled)."""
    q = shlex.quote
    unit = f"ixnode-{plan.agent.replace('_', '-')}"
    return "\n".join(
        [
            _PRELUDE,
            f"NAME={q(plan.agent)}; DIR={q(plan.base_dir)}; UNIT={q(unit)}",
            r"""if [ "$HAS_SYSTEMD" = 1 ]; then
  for SERVICE in "$UNIT" $( [ "$NAME" = node_exporter ] && echo prometheus-node-exporter ); do
    if systemctl is-active --quiet "$SERVICE"; then $SUDO systemctl stop "$SERVICE"; changed "stopped $SERVICE"; fi
    if systemctl is-enabled --quiet "$SERVICE" 2>/dev/null; then
      $SUDO systemctl disable "$SERVICE" >/dev/null 2>&1; changed "disabled $SERVICE"
    fi
  done
  if [ -f "/etc/systemd/system/$UNIT.service" ]; then
    $SUDO rm -f "/etc/systemd/system/$UNIT.service"; $SUDO systemctl daemon-reload; changed "removed unit $UNIT"
  fi
fi
PIDFILE="$DIR/run/$NAME.pid"
PID=$(cat "$PIDFILE" 2>/dev/null || true)
if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
  kill "$PID"; i=0; while kill -0 "$PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  kill -9 "$PID" 2>/dev/null || true
  changed "stopped $NAME (pid $PID)"
fi
for F in "$PIDFILE" "$DIR/run/$NAME.args" "$DIR/bin/$NAME"; do
  if [ -e "$F" ]; then $SUDO rm -f "$F"; changed "removed $F"; fi
done
""",
        ]
    )


def changes_in(output: str) -> list[str]:
    """The ``CHANGED:`` lines a script printed."""
    return [line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("CHANGED:")]
