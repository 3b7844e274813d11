"""Fixtures for the real-browser tests: Debian's chromium driven by Playwright.

The tests need /usr/bin/chromium and a built site (``make book``). Where either is missing
they are skipped with the reason, unless REQUIRE_BROWSER=1 (as in CI), where a missing
piece is a failure. Every request to a host other than 127.0.0.1 is blocked and recorded;
screenshots go to test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    # As root in a container there is no sandbox; the rest keep chromium from calling home.
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
]


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    _require(Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
             "chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a page closed mid-download: not news
        pass


@pytest.fixture(scope="session")
def site_url():
    _require((SITE / "index.html").exists(), f"the site is not built ({SITE}); run `make book`")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class PageLog:
    """What a page did: console errors, uncaught exceptions, blocked off-machine requests."""

    def __init__(self):
        self.errors: list[str] = []
        self.offsite: list[str] = []


@pytest.fixture
def open_page(browser):
    """Open a URL in a fresh context that blocks (and records) every request off 127.0.0.1."""
    contexts = []

    def _open(url: str, viewport=(1300, 950)):
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(ctx)
        log = PageLog()

        def route(r):
            host = urlparse(r.request.url).hostname
            if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
                r.continue_()
            else:
                log.offsite.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("console", lambda m: log.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: log.errors.append(f"uncaught: {e}"))
        page.goto(url, wait_until="load")
        return page, log

    yield _open
    for ctx in contexts:
        ctx.close()
