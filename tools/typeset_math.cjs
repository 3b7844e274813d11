// Typeset every formula of the built site at build time, so that pages load no MathJax.
//
//   node tools/typeset_math.cjs CONFIG.json FILE.html [FILE.html ...]
//
// Sphinx writes each formula as TeX inside <span class="math ...">\(...\)</span> or
// <div class="math ...">\[...\]</div>; a page used to load MathJax (1.2 MB) to typeset them in
// the reader's browser. This script runs MathJax 4 (@mathjax/src, pinned in
// package-lock.json) in Node: it replaces each formula's TeX with MathJax's CommonHTML output
// (with hidden MathML for screen readers, and no tab stop) and adds the stylesheet it needs,
// whose fonts (New Computer Modern) are served from the site's own vendor folder. A displayed
// formula wider than the text column is broken into lines by MathJax 4's line breaking
// (the column is taken as WIDTH px, a little less than the narrowest box a formula sits in
// at 1280 px, a proof box). CONFIG.json holds, per file,
// the relative URL of the fonts. There are no book-only
// macros: the chapters use plain LaTeX, which JupyterLab renders too.
"use strict";

const fs = require("fs");
const path = require("path");
const { mathjax } = require("@mathjax/src/cjs/mathjax.js");
const { TeX } = require("@mathjax/src/cjs/input/tex.js");
const { CHTML } = require("@mathjax/src/cjs/output/chtml.js");
const { liteAdaptor } = require("@mathjax/src/cjs/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("@mathjax/src/cjs/handlers/html.js");
const { AssistiveMmlHandler } = require("@mathjax/src/cjs/a11y/assistive-mml.js");
const { MathJaxNewcmFont } = require("@mathjax/mathjax-newcm-font/cjs/chtml.js");

const PACKAGES = ["base", "ams", "newcommand", "boldsymbol", "mathtools", "cases", "braket", "cancel", "color"];
for (const name of PACKAGES) {
  const file = name === "base" ? "base/BaseConfiguration.js"
    : `${name}/${name[0].toUpperCase()}${name.slice(1)}Configuration.js`;
  require(`@mathjax/src/cjs/input/tex/${file}`);
}
// Glyph data for less common characters is loaded when first needed.
mathjax.asyncLoad = (name) => require(name.startsWith(".") ? path.resolve(name) : name);
const WIDTH = 540;
const MARK = "<!-- maths typeset at build time -->";
const FORMULA = /(<(span|div) class="(?:[^"]* )?math notranslate nohighlight"[^>]*>)([\s\S]*?)(<\/\2>)/g;
const DISPLAY = /\\\[([\s\S]*?)\\\]/;
const INLINE = /^\\\(([\s\S]*?)\\\)$/;

function unescape(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#x([0-9a-fA-F]+);/g, (m, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (m, d) => String.fromCodePoint(parseInt(d, 10))).replace(/&amp;/g, "&");
}

async function main() {
  const [configPath, ...files] = process.argv.slice(2);
  const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
  const adaptor = liteAdaptor();
  AssistiveMmlHandler(RegisterHTMLHandler(adaptor));
  let formulas = 0;
  let failures = 0;
  for (const file of files) {
    let page = fs.readFileSync(file, "utf8");
    if (page.includes(MARK)) continue;
    const tex = new TeX({ packages: PACKAGES, formatError: (jax, err) => { throw err; } });
    const chtml = new CHTML({ fontData: MathJaxNewcmFont, fontURL: config.fontURL[file], adaptiveCSS: true,
                              displayOverflow: "linebreak" });
    const doc = mathjax.document("", { InputJax: tex, OutputJax: chtml });
    let count = 0;
    const jobs = [];
    page.replace(FORMULA, (whole, open, tag, inner, close) => {
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
      jobs.push({ whole, open, before, body, after, close, display });
      return whole;
    });
    const rendered = new Map();
    for (const job of jobs) {
      try {
        const node = await mathjax.handleRetriesFor(() => doc.convert(unescape(job.body), {
          display: job.display, em: 16, ex: 8, containerWidth: WIDTH }));
        // The TeX source is kept once, in the hidden MathML; not again on every element.
        // Attributes every formula would repeat move to the stylesheet (position) or are
        // implied by HTML5 (the MathML namespace): about a tenth of a formula's markup.
        const html = adaptor.outerHTML(node).replace(/ data-latex(?:-item)?="[^"]*"/g, "")
          .replace(' style="position: relative;"', "")
          .replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "");
        rendered.set(job.whole, job.open + job.before + html + job.after + job.close);
        count += 1;
      } catch (err) {
        failures += 1;
        console.error(`typeset_math: ${file}: cannot typeset ${JSON.stringify(job.body.slice(0, 80))}: ${err.message}`);
      }
    }
    page = page.replace(FORMULA, (whole) => rendered.get(whole) || whole);
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

main().catch((err) => { console.error(`typeset_math: ${err.stack || err}`); process.exit(1); });
