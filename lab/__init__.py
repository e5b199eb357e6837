"""``make lab``: the whole autoscaling loop on one machine, for a newcomer to watch (see docs/lab.md).

Everything around the product is real or a faithful double, on loopback addresses of one /24 (127.0.77.0/24
by default): vcsim (vCenter), Prometheus and Alertmanager into which the product publishes, the F5 BIG-IP
REST double with a small data plane on the VIP, the service's VMs as small HTTP services with node_exporter
metrics and their own sshd, and a load generator. The product itself runs unmodified through ``make run``'s
entry point (``scripts/run.sh``), configured only through its environment, as an operator would.
"""
