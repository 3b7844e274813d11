"""Sphinx extension: collect every claim's status badge onto the Claims page.

A chapter records a result with ``derivations.checks.claim(label, statement, *checks)``;
displayed, the claim is an HTML element ``<p class="claim-status" data-claim=... data-status=...>``
printed beside the theorem. This extension finds those elements in each page's executed
outputs, keeps them in the build environment (so incremental builds keep the ledger of
pages not re-read), and fills the ``{claims-ledger}`` directive with one table row per claim:
the result (linked to its theorem), its statement, the chapter, the status and what checked it.

It also checks that every theorem, lemma, proposition and corollary of the book has a claim
(a result without one is a warning, which the build turns into an error), and that no claim
names a label that no theorem carries.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOG = logging.getLogger(__name__)
_BADGE = re.compile(r'<p class="claim-status claim-(\w+)" ([^>]*)>')
_ATTR = re.compile(r'data-([a-z]+)="([^"]*)"')
_RESULTS = ("theorem", "lemma", "proposition", "corollary")


class claims_ledger(nodes.General, nodes.Element):
    """Placeholder, replaced by the table when every page has been read."""


class ClaimsLedgerDirective(SphinxDirective):
    def run(self):
        return [claims_ledger("")]


def _ledger(env) -> dict:
    if not hasattr(env, "claims_ledger"):
        env.claims_ledger = {}
    return env.claims_ledger


def _collect(app, doctree):
    env = app.env
    found = []
    for raw in doctree.findall(nodes.raw):
        if raw.get("format") != "html":
            continue
        for match in _BADGE.finditer(raw.astext()):
            attrs = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(2))}
            found.append({"kind": match.group(1), **attrs})
    results = []
    for node in doctree.findall(nodes.Element):
        classes = node.get("classes", [])
        if "proof" in classes and any(r in classes for r in _RESULTS) and node.get("ids"):
            results.extend(i for i in node["ids"] if not i.startswith("proof-"))
    _ledger(env)[env.docname] = {"claims": found, "results": results}


def _purge(app, env, docname):
    _ledger(env).pop(docname, None)


def _merge(app, env, docnames, other):
    _ledger(env).update({d: v for d, v in _ledger(other).items() if d in docnames})


def _always_rewrite_ledger(app, env):
    return [d for d in env.found_docs if _has_directive(env, d)]


def _has_directive(env, docname) -> bool:
    return docname.endswith("claims")


def _check(app, env):
    ledger = _ledger(env)
    claimed = {c["claim"]: d for d, v in ledger.items() for c in v["claims"]}
    stated = {r: d for d, v in ledger.items() for r in v["results"]}
    for label, doc in sorted(stated.items()):
        if label not in claimed:
            LOG.warning(f"result {label!r} has no claim: record it with derivations.checks.claim",
                        location=doc, type="claims", subtype="missing")
    for label, doc in sorted(claimed.items()):
        if label not in stated:
            LOG.warning(f"claim {label!r} names no theorem, lemma, proposition or corollary",
                        location=doc, type="claims", subtype="orphan")


def _fill(app, doctree, fromdocname):
    env = app.env
    for node in list(doctree.findall(claims_ledger)):
        table = nodes.table(classes=["claims-ledger"])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (30, 20, 25, 25):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += _row(["Result", "Chapter", "Status", "Checked by"], header=True)
        body = nodes.tbody()
        group += body
        counts: dict[str, int] = {}
        for docname in _toc_order(env):
            for c in _ledger(env).get(docname, {}).get("claims", []):
                counts[c["kind"]] = counts.get(c["kind"], 0) + 1
                uri = app.builder.get_relative_uri(fromdocname, docname) + "#" + c["claim"]
                link = nodes.reference("", "", internal=True, refuri=uri)
                link += nodes.Text(c.get("statement", c["claim"]))
                title = env.titles[docname].astext() if docname in env.titles else docname
                chapter = nodes.reference("", title, internal=True,
                                          refuri=app.builder.get_relative_uri(fromdocname, docname))
                status = nodes.inline("", c.get("status", ""), classes=["claim-badge", f"claim-{c['kind']}"])
                checked = nodes.literal("", c.get("check") or "the chapter's code") if c.get("check") \
                    else nodes.Text("the chapter's code cells")
                body += _row([link, chapter, status, checked])
        summary = nodes.paragraph()
        total = sum(counts.values())
        parts = ", ".join(f"{counts[k]} {k}" for k in ("proved", "verified", "numeric", "argued") if k in counts)
        summary += nodes.Text(f"{total} results: {parts}.")
        node.replace_self([summary, table])


def _toc_order(env):
    order = [env.config.root_doc]
    seen = set(order)

    def walk(doc):
        for child in env.toctree_includes.get(doc, []):
            if child not in seen:
                seen.add(child)
                order.append(child)
                walk(child)

    walk(env.config.root_doc)
    return order + sorted(d for d in _ledger(env) if d not in seen)


def _row(cells, header=False):
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        para = nodes.paragraph()
        para += cell if isinstance(cell, nodes.Node) else nodes.Text(str(cell))
        entry += para
        row += entry
    return row


def setup(app):
    app.add_node(claims_ledger)
    app.add_directive("claims-ledger", ClaimsLedgerDirective)
    app.connect("doctree-read", _collect)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-updated", _always_rewrite_ledger)
    app.connect("env-check-consistency", _check)
    app.connect("doctree-resolved", _fill)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
