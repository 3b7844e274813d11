"""Every page's source follows the recipe (CONTRIBUTING.md) and reads in both renderers.

These read the MyST Markdown, nothing is executed: what the book build and JupyterLab
(jupyterlab-myst) would show wrongly is caught here first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def _toc_pages() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [ROOT / f"{name}.md" for name in found]


PAGES = _toc_pages()
CHAPTERS = [p for p in PAGES if "```{code-cell}" in p.read_text(encoding="utf-8")
            and p.stem not in ("intro", "notation", "errata", "claims", "references", "statistics")]
_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def _markdown(text: str) -> str:
    """The page without its code cells and its header."""
    text = _CELL.sub("", text)
    return text.split("---\n", 2)[-1] if text.startswith("---\n") else text


def test_pages_were_found():
    assert len(CHAPTERS) >= 4, CHAPTERS


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_opens_as_a_notebook_with_a_kernel(page):
    """A kernelspec in the jupytext header: JupyterLab opens the page without asking for a kernel."""
    text = page.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{page.name} has no jupytext header"
    header = yaml.safe_load(text.split("---\n")[1])
    assert header.get("kernelspec", {}).get("name") == "python3", f"{page.name}: no python3 kernelspec"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_uses_only_what_both_renderers_understand(page):
    """No glue roles (JupyterLab shows them raw: numbers use {eval}`prose.name`), no TeX macro
    that only the website defines."""
    text = _markdown(page.read_text(encoding="utf-8"))
    assert "{glue" not in text, f"{page.name}: use {{eval}}`prose.name` (derivations.prose), not glue"
    for expr in re.findall(r"\{eval\}`([^`]*)`", text):
        assert re.fullmatch(r"prose\.[A-Za-z_]\w*", expr), f"{page.name}: {{eval}}`{expr}` is not prose.<name>"
    macros = re.findall(r"\\(R|T|norm|abs|sigmoid|dd)(?![A-Za-z])", text)
    assert not macros, f"{page.name}: book-only TeX macros {sorted(set(macros))}; write them out"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_code_lines_fit(page):
    long = [line for cell in _CELL.findall(page.read_text(encoding="utf-8")) for line in cell.splitlines()
            if len(line) > 88]
    assert not long, f"{page.name}: {len(long)} code lines over 88 characters, e.g. {long[0]!r}"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_follows_the_recipe(page):
    text = page.read_text(encoding="utf-8")
    md = _markdown(text)
    assert "## Overview" in md, "no Overview"
    assert re.search(r":class: [^\n]*\banswer\b", md), "no Answer box (admonition with :class: answer)"
    assert len(re.findall(r"```\{exercise\}", md)) >= 3, "fewer than three exercises"
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", md)
    solutions = re.findall(r"```\{solution(?:-start)?\} (\S+)", md)
    assert set(exercises) <= set(solutions), f"exercises without a solution: {set(exercises) - set(solutions)}"
    assert "{cite" in md, "cites no reference"
    assert re.search(r"#+ Where the source", md) or "source makes no error" in md.lower(), \
        "no 'Where the source goes wrong' section"
    assert "checks.claim(" in text or "{prf:theorem}" not in md, "theorems without a claim status"


def test_beta_means_only_the_momentum_coefficient():
    """Notation page: beta is the momentum coefficient, nothing else."""
    misuse = [p.name for p in PAGES if "\\beta" in _markdown(p.read_text(encoding="utf-8"))
              and not p.stem.startswith(("momentum", "notation", "errata", "claims"))]
    assert not misuse, f"beta used outside the momentum chapters: {misuse}"


def test_modules_can_be_read_in_one_sitting():
    """No module of the package is much over 400 lines (split a topic into a package first)."""
    long = {p.relative_to(ROOT).as_posix(): n for p in (ROOT / "lib" / "derivations").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, f"modules over 450 lines: {long}"
