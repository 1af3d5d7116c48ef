"""The dlmath discrepancies the fuzzer found, and how it keeps clear of them.

Known dlmath bugs the fuzzer found are listed in ``KNOWN``, each with a
minimal repro run as a strict xfail (``test_known_discrepancy`` in
``tests/test_programs.py``); the generator steers around them (``avoid``) or
the check recognises them (``known_discrepancy``), so the fuzz tests pass and
keep looking for new discrepancies. Fix one, its xfail turns red: delete the
entry, and the fuzzer covers that ground again.
"""

import os

import numpy as np

from programs import ATOL, RTOL

# Known dlmath discrepancies, found by this fuzzer: key -> (what, minimal repro).
# The repro (lines run with ``lib`` = dm and = torch) is a strict xfail test
# (test_known_discrepancy), so it turns red once the bug is fixed: then delete
# the entry. Those in DOCUMENTED are deliberate (docs/differences.md): their
# test checks that the difference is still there. Meanwhile the generator steers
# around the key (``avoid``) or the check recognises the discrepancy afterwards
# (``known_discrepancy``) and Hypothesis discards the example, so the fuzzer
# keeps looking for new ones. DLMATH_FUZZ_ALL=1 turns both off.
KNOWN = {
    "layout_alias": (
        "reshape()/view() alias or copy according to NumPy's memory layout, which differs from "
        "torch's for some results: x.T + x is C-contiguous in NumPy (torch: strided like x.T), so "
        "reshape() returns a view and writes through it reach the original (torch copies); "
        "x.T.softmax(0) is strided in NumPy (torch: contiguous), so view() raises",
        "x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)\n"
        "s = x.T + x\n"
        "s.reshape(4).zero_()\n"
        "w = s * 1\n"
        "v = x.T.softmax(0).view(4)"),
    "create_graph_requires_grad": (
        "autograd.grad(create_graph=True) results whose value does not depend on the inputs "
        "(relu: the mask) have requires_grad False (torch: True, so backward through them gives "
        "zeros instead of raising)",
        "x = lib.tensor([1.0, -1.0], dtype=lib.float64, requires_grad=True)\n"
        "y = x.relu().sum()\n"
        "g, = lib.autograd.grad(y, [x], create_graph=True)"),
    "expand_readonly": (
        "fill_/zero_/masked_fill_ on a tensor expand() broadcast (stride 0) raise "
        "'more than one element ... (an expanded view)' with grad, ValueError 'assignment "
        "destination is read-only' without; torch allows them (one value per memory location); "
        "for mul_ there torch's error is 'unsupported operation', dlmath's 'output with shape "
        "(3, 2) doesn't match the broadcast shape'",
        "t = lib.tensor([1.0, 2.0], dtype=lib.float64)\n"
        "e = t.expand(3, 2).zero_()\n"
        "u = t * 1"),
    "view_of_constant": (
        "a view made before its base required grad reads requires_grad False after the base was "
        "given a history, until it is used in an op (which regenerates it, as torch does at once); "
        "its contiguous() returns it as it is",
        "c = lib.tensor([-1.82, 0.6, 0.2], dtype=lib.float64)\n"
        "w = lib.tensor([1.5], dtype=lib.float64, requires_grad=True)\n"
        "v = c[2:3]\n"
        "c[1:2] = w\n"
        "u = v"),
    "nograd_view_requires_grad": (
        "a view made under no_grad of a tensor that requires grad has requires_grad False "
        "(torch: True); torch also raises when such a view is used after its base is written with "
        "grad mode on, dlmath does not",
        "x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)\n"
        "with lib.no_grad():\n    v = x[0:1]\n"
        "u = v * 1"),
    "zeros_instead_of_none": (
        "after a double backward a leaf that only a zeroed path reaches gets a .grad of zeros; "
        "torch's graph does not reach it and leaves None (here x8 feeds t9, whose gradient "
        "reaches g_x8 only through the overwritten part of t1)",
        "x0 = lib.tensor([[-0.95, 0.52, 0.28]], dtype=lib.float64, requires_grad=True)\n"
        "t1 = lib.cat([x0, x0, x0[1:]], dim=-2)\n"
        "t1[0:, :] = lib.tensor([[-0.4, -0.63, 0.43], [-1.86, -1.62, 0.1]], dtype=lib.float64)\n"
        "t3, t4, t5, = t1.chunk(3, -1)\n"
        "t6 = t4.matmul(x0)\n"
        "x8 = lib.tensor([[0.1, 1.1, 0.21]], dtype=lib.float64, requires_grad=True)\n"
        "t9 = lib.cat([t6, x8], dim=-2)\n"
        "loss = (t1 @ t9).sum()\n"
        "g_x0, g_x8, = lib.autograd.grad(loss, [x0, x8], create_graph=True)\n"
        "gg = (g_x0 * g_x0).sum() + (g_x8 * g_x8).sum()\n"
        "gg.backward()"),
    "overlap_not_detected": (
        "an in-place write whose value overlaps the written-to memory (t[1:].copy_(t[:-1]), "
        "t[[1, 0]] = t, t.unsqueeze(0).add_(t)) is accepted; torch raises 'unsupported operation: "
        "some elements of the input tensor and the written-to tensor refer to a single memory "
        "location'",
        "t = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)\n"
        "t[1:].copy_(t[:-1])"),
    "multi_output_view_inplace": (
        "in-place on an output of split/chunk/unbind is accepted; torch forbids it (RuntimeError "
        "'This view is the output of a function that returns multiple views')",
        "x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)\n"
        "a, b = (x * 1).split(1)\n"
        "a.mul_(2)"),
    "stricter_version_check": (
        "a batched matmul saves its input for backward where torch saves a folded copy: writing "
        "the input in place afterwards makes dlmath's backward raise 'input 1 of MatMul ... is "
        "at version 2', torch's succeeds",
        "a = lib.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[1.0, 0.0], [0.0, 1.0], "
        "[2.0, 2.0]]], dtype=lib.float64)\n"
        "x = lib.tensor([[1.0, -1.0, 0.5]], dtype=lib.float64, requires_grad=True)\n"
        "y = lib.matmul(x, a)\n"
        "a[0] += 1.0\n"
        "y.sum().backward()"),
    "missed_version_check": (
        "a tensor saved for backward (e.g. sigmoid's output) modified in place through a view and "
        "then again: torch raises at backward, dlmath returns a gradient (the right one, in the "
        "cases checked)",
        "x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)\n"
        "t = x * 1\n"
        "t.view(2, 1).sigmoid_()\n"
        "t *= 3\n"
        "t.sum().backward()"),
    "error_precedence": (
        "x[None, [0, 0]] = 0.0 on a 0-d grad leaf raises the leaf RuntimeError before torch's "
        "IndexError 'too many indices'",
        "x = lib.tensor(0.5, dtype=lib.float64, requires_grad=True)\n"
        "x[None, [0, 0]] = 0.0"),
}

