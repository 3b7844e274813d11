"""Every chapter with a figure, in a real JupyterLab: opened as a notebook through jupytext,
run, and played with.

This proves that the pinned ipywidgets front end and kernel agree: after "Run All Cells",
moving each slider (with the keyboard, as a reader can) and picking another option of each
choice must each change the figure's image. The chapters are copied to a temporary folder
first, so JupyterLab's autosave cannot touch the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import ROOT

CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.md") if "```{code-cell}" in p.read_text(encoding="utf-8"))
RUN_ALL_TIMEOUT_MS = 240_000  # a fresh kernel runs the whole chapter (about 20 s here)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_jupyterlab(tmp_path: Path):
    """A JupyterLab server on 127.0.0.1 with a token, every chapter copied into its root,
    .md files opening as notebooks; returns (url, token, stop). Shared with `make bench`."""
    root = tmp_path / "root"
    root.mkdir()
    for chapter in CHAPTERS:
        shutil.copy(chapter, root / chapter.name)
    # Open Markdown files with jupytext's notebook view by default (user-level settings).
    # The same settings as `make lab` (tools/jupyterlab-overrides.json): no autosave, no news.
    overrides = json.loads((ROOT / "tools" / "jupyterlab-overrides.json").read_text())
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        folder = tmp_path / "settings" / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    log = open(tmp_path / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def stop():
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            return url, token, stop
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                stop()
                raise RuntimeError(f"JupyterLab did not start; log:\n{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory):
    """One JupyterLab server for the whole run (per xdist worker)."""
    try:
        url, token, stop = start_jupyterlab(tmp_path_factory.mktemp("jupyterlab"))
    except RuntimeError as err:
        pytest.fail(str(err))
    yield url, token
    stop()


def _image_src(page) -> str:
    return page.eval_on_selector(".jp-OutputArea-output .widget-image, .jp-OutputArea-output img.jupyter-widgets",
                                 "e => e.src")


def _wait_for_new_image(page, old: str, what: str) -> str:
    page.wait_for_function(
        "old => { const e = document.querySelector('.jp-OutputArea-output .widget-image, .jp-OutputArea-output img.jupyter-widgets');"
        " return e && e.src !== old; }", arg=old, timeout=15_000)
    new = _image_src(page)
    assert new != old, f"{what} did not change the figure"
    return new


def _settled_image(page, quiet_s: float = 0.5, limit_s: float = 60.0) -> str:
    """The image once it has stopped changing for quiet_s (redraws of earlier moves may queue)."""
    src, since, start = _image_src(page), time.time(), time.time()
    while time.time() - since < quiet_s:
        assert time.time() - start < limit_s, "the figure never stopped redrawing"
        page.wait_for_timeout(200)
        now = _image_src(page)
        if now != src:
            src, since = now, time.time()
    return src


def test_chapters_with_figures_were_found():
    # Guards the parametrisation below: finding no chapter would test nothing.
    assert "activations.md" in [c.name for c in CHAPTERS]


def _move_slider(page, handle, what: str, before: str) -> str:
    """Nudge a slider with the arrow keys; at the top of its range, nudge it down instead."""
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft", "ArrowLeft"):
        handle.press(key)
        try:
            _wait_for_new_image(page, before, what)
            return _settled_image(page)
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"{what} did not change the figure")


@pytest.mark.parametrize("chapter", [c.name for c in CHAPTERS])
def test_chapter_widgets_work_in_jupyterlab(chapter, jupyterlab, open_page, artifacts):
    url, token = jupyterlab
    stem = chapter.removesuffix(".md")
    # A workspace of its own, so the shared server does not reopen other tests' notebooks.
    page, log = open_page(f"{url}/lab/workspaces/{stem}/tree/{chapter}?reset&token={token}", viewport=(1400, 1000))
    # jupytext's notebook view (not the Markdown editor) must open the chapter.
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    # "Run All" before the kernel is up would silently run nothing: wait for an idle kernel.
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    if ".explorer()" not in (ROOT / "book" / chapter).read_text(encoding="utf-8"):
        page.wait_for_function("() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
                               ".some(e => e.textContent.includes('*'))", timeout=RUN_ALL_TIMEOUT_MS)
        _assert_myst_rendered(page, stem, artifacts)
        page.close()
        _shut_down_kernels(url, token)
        return
    page.wait_for_selector(".jp-OutputArea-output .widget-slider", timeout=RUN_ALL_TIMEOUT_MS)
    page.wait_for_selector(".jp-OutputArea-output .widget-image, .jp-OutputArea-output img.jupyter-widgets",
                           timeout=60_000)
    page.locator(".widget-slider").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"jupyterlab-{stem}-before.png"))
    current = _settled_image(page)

    handles = page.locator(".jp-OutputArea-output .widget-slider .noUi-handle")
    assert handles.count() > 0
    for k in range(handles.count()):
        current = _move_slider(page, handles.nth(k), f"slider {k}", current)
        page.screenshot(path=str(artifacts / f"jupyterlab-{stem}-slider-{k}.png"))

    groups = page.locator(".jp-OutputArea-output .widget-toggle-buttons")
    for k in range(groups.count()):
        groups.nth(k).locator("button:not(.mod-active)").first.click()
        _wait_for_new_image(page, current, f"choice {k}")
        current = _settled_image(page)
        page.screenshot(path=str(artifacts / f"jupyterlab-{stem}-choice-{k}.png"))

    _assert_myst_rendered(page, stem, artifacts)

    # No cell may have failed on the way.
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
    assert errors == 0, "a cell wrote to stderr or raised"
    page.close()
    _shut_down_kernels(url, token)


# What a chapter's Markdown looks like when JupyterLab shows it as raw text instead of MyST.
RAW_MYST = ["```{", ":label:", ":class:", "{eq}`", "{ref}`", "{prf:ref}`", "{doc}`", "{cite", "{glue:",
            "{eval}`", "{numref}`", ":::{"]


def _assert_myst_rendered(page, stem: str, artifacts) -> None:
    """After Run All, the chapter reads like its web page: no raw directive, role, label or
    placeholder, no maths error, every computed number filled in."""
    page.wait_for_timeout(1000)
    text = page.inner_text(".jp-NotebookPanel .jp-Notebook")
    markdown = "\n".join(page.locator(".jp-MarkdownCell .jp-RenderedMarkdown").all_inner_texts())
    raw = [needle for needle in RAW_MYST if needle in markdown]
    labels = [line for line in markdown.splitlines() if line.strip().startswith("(") and line.strip().endswith(")=")]
    errors = page.locator(".jp-MarkdownCell .katex-error, .jp-MarkdownCell .myst-error, "
                          ".jp-MarkdownCell [class*='error']").count()
    pending = page.locator(".jp-MarkdownCell .myst-inline-expression code, "
                           ".jp-MarkdownCell [class*='inline-expression'] code").count()
    page.screenshot(path=str(artifacts / f"jupyterlab-{stem}-rendered.png"), full_page=False)
    assert not raw and not labels, f"{stem}: raw MyST in JupyterLab: {raw} {labels[:3]}"
    assert errors == 0, f"{stem}: {errors} rendering errors (undefined maths macro?) in JupyterLab"
    assert pending == 0, f"{stem}: {pending} computed numbers not filled in after Run All"
    assert "Traceback" not in text


def _shut_down_kernels(url: str, token: str) -> None:
    """Free the CPU for the next chapter: the server is shared by the whole run."""
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels", headers=headers), timeout=10) as r:
        kernels = json.load(r)
    for k in kernels:
        urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels/{k['id']}", method="DELETE",
                                                      headers=headers), timeout=10)
