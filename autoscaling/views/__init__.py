"""Server-rendered operator pages of the autoscaling app: overview, service detail, diagnostics."""
