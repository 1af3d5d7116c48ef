"""The fast paths of issue #10 (W9/W9S, the transformer block step), against the forms they replace.

* ``GeluTanhFunction`` (nn/_fused.py) and the folded, pooled ``LinearFunction``: through the
  checks of test_nn_fused.py (composed form and torch, float32/float64, second derivatives,
  forward mode, jacfwd vs jacrev, gradcheck/gradgradcheck);
* the buffer pool (ops/_pool.py): an array is handed out again only once nothing holds it,
  and results of earlier steps survive later ones;
* the ops written into pooled buffers at sizes the pool takes (softmax over the last axis,
  masked_fill as one primitive, the embedding backward as a sorted segment sum, a split's
  backward), against torch.
"""

import numpy as np
import pytest

import test_nn_fused as base
from helpers import dlmath_only, dm, to_numpy

pytestmark = dlmath_only

RNG = np.random.default_rng(11)


def _cases():
    from dlmath.nn import _fused as fz
    import dlmath.nn.functional as F
    x = np.concatenate([RNG.standard_normal(10) * 3, [-12.0, -6.0, 0.0, 7.0, 30.0]]).reshape(3, 5)
    cases = [("gelu_tanh", lambda x: fz.GeluTanhFunction.apply(x), F._gelu_tanh_composed,
              lambda t, x: t.nn.functional.gelu(x, approximate="tanh"), (x,))]
    x3, w, b = RNG.standard_normal((2, 3, 2, 4)), RNG.standard_normal((5, 4)), RNG.standard_normal(5)
    cases.append(("linear_4d", lambda x, w, b: fz.LinearFunction.apply(x, w, b),
                  lambda x, w, b: F._linear_composed(x, w, b),
                  lambda t, x, w, b: t.nn.functional.linear(x, w, b), (x3, w, b)))
    return cases


CASES = _cases()
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_and_gradients(case, dtype, torch):
    base.test_values_and_gradients_match_composed_and_torch(case, dtype, torch)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_derivatives(case, torch):
    base.test_second_derivatives_match_composed(case, torch)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_mode(case, torch):
    base.test_forward_mode_matches_composed(case, torch)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jacfwd_jacrev_gradcheck(case):
    base.test_jacfwd_equals_jacrev(case)
    base.test_gradcheck_float64(case)


def test_gelu_uses_fused_form_and_float16_stays_composed():
    import dlmath.nn.functional as F
    x = dm.randn(4, 8, requires_grad=True)
    assert "GeluTanh" in str(getattr(F.gelu(x, approximate="tanh").grad_fn, "name", ""))
    h = F.gelu(dm.randn(4, 8, dtype=dm.float16), approximate="tanh")
    assert h.dtype == dm.float16


def test_gelu_extreme_inputs_finite():
    """Against the composed form and float64 math (torch 2.13's float32 CPU kernel returns x,
    not 0, for x <= -20 here: tanh's vectorised form saturates the wrong way)."""
    import dlmath.nn.functional as F
    a = np.array([-1e4, -100.0, -20.0, -6.0, 20.0, 100.0, 1e4, 0.0], np.float32)
    x = dm.tensor(a, requires_grad=True)
    y = F.gelu(x, approximate="tanh")
    y.sum().backward()
    xc = dm.tensor(a, requires_grad=True)
    yc = F._gelu_tanh_composed(xc)
    yc.sum().backward()
    assert np.isfinite(to_numpy(y)).all() and np.isfinite(to_numpy(x.grad)).all()
    np.testing.assert_allclose(to_numpy(y), to_numpy(yc), rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(to_numpy(x.grad), to_numpy(xc.grad), rtol=1e-5, atol=1e-30)
    a64 = a.astype(np.float64)
    ref = 0.5 * a64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (a64 + 0.044715 * a64 ** 3)))
    np.testing.assert_allclose(to_numpy(y), ref, rtol=1e-5, atol=1e-30)


# ------------------------------------------------------------------------------------- the pool ----
def test_pool_hands_out_an_array_only_when_nothing_holds_it():
    from dlmath.ops import _pool
    shape = (3, 50000)
    a = _pool.take(shape, np.float32)
    b = _pool.take(shape, np.float32)
    assert a is not b
    ia = id(a)
    v = a[1:]                    # a view keeps its base busy
    del a
    c = _pool.take(shape, np.float32)
    assert id(c) != ia
    del v
    d = _pool.take(shape, np.float32)
    assert id(d) == ia           # free again: the same warm memory
    t = dm.from_numpy(d)         # a tensor holding it keeps it busy
    del d
    assert id(_pool.take(shape, np.float32)) != ia
    del t
    assert _pool.take((5,), np.float32).shape == (5,)     # small: not pooled, still correct


