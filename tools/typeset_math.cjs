// Typeset every formula of the built site at build time, so that pages load no MathJax.
//
//   node tools/typeset_math.cjs CONFIG.json FILE.html [FILE.html ...]
//
// Sphinx writes each formula as TeX inside <span class="math ...">\(...\)</span> or
// <div class="math ...">\[...\]</div>; a page used to load MathJax (1.2 MB) to typeset them in
// the reader's browser. This script runs the same MathJax (mathjax-full, pinned in
// package-lock.json) in Node: it replaces each formula's TeX with MathJax's CommonHTML output
// (with hidden MathML for screen readers, and no tab stop) and adds the stylesheet it needs,
// whose fonts are served from the site's own vendor/mathjax folder. CONFIG.json holds the
// TeX macros of _config.yml and, per file, the relative URL of the fonts.
"use strict";

const fs = require("fs");
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { CHTML } = require("mathjax-full/js/output/chtml.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { AssistiveMmlHandler } = require("mathjax-full/js/a11y/assistive-mml.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");

const MARK = "<!-- maths typeset at build time -->";
const FORMULA = /(<(span|div) class="(?:[^"]* )?math notranslate nohighlight"[^>]*>)([\s\S]*?)(<\/\2>)/g;
const DISPLAY = /\\\[([\s\S]*?)\\\]/;
const INLINE = /^\\\(([\s\S]*?)\\\)$/;

function unescape(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#x([0-9a-fA-F]+);/g, (m, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (m, d) => String.fromCodePoint(parseInt(d, 10))).replace(/&amp;/g, "&");
}

function main() {
  const [configPath, ...files] = process.argv.slice(2);
  const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
  const adaptor = liteAdaptor();
  AssistiveMmlHandler(RegisterHTMLHandler(adaptor));
  const packages = AllPackages.filter((p) => !["bussproofs", "autoload", "require", "noerrors", "noundefined"].includes(p));
  let formulas = 0;
  let failures = 0;
  for (const file of files) {
    let page = fs.readFileSync(file, "utf8");
    if (page.includes(MARK)) continue;
    const tex = new TeX({ packages, macros: config.macros, formatError: (jax, err) => { throw err; } });
    const chtml = new CHTML({ fontURL: config.fontURL[file], adaptiveCSS: true });
    const doc = mathjax.document("", { InputJax: tex, OutputJax: chtml });
    let count = 0;
    page = page.replace(FORMULA, (whole, open, tag, inner, close) => {
      let display = false;
      let body = inner;
      let before = "";
      let after = "";
      const d = inner.match(DISPLAY);
      if (d) {
        display = true;
        before = inner.slice(0, d.index);
        after = inner.slice(d.index + d[0].length);
        body = d[1];
      } else {
        const i = inner.trim().match(INLINE);
        if (!i) return whole;
        body = i[1];
      }
      try {
        const node = doc.convert(unescape(body), { display });
        count += 1;
        return open + before + adaptor.outerHTML(node) + after + close;
      } catch (err) {
        failures += 1;
        console.error(`typeset_math: ${file}: cannot typeset ${JSON.stringify(body.slice(0, 80))}: ${err.message}`);
        return whole;
      }
    });
    if (count) {
      const css = adaptor.textContent(chtml.styleSheet(doc));
      page = page.replace("</head>", `<style id="MJX-CHTML-styles">${css}</style>\n${MARK}\n</head>`);
    } else {
      page = page.replace("</head>", `${MARK}\n</head>`);
    }
    fs.writeFileSync(file, page);
    formulas += count;
  }
  console.log(`typeset_math: ${formulas} formulas in ${files.length} pages`);
  process.exit(failures ? 1 : 0);
}

main();
