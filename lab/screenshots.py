"""The README's screenshots, taken from a running lab: ``.venv/bin/python -m lab.screenshots``.

Start ``make lab`` in one shell; once the demo service has scaled (a few minutes: its chart then shows the load,
the thresholds, the VM count and the scale events), run this in a second shell. It logs in as the lab's admin
(``var/lab/lab.json``), waits until the service has at least ``--min-events`` scale events, and writes
``docs/overview.png`` and ``docs/service.png`` with Debian's chromium (as the browser tests do). Look at them before
committing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("IXNODE_TEST_CHROMIUM", "/usr/bin/chromium")


def lab_endpoints() -> dict:
    path = Path(os.environ.get("LAB_VAR_DIR", str(ROOT / "var" / "lab"))) / "lab.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: start `make lab` first and wait until it prints its URL")
    return json.loads(path.read_text())


def log_in(page: Page, lab: dict) -> None:
    page.goto(lab["url"] + "/accounts/login/")
    page.fill("#id_username", lab["admin_user"])
    page.fill("#id_password", lab["password"])
    page.click("button[type=submit]")
    page.wait_for_url(lab["url"] + "/")


def wait_for_events(page: Page, lab: dict, *, minimum: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        page.goto(f"{lab['url']}/services/{lab['service']}/")
        page.wait_for_selector("#service-chart[data-drawn='1']")
        events = page.locator("#service-chart line.event").count()
        if events >= minimum or time.monotonic() > deadline:
            return events
        time.sleep(10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-events", type=int, default=3, help="scale events on the chart before capturing")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for them")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    lab = lab_endpoints()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
        context.set_default_timeout(30000)
        page = context.new_page()
        log_in(page, lab)
        events = wait_for_events(page, lab, minimum=args.min_events, timeout=args.timeout)
        page.goto(lab["url"] + "/")
        page.wait_for_selector("#services tbody tr")
        page.screenshot(path=str(args.output_dir / "overview.png"), full_page=True)
        page.goto(f"{lab['url']}/services/{lab['service']}/")
        page.wait_for_selector("#service-chart[data-drawn='1']")
        # The lab's service is minutes old: the last 30 minutes show its cycles, not a sliver at the right edge.
        page.evaluate("document.querySelector('#service-chart').removeAttribute('data-drawn')")
        page.click('.chart-range button[data-hours="0.5"]')
        page.wait_for_selector("#service-chart[data-drawn='1']")
        page.wait_for_selector("#instances #instance-table")  # the panel comes after the page
        page.screenshot(path=str(args.output_dir / "service.png"), full_page=True)
        browser.close()
    print(f"wrote {args.output_dir / 'overview.png'} and {args.output_dir / 'service.png'} "
          f"({events} scale events on the chart)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
