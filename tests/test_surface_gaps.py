"""Gaps a probe of tutorial code with ``import dlmath as torch`` found (issue #14): the legacy
``Tensor(sizes)`` constructor, in-place random fills, strides and storage offsets, ``x in t``,
``is_nonzero``, baddbmm/addbmm/addmv/addr, index_put, ``Tensor.unfold``, thread counts,
``inference_mode`` and ``compile``.

As in tests/test_everyday_functions.py, each snippet of ``CASES`` runs with ``T`` = dlmath and =
torch; its results ``R`` (tensors compared with their dtypes and shapes, numbers, tuples) or the
builtin type of the error raised must agree. Random fills are checked by their distributions
(dlmath only: the two libraries draw different streams); gradients, finite differences and
forward mode of the differentiable ops are entries of tests/op_table.py.
"""
import math
import sys

import numpy as np
import pytest

from helpers import assert_snippets_agree, dlmath_only, dm, dtype_name, run_snippet

CASES = {
    # --- 1. the legacy constructor ---
    "Tensor of sizes, of a Size, of nothing": "R = [T.Tensor(2, 3).zero_(), T.Tensor(T.Size([2, 3])).zero_(), T.Tensor().zero_(), T.Tensor(0), T.Tensor(3).fill_(1.5)]",
    "Tensor of data": "R = [T.Tensor([1, 2]), T.Tensor((2, 3)), T.Tensor([[1.5], [2.5]]), T.Tensor([])]",
    "Tensor of a tensor keeps its dtype and memory": "a = T.tensor([1, 2]); b = T.Tensor(a); b[0] = 7; R = [a, b]",
    "Tensor of a float": "R = [T.Tensor(2.5)]",
    "Tensor of a string": "R = [T.Tensor('ab')]",
    "Tensor of sizes and data": "R = [T.Tensor(2, [1])]",
    "Tensor on the cpu": "R = [T.Tensor(2, device='cpu').zero_()]",
    # --- 3. strides, offsets, addresses ---
    "strides": "x = T.arange(12.0).reshape(3, 4); R = [x.stride(), x.t().stride(), x.stride(0), x.stride(-1), x.expand(2, 3, 4).stride(), x[:, ::2].stride(), x[1].stride(), T.tensor(3.0).stride(), T.ones(3, 0).stride(), T.ones(0).stride(), x.unsqueeze(1).stride(), x.permute(1, 0).contiguous().stride()]",
    "stride of a dim out of range": "R = [T.ones(3, 4).stride(2)]",
    "stride of a dim of a 0-d tensor": "R = [T.tensor(1.0).stride(0)]",
    "storage offsets": "x = T.arange(12.0).reshape(3, 4); R = [x.storage_offset(), x[1:].storage_offset(), x[:, 1].storage_offset(), x.t().storage_offset(), x[2, 3].storage_offset(), x[1:].detach().storage_offset(), x.view(-1)[5:].storage_offset(), x.narrow(1, 2, 2).storage_offset(), x[1:][1:].storage_offset(), T.ones(3).clone().storage_offset()]",
    "data_ptr of views": "x = T.arange(12.0, dtype=T.float64).reshape(3, 4); R = [x[1:].data_ptr() - x.data_ptr(), x[:, 2].data_ptr() - x.data_ptr(), x.t().data_ptr() == x.data_ptr(), x.clone().data_ptr() == x.data_ptr(), T.ones(0).data_ptr(), isinstance(x.data_ptr(), int)]",
    # --- 4. membership and truth ---
    "x in t": "t = T.tensor([[1, 2], [3, 4]]); R = [2 in t, 2.5 in t, 5 in t, T.tensor([1, 2]) in t, T.tensor([1, 5]) in t, T.tensor(4) in t, True in T.tensor([0.0, 1.0]), 0 in T.zeros(0), 1.5 in T.tensor([1.5])]",
    "x in t of a string": "R = ['a' in T.tensor([1])]",
    "x in t of a list": "R = [[1] in T.tensor([1])]",
    "is_nonzero": "R = [T.tensor([0.5]).is_nonzero(), T.tensor(0).is_nonzero(), T.is_nonzero(T.tensor([[False]])), T.tensor([-0.0]).is_nonzero(), T.tensor(float('nan')).is_nonzero()]",
    "is_nonzero of an empty tensor": "R = [T.zeros(0).is_nonzero()]",
    "is_nonzero of two elements": "R = [T.ones(2).is_nonzero()]",
    # --- 5. products with an added term ---
    "baddbmm": "b1 = T.arange(24.0).reshape(2, 3, 4) / 10; b2 = T.arange(40.0).reshape(2, 4, 5) / 7; R = [T.baddbmm(T.ones(2, 3, 5), b1, b2), T.baddbmm(T.arange(5.0), b1, b2, beta=2, alpha=0.5), T.ones(3, 1).baddbmm(b1, b2, alpha=-1)]",
    "baddbmm of ints": "b1 = T.arange(24).reshape(2, 3, 4); b2 = T.arange(40).reshape(2, 4, 5); R = [T.baddbmm(T.ones(2, 3, 5, dtype=T.int64), b1, b2, beta=2, alpha=3)]",
    "baddbmm of ints with a float beta": "R = [T.baddbmm(T.ones(2, 3, 5, dtype=T.int64), T.ones(2, 3, 4, dtype=T.int64), T.ones(2, 4, 5, dtype=T.int64), beta=0.5)]",
    "baddbmm beta=0 ignores NaN and inf": "x = T.full((2, 3, 5), float('nan')); x[0] = float('inf'); R = [T.baddbmm(x, T.ones(2, 3, 4), T.ones(2, 4, 5), beta=0), T.addmm(T.full((3, 5), float('nan')), T.ones(3, 4), T.ones(4, 5), beta=0), T.addmv(T.full((3,), float('nan')), T.ones(3, 4), T.ones(4), beta=0), T.addbmm(T.full((3, 5), float('inf')), T.ones(2, 3, 4), T.ones(2, 4, 5), beta=0), T.addr(T.full((3, 4), float('nan')), T.ones(3), T.ones(4), beta=0)]",
    "beta=0: the input's gradient is zero": "x = T.full((3, 5), float('nan'), requires_grad=True); m = T.ones(3, 4, requires_grad=True); T.addmm(x, m, T.ones(4, 5), beta=0).sum().backward(); R = [x.grad, m.grad]",
    "baddbmm input that does not broadcast": "R = [T.baddbmm(T.ones(3, 4, 5), T.ones(2, 3, 4), T.ones(2, 4, 5))]",
    "baddbmm of a 2-d batch": "R = [T.baddbmm(T.ones(2, 3, 5), T.ones(3, 4), T.ones(2, 4, 5))]",
    "baddbmm batch sizes differ": "R = [T.baddbmm(T.ones(2, 3, 5), T.ones(2, 3, 4), T.ones(3, 4, 5))]",
    "baddbmm inner sizes differ": "R = [T.baddbmm(T.ones(2, 3, 5), T.ones(2, 3, 4), T.ones(2, 3, 5))]",
    "baddbmm of mixed dtypes": "R = [T.baddbmm(T.ones(2, 3, 5, dtype=T.float64), T.ones(2, 3, 4), T.ones(2, 4, 5))]",
    "addbmm": "b1 = T.arange(24.0).reshape(2, 3, 4) / 10; b2 = T.arange(40.0).reshape(2, 4, 5) / 7; R = [T.addbmm(T.ones(3, 5), b1, b2), T.addbmm(T.arange(5.0), b1, b2, beta=-1, alpha=2), T.ones(3, 5).addbmm(T.ones(0, 3, 4), T.ones(0, 4, 5))]",
    "addbmm input of more dims": "R = [T.addbmm(T.ones(2, 3, 5), T.ones(2, 3, 4), T.ones(2, 4, 5))]",
    "addmv": "m = T.arange(12.0).reshape(3, 4); v = T.tensor([1.0, -1.0, 0.5, 2.0]); R = [T.addmv(T.ones(3), m, v), T.addmv(T.tensor([2.0]), m, v, beta=0.5, alpha=-2), T.ones(3).addmv(m, v), T.addmv(T.tensor(1.0), m, v)]",
    "addmv size mismatch": "R = [T.addmv(T.ones(3), T.ones(3, 4), T.ones(5))]",
    "addmv of a matrix vec": "R = [T.addmv(T.ones(3), T.ones(3, 4), T.ones(4, 1))]",
    "addmv of a batch": "R = [T.addmv(T.ones(3), T.ones(2, 3, 4), T.ones(4))]",
    "addr": "a = T.tensor([1.0, 2.0, -1.0]); b = T.tensor([0.5, 1.0, 2.0, 3.0]); R = [T.addr(T.ones(3, 4), a, b), T.addr(T.arange(4.0), a, b, beta=2, alpha=0.5), T.ones(3, 4).addr(a, b), T.addr(T.ones(3, 4), a, b.double())]",
    "addr of ints and bools": "R = [T.addr(T.ones(3, 4, dtype=T.int64), T.arange(3), T.arange(4), beta=2, alpha=3), T.addr(T.zeros(2, 2, dtype=T.bool), T.tensor([True, False]), T.tensor([True, True]))]",
    "addr of a matrix vec1": "R = [T.addr(T.ones(3, 4), T.ones(3, 1), T.ones(4))]",
    "addr of ints with a float alpha": "R = [T.addr(T.ones(3, 4, dtype=T.int64), T.arange(3), T.arange(4), alpha=1.5)]",
    "in-place forms": "b1 = T.arange(24.0).reshape(2, 3, 4) / 10; b2 = T.arange(40.0).reshape(2, 4, 5) / 7; x = T.ones(2, 3, 5); x.baddbmm_(b1, b2, beta=0.5); y = T.ones(3, 5); y.addbmm_(b1, b2, alpha=2); z = T.ones(3); z.addmv_(T.ones(3, 4), T.arange(4.0)); w = T.ones(3, 4); w.addr_(T.arange(3.0), T.arange(4.0), beta=0); u = T.ones(3, 5); u.addmm_(T.ones(3, 4), T.ones(4, 5), alpha=-1); R = [x, y, z, w, u]",
    "in-place form of a smaller tensor": "R = [T.ones(1).addmv_(T.ones(3, 4), T.ones(4))]",
    "in-place forms record": "a = T.ones(3, 4, requires_grad=True); v = T.arange(3.0, requires_grad=True); y = a * 2; y.addr_(v, T.arange(4.0), alpha=2); (y * y).sum().backward(); R = [a.grad, v.grad, y]",
    "in-place form of a leaf that requires grad": "R = [T.ones(3, requires_grad=True).addmv_(T.ones(3, 4), T.ones(4))]",
    "in-place form through a view": "x = T.zeros(2, 3, 5); x[1].addmm_(T.ones(3, 4), T.ones(4, 5)); R = [x]",
    # --- 6. index_put ---
    "index_put": "x = T.zeros(3, 4); R = [T.index_put(x, (T.tensor([2, 0]),), T.ones(2, 4)), x.index_put((T.tensor([0, 2]), T.tensor([1, 3])), T.tensor([5.0, 6.0])), x.index_put([T.tensor([1])], T.tensor(7.0)), x.index_put((T.tensor([True, False, True]),), T.tensor(2.0)), x.index_put((T.tensor([-1]),), T.tensor([1.0, 2.0, 3.0, 4.0])), x]",
    "index_put accumulate adds repeats": "x = T.ones(3, 4); R = [T.index_put(x, (T.tensor([2, 0, 2]),), T.ones(3, 4), accumulate=True), x.index_put((T.tensor([1, 1, 1]), T.tensor([0, 0, 3])), T.tensor([1.0, 2.0, 4.0]), True), x.index_put((T.tensor([True, False, True]),), T.tensor([1.0, 2.0, 3.0, 4.0]), True)]",
    "index_put of ints": "R = [T.index_put(T.zeros(4, dtype=T.int64), (T.tensor([1, 1, 3]),), T.tensor([5, 6, 7]), accumulate=True), T.index_put(T.zeros(4, dtype=T.int64), (T.tensor([1, 3], dtype=T.int32),), T.tensor(9))]",
    "index_put_ in place": "x = T.zeros(3, 4); x.index_put_((T.tensor([0, 0]), T.tensor([1, 1])), T.tensor([1.0, 2.0]), accumulate=True); y = T.zeros(2, 2); y.index_put_((T.tensor([1]),), T.tensor([3.0, 4.0])); z = T.zeros(2, 3); z[1].index_put_((T.tensor([0, 2]),), T.tensor(5.0)); R = [x, y, z]",
    "index_put_ records": "w = T.ones(3, requires_grad=True); v = T.tensor([2.0, 3.0], requires_grad=True); y = w * 2; y.index_put_((T.tensor([1, 1]),), v * 1, accumulate=True); (y * T.arange(3.0)).sum().backward(); z = w * 3; z.index_put_((T.tensor([0]),), v[:1]); (z * T.arange(1.0, 4.0)).sum().backward(); R = [y, w.grad, v.grad]",
    "index_put with another dtype": "R = [T.index_put(T.zeros(3), (T.tensor([0]),), T.tensor([1.0], dtype=T.float64))]",
    "index_put out of range": "R = [T.index_put(T.zeros(3), (T.tensor([0, 5]),), T.tensor(1.0))]",
    "index_put with a float index": "R = [T.index_put(T.zeros(3), (T.tensor([1.0]),), T.tensor(1.0))]",
    "index_put with a number": "R = [T.index_put(T.zeros(3), (T.tensor([1]),), 1.0)]",
    "index_put with None": "R = [T.index_put(T.zeros(3, 2), (None, T.tensor([1])), T.tensor(1.0))]",
    "index_put with too many indices": "R = [T.index_put(T.zeros(3, 2), (T.tensor([1]), T.tensor([1]), T.tensor([0])), T.tensor(1.0))]",
    "index_put values of the wrong shape": "R = [T.index_put(T.zeros(3, 2), (T.tensor([1]),), T.tensor([1.0, 2.0, 3.0]))]",
    # --- 7. unfold ---
    "unfold": "x = T.arange(24.0).reshape(2, 3, 4); R = [x.unfold(2, 2, 1), x.unfold(-1, 2, 2), x.unfold(1, 3, 1), x.unfold(0, 1, 5), x.unfold(2, 4, 1), x.unfold(2, 0, 1), T.arange(7).unfold(0, 3, 2), T.tensor(5.0).unfold(0, 1, 1), T.tensor(5.0).unfold(0, 0, 1)]",
    "unfold strides": "x = T.arange(24.0).reshape(2, 3, 4); R = [x.unfold(2, 2, 1).stride(), x.unfold(1, 2, 1).unfold(2, 3, 1).stride(), x.t().unfold(0, 2, 2).stride() if x.ndim == 2 else x.transpose(0, 2).unfold(0, 2, 2).stride(), x[:, 1:].unfold(1, 1, 1).storage_offset()]",
    "unfold is a view": "x = T.zeros(6); x.unfold(0, 2, 2)[1].fill_(3.0); y = T.arange(6.0); u = y.unfold(0, 3, 1); y[2] = -1.0; R = [x, u]",
    "unfold gradient with overlapping windows": "x = T.arange(6.0, requires_grad=True); (x.unfold(0, 3, 1) * T.arange(12.0).reshape(4, 3)).sum().backward(); R = [x.grad]",
    "unfold size too large": "R = [T.ones(3).unfold(0, 4, 1)]",
    "unfold step 0": "R = [T.ones(3).unfold(0, 2, 0)]",
    "unfold negative size": "R = [T.ones(3).unfold(0, -1, 1)]",
    "unfold dim out of range": "R = [T.ones(3).unfold(1, 1, 1)]",
    "unfold of 0-d, size 2": "R = [T.tensor(5.0).unfold(0, 2, 1)]",
    # --- 2. random fills: what can be compared across libraries (errors, dtypes, certain draws) ---
    "bernoulli_ with p 0 and 1, any dtype": "R = [T.zeros(4).bernoulli_(1.0), T.ones(4).bernoulli_(0), T.zeros(3, dtype=T.int64).bernoulli_(1), T.zeros(3, dtype=T.bool).bernoulli_(1.0), T.zeros(2, 3).bernoulli_(T.tensor([0.0, 1.0, 1.0])), T.empty(3, dtype=T.float64).bernoulli_(T.tensor([1.0, 0.0, 1.0]))]",
    "bernoulli_ p > 1": "R = [T.zeros(3).bernoulli_(1.5)]",
    "bernoulli_ tensor p > 1": "R = [T.zeros(3).bernoulli_(T.tensor([0.5, 1.5, 0.0]))]",
    "bernoulli_ int tensor p": "R = [T.zeros(3).bernoulli_(T.tensor([0, 1, 1]))]",
    "bernoulli of 0 and 1": "R = [T.bernoulli(T.tensor([0.0, 1.0, 1.0])), T.tensor([[1.0], [0.0]], dtype=T.float64).bernoulli(), T.bernoulli(T.zeros(2), 1.0)]",
    "random_ of one value": "R = [T.empty(3).random_(3, 4), T.empty(3, dtype=T.int8).random_(-5, -4), T.empty(2, dtype=T.int64).random_(1), T.empty(2).random_(to=1), T.empty(2, dtype=T.bool).random_(1, 2)]",
    "random_ from >= to": "R = [T.empty(3).random_(10, 3)]",
    "random_ to 0": "R = [T.empty(3).random_(0)]",
    "random_ past int8": "R = [T.empty(3, dtype=T.int8).random_(-3, 300)]",
    "random_ from below int8": "R = [T.empty(3, dtype=T.int8).random_(-300, 3)]",
    "exponential_ lambda 0": "R = [T.empty(3).exponential_(0)]",
    "exponential_ of ints": "R = [T.empty(3, dtype=T.int64).exponential_()]",
    "geometric_ p 0": "R = [T.empty(3).geometric_(0)]",
    "geometric_ p 1": "R = [T.empty(3).geometric_(1.0)]",
    "cauchy_ sigma < 0": "R = [T.empty(3).cauchy_(0.0, -1.0)]",
    "cauchy_ of ints": "R = [T.empty(3, dtype=T.int64).cauchy_()]",
    "log_normal_ std 0": "R = [T.empty(3).log_normal_(1.0, 0.0)]",
    "log_normal_ of ints": "R = [T.empty(3, dtype=T.int64).log_normal_()]",
    "random fills keep the dtype": "R = [T.zeros(3, dtype=T.float64).exponential_().dtype == T.float64, T.zeros(3, dtype=T.float16).cauchy_().dtype == T.float16, T.zeros(3, dtype=T.int32).geometric_(0.5).dtype == T.int32, T.zeros(3, dtype=T.int16).random_().dtype == T.int16, T.zeros(3, dtype=T.float64).log_normal_().dtype == T.float64]",
    "random fill of a leaf that requires grad": "R = [T.ones(2, requires_grad=True).exponential_()]",
    "random fill of a non-leaf: zero gradient": "w = T.ones(3, requires_grad=True); y = w * 2; y.exponential_(); (y * 3).sum().backward(); R = [w.grad, y.requires_grad]",
    "random fill through a view": "x = T.zeros(2, 3); x[1].bernoulli_(1.0); x[:, 0].random_(4, 5); R = [x]",
    # --- torch's version counter ---
    "_version counts in-place writes to shared memory": "x = T.ones(3); v0 = x._version; x.add_(1); x[0] = 2.0; y = x.view(3); y.mul_(2); R = [v0, x._version, y._version, T.ones(2)._version]",
    # --- 9. inference mode ---
    "inference_mode": "w = T.ones(2, requires_grad=True)\nwith T.inference_mode():\n    y = w * 2\n    inside = [T.is_grad_enabled(), T.is_inference_mode_enabled()]\nwith T.inference_mode(False):\n    off = [T.is_grad_enabled(), T.is_inference_mode_enabled()]\nR = [y.requires_grad, T.is_inference_mode_enabled()] + inside + off",
    "inference_mode as a decorator": "@T.inference_mode\ndef f(x):\n    return x * 2, T.is_inference_mode_enabled()\n@T.inference_mode()\ndef g(x):\n    return x * 2, T.is_grad_enabled()\n@T.inference_mode(mode=False)\ndef h():\n    return T.is_inference_mode_enabled()\nw = T.ones(2, requires_grad=True); a, fa = f(w); b, gb = g(w); R = [a.requires_grad, fa, b.requires_grad, gb, h(), T.is_grad_enabled()]",
    "inference_mode restores on an error": "try:\n    with T.inference_mode():\n        raise ValueError\nexcept ValueError:\n    pass\nR = [T.is_grad_enabled(), T.is_inference_mode_enabled()]",
    "inference_mode inside no_grad": "with T.no_grad():\n    with T.inference_mode(False):\n        a = T.is_grad_enabled()\nR = [a]",
    # --- 8. threads (the values differ by machine; the errors and types do not) ---
    "thread counts are positive ints": "R = [isinstance(T.get_num_threads(), int) and T.get_num_threads() >= 1, isinstance(T.get_num_interop_threads(), int) and T.get_num_interop_threads() >= 1]",
    "set_num_threads(0)": "R = [T.set_num_threads(0)]",
    "set_num_threads(-1)": "R = [T.set_num_threads(-1)]",
    "set_num_threads of a float": "R = [T.set_num_threads(1.5)]",
    "set_num_interop_threads(0)": "R = [T.set_num_interop_threads(0)]",
    # --- 10. compile (torch compiles lazily; an error or a non-callable is what both see at once) ---
    "compile of a number": "R = [T.compile(5)]",
}


