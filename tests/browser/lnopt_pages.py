"""Drive lnopt's LNbits pages in a real browser: Debian's chromium, headless, through Playwright.

Run with the LNbits venv's Python (Playwright is installed there, ``make browser``)::

    .venv-lnbits/bin/python tests/browser/lnopt_pages.py BASE_URL USERNAME PASSWORD_FILE OUT_DIR

It logs in through LNbits' own form, dismisses LNbits' notice, opens the extension, waits for
the channel table, approves the first queued proposal, rolls it back from the history (the dry
run first, then the change), opens the charts and the settings, and writes a screenshot of each
page to OUT_DIR. It prints one JSON object: the page load times (seconds), the screenshots, the
approved proposal's channel, and every error the browser console or the page reported.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000


def main(base_url: str, username: str, password_file: str, out: str) -> None:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    password = Path(password_file).read_text().strip()
    errors: list[str] = []
    failed: list[str] = []  # answers of 400 and above, each as "status METHOD url"
    timings: dict[str, float] = {}
    shots: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="lnopt-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on(
            "console",
            lambda message: (
                errors.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda exc: errors.append(f"page: {exc}"))
        page.on(
            "response",
            lambda response: (
                failed.append(f"{response.status} {response.request.method} {response.url}")
                if response.status >= 400
                else None
            ),
        )

        def shot(name: str) -> None:
            path = out_dir / f"lnopt-{name}.png"
            page.screenshot(path=str(path), full_page=False)
            shots[name] = str(path)

        started = time.monotonic()
        page.goto(base_url + "/")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(password)
        page.locator("button[type=submit]").click()
        page.wait_for_url("**/wallet**")
        timings["login"] = time.monotonic() - started
        understand = page.get_by_role("button", name="I understand")
        if understand.count():
            understand.first.click()

        started = time.monotonic()
        page.goto(base_url + "/lnopt/")
        page.locator(".lnopt-channel-row").first.wait_for()
        timings["channels"] = time.monotonic() - started
        understand = page.get_by_role("button", name="I understand")
        if understand.count() and understand.first.is_visible():
            understand.first.click()
        rows = page.locator(".lnopt-channel-row").count()
        page.locator(".lnopt-channel-row button").first.click()  # the eight parts
        page.locator(".lnopt-parts tbody tr").first.wait_for()
        parts = page.locator(".lnopt-parts").first.locator("tbody tr").count()
        shot("channels")

        started = time.monotonic()
        page.locator("#lnopt-tab-queue").click()
        proposal = page.locator(".lnopt-proposal").first
        proposal.wait_for()
        timings["proposals"] = time.monotonic() - started
        queued_before = page.locator(".lnopt-proposal").count()
        shot("proposals")
        channel = proposal.locator(".text-mono").first.inner_text().strip()
        proposal.locator(".lnopt-approve").click()
        page.wait_for_function(
            "n => document.querySelectorAll('.lnopt-proposal').length < n", arg=queued_before
        )

        started = time.monotonic()
        page.locator("#lnopt-tab-history").click()
        page.locator(".lnopt-rollback").first.wait_for()
        timings["history"] = time.monotonic() - started
        shot("history")
        page.locator(".lnopt-rollback").first.click()
        page.locator(".lnopt-dryrun-line").first.wait_for()
        shot("rollback-dry-run")
        page.locator("#lnopt-confirm-go").click()
        page.locator("#lnopt-confirm").wait_for(state="hidden")
        page.get_by_text("restores #").first.wait_for()

        started = time.monotonic()
        page.locator("#lnopt-tab-charts").click()
        page.locator("#lnopt-balance-chart").wait_for()
        page.wait_for_timeout(500)  # the charts draw without animation, in one frame
        timings["charts"] = time.monotonic() - started
        shot("charts")

        started = time.monotonic()
        page.locator("#lnopt-tab-settings").click()
        page.locator("#lnopt-settings").wait_for()
        timings["settings"] = time.monotonic() - started
        errors_before, failed_before = list(errors), list(failed)
        field = page.locator("input[name=max_fee_ppm]")
        field.fill("-5")
        page.locator("#lnopt-save").click()
        message = page.locator("#lnopt-settings-error")
        message.wait_for()
        refusal = message.inner_text()
        # the refusal is one 400 answer, which the browser reports on its console
        refused = [
            item for item in failed[len(failed_before) :] if "/lnopt/api/v1/settings" in item
        ]
        if len(refused) == 1 and refused[0].startswith("400 PUT"):
            failed = failed_before + [
                item for item in failed[len(failed_before) :] if item not in refused
            ]
            after = [item for item in errors[len(errors_before) :] if "status of 400" not in item]
            errors = errors_before + after
        shot("settings")
        context.close()
    print(
        json.dumps(
            {
                "timings_s": timings,
                "screenshots": shots,
                "rows": rows,
                "parts": parts,
                "approved_channel": channel,
                "settings_refusal": refusal,
                "errors": errors,
                "failed_requests": failed,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
