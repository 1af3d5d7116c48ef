"""The fused recurrent layers (nn/_recurrent.py) against torch's cells and against the
composed form written step by step in dlmath ops: values, gradients, second derivatives."""
import numpy as np
import pytest

from helpers import dlmath_only, dm

MODES = {"RNN_TANH": ("RNN", {}), "RNN_RELU": ("RNN", {"nonlinearity": "relu"}), "LSTM": ("LSTM", {}),
         "GRU": ("GRU", {})}
T, B, I, H = 5, 3, 4, 6


def _data(mode, dtype):
    rng = np.random.default_rng(len(mode))
    X = rng.standard_normal((T, B, I)).astype(dtype)
    H0 = rng.standard_normal((B, H)).astype(dtype)
    C0 = rng.standard_normal((B, H)).astype(dtype)
    return rng, X, H0, C0


def _torch_run(torch, mode, dtype, X, H0, C0, W, Wh):
    cls, kw = MODES[mode]
    torch.manual_seed(0)
    m = getattr(torch.nn, cls)(I, H, **kw).to(getattr(torch, dtype))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (X, H0, C0))
    if mode == "LSTM":
        out, (hn, cn) = m(tx, (th[None], tc[None]))
        loss = (out * torch.tensor(W)).sum() + (hn[0] * torch.tensor(Wh)).sum() + 2 * cn.sum()
    else:
        out, hn = m(tx, th[None])
        loss = (out * torch.tensor(W)).sum() + (hn[0] * torch.tensor(Wh)).sum()
    loss.backward()
    params = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    grads = {k: p.grad.numpy() for k, p in m.named_parameters()}
    return out.detach().numpy(), params, grads, tx.grad.numpy(), th.grad.numpy(), tc.grad


def _dm_run(layer, mode, params, X, H0, C0, W, Wh):
    ps = {k: dm.tensor(v, requires_grad=True) for k, v in params.items()}
    x, h0 = dm.tensor(X, requires_grad=True), dm.tensor(H0, requires_grad=True)
    c0 = dm.tensor(C0, requires_grad=True) if mode == "LSTM" else None
    out, hn, cn = layer(mode, x, h0, c0, ps["weight_ih_l0"], ps["weight_hh_l0"], ps["bias_ih_l0"], ps["bias_hh_l0"])
    loss = (out * dm.tensor(W)).sum() + (hn * dm.tensor(Wh)).sum()
    if mode == "LSTM":
        loss = loss + 2 * cn.sum()
    loss.backward()
    return out.detach().numpy(), {k: p.grad.numpy() for k, p in ps.items()}, x.grad.numpy(), h0.grad.numpy(), \
        (c0.grad.numpy() if c0 is not None else None)