def _assert_same(a, b, where):
    if isinstance(b, (bool, int, float)) or b is None:
        assert a == b or (isinstance(b, float) and math.isnan(b) and math.isnan(a)), (where, a, b)
        return
    if isinstance(b, tuple):   # a shape, stride tuple
        assert tuple(a) == b, (where, a, b)
        return
    assert dtype_name(a.dtype) == dtype_name(b.dtype), (where, a.dtype, b.dtype)
    assert tuple(a.shape) == tuple(b.shape), (where, tuple(a.shape), tuple(b.shape))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-12, equal_nan=True,
                               err_msg=str(where))


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, torch):
    assert_snippets_agree(run_snippet(dm, CASES[name]), run_snippet(torch, CASES[name]), name, _assert_same)


# --- the constructor's fast path --------------------------------------------------------------
@dlmath_only
def test_library_tensors_skip_the_legacy_constructor(monkeypatch):
    """Ops make their tensors with make_tensor (object.__new__), never through Tensor.__init__."""
    calls = []
    original = dm.Tensor.__init__
    monkeypatch.setattr(dm.Tensor, "__init__", lambda self, *a, **k: calls.append(a) or original(self, *a, **k))
    x = dm.randn(3, 4, requires_grad=True)
    ((x @ x.T).relu().sum() + x[1:].exp().mean()).backward()
    dm.tensor([1.0]), dm.zeros(2), dm.ones(3).unfold(0, 2, 1)
    assert calls == []
    dm.Tensor(2)
    assert calls == [(2,)]


