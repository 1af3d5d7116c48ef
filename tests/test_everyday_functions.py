"""The everyday tensor surface of issue #14 (signs, NaN-aware reductions, selection and scatter,
assembly, integration): dtypes, empty and 0-d tensors, and errors, against torch.

Each snippet runs with ``T`` = dlmath and = torch; the results ``R`` (tensors, compared with their
dtypes and shapes) or the builtin type of the error raised must agree. The generic gradient,
finite-difference and forward-mode tests of these functions are entries of tests/op_table.py.
"""

import numpy as np
import pytest

from helpers import assert_snippets_agree, dm, run_snippet

CASES = {
    # --- signs and elementwise helpers ---
    "frac of an int tensor": "R = [T.frac(T.tensor([1, 2]))]",
    "frac keeps the sign": "R = [T.frac(T.tensor([-1.5, 2.25, -0.0], dtype=T.float32))]",
    "sgn of ints and floats": "R = [T.sgn(T.tensor([3, 0, -2])), T.tensor([-1.5, 0.0]).sgn()]",
    "sgn of complex": "R = [T.sgn(T.tensor([3 + 4j, 0j, -2j]))]",
    "signbit of -0.0, ints and bools": "R = [T.signbit(T.tensor([0.0, -0.0, -1.0])), T.signbit(T.tensor([1, -2])), T.signbit(T.tensor([True]))]",
    "copysign of ints is float": "R = [T.copysign(T.tensor([1, 2]), T.tensor([-1])), T.copysign(T.tensor([1, 2]), -1.0)]",
    "copysign promotes": "R = [T.copysign(T.tensor([1.0], dtype=T.float32), T.tensor([-1.0], dtype=T.float64))]",
    "copysign with -0.0 and NaN": "R = [T.copysign(T.tensor([1.0, 2.0, 0.0]), T.tensor([-0.0, float('nan'), -3.0]))]",
    "copysign gradients": "x = T.tensor([1.5, -2.0, 0.0], dtype=T.float64, requires_grad=True); y = T.tensor([-1.0, -1.0, 2.0], dtype=T.float64, requires_grad=True); T.copysign(x, y).sum().backward(); R = [x.grad, y.grad]",
    "heaviside": "R = [T.heaviside(T.tensor([-1.0, 0.0, 2.0, float('nan')]), T.tensor(0.5)), T.heaviside(T.tensor([1, 0, -1]), T.tensor([7]))]",
    "heaviside with different dtypes": "R = [T.heaviside(T.tensor([1.0, 0.0]), T.tensor([2]))]",
    "heaviside with a number": "R = [T.heaviside(T.tensor([1.0, 0.0]), 2.0)]",
    "xlogy at zero": "R = [T.xlogy(T.tensor([0.0, 0.0, 1.0, 0.0]), T.tensor([0.0, -1.0, 0.0, float('nan')]))]",
    "xlogy of ints and a number": "R = [T.xlogy(T.tensor([1, 0]), T.tensor([0, 0])), T.xlogy(2, T.tensor([1.0, 0.0])), T.xlogy(T.tensor([0.0, 1.0]), 3)]",
    "xlogy float32 stays float32": "R = [T.xlogy(T.tensor([0.5], dtype=T.float32), T.tensor([2.0], dtype=T.float32))]",
    "xlogy gradients where x == 0": "x = T.tensor([0.0, 0.0, 2.0], dtype=T.float64, requires_grad=True); y = T.tensor([-1.0, 3.0, 0.5], dtype=T.float64, requires_grad=True); T.xlogy(x, y).sum().backward(); R = [x.grad, y.grad]",
    "sinc of ints and at zero": "R = [T.sinc(T.tensor([0, 1, 2])), T.sinc(T.tensor([0.0, 0.5], dtype=T.float32))]",
    "sinc gradient at zero": "x = T.tensor([0.0, 0.25], dtype=T.float64, requires_grad=True); T.sinc(x).sum().backward(); R = [x.grad]",
    "deg2rad and rad2deg of ints": "R = [T.deg2rad(T.tensor([180, 90])), T.rad2deg(T.tensor([1])), T.deg2rad(T.tensor([1.0], dtype=T.float64))]",
    "logit of ints and outside (0, 1)": "R = [T.logit(T.tensor([1, 0])), T.logit(T.tensor([-0.5, 0.5, 1.5]))]",
    "logit with eps: value and gradient": "x = T.tensor([0.0, 0.05, 0.5, 0.99, 1.2], dtype=T.float64, requires_grad=True); y = T.logit(x, eps=0.1); y.sum().backward(); R = [y, x.grad]",
    "float_power dtypes": "R = [T.float_power(T.tensor([1, 2]), 2), T.float_power(2, T.tensor([1, 2])), T.float_power(T.tensor([1.0], dtype=T.float32), T.tensor(2))]",
    "float_power of complex": "R = [T.float_power(T.tensor([1j]), 2)]",
    "float_power_ of a float tensor": "x = T.tensor([1.0, 2.0]); x.float_power_(2); R = [x]",
    "isposinf, isneginf of ints and floats": "a = T.tensor([float('inf'), -float('inf'), float('nan'), 0.0]); R = [T.isposinf(a), T.isneginf(a), T.isposinf(T.tensor([1, 2])), a.isneginf()]",
    "isreal": "R = [T.isreal(T.tensor([1, 2])), T.isreal(T.tensor([1 + 0j, 1j])), T.tensor(1.5).isreal()]",
    "clamp_min and clamp_max of ints": "R = [T.clamp_min(T.tensor([1, -2]), 0), T.clamp_max(T.tensor([1, -2]), 0.5), T.clamp_min(T.tensor([1.0, -2.0]), T.tensor([0.5]))]",
    "in-place forms": "x = T.tensor([0.25, 1.5, -2.75], dtype=T.float64); y = x.clone(); x.frac_(); y.clamp_min_(0.3).clamp_max_(1.0); z = T.tensor([0.2, 0.7], dtype=T.float64); z.logit_(); w = T.tensor([-1.0, 2.0]); w.copysign_(T.tensor([1.0, -1.0])); v = T.tensor([0.5, 2.0]); v.xlogy_(T.tensor([2.0, 3.0])); u = T.tensor([0.0, 0.5]); u.sinc_(); R = [x, y, z, w, v, u]",
    "empty tensors": "e = T.zeros(0, 3); R = [T.frac(e), T.sgn(e), T.signbit(e), T.copysign(e, 1.0), T.xlogy(e, e), T.sinc(e), T.logit(e), T.float_power(e, 2), T.isposinf(e), T.isreal(e), T.clamp_min(e, 0)]",
    # --- NaN-aware reductions, running log-sum-exp, joint extremes ---
    "nansum of ints, bools and all-NaN": "R = [T.nansum(T.tensor([1, 2])), T.nansum(T.tensor([True, True])), T.nansum(T.tensor([float('nan')] * 2)), T.nansum(T.tensor([[1.0, float('nan')]]), 1, dtype=T.float64)]",
    "nansum of complex": "R = [T.nansum(T.tensor([1j]))]",
    "nansum and nanmean of empty": "e = T.zeros(0, 3); R = [T.nansum(e), T.nansum(e, 0), T.nanmean(e, 1), T.nanmean(e)]",
    "nanmean of ints": "R = [T.nanmean(T.tensor([1, 2]))]",
    "nanmean with NaN": "R = [T.nanmean(T.tensor([[float('nan'), 1.0, 2.0], [float('nan')] * 3]), 1, keepdim=True), T.nanmean(T.tensor([1.0, float('nan')], dtype=T.float32))]",
    "nan gradients": "x = T.tensor([1.0, float('nan'), 3.0], dtype=T.float64, requires_grad=True); (T.nansum(x) + T.nanmean(x)).backward(); R = [x.grad]",
    "logcumsumexp far apart and infinite": "R = [T.logcumsumexp(T.tensor([-1000.0, 0.0, 1000.0, -float('inf'), float('inf'), 1.0]), 0)]",
    "logcumsumexp of ints": "R = [T.logcumsumexp(T.tensor([1, 2]), 0)]",
    "logcumsumexp of 0-d and empty": "R = [T.logcumsumexp(T.tensor(2.0), 0), T.logcumsumexp(T.zeros(2, 0), 1), T.logcumsumexp(T.zeros(0, 2), 1)]",
    "logcumsumexp dim out of range": "R = [T.logcumsumexp(T.tensor(2.0), 1)]",
    "logcumsumexp float32 gradient": "x = T.tensor([-30.0, 0.5, 2.0, -1.0], requires_grad=True); T.logcumsumexp(x, 0).sum().backward(); R = [x.grad]",
    "aminmax of empty": "R = [T.aminmax(T.zeros(0))]",
    "aminmax of an empty dim": "R = [T.aminmax(T.zeros(2, 0), dim=1)]",
    "aminmax along a dim of an empty tensor": "R = list(T.aminmax(T.zeros(2, 0), dim=0))",
    "aminmax of ints, bools, 0-d and keepdim": "R = list(T.aminmax(T.tensor([[3, -1], [2, 5]]))) + list(T.aminmax(T.tensor([True, False]))) + list(T.aminmax(T.tensor(2.0), dim=0)) + list(T.aminmax(T.ones(2, 3), keepdim=True))",
    "aminmax names": "r = T.aminmax(T.tensor([1.0, 3.0]), dim=0); R = [r.min, r.max]",
    # --- selection and scatter ---
    "kthvalue: k out of range, empty, ints, 0-d": "R = [T.kthvalue(T.tensor([1, 3, 2]), 2).values, T.kthvalue(T.tensor([1, 3, 2]), 2).indices, T.kthvalue(T.zeros(2, 0), 1, 0).values, T.kthvalue(T.zeros(2, 0), 1, 0).indices, T.kthvalue(T.tensor(3.0), 1).values, T.kthvalue(T.tensor(3.0), 1).indices]",
    "kthvalue k = 0": "R = [T.kthvalue(T.ones(2, 3), 0).values]",
    "kthvalue k too large": "R = [T.kthvalue(T.ones(2, 3), 4).values]",
    "kthvalue with NaN and ties": "r = T.kthvalue(T.tensor([[3.0, float('nan'), 2.0, 2.0], [1.0, 1.0, 1.0, 0.0]]), 3, 1, True); R = [r.values, r.indices]",
    "argwhere of 0-d and empty": "R = [T.argwhere(T.tensor(3.0)), T.argwhere(T.tensor(0.0)), T.argwhere(T.zeros(2, 0)), T.argwhere(T.tensor([[1, 0], [0, 2]]))]",
    "masked_select dtypes and broadcasting": "R = [T.masked_select(T.tensor([1.0, 2.0]), T.tensor([[True, False], [True, True]])), T.masked_select(T.tensor([[1, 2], [3, 4]]), T.tensor([True, False])), T.masked_select(T.tensor(2.0), T.tensor(True)), T.masked_select(T.zeros(0, 2), T.tensor([True, False]))]",
    "masked_select with a non-bool mask": "R = [T.masked_select(T.ones(3), T.tensor([1, 0, 1]))]",
    "masked_select that cannot broadcast": "R = [T.masked_select(T.ones(3), T.tensor([True, False]))]",
    "take": "R = [T.take(T.tensor([[1.0, 2.0], [3.0, 4.0]]), T.tensor([-1, 0])), T.take(T.tensor(5), T.tensor([[0]])), T.take(T.ones(2, 3), T.tensor([], dtype=T.int64))]",
    "take out of range": "R = [T.take(T.ones(3), T.tensor([-4]))]",
    "take with an int32 index": "R = [T.take(T.ones(3), T.tensor([0], dtype=T.int32))]",
    "index_add": "R = [T.index_add(T.zeros(3, 4), 1, T.tensor([0, 2, 0]), T.ones(3, 3), alpha=2), T.index_add(T.zeros(3, dtype=T.int64), 0, T.tensor([1, 1], dtype=T.int32), T.tensor([2, 5]))]",
    "index_add with another dtype": "R = [T.index_add(T.zeros(3, 4), 1, T.tensor([0, 2]), T.ones(3, 2, dtype=T.float64))]",
    "index_add with a wrong count": "R = [T.index_add(T.zeros(3, 4), 1, T.tensor([0, 2]), T.ones(3, 3))]",
    "index_add out of range": "R = [T.index_add(T.zeros(3, 4), 1, T.tensor([0, 4]), T.ones(3, 2))]",
    "index_add negative": "R = [T.index_add(T.zeros(3, 4), 1, T.tensor([0, -1]), T.ones(3, 2))]",
    "index_add float index": "R = [T.index_add(T.zeros(3, 4), 1, T.tensor([0.0, 1.0]), T.ones(3, 2))]",
    "index_add_ in place": "x = T.zeros(2, 3); x.index_add_(0, T.tensor([1, 1]), T.ones(2, 3)); R = [x]",
    "index_copy": "R = [T.index_copy(T.zeros(3, 4), 1, T.tensor([3, 0]), T.ones(3, 2))]",
    "index_copy with another dtype": "R = [T.index_copy(T.zeros(3, 4), 1, T.tensor([0, 2]), T.ones(3, 2, dtype=T.float64))]",
    "index_copy negative": "R = [T.index_copy(T.zeros(3, 4), 1, T.tensor([0, -1]), T.ones(3, 2))]",
    "index_copy with a wrong count": "R = [T.index_copy(T.zeros(3, 4), 1, T.tensor([0, 2]), T.ones(3, 3))]",
    "index_copy_ in place": "x = T.zeros(2, 3); x.index_copy_(1, T.tensor([2]), T.ones(2, 1)); R = [x]",
    "index_fill": "R = [T.index_fill(T.zeros(3, 4), 1, T.tensor([0, -1]), 2.0), T.index_fill(T.zeros(3, dtype=T.int64), 0, T.tensor([0, 1]), 2.5), T.index_fill(T.zeros(2, 2), 0, T.tensor([1]), T.tensor(7.0))]",
    "index_fill out of range": "R = [T.index_fill(T.zeros(3, 4), 1, T.tensor([0, 4]), 2.0)]",
    "index_fill with a 1-d value": "R = [T.index_fill(T.zeros(3, 4), 1, T.tensor([0, 1]), T.tensor([2.0]))]",
    "index_fill_ in place": "x = T.zeros(2, 3); x.index_fill_(1, T.tensor([0, 2]), -1.0); R = [x]",
    "index_fill value gradient": "v = T.tensor(2.0, dtype=T.float64, requires_grad=True); x = T.ones(2, 3, dtype=T.float64, requires_grad=True); (T.index_fill(x, 1, T.tensor([0, 2]), v) * T.arange(6.0, dtype=T.float64).reshape(2, 3)).sum().backward(); R = [v.grad, x.grad]",
    "scatter": "R = [T.scatter(T.zeros(3, 4), 1, T.tensor([[0, 2]]), T.ones(3, 2)), T.scatter(T.zeros(3, 4), 1, T.tensor([[0, 2]]), 2), T.scatter(T.zeros(3, 4, dtype=T.int64), 0, T.tensor([[2, 1]]), value=7)]",
    "scatter one-hot": "R = [T.zeros(4, 3).scatter(1, T.tensor([[2], [0], [1], [2]]), 1.0)]",
    "scatter with another dtype": "R = [T.scatter(T.zeros(3, 4), 1, T.tensor([[0, 2]]), T.ones(3, 2, dtype=T.float64))]",
    "scatter with a 0-d src tensor": "R = [T.scatter(T.zeros(3, 4), 1, T.tensor([[0, 2]]), T.tensor(2.0))]",
    "scatter negative index": "R = [T.scatter(T.zeros(3, 4), 1, T.tensor([[0, -1]]), 2.0)]",
    "scatter with reduce add": "R = [T.scatter(T.zeros(3, 4), 1, T.tensor([[0, 2]]), src=T.ones(3, 2), reduce='add')]",
    "scatter of 0-d and 1-d": "R = [T.scatter(T.tensor(1.0), 0, T.tensor(0), T.tensor(5.0)), T.scatter(T.zeros(3), 0, T.tensor([2, 0]), 4.0)]",
    "scatter_ in place": "x = T.zeros(2, 3); x.scatter_(1, T.tensor([[2], [0]]), T.ones(2, 1) * 3); y = T.zeros(2, 2); y.scatter_(0, T.tensor([[1, 0]]), 9.0); R = [x, y]",
    # --- building and reshaping ---
    "fliplr of 1-d": "R = [T.fliplr(T.ones(3))]",
    "flipud of 0-d": "R = [T.flipud(T.tensor(1.0))]",
    "hsplit not divisible": "R = list(T.hsplit(T.ones(2, 4), 3))",
    "hsplit of 1-d, vsplit of 1-d, dsplit of 2-d, hsplit of 0-d": "R = list(T.hsplit(T.ones(4), 2))",
    "vsplit of 1-d": "R = list(T.vsplit(T.ones(4), 2))",
    "dsplit of 2-d": "R = list(T.dsplit(T.ones(2, 2), 2))",
    "hsplit of 0-d": "R = list(T.hsplit(T.tensor(1.0), 1))",
    "tensor_split forms": "x = T.arange(7); R = list(T.tensor_split(x, 3)) + list(T.tensor_split(x, [1, 5, 9])) + list(T.tensor_split(x, T.tensor(3))) + list(T.tensor_split(x, T.tensor([1, 4]))) + list(T.tensor_split(x, [5, 2])) + list(T.tensor_split(x, [-2]))",
    "tensor_split of zero sections": "R = list(T.tensor_split(T.ones(7), 0))",
    "tensor_split of 0-d": "R = list(T.tensor_split(T.tensor(1.0), 2))",
    "tensor_split of an empty dim": "R = list(T.tensor_split(T.zeros(2, 0), 3, dim=1))",
    "column_stack and dstack of mixed dims": "R = [T.column_stack([T.tensor(1.0), T.ones(1, 1), T.ones(1)]), T.dstack([T.tensor(1.0), T.ones(1)]), T.column_stack([T.tensor([1, 2]), T.tensor([3.0, 4.0])])]",
    "atleast_nd": "R = list(T.atleast_2d(T.tensor(1.0), T.ones(1))) + list(T.atleast_3d([T.ones(2, 3)])) + [T.atleast_1d(T.ones(2, 3)), T.atleast_3d(T.ones(4)), T.atleast_3d(T.tensor(2)), T.atleast_1d(T.tensor(2.0))]",
    "block_diag dtypes": "R = [T.block_diag(T.tensor(1), T.ones(2), T.ones(2, 3, dtype=T.float64)), T.block_diag(T.tensor([[1, 2]]), T.tensor([3])), T.block_diag(), T.block_diag(T.zeros(0, 2), T.ones(1, 1))]",
    "block_diag of 3-d": "R = [T.block_diag(T.ones(2, 2, 2))]",
    "cartesian_prod": "R = [T.cartesian_prod(T.tensor([1, 2])), T.cartesian_prod(T.tensor([1, 2]), T.tensor([3, 4, 5]), T.tensor([0, 1])), T.cartesian_prod(T.tensor([1.0]), T.zeros(0))]",
    "cartesian_prod of mixed dtypes": "R = [T.cartesian_prod(T.tensor([1, 2]), T.tensor([1.0, 2.0]))]",
    "combinations": "x = T.tensor([1, 2, 3]); R = [T.combinations(x, 0), T.combinations(x, 4), T.combinations(x), T.combinations(x, 2, with_replacement=True), T.combinations(T.zeros(0), 2)]",
    "combinations of 2-d": "R = [T.combinations(T.ones(2, 2))]",
    "tril_indices and triu_indices": "R = [T.tril_indices(3, 4, 1), T.triu_indices(3, 4, -1, dtype=T.int32), T.tril_indices(0, 4), T.triu_indices(4, 4, 5), T.tril_indices(3, 3, -5)]",
    "cross with and without dim": "a = T.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0], [4.0, 0.5, 1.0]]); b = T.tensor([[0.5, 1.0, -1.0]]); R = [T.cross(a, a.flip(1)), T.cross(a, b, dim=1), T.cross(a, a.flip(0), dim=0), a.cross(b, dim=-1), T.cross(T.tensor([1, 0, 0]), T.tensor([0, 1, 0]), dim=0)]",
    "cross without dim: input's first dim of size 3 must be other's too": "R = [T.cross(T.ones(3, 3), T.ones(1, 3))]",
    "cross without a dim of size 3": "R = [T.cross(T.ones(2, 4), T.ones(2, 4))]",
    "cross along a dim not of size 3": "R = [T.cross(T.ones(4, 2), T.ones(4, 2), dim=1)]",
    "cross of mixed dtypes": "R = [T.cross(T.ones(3), T.ones(3, dtype=T.float64), dim=0)]",
    # --- scatter with a reduction (torch's deprecated reduce= form) ---
    "scatter reduce multiply and add": "x = T.ones(2, 3) * 2; i = T.tensor([[0, 0, 2], [1, 1, 1]]); s = T.arange(1.0, 7.0).reshape(2, 3); R = [x.scatter(1, i, s, reduce='multiply'), x.scatter(1, i, s, reduce='add'), x.scatter(1, i, 3.0, reduce='multiply'), x.scatter(1, i, 3.0, reduce='add'), x.scatter(0, T.tensor([[1, 0]]), s, reduce='multiply')]",
    "scatter_ reduce multiply in place": "x = T.ones(2, 3); x.scatter_(1, T.tensor([[0, 0]]), T.tensor([[2.0, 5.0]]), reduce='multiply'); R = [x]",
    "scatter reduce of an unknown kind": "R = [T.ones(2).scatter(0, T.tensor([0]), T.tensor([1.0]), reduce='mean')]",
    "scatter reduce multiply has no gradient": "x = T.ones(2, requires_grad=True); x.scatter(0, T.tensor([0]), T.tensor([3.0]), reduce='multiply').sum().backward(); R = [x.grad]",
    "select a row and a column": "x = T.arange(6.0).reshape(2, 3); R = [x.select(0, 1), x.select(1, -1), T.select(x, 1, 0)]",
    "select out of range": "R = [T.zeros(2, 3).select(1, 3)]",
    # --- medians: a new tensor, not a view of the input ---
    "median is not a view": "y = T.tensor([3.0, 1.0, 2.0]); m = y.median(); y.fill_(7.0); R = [m]",
    "median gradient reaches the element picked": "x = T.tensor([3.0, 1.0, 2.0, 5.0], dtype=T.float64, requires_grad=True); x.median().backward(); R = [x.grad]",
    "nanmedian skips NaN": "nan = float('nan'); x = T.tensor([[3.0, nan, 1.0, 2.0], [5.0, 4.0, 7.0, 6.0]]); r = x.nanmedian(1); R = [x.nanmedian(), r.values, r.indices, x.nanmedian(0, keepdim=True).values, T.nanmedian(T.tensor([1, 5, 3]))]",
    "nanmedian of NaNs only": "R = [T.tensor([float('nan')] * 3).nanmedian(), T.tensor([[float('nan')] * 4]).nanmedian(1).values]",
    "nanmedian gradient": "x = T.tensor([3.0, float('nan'), 1.0, 2.0], dtype=T.float64, requires_grad=True); x.nanmedian().backward(); R = [x.grad]",
    # --- integration ---
    "trapezoid forms": "y = T.tensor([[1.0, 2.0, 4.0, 7.0], [0.0, 1.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]]); R = [T.trapezoid(y), T.trapezoid(y, dx=2.0, dim=0), T.trapezoid(y, T.tensor([0.0, 1.0, 3.0, 3.5])), T.trapezoid(y, T.tensor([[0.0], [1.0], [3.0]]), dim=0), T.trapezoid(T.tensor([1, 2, 3])), T.trapezoid(T.ones(3, 0)), T.trapezoid(T.ones(3, 1))]",
    "trapezoid x of the wrong size": "R = [T.trapezoid(T.ones(3, 4), T.arange(3.0))]",
    "trapezoid of 0-d": "R = [T.trapezoid(T.tensor(1.0))]",
    "cumulative_trapezoid forms": "y = T.tensor([[1.0, 2.0, 4.0, 7.0], [0.0, 1.0, 0.0, 1.0]]); R = [T.cumulative_trapezoid(y), T.cumulative_trapezoid(T.tensor([1, 2, 3])), T.cumulative_trapezoid(T.ones(3, 0)), T.cumulative_trapezoid(T.ones(3, 1)), T.cumulative_trapezoid(y, T.tensor([0.0, 0.5, 2.0, 2.5])), T.cumulative_trapezoid(y, dx=3.0, dim=0)]",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, torch):
    assert_snippets_agree(run_snippet(dm, CASES[name]), run_snippet(torch, CASES[name]), name)


def test_float_power_in_place_on_double():
    x = dm.tensor([1.5, 2.0], dtype=dm.float64)
    x.float_power_(2)
    np.testing.assert_allclose(x.numpy(), [2.25, 4.0])


def test_cross_without_dim_warns_as_torch():
    with pytest.warns(UserWarning, match="without specifying the dim arg is deprecated"):
        dm.cross(dm.ones(3, 3), dm.ones(3, 3))