@dlmath_only
@pytest.mark.parametrize("form", ["fused", "composed"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", list(MODES))
def test_layer_matches_torch(torch, mode, dtype, form):
    from dlmath.nn._recurrent import composed_layer, fused_layer
    rng, X, H0, C0 = _data(mode, dtype)
    W, Wh = rng.standard_normal((T, B, H)).astype(dtype), rng.standard_normal((B, H)).astype(dtype)
    t_out, params, t_grads, t_gx, t_gh, t_gc = _torch_run(torch, mode, dtype, X, H0, C0, W, Wh)
    layer = fused_layer if form == "fused" else composed_layer
    out, grads, gx, gh, gc = _dm_run(layer, mode, params, X, H0, C0, W, Wh)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(out, t_out, **tol)
    for k in params:
        np.testing.assert_allclose(grads[k], t_grads[k], **tol)
    np.testing.assert_allclose(gx, t_gx, **tol)
    np.testing.assert_allclose(gh, t_gh, **tol)
    if mode == "LSTM":
        np.testing.assert_allclose(gc, t_gc.numpy(), **tol)


@dlmath_only
@pytest.mark.parametrize("mode", list(MODES))
def test_second_derivatives_of_the_fused_layer_are_the_composed_ones(mode):
    """A recorded backward (create_graph) through the fused layer differentiates the composed form."""
    from dlmath.nn._recurrent import composed_layer, fused_layer
    rng, X, H0, C0 = _data(mode, "float64")
    k = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    arrays = [rng.standard_normal((k * H, I)) * 0.5, rng.standard_normal((k * H, H)) * 0.5,
              rng.standard_normal(k * H) * 0.1, rng.standard_normal(k * H) * 0.1]
    results = []
    for layer in (fused_layer, composed_layer):
        ps = [dm.tensor(a, requires_grad=True) for a in arrays]
        x, h0 = dm.tensor(X, requires_grad=True), dm.tensor(H0, requires_grad=True)
        c0 = dm.tensor(C0, requires_grad=True) if mode == "LSTM" else None
        out, hn, _ = layer(mode, x, h0, c0, *ps)
        g = dm.autograd.grad((out ** 2).sum() + hn.sum(), [x] + ps, create_graph=True)
        sum((gi * gi).sum() for gi in g).backward()
        results.append([x.grad.numpy()] + [p.grad.numpy() for p in ps])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@dlmath_only
@pytest.mark.parametrize("mode", list(MODES))
def test_fused_layer_passes_gradcheck(mode):
    from dlmath.nn._recurrent import fused_layer
    rng, X, H0, C0 = _data(mode, "float64")
    k = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    ps = [dm.tensor(rng.standard_normal(s) * 0.5, requires_grad=True)
          for s in ((k * H, I), (k * H, H), (k * H,), (k * H,))]
    x, h0 = dm.tensor(X[:3], requires_grad=True), dm.tensor(H0, requires_grad=True)
    c0 = dm.tensor(C0) if mode == "LSTM" else None
    assert dm.autograd.gradcheck(lambda x, h0, a, b, c, d: fused_layer(mode, x, h0, c0, a, b, c, d)[0],
                                 (x, h0, *ps))


@dlmath_only
@pytest.mark.parametrize("mode", list(MODES))
def test_forward_mode_of_the_fused_layer_is_the_composed_one(mode):
    from dlmath.nn._recurrent import composed_layer, fused_layer
    rng, X, H0, C0 = _data(mode, "float64")
    k = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    prim = [dm.tensor(X), dm.tensor(H0)] + [dm.tensor(rng.standard_normal(s) * 0.5)
                                            for s in ((k * H, I), (k * H, H), (k * H,), (k * H,))]
    tang = [dm.tensor(rng.standard_normal(tuple(p.shape))) for p in prim]
    c0, tc0 = (dm.tensor(C0), dm.tensor(rng.standard_normal(C0.shape))) if mode == "LSTM" else (None, None)
    res = []
    for layer in (fused_layer, composed_layer):
        if mode == "LSTM":
            def f(x, h, c, a, b, bi, bh):
                out, hn, cn = layer(mode, x, h, c, a, b, bi, bh)
                return out.sum(0) + hn + 2 * cn
            _, t = dm.func.jvp(f, tuple(prim[:2] + [c0] + prim[2:]), tuple(tang[:2] + [tc0] + tang[2:]))
        else:
            _, t = dm.func.jvp(lambda x, h, a, b, bi, bh: layer(mode, x, h, None, a, b, bi, bh)[0],
                               tuple(prim), tuple(tang))
        res.append(t.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-10, atol=1e-12)


@dlmath_only
def test_lstm_output_is_not_the_memory_backward_reads():
    """The fused LSTM writes h_t into the buffer its backward reads; the output h_1 .. h_T must
    be a copy, so that writing into it (even through .numpy()) leaves the gradients alone."""
    rng, X, H0, C0 = _data("LSTM", "float64")
    m = dm.nn.LSTM(I, H, dtype=dm.float64)
    grads = []
    for scribble in (False, True):
        out, (h, c) = m(dm.tensor(X))
        if scribble:
            out.detach().numpy()[...] = 7.0
        (h.sum() + c.sum()).backward()
        grads.append([p.grad.numpy().copy() for p in m.parameters()])
        m.zero_grad(set_to_none=True)
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


@dlmath_only
def test_row_blocks_tile_the_product_below_the_small_product_bound(monkeypatch):
    from dlmath.nn import _recurrent
    from dlmath.nn._recurrent import _SMALL_PRODUCT, _row_blocks
    monkeypatch.setattr(_recurrent, "_blas_threads", lambda: 2)   # several BLAS threads: never split
    assert len(_row_blocks(np.ones((512, 161)), np.empty((512, 32)), 32)) == 1
    monkeypatch.setattr(_recurrent, "_blas_threads", lambda: 1)
    for M, K, n in [(512, 161, 32), (128, 512, 32), (512, 128, 32), (96, 40, 8), (1024, 289, 32)]:
        A, out = np.ones((M, K)), np.empty((M, n))
        blocks = _row_blocks(A, out, n)
        assert sum(a.shape[0] for a, _ in blocks) == M
        assert all(np.shares_memory(a, A) and np.shares_memory(o, out) and len(a) == len(o) for a, o in blocks)
        if len(blocks) > 1:
            assert all(a.shape[0] * K * n <= _SMALL_PRODUCT for a, _ in blocks)
        else:   # one product: already small, or large enough that packing pays off
            assert M * K * n <= _SMALL_PRODUCT or M * K * n > 4 * _SMALL_PRODUCT


@dlmath_only
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lstm_with_products_in_row_blocks_matches_torch(torch, dtype, monkeypatch):
    """At W7's sizes (hidden 128, batch 32, input 32) both per-step products run in row blocks
    (on one BLAS thread, as here)."""
    from dlmath.nn import _recurrent
    monkeypatch.setattr(_recurrent, "_blas_threads", lambda: 1)
    T_, B_, I_, H_ = 11, 32, 32, 128   # a full chunk of steps and a partial one
    rng = np.random.default_rng(3)
    X, H0, C0 = (rng.standard_normal(s).astype(dtype) for s in ((T_, B_, I_), (1, B_, H_), (1, B_, H_)))
    torch.manual_seed(0)
    tm = torch.nn.LSTM(I_, H_).to(getattr(torch, dtype))
    m = dm.nn.LSTM(I_, H_, dtype=getattr(dm, dtype))
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    outs = []
    for lib, mod in ((torch, tm), (dm, m)):
        x = lib.tensor(X, requires_grad=True)
        out, (h, c) = mod(x, (lib.tensor(H0), lib.tensor(C0)))
        ((out * out).sum() + h.sum() + 3 * c.sum()).backward()
        outs.append([out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in mod.parameters()])
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-4, atol=1e-4)
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, **tol)
