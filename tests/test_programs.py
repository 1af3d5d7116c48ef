"""Differential fuzzing: random short programs run on dlmath and on torch.

Hypothesis draws a program of 3-10 steps over a few float64 tensors (0-d to
3-d, some requiring grad). Each step applies one op to tensors made by
earlier steps: elementwise, broadcasting binary ops, reductions, softmax,
matmul, shape and view ops, indexing, and above all in-place writes (``add_``,
``+=``, ``t[idx] = v``, ...) to non-leaf tensors and to views of them, with
consumers recorded before the write and views used after it. The program is
Python source with ``lib`` free, so the very same text runs with ``lib=dm``
and ``lib=torch`` and a failure prints a standalone repro. The oracle (torch)
is run while drawing, to know shapes, and the program ends at the first step
torch rejects; dlmath must reject the same step with the same builtin
exception type.

Compared: every step's outputs right after the step (dtype, shape,
requires_grad, values), every tensor's final value, and after
``loss = sum(w_i * t_i.sum()).backward()`` every input's ``.grad``;
``test_random_programs_second_order`` replaces the backward with
``autograd.grad(loss, inputs, create_graph=True)`` followed by
``sum(g*g).backward()``.

Known dlmath bugs the fuzzer found are listed in ``programs.known.KNOWN``,
each with a minimal repro run as a strict xfail (``test_known_discrepancy``);
the generator steers around them or the check recognises them, so the fuzz
tests pass and keep looking for new discrepancies. Fix one, its xfail turns
red: delete the entry, and the fuzzer covers that ground again.

Example count: twice the Hypothesis profile's (conftest.py: 2 x 25 programs,
``HYPOTHESIS_PROFILE=thorough`` 2 x 200), or ``DLMATH_FUZZ_EXAMPLES=N`` (then
not derandomized, so every run explores new programs; ``--hypothesis-seed``
reproduces one). ``python tests/programs/run.py N [seed]`` hunts without
Hypothesis: N random programs, every discrepancy minimised, bucketed and
printed, no stop at the first (``DLMATH_FUZZ_ALL=1``: known ones included;
``DLMATH_FUZZ_DUMP=file``: pickle them).

The fuzzer itself is the package ``tests/programs`` (generator, known
discrepancies, running and comparing, hunting); conftest.py puts ``tests/`` on
``sys.path``.
"""

import os
import re

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from helpers import dlmath_only, dm, load_torch
from programs.builder import HypothesisChooser
from programs.generate import generate
from programs.known import DOCUMENTED, KNOWN, known_discrepancy
from programs.run import discrepancy, error_kind, execute, source


def check(lines, torch):
    diff = discrepancy(lines, torch)
    if diff and known_discrepancy(diff):
        reject()  # a known dlmath bug (KNOWN): look for new ones instead
    if diff:
        pytest.fail(f"{diff[1]}\n\nProgram (runs with lib = dm or torch):\n\n{source(lines)}\n",
                    pytrace=False)



def _settings():
    n = os.environ.get("DLMATH_FUZZ_EXAMPLES")
    extra = dict(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much,
                                        HealthCheck.function_scoped_fixture])  # torch: a module
    if n:
        return settings(max_examples=int(n), derandomize=False, **extra)
    return settings(max_examples=2 * settings.default.max_examples, **extra)


@st.composite
def programs(draw, second_order=False):
    return generate(HypothesisChooser(draw), load_torch(), second_order=second_order)


@_settings()
@given(lines=programs())
def test_random_programs(lines, torch):
    check(lines, torch)


@_settings()
@given(lines=programs(second_order=True))
def test_random_programs_second_order(lines, torch):
    check(lines, torch)


@pytest.mark.parametrize("write", ["x.add_(1.0)", "x.mul_(2)", "x[0] = 5.0", "x[1:].zero_()",
                                   "x += 1", "x.T.fill_(0.5)", "x.copy_(x * 2)"])
def test_inplace_on_grad_leaf_raises(write, torch):
    """In place on a leaf that requires grad (or a view of it) raises RuntimeError, as in torch."""
    lines = [("x = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, requires_grad=True)", ["x"]),
             ("y = x * 2", ["y"]), (write, [])]
    check(lines, torch)
    assert error_kind(execute(dm, lines)[2][1]) == "RuntimeError"


@dlmath_only
def test_fuzzer_compares_something(torch):
    """The harness itself: a program that differs between the libraries is caught."""
    lines = [("x0 = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)", ["x0"]),
             ("t1 = x0 * (2 if lib.__name__ == 'torch' else 3)", ["t1"])]
    assert discrepancy(lines, torch) is not None
    assert discrepancy(lines[:1], torch) is None


def program(src):
    """Lines of a hand-written program; a line's outputs are the names it assigns."""
    lines = []
    for code in re.split(r"\n(?! )", src.strip()):
        m = re.match(r"([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*),? = ", code)
        lines.append((code, m.group(1).split(", ") if m else []))
    return lines


@dlmath_only
@pytest.mark.parametrize("key", [
    pytest.param(key, marks=() if key in DOCUMENTED else pytest.mark.xfail(strict=True, reason=what))
    for key, (what, _) in KNOWN.items()])
def test_known_discrepancy(key, torch):
    """Minimal repros of the dlmath bugs this fuzzer found (strict xfail: fixed -> remove),
    and of the deliberate differences (DOCUMENTED): still there."""
    lines = program(KNOWN[key][1])
    diff = discrepancy(lines, torch)
    if key in DOCUMENTED:
        assert diff is not None, f"{key}: documented as a difference, but dlmath now agrees with torch"
    else:
        assert diff is None, f"{diff[1]}\n\n{source(lines)}"