@dlmath_only
def test_legacy_constructor_takes_requires_grad_and_dtype():
    """dlmath's extension kept from before (torch refuses these keywords)."""
    t = dm.Tensor([1, 2], requires_grad=True)
    assert t.requires_grad and t.dtype == dm.float32
    assert dm.Tensor(2, 3, dtype=dm.float64).dtype == dm.float64
    assert dm.Tensor(dm.tensor([1, 2]), dtype=dm.float64).dtype == dm.float64


@dlmath_only
def test_tensor_of_a_tensor_shares_the_version_counter():
    a = dm.ones(3, requires_grad=True)
    b = a.exp()
    c = dm.Tensor(b.detach())
    c.mul_(2)   # b's saved output is written: its backward must refuse
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


# --- 2. random fills: their distributions ---------------------------------------------------------
N = 200_000


def _draws(fill, dtype=dm.float64, generator=None):
    x = dm.empty(N, dtype=dtype)
    out = fill(x, generator)
    assert out is x and x.dtype == dtype
    return x.numpy().astype(np.float64)


@dlmath_only
def test_exponential_moments():
    v = _draws(lambda x, g: x.exponential_(2.0, generator=g))
    assert v.min() >= 0
    assert abs(v.mean() - 0.5) < 0.01 and abs(v.std() - 0.5) < 0.01
    assert abs(_draws(lambda x, g: x.exponential_(generator=g)).mean() - 1.0) < 0.02   # lambd = 1


