"""Sphinx extension: re-run a chapter when a module it imports changes, and only then.

MyST-NB's execution cache is keyed on a chapter's own code, so an edit to
``lib/derivations`` would go unnoticed. For each page, this finds the ``derivations``
modules its code imports, directly or through other modules (by reading the import
statements, not by running anything), hashes their source, and compares the hash with the
one recorded when the page last executed (``<cache>/lib-deps.json``). A page whose modules
changed loses its cache record and is re-read, so it runs again; every other page keeps its
cached outputs. The command-line form prints the dependency table:

    .venv/bin/python tools/lib_deps.py
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib" / "derivations"
_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def module_file(name: str) -> Path | None:
    """The source file of ``derivations.<name>`` (a module or a package's __init__)."""
    parts = name.split(".")[1:]
    if not parts:
        return LIB / "__init__.py"
    base = LIB.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(code: str, package: str = "") -> set[str]:
    """The ``derivations`` modules that ``code`` imports (``package`` resolves relative imports)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        # A chapter cell may hold IPython syntax (magics); fall back to a text scan.
        found = set(re.findall(r"\b(derivations(?:\.\w+)*)", code))
        for base, names in re.findall(r"from\s+(derivations(?:\.\w+)*)\s+import\s+([\w, ]+)", code):
            found |= {f"{base}.{n.strip()}" for n in names.split(",") if n.strip()}
        return {m for m in found if module_file(m) is not None}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "derivations"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "derivations":
                continue
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # `from derivations import lstm`
    return {m for m in found if module_file(m) is not None}


@lru_cache(maxsize=None)
def _direct(name: str) -> frozenset[str]:
    path = module_file(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    deps = imports_of(path.read_text(encoding="utf-8"), package)
    # Importing a.b.c runs a/__init__ and a/b/__init__ too.
    parts = name.split(".")
    deps |= {".".join(parts[:k]) for k in range(1, len(parts))}
    return frozenset(d for d in deps if d != name)


def closure(names: set[str]) -> set[str]:
    """Every module that importing ``names`` executes."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_direct(name) - seen)
    return seen


def _cell_code(cell: str) -> str:
    """A code cell's code, without its leading ``:key: value`` option lines or YAML block."""
    lines = cell.splitlines()
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1) if "---" in lines[1:] else 0
        lines = lines[end + 1:]
    while lines and re.match(r"^:\w[\w-]*:", lines[0]):
        lines.pop(0)
    return "\n".join(lines)


def chapter_modules(source: str) -> set[str]:
    found = set()
    for cell in _CELL.findall(source):
        found |= imports_of(_cell_code(cell))
    return closure(found)


def chapter_hash(source: str) -> str:
    digest = hashlib.sha256()
    for name in sorted(chapter_modules(source)):
        digest.update(name.encode() + b"\0" + module_file(name).read_bytes() + b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# The Sphinx side
# ---------------------------------------------------------------------------------------

def _cache_dir(app) -> Path:
    configured = getattr(app.config, "nb_execution_cache_path", "") or ""
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def _record_file(app) -> Path:
    return _cache_dir(app) / "lib-deps.json"


def _outdated(app, env, added, changed, removed):
    _cache_dir(app).mkdir(parents=True, exist_ok=True)
    recorded = json.loads(_record_file(app).read_text()) if _record_file(app).exists() else {}
    current, stale = {}, []
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        if path.suffix != ".md":
            continue
        source = path.read_text(encoding="utf-8")
        if "```{code-cell}" not in source:
            continue
        current[docname] = chapter_hash(source)
        if recorded.get(docname) not in (None, current[docname]):
            stale.append((docname, source))
    if stale:
        from jupyter_cache import get_cache
        from myst_nb.core.read import read_myst_markdown_notebook

        cache = get_cache(str(_cache_dir(app)))
        for docname, source in stale:
            try:
                record = cache.match_cache_notebook(read_myst_markdown_notebook(source))
            except KeyError:
                continue
            cache.remove_cache(record.pk)
    app._lib_deps_current = current
    return [d for d, _ in stale if d not in changed and d not in added]


def _finished(app, exception):
    current = getattr(app, "_lib_deps_current", None)
    if exception is None and current is not None:
        _record_file(app).write_text(json.dumps(current, indent=1, sort_keys=True))


def setup(app):
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main() -> int:
    for path in sorted((ROOT / "book").glob("*.md")):
        source = path.read_text(encoding="utf-8")
        if "```{code-cell}" in source:
            mods = sorted(m.removeprefix("derivations.") for m in chapter_modules(source) if m != "derivations")
            print(f"{path.relative_to(ROOT)}: {', '.join(mods) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
