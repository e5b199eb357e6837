"""Run the benchmarks: ``python -m bench [name ...]`` (default: every module with a ``run()``)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import time

import bench


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    names = argv or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    if len(names) > 1:
        # Each benchmark sets Django up its own way (test databases, settings pointed at its own processes): one
        # process each, so one's set-up never leaks into the next.
        failed = 0
        for name in names:
            failed += subprocess.run([sys.executable, "-m", "bench", name], check=False).returncode != 0
        return 1 if failed else 0
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "run", None)
        if run is None:
            continue
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.monotonic()
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - report and go on with the other benchmarks
            failed += 1
            print(f"bench.{name} failed: {exc.__class__.__name__}: {exc}", flush=True)
        print(f"(bench.{name}: {time.monotonic() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