# deliberate, documented in docs/differences.md
DOCUMENTED = {"create_graph_requires_grad", "expand_readonly", "nograd_view_requires_grad",
              "overlap_not_detected", "multi_output_view_inplace", "stricter_version_check"}

_ALL = os.environ.get("DLMATH_FUZZ_ALL") == "1"


def avoid(key):
    """True while the known discrepancy ``key`` is to be steered around."""
    return key in KNOWN and not _ALL


# Steps torch rejects with these messages are dropped while drawing (dlmath accepts them).
SKIP_TORCH_ERRORS = {
    "overlap_not_detected": "refer to a single memory location",
    "multi_output_view_inplace": "is the output of a function that returns multiple views",
}


# (key, category prefix, pattern in the description): discrepancies recognised afterwards
_KNOWN_PATTERNS = [
    ("expand_readonly", "only dlmath raises", "(an expanded view)"),
    ("expand_readonly", "only dlmath raises", "assignment destination is read-only"),
    ("expand_readonly", "only dlmath raises", "doesn't match the broadcast shape"),
    ("expand_readonly", "error types", "doesn't match the broadcast shape"),
    ("expand_readonly", "error types", "assignment destination is read-only"),
    ("layout_alias", "only torch raises", "view size is not compatible with input tensor"),
    ("layout_alias", "only dlmath raises", "view size is not compatible with input tensor"),
    ("stricter_version_check", "only dlmath raises", "one of the variables needed for gradient"),
    ("missed_version_check", "only torch raises", "one of the variables needed for gradient"),
    ("nograd_view_requires_grad", "only torch raises", "A view was created in no_grad mode"),
    ("error_precedence", "error types", "is being used in an in-place operation"),
    # torch: a view made before its base required grad, written after, counts as a grad leaf
    ("view_of_constant", "only torch raises", "a leaf Variable that requires grad is being used"),
    ("view_of_constant", "only dlmath raises", "before its base joined the graph"),
    ("cat_legacy_empty", "only dlmath raises", "cat: Dimension out of range"),
    ("empty_write_index_check", "only torch raises", "with size 0"),
    ("empty_views", "only dlmath raises", "does not require grad"),
    ("view_of_constant", "final value requires_grad", "requires_grad dlmath False vs torch True"),
]


def _diff_arrays(text):
    return tuple(np.array(eval(line.split(None, 1)[1], {"nan": np.nan, "inf": np.inf}))
                 for line in text.splitlines()[-2:])


def known_discrepancy(diff):
    """The KNOWN key explaining a discrepancy (category, description), or None."""
    if _ALL:
        return None
    category, text = diff
    if category == "step requires_grad" and ".contiguous()" in text.splitlines()[0] \
            and "view_of_constant" in KNOWN:
        return "view_of_constant"
    if category == "grad none-ness" and text.endswith("vs torch None") \
            and "zeros_instead_of_none" in KNOWN:
        return "zeros_instead_of_none"
    if "RuntimeError when read" in text and "multi_output_view_inplace" in KNOWN:
        return "multi_output_view_inplace"  # torch refuses to read a stale split output
    if "autograd.grad(" in text.splitlines()[0]:
        if category == "step requires_grad":
            return "create_graph_requires_grad"
        if category == "step values" and "create_graph_f32" in KNOWN:
            ours, theirs = _diff_arrays(text)
            if np.allclose(ours, theirs, rtol=1e-6, atol=0, equal_nan=True):
                return "create_graph_f32"
    for key, prefix, pattern in _KNOWN_PATTERNS:
        if key in KNOWN and category.startswith(prefix) and pattern in text:
            return key
    if "values differ" in text:
        ours, theirs = _diff_arrays(text)
        bad = ~np.isclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True)
        if np.all(np.isnan(theirs[bad])) and np.all(np.isfinite(ours[bad])) \
                and "amax_nan_grad" in KNOWN:
            return "amax_nan_grad"
        if np.all(np.isnan(ours[bad])) and not np.any(np.isnan(theirs[bad])) \
                and "abs_double_backward_nan" in KNOWN:
            return "abs_double_backward_nan"
    return None
