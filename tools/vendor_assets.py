"""Copy the front-end libraries the site serves itself from node_modules into assets/vendor.

They are MathJax, the Vega stack (the Explorer figures) and mathjs (the self-check boxes).

The files come from the npm registry through package-lock.json (``npm ci``), never from a
CDN at page-load time, so the built site works offline and tells no third party about
its readers. Run by ``make`` before each build; assets/vendor is not committed.
"""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "assets" / "vendor"

FILES = {
    "vega/build/vega.min.js": "vega.min.js",
    "vega-lite/build/vega-lite.min.js": "vega-lite.min.js",
    "vega-embed/build/vega-embed.min.js": "vega-embed.min.js",
    # mathjs's minified browser bundle (global `math`), for the self-check boxes
    # (assets/selfcheck.js parses readers' answers with it); its licence file sits beside it.
    "mathjs/lib/browser/math.js": "math.js",
    "mathjs/lib/browser/math.js.LICENSE.txt": "math.js.LICENSE.txt",
}
TREES = {
    # MathJax 3: no page loads it any more (formulas are typeset at build time, the self-check
    # preview is MathML); kept only as the file mathjax_path names, whose tag is dropped.
    "mathjax/es5": "mathjax",
    # The fonts of the formulas typeset at build time (tools/typeset_math.cjs, MathJax 4).
    "@mathjax/mathjax-newcm-font/chtml/woff2": "mathjax-newcm/woff2",
}


def main() -> int:
    missing = [src for src in [*FILES, *TREES] if not (MODULES / src).exists()]
    if missing:
        print(f"vendor_assets: missing {', '.join(missing)} under node_modules; run `npm ci` first",
              file=sys.stderr)
        return 1
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir(parents=True)
    for src, dst in FILES.items():
        shutil.copy2(MODULES / src, VENDOR / dst)
    for src, dst in TREES.items():
        shutil.copytree(MODULES / src, VENDOR / dst)
    print(f"vendor_assets: copied {len(FILES)} files and {len(TREES)} folder(s) into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
