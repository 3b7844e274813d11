"""Sphinx extension: ``{eval}`prose.name``` shows a number the chapter recorded with
``derivations.prose.Prose.set``.

MyST-NB evaluates ``{eval}`` only while it runs a notebook itself ("inline" execution), but
this book caches execution so that only changed chapters run. The numbers are in the
executed notebook all the same (``Prose.set`` glues them), so this role looks the text up
there. JupyterLab (jupyterlab-myst) evaluates the same expression in the reader's kernel,
so one source serves both.
"""

from __future__ import annotations

from docutils import nodes
from myst_nb.core.variables import RetrievalError, create_warning
from myst_nb.ext.glue.utils import retrieve_glue_data
from sphinx.util.docutils import SphinxRole


class ProseEvalRole(SphinxRole):
    def run(self):
        key = self.text.strip()
        try:
            result = retrieve_glue_data(self.inliner.document, key)
        except RetrievalError as exc:
            msg = create_warning(f"{{eval}}`{key}`: {exc}; record it with Prose.set in the chapter's code",
                                 self.inliner.document, self.lineno, "eval")
            return [], [msg] if msg is not None else []
        text = result.data.get("text/plain", "")
        node = nodes.inline(text, text, classes=["pasted-text"])
        self.set_source_info(node)
        return [node], []


def setup(app):
    app.add_role("eval", ProseEvalRole(), override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