@dlmath_only
def test_geometric_counts_trials_to_the_first_success():
    v = _draws(lambda x, g: x.geometric_(0.25, generator=g))
    assert v.min() == 1 and np.all(v == np.round(v))
    assert abs(v.mean() - 4.0) < 0.05                              # 1 / p
    assert abs(v.var() - 12.0) < 0.5                               # (1 - p) / p^2
    assert abs(np.mean(v == 1) - 0.25) < 0.01
    w = _draws(lambda x, g: x.geometric_(0.5, generator=g), dtype=dm.int32)
    assert w.min() == 1 and abs(w.mean() - 2.0) < 0.03


@dlmath_only
def test_cauchy_median_and_quartiles():
    v = _draws(lambda x, g: x.cauchy_(1.0, 2.0, generator=g))
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    assert abs(med - 1.0) < 0.05 and abs(q1 - (-1.0)) < 0.08 and abs(q3 - 3.0) < 0.08   # median -+ sigma
    s = _draws(lambda x, g: x.cauchy_(generator=g))
    assert abs(np.median(s)) < 0.03 and abs(np.median(np.abs(s)) - 1.0) < 0.03


@dlmath_only
def test_log_normal_log_moments():
    v = _draws(lambda x, g: x.log_normal_(0.5, 0.4, generator=g))
    assert v.min() > 0
    assert abs(np.log(v).mean() - 0.5) < 0.01 and abs(np.log(v).std() - 0.4) < 0.01
    d = np.log(_draws(lambda x, g: x.log_normal_(generator=g)))   # torch's defaults: mean 1, std 2
    assert abs(d.mean() - 1.0) < 0.03 and abs(d.std() - 2.0) < 0.03