def test_results_of_earlier_steps_survive_later_steps(torch):
    """Pooled outputs of one training step are not overwritten by the next (a transformer MLP
    and attention at sizes the pool takes)."""
    import dlmath.nn.functional as F
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 64, 64)).astype(np.float32)
    w1, w2 = rng.standard_normal((256, 64)).astype(np.float32) * 0.1, rng.standard_normal((64, 256)).astype(np.float32) * 0.1

    def run(lib, x, keep):
        W1, W2 = lib.tensor(w1, requires_grad=True), lib.tensor(w2, requires_grad=True)
        xt = lib.tensor(x, requires_grad=True)
        h = lib.nn.functional.gelu(lib.nn.functional.linear(lib.nn.functional.layer_norm(xt, (64,)), W1),
                                   approximate="tanh")
        q = h[..., :64].reshape(4, 64, 2, 32).transpose(1, 2)
        a = lib.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
        y = lib.nn.functional.linear(h, W2) + a.transpose(1, 2).reshape(4, 64, 64)
        y.square().sum().backward()
        keep.append([to_numpy(t).copy() for t in (y, xt.grad, W1.grad, W2.grad)])
        return [y, xt.grad, W1.grad, W2.grad]

    kept, first = [], None
    for step in range(3):
        out = run(dm, xs * (step + 1), kept)
        if step == 0:
            first = out
    for t, snap in zip(first, kept[0]):
        np.testing.assert_array_equal(to_numpy(t), snap)
    ref = []
    run(torch, xs, ref)
    for a, b in zip(kept[0], ref[0]):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)


