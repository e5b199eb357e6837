"""Scale-out and scale-in pipelines: named, idempotent stages run in order, rolled back in reverse on failure."""