@dlmath_only
def test_bernoulli_rates():
    v = _draws(lambda x, g: x.bernoulli_(0.3, generator=g))
    assert set(np.unique(v)) <= {0.0, 1.0} and abs(v.mean() - 0.3) < 0.01
    assert abs(_draws(lambda x, g: x.bernoulli_(generator=g)).mean() - 0.5) < 0.01     # p = 0.5
    p = dm.tensor([0.1, 0.9], dtype=dm.float64).repeat(N // 2)
    x = dm.empty(N, dtype=dm.int64).bernoulli_(p)
    assert x.dtype == dm.int64
    assert abs(x[0::2].double().mean().item() - 0.1) < 0.01 and abs(x[1::2].double().mean().item() - 0.9) < 0.01
    m = dm.bernoulli(dm.full((N,), 0.7, dtype=dm.float64))
    assert m.dtype == dm.float64 and abs(m.mean().item() - 0.7) < 0.01


@dlmath_only
def test_random_ranges():
    v = _draws(lambda x, g: x.random_(10, generator=g))
    assert set(np.unique(v)) == set(range(10)) and abs(v.mean() - 4.5) < 0.05
    v = _draws(lambda x, g: x.random_(-3, 2, generator=g), dtype=dm.int64)
    assert set(np.unique(v)) == {-3, -2, -1, 0, 1}
    v = _draws(lambda x, g: x.random_(generator=g), dtype=dm.float32)          # [0, 2^24]
    assert v.min() >= 0 and v.max() <= 2 ** 24 and v.max() > 2 ** 23 and np.all(v == np.round(v))
    v = _draws(lambda x, g: x.random_(generator=g), dtype=dm.float64)          # [0, 2^53]
    assert v.min() >= 0 and v.max() <= 2 ** 53 and v.max() > 2 ** 52
    v = _draws(lambda x, g: x.random_(generator=g), dtype=dm.int8)             # [0, 127]
    assert v.min() == 0 and v.max() == 127
    v = _draws(lambda x, g: x.random_(generator=g), dtype=dm.uint8)            # [0, 255]
    assert v.min() == 0 and v.max() == 255
    v = _draws(lambda x, g: x.random_(generator=g), dtype=dm.bool)
    assert set(np.unique(v)) == {0.0, 1.0}
    big = dm.empty(1000, dtype=dm.int64).random_()                             # [0, 2^63 - 1]
    assert big.min().item() >= 0 and big.max().item() > 2 ** 62
    v = _draws(lambda x, g: x.random_(250, None, generator=g), dtype=dm.uint8)  # to=None: the dtype's max
    assert v.min() == 250 and v.max() == 255
    v = _draws(lambda x, g: x.random_(**{"from": 5, "to": 7}, generator=g), dtype=dm.int16)
    assert set(np.unique(v)) == {5, 6}


@dlmath_only
def test_random_past_a_float_s_exact_integers_warns():
    with pytest.warns(UserWarning, match="out of bounds"):
        dm.empty(3).random_(0, 2 ** 30)


FILLS = {
    "bernoulli_": lambda x, g: x.bernoulli_(0.4, generator=g),
    "bernoulli_tensor": lambda x, g: x.bernoulli_(dm.full((50,), 0.4), generator=g),
    "exponential_": lambda x, g: x.exponential_(3.0, generator=g),
    "random_": lambda x, g: x.random_(0, 1000, generator=g),
    "geometric_": lambda x, g: x.geometric_(0.2, generator=g),
    "cauchy_": lambda x, g: x.cauchy_(generator=g),
    "log_normal_": lambda x, g: x.log_normal_(generator=g),
    "bernoulli": lambda x, g: x.copy_(dm.bernoulli(dm.full((50,), 0.4), generator=g)),
    "bernoulli_method": lambda x, g: x.copy_(dm.full((50,), 0.4).bernoulli(generator=g)),
}


@dlmath_only
@pytest.mark.parametrize("name", sorted(FILLS))
def test_a_generator_makes_fills_repeatable(name):
    fill = FILLS[name]
    a = fill(dm.empty(50), dm.Generator().manual_seed(7)).clone()
    b = fill(dm.empty(50), dm.Generator().manual_seed(7)).clone()
    c = fill(dm.empty(50), dm.Generator().manual_seed(8)).clone()
    assert dm.equal(a, b) and not dm.equal(a, c)
    dm.manual_seed(3)
    d = fill(dm.empty(50), None).clone()
    dm.manual_seed(3)
    assert dm.equal(d, fill(dm.empty(50), None))


# --- 8. threads -----------------------------------------------------------------------------------
@dlmath_only
def test_set_num_threads_sets_the_blas_threads():
    pytest.importorskip("threadpoolctl")
    before = dm.get_num_threads()
    try:
        dm.set_num_threads(1)
        assert dm.get_num_threads() == 1
        from dlmath._threads import blas_threads   # the kept reading fast paths consult follows
        assert blas_threads() == 1
        dm.set_num_threads(2)
        assert blas_threads() == 2 and dm.get_num_threads() == 2
        dm.set_num_threads(1)
        x = dm.randn(64, 64)
        np.testing.assert_allclose((x @ x).numpy(), x.numpy() @ x.numpy(), rtol=1e-5, atol=1e-5)
    finally:
        dm.set_num_threads(before)
    assert dm.get_num_threads() == before


@dlmath_only
def test_threads_without_threadpoolctl(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)   # import threadpoolctl -> ImportError
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert dm.get_num_threads() == 3
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert dm.get_num_threads() >= 1
    with pytest.raises(RuntimeError, match="pip install threadpoolctl"):
        dm.set_num_threads(1)


@dlmath_only
def test_interop_threads_are_remembered(monkeypatch):
    from dlmath import _threads
    monkeypatch.setattr(_threads, "_interop", [None])
    assert dm.get_num_interop_threads() >= 1
    dm.set_num_interop_threads(3)
    assert dm.get_num_interop_threads() == 3


# --- 9. inference mode: per thread, as grad mode ----------------------------------------------------
@dlmath_only
def test_inference_mode_is_per_thread():
    import threading
    seen = []
    with dm.inference_mode():
        t = threading.Thread(target=lambda: seen.append((dm.is_inference_mode_enabled(), dm.is_grad_enabled())))
        t.start()
        t.join()
    assert seen == [(False, True)]


@dlmath_only
def test_inference_mode_over_a_generator():
    @dm.inference_mode()
    def gen():
        yield dm.is_inference_mode_enabled()
        yield dm.is_inference_mode_enabled()
    g = gen()
    assert next(g) and not dm.is_inference_mode_enabled() and next(g)


# --- 10. compile -----------------------------------------------------------------------------------
@dlmath_only
def test_compile_returns_the_function_or_module_unchanged():
    def f(x):
        return (x * 2).sin()

    assert dm.compile(f) is f
    assert dm.compile(f, mode="max-autotune", fullgraph=True, dynamic=True, backend="inductor") is f
    assert dm.compile()(f) is f
    assert dm.compile(mode="reduce-overhead")(f) is f
    model = dm.nn.Linear(3, 2)
    assert dm.compile(model) is model

    @dm.compile
    def g(x):
        return x + 1

    @dm.compile(options={"trace.enabled": False})
    def h(x):
        return x * 3

    assert g(dm.tensor(1.0)).item() == 2.0 and h(dm.tensor(1.0)).item() == 3.0
    assert "eager" in dm.compile.__doc__