# ------------------------------------------------------------------------------ pooled core ops ----
def test_softmax_last_axis_matches_torch(torch):
    a = np.random.default_rng(1).standard_normal((4, 4, 64, 64)).astype(np.float32) * 5
    a[0, 0, 3] = -np.inf                                  # a dead row: NaN, as torch
    a[1, 2, :, 5:] = -np.inf
    x = dm.tensor(a, requires_grad=True)
    y = x.softmax(-1)
    g = np.random.default_rng(2).standard_normal(a.shape).astype(np.float32)
    (y * dm.tensor(g)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = tx.softmax(-1)
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(to_numpy(y), ty.detach().numpy(), rtol=1e-5, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(to_numpy(x.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-6, equal_nan=True)


def test_masked_fill_attention_pattern(torch):
    """W9's causal mask: the filled positions get an exact 0 gradient, even a NaN cotangent."""
    a = np.random.default_rng(3).standard_normal((4, 4, 64, 64)).astype(np.float32)
    m = np.triu(np.ones((64, 64), bool), 1)
    res = []
    for lib in (dm, torch):
        x = lib.tensor(a, requires_grad=True)
        y = x.masked_fill(lib.tensor(m), float("-inf")).softmax(-1)
        (y * lib.tensor(a)).sum().backward()
        res.append((to_numpy(y), to_numpy(x.grad)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-4, atol=1e-6)
    assert np.all(res[0][1][..., m] == 0)
    x = dm.tensor(a[0, 0], requires_grad=True)
    g = np.ones((64, 64), np.float32)
    g[m] = np.nan
    x.masked_fill(dm.tensor(m), 1.0).backward(dm.tensor(g))
    assert np.all(to_numpy(x.grad)[m] == 0) and np.all(to_numpy(x.grad)[~m] == 1)
    _, t = dm.func.jvp(lambda x: x.masked_fill(dm.tensor(m), float("-inf")), (x.detach(),),
                       (dm.ones(64, 64),))
    assert np.all(to_numpy(t)[m] == 0) and np.all(to_numpy(t)[~m] == 1)


@pytest.mark.parametrize("negative", [False, True])
def test_embedding_backward_repeated_rows(negative, torch):
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 20, 300)
    w = rng.standard_normal((20, 8))
    g = rng.standard_normal((300, 8))
    x = dm.tensor(w, requires_grad=True)
    i = idx - 20 if negative else idx
    x[dm.tensor(i)].backward(dm.tensor(g))
    ref = np.zeros_like(w)
    np.add.at(ref, idx, g)
    np.testing.assert_allclose(to_numpy(x.grad), ref, rtol=1e-12, atol=1e-12)
    e = dm.nn.functional.embedding(dm.tensor(idx.reshape(30, 10)), x)
    x.grad = None
    e.backward(dm.tensor(g.reshape(30, 10, 8)))
    tw = torch.tensor(w, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(idx.reshape(30, 10)), tw).backward(torch.tensor(g.reshape(30, 10, 8)))
    np.testing.assert_allclose(to_numpy(x.grad), tw.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_split_backward_into_pooled_zeros(torch):
    a = np.random.default_rng(5).standard_normal((4, 64, 384)).astype(np.float32)
    res = []
    for lib in (dm, torch):
        x = lib.tensor(a, requires_grad=True)
        q, k, v = x.split(128, dim=-1)
        (q * 2 + k.square() - v).sum().backward()
        (q * 3).sum().backward()        # a second pass accumulates: the pooled buffers are not shared
        res.append(to_numpy(x.grad))
    np.testing.assert_allclose(res[0], res[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("spread", ["near", "far", "nan", "inf", "dead"])
def test_softmax_global_shift_and_its_fallback(spread, torch):
    """Large float32 softmax over the last axis is shifted by the whole array's max; the rows
    far below it (or all -inf, or holding inf or NaN) are redone by their own max. Both agree
    with torch."""
    a = np.random.default_rng(6).standard_normal((8, 4, 64, 64)).astype(np.float32) * 3
    if spread == "far":
        a[2, 1] -= 200.0                     # rows ~200 below the global max: the per-row path
        a[5, 0, 7] += 60.0
    elif spread == "nan":
        a[1, 1, 1, 1] = np.nan
    elif spread == "inf":
        a[3, 2, 10, 4] = np.inf
    elif spread == "dead":                   # a row of -inf (NaN in torch) beside a causal-style block
        a[4, 3, 9] = -np.inf
        a[6, 1, :, 40:] = -np.inf
    g = np.random.default_rng(7).standard_normal(a.shape).astype(np.float32)
    res = []
    for lib in (dm, torch):
        x = lib.tensor(a, requires_grad=True)
        y = x.softmax(-1)
        (y * lib.tensor(g)).sum().backward()
        res.append((to_numpy(y), to_numpy(x.grad)))
        if spread in ("near", "far"):   # the fused attention's softmax (finite scores)
            res[-1] += (to_numpy(lib.nn.functional.scaled_dot_product_attention(x, x, x)),)
    for d, t in zip(res[0], res[1]):
        np.testing.assert_allclose(d, t, rtol=1e-4, atol=1e-6, equal_nan=True)


def test_pooled_binary_matmul_reshape_results_are_independent(torch):
    """+, * (by an array and by a number), stacked matmul and a copying reshape write large
    results into pooled buffers: results still held are never handed out again."""
    rng = np.random.default_rng(8)
    a, b = (rng.standard_normal((16, 4, 64, 32)).astype(np.float32) for _ in range(2))
    outs = {}
    for lib in (dm, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        s1 = x @ y.transpose(-2, -1)
        s2 = (x * 2.0) @ y.transpose(-2, -1)
        p = s1 * s2
        r1 = x + y
        r2 = r1 * y + x
        m = r2.transpose(1, 2).reshape(16, 64, 128)
        (p.sum() + (m * m).sum() + r1.sum()).backward()
        outs[lib] = [to_numpy(t) for t in (s1, s2, p, r1, r2, m, x.grad, y.grad)]
    for d, t in zip(outs[dm], outs[torch]):
        np.testing.assert_allclose(d, t, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dim,sizes,used", [(-1, [100, 200, 84], (0, 1, 2)), (-1, [128, 128, 128], (1,)),
                                            (1, [10, 54], (0, 1)), (0, [1, 3], (1,))])
def test_split_pieces_zero_only_the_rest(dim, sizes, used, torch):
    """A split piece's cotangent is written into a pooled (dirty) buffer with only the rest zeroed."""
    from dlmath.ops import _pool
    a = np.random.default_rng(9).standard_normal((4, 64, 384)).astype(np.float32)
    for _ in range(4):                                  # dirty pooled buffers of this shape
        _pool.take(a.shape, a.dtype).fill(np.nan)
    res = []
    for lib in (dm, torch):
        x = lib.tensor(a, requires_grad=True)
        pieces = x.split(sizes, dim=dim)
        sum(((i + 1.5) * pieces[i]).sum() for i in used).backward()
        tail = lib.tensor(a, requires_grad=True)
        tail[..., -10:].sum().backward()                # negative bounds: the general path
        res.append((to_numpy(x.grad), to_numpy(tail.grad)))
    for d, t in zip(res[0], res[1]):
        np.testing.assert_array_equal(d, t)
