/* Self-check answer boxes on the static site (no kernel).
 *
 * derivations.selfcheck (Python) writes each box: an <input class="self-check">, a preview
 * element, an element with role="status", and a JSON payload
 * (<script type="application/json" class="self-check-data">) holding the variables, the
 * sample points, the expected values there, the tolerance and the grammar's limits.
 *
 * This script reads the reader's plain text with mathjs's parser only (never mathjs's
 * evaluate, never eval), accepts the same grammar as the Python parser (numbers, the box's
 * variables, pi, e, the payload's functions, + - * / ^ ** and parentheses; no implicit
 * products, assignments, matrices, accessors or other names), evaluates the tree itself in
 * float64 with every intermediate value finite and real, and judges with the same rule:
 * the answer is correct when |a - b| / max(|a|, |b|, floor) <= rtol at every sample point.
 *
 * In the browser it wires every box on the page and loads what it needs only when a reader
 * first checks an answer (pages stay light): mathjs's bundle (vendor/math.js, global `math`).
 * The preview of what was read is MathML, which browsers typeset natively. In node (the
 * tests) it exports {read, evaluate, judge, ReadError}.
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory(root, function () { return require("mathjs"); });
  } else {
    const script = root.document && root.document.currentScript;
    root.SelfCheckBase = script ? script.src.replace(/[^/]*$/, "") : "";
    root.SelfCheck = factory(root, function () { return root.math; });
    root.SelfCheck.start();
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function (root, getMath) {
  "use strict";

  /** The reader's text is not in the grammar: say why (shown as "Could not read ..."). */
  class ReadError extends Error {
    constructor(message) {
      super(message);
      this.name = "ReadError";
    }
  }

  const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  const CONSTANTS = { pi: Math.PI, e: Math.E };
  const OPERATORS = { add: 2, subtract: 2, multiply: 2, divide: 2, pow: 2, unaryMinus: 1, unaryPlus: 1 };
  const CHARACTER = /[^A-Za-z0-9_ \t.+\-*/^(),]/;
  // mathjs reads 0x1F, 0b11 and 0o7 as numbers; the Python grammar does not.
  const RADIX = /(^|[^A-Za-z0-9_.])0[xXbBoO]/;
  // Nor "3." (mathjs reads "3.^2" with its element-wise ".^"): a point needs a digit after it.
  const TRAILING_POINT = /[0-9]\.(?![0-9])/;
  const UNDEFINED = {};  // thrown where a value is not a finite real number

  function fin(v) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw UNDEFINED;
    return v;
  }

  const FUNCTIONS = {
    exp: (x) => fin(Math.exp(x)),
    log: (x) => { if (x <= 0) throw UNDEFINED; return fin(Math.log(x)); },
    sqrt: (x) => { if (x < 0) throw UNDEFINED; return fin(Math.sqrt(x)); },
    sin: (x) => fin(Math.sin(x)), cos: (x) => fin(Math.cos(x)), tan: (x) => fin(Math.tan(x)),
    tanh: (x) => fin(Math.tanh(x)), sinh: (x) => fin(Math.sinh(x)), cosh: (x) => fin(Math.cosh(x)),
    abs: (x) => fin(Math.abs(x)),
    max: (...xs) => fin(Math.max(...xs)), min: (...xs) => fin(Math.min(...xs)),
  };

  function value(node, env) {
    switch (node.type) {
      case "ParenthesisNode":
        return value(node.content, env);
      case "ConstantNode":
        return node.value;
      case "SymbolNode":
        return own(env, node.name) ? env[node.name] : CONSTANTS[node.name];
      case "FunctionNode":
        return FUNCTIONS[node.fn.name](...node.args.map((a) => value(a, env)));
      case "OperatorNode": {
        if (node.fn === "unaryMinus") return -value(node.args[0], env);
        if (node.fn === "unaryPlus") return value(node.args[0], env);
        const a = value(node.args[0], env);
        const b = value(node.args[1], env);
        switch (node.fn) {
          case "add": return fin(a + b);
          case "subtract": return fin(a - b);
          case "multiply": return fin(a * b);
          case "divide": if (b === 0) throw UNDEFINED; return fin(a / b);
          default: return fin(Math.pow(a, b));  // "pow"; NaN for a negative base and a fractional b
        }
      }
      default:
        throw new Error("unexpected node " + node.type);  // read() admits no other node
    }
  }

  /** The tree's float64 value with `env` {name: number}, or null where it is undefined. */
  function evaluate(node, env) {
    try {
      return value(node, env);
    } catch (err) {
      if (err === UNDEFINED) return null;
      throw err;
    }
  }

  function hasVariable(node, variables) {
    let found = false;
    node.traverse((n) => { if (n.type === "SymbolNode" && variables.includes(n.name)) found = true; });
    return found;
  }

  /** The mathjs tree of `text` if the Python grammar accepts it; otherwise a ReadError. */
  function read(text, payload) {
    if (typeof text !== "string") throw new ReadError("the answer must be text");
    const limits = payload.limits;
    if (text.length > limits.length) {
      throw new ReadError(`the answer is too long: ${text.length} characters, at most ${limits.length}`);
    }
    const bad = CHARACTER.exec(text);
    if (bad) {
      throw new ReadError(`unexpected character ${JSON.stringify(bad[0])} at position ${bad.index + 1}; ` +
                          "use numbers, names, + - * / ^ ** ( ) and commas between arguments");
    }
    if (RADIX.test(text)) throw new ReadError("write numbers in decimal (no 0x, 0b or 0o)");
    const point = TRAILING_POINT.exec(text);
    if (point) {
      throw new ReadError(`unexpected '.' after a number at position ${point.index + 2}; write ` +
                          "decimals with digits on both sides of the point (3.0, 0.5)");
    }
    if (!text.trim()) throw new ReadError("the answer is empty");
    const math = getMath();
    if (!math || typeof math.parse !== "function") throw new Error("mathjs is not loaded");
    let tree;
    try {
      tree = math.parse(text.replace(/\*\*/g, "^"));
    } catch (err) {
      throw new ReadError(String((err && err.message) || err));
    }
    const variables = payload.variables;
    let nodes = 0;
    const pows = [];
    const walk = (node, depth) => {
      if (depth > limits.depth) throw new ReadError(`the answer is nested too deeply (at most ${limits.depth} levels)`);
      if (node.type === "ParenthesisNode") {
        walk(node.content, depth + 1);
        return;
      }
      nodes += 1;
      if (nodes > limits.nodes) throw new ReadError(`the answer is too long: at most ${limits.nodes} operations`);
      switch (node.type) {
        case "ConstantNode":
          if (typeof node.value !== "number") throw new ReadError("only numbers and names are accepted");
          if (!Number.isFinite(node.value)) throw new ReadError("a number is too large");
          return;
        case "SymbolNode":
          if (variables.includes(node.name) || payload.constants.includes(node.name)) return;
          if (own(payload.functions, node.name)) throw new ReadError(`${node.name} is a function: write ${node.name}(...)`);
          throw new ReadError(`unknown name ${JSON.stringify(node.name.slice(0, 30))}; the answer may use ` +
                              `${variables.join(", ") || "no variables"}, pi, e and the functions ` +
                              Object.keys(payload.functions).join(", "));
        case "OperatorNode":
          if (!own(OPERATORS, node.fn)) throw new ReadError(`the operator ${JSON.stringify(node.op)} is not accepted`);
          if (node.implicit) throw new ReadError("missing operator: write * for a product (2*z, not 2z)");
          if (node.args.length !== OPERATORS[node.fn]) throw new ReadError(`malformed ${node.op}`);
          if (node.fn === "pow") pows.push(node);
          break;
        case "FunctionNode": {
          const name = node.fn && node.fn.type === "SymbolNode" ? node.fn.name : null;
          if (name === null || !own(payload.functions, name) || !own(FUNCTIONS, name)) {
            throw new ReadError(`${JSON.stringify(String(name || "that").slice(0, 30))} is not a function ` +
                                `the answer may call (${Object.keys(payload.functions).join(", ")})`);
          }
          const [lo, hi] = payload.functions[name];
          if (node.args.length < lo || node.args.length > hi) {
            throw new ReadError(`${name} takes ${lo === hi ? lo : lo + " to " + hi} argument(s), got ${node.args.length}`);
          }
          break;
        }
        default:
          throw new ReadError(`not accepted: ${node.type.replace(/Node$/, "").toLowerCase()} ` +
                              "(use numbers, names, + - * / ^ and function calls)");
      }
      node.args.forEach((a) => walk(a, depth + 1));
    };
    walk(tree, 1);
    for (const p of pows.reverse()) {  // innermost first, as in Python
      if (hasVariable(p.args[1], variables)) continue;
      const v = evaluate(p.args[1], Object.create(null));
      if (v === null || Math.abs(v) > limits.exponent) {
        throw new ReadError(`an exponent is too large (${v === null ? "undefined" : g(v)}); constant ` +
                            `exponents must be at most ${limits.exponent} in size`);
      }
    }
    return tree;
  }

  /** Python's format(v, "g") (6 significant digits), so both sides print the same message. */
  function g(v) {
    if (v === 0) return Object.is(v, -0) ? "-0" : "0";
    const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
    const [mantissa, exponent] = v.toExponential(5).split("e");
    const x = parseInt(exponent, 10);
    if (x < -4 || x >= 6) {
      return strip(mantissa) + "e" + (x < 0 ? "-" : "+") + String(Math.abs(x)).padStart(2, "0");
    }
    return strip(v.toFixed(5 - x));
  }

  /** The verdict on `text`: {correct, message, index, point, answer, expected, tex}. */
  function judge(text, payload) {
    const tree = read(text, payload);
    const names = payload.variables;
    for (let i = 0; i < payload.points.length; i += 1) {
      const env = Object.create(null);
      names.forEach((name, k) => { env[name] = payload.points[i][k]; });
      const got = evaluate(tree, env);
      const want = payload.expected[i];
      const err = got === null ? Infinity
        : Math.abs(got - want) / Math.max(Math.abs(got), Math.abs(want), payload.floor);
      if (!(err <= payload.rtol)) {
        const where = names.map((name) => `${name} = ${g(env[name])}`).join(", ");
        const said = got === null ? "undefined (not a finite real number)" : g(got);
        return {
          correct: false, index: i, point: Object.assign({}, env), answer: got, expected: want, tex: tree.toTex(), tree,
          message: `Not equal: at ${where}, your answer is ${said} but the expected value is ${g(want)}.`,
        };
      }
    }
    return {
      correct: true, index: null, point: null, answer: null, expected: null, tex: tree.toTex(), tree,
      message: `Correct: your answer equals the expected one at all ${payload.points.length} sample ` +
               `points (relative tolerance ${g(payload.rtol)}).`,
    };
  }

  // ---- the page -----------------------------------------------------------------------

  const loading = {};

  /** Load a script of the site once (relative to this script's folder); resolves when run. */
  function loadScript(path) {
    if (!loading[path]) {
      loading[path] = new Promise((resolve, reject) => {
        const tag = root.document.createElement("script");
        tag.src = (root.SelfCheckBase || "") + path;
        tag.onload = () => resolve();
        tag.onerror = () => reject(new Error("could not load " + path));
        root.document.head.appendChild(tag);
      });
    }
    return loading[path];
  }

  function needMath() {
    return root.math ? Promise.resolve() : loadScript("vendor/math.js");
  }

  const escape = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const NAMES = { pi: "\u03c0" };

  /** MathML of a mathjs tree that read() accepted: the browser typesets it natively (no
   *  MathJax needed, and nothing that could restyle the page's own build-time formulas). */
  function mathml(node) {
    const bare = (n) => (n.type === "ParenthesisNode" ? mathml(n.content) : mathml(n));
    switch (node.type) {
      case "ConstantNode": return `<mn>${escape(node.value)}</mn>`;
      case "SymbolNode": return `<mi>${escape(NAMES[node.name] || node.name)}</mi>`;
      case "ParenthesisNode": return `<mrow><mo>(</mo>${mathml(node.content)}<mo>)</mo></mrow>`;
      case "OperatorNode": {
        const [a, b] = node.args;
        const infix = { add: "+", subtract: "\u2212", multiply: "\u22c5" }[node.fn];
        if (node.fn === "unaryMinus") return `<mrow><mo>\u2212</mo>${mathml(a)}</mrow>`;
        if (node.fn === "unaryPlus") return `<mrow><mo>+</mo>${mathml(a)}</mrow>`;
        if (infix) return `<mrow>${mathml(a)}<mo>${infix}</mo>${mathml(b)}</mrow>`;
        if (node.fn === "divide") return `<mfrac>${bare(a)}${bare(b)}</mfrac>`;
        if (node.fn === "pow") return `<msup>${mathml(a)}${bare(b)}</msup>`;
        break;
      }
      case "FunctionNode": {
        const name = node.fn.name;
        const args = node.args.map(mathml);
        if (name === "sqrt") return `<msqrt>${bare(node.args[0])}</msqrt>`;
        if (name === "abs") return `<mrow><mo>|</mo>${bare(node.args[0])}<mo>|</mo></mrow>`;
        return `<mrow><mi>${escape(name)}</mi><mo>(</mo>${args.join("<mo>,</mo>")}<mo>)</mo></mrow>`;
      }
      default: break;
    }
    return `<mtext>${escape(node.toString())}</mtext>`;
  }

  function showPreview(element, verdict) {
    if (!verdict) {
      element.textContent = "";
      return;
    }
    if (typeof element.appendChild !== "function" || !verdict.tree) {
      element.textContent = "Read as: " + verdict.tex;  // no DOM (the tests in node)
      return;
    }
    element.innerHTML = `Read as: <math display="inline">${mathml(verdict.tree)}</math>`;
  }

  function attach(box) {
    if (box.dataset.selfCheckReady) return;
    const input = box.querySelector("input.self-check");
    const status = box.querySelector('[role="status"]');
    const preview = box.querySelector(".self-check-preview");
    const data = box.querySelector("script.self-check-data");
    const button = box.querySelector(".self-check-button");
    if (!input || !status || !data) return;
    const payload = JSON.parse(data.textContent);
    box.dataset.selfCheckReady = "1";
    const run = () => {
      if (getMath()) return judgeNow();  // loaded already (or in node): judge at once
      needMath().then(judgeNow, (err) => { status.textContent = "The checker failed: " + err.message; });
    };
    const judgeNow = () => {
      let verdict;
      try {
        verdict = judge(input.value, payload);
      } catch (err) {
        box.dataset.verdict = "unreadable";
        input.setAttribute("aria-invalid", "true");
        if (preview) showPreview(preview, null);
        if (err instanceof ReadError) {
          status.textContent = "Could not read your answer: " + err.message;
        } else {
          status.textContent = "The checker failed: " + (err && err.message);
          console.error(err);
        }
        return;
      }
      input.removeAttribute("aria-invalid");
      box.dataset.verdict = verdict.correct ? "correct" : "not-equal";
      status.textContent = verdict.message;
      if (preview) showPreview(preview, verdict);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        run();
      }
    });
    if (button) button.addEventListener("click", run);
  }

  function start() {
    if (typeof document === "undefined") return;
    const go = () => document.querySelectorAll(".self-check-box").forEach(attach);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  }

  return { read, evaluate, judge, format: g, ReadError, attach, start, needMath, mathml };
});
