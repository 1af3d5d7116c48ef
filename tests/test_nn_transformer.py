"""nn.MultiheadAttention and the Transformer encoder against torch's modules holding the same
weights: keys, outputs, attention weights, every gradient; masks; init; errors."""
import numpy as np
import pytest

from helpers import assert_raises_like_torch, dm

E, HEADS, L, B = 8, 2, 5, 3


def _copy(ours, theirs):
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: dm.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _masks(lib, kind, dtype):
    causal = np.triu(np.full((L, L), -np.inf), 1).astype(dtype)
    pad = np.zeros((B, L), bool)
    pad[1, 3:] = True
    if kind == "none":
        return None, None
    if kind == "float_causal":
        return lib.tensor(causal), None
    if kind == "bool_causal_and_padding":
        return lib.tensor(np.isinf(causal)), lib.tensor(pad)
    return None, lib.tensor(pad)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("masks", ["none", "float_causal", "bool_causal_and_padding", "padding"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_matches_torch(torch, dtype, masks, batch_first, average):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, HEADS, batch_first=batch_first).to(getattr(torch, dtype))
    ours = dm.nn.MultiheadAttention(E, HEADS, batch_first=batch_first, dtype=getattr(dm, dtype))
    _copy(ours, theirs)
    rng = np.random.default_rng(1)
    shape = (B, L, E) if batch_first else (L, B, E)
    Q, K, V = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    res = []
    for lib, mod in ((dm, ours), (torch, theirs)):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in (Q, K, V))
        attn_mask, pad = _masks(lib, masks, dtype)
        out, w = mod(q, k, v, key_padding_mask=pad, attn_mask=attn_mask, average_attn_weights=average)
        ((out * out).sum() + (w * w).sum()).backward()
        res.append([out.detach().numpy(), w.detach().numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]
                   + [p.grad.numpy() for _, p in mod.named_parameters()])
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "activation": "gelu"}, {"batch_first": True},
                                {"bias": False, "layer_norm_eps": 1e-3}])
def test_encoder_layer_and_encoder_match_torch(torch, kw):
    torch.manual_seed(0)
    layer_t = torch.nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, **kw).double()
    layer_d = dm.nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, dtype=dm.float64, **kw)
    theirs = torch.nn.TransformerEncoder(layer_t, 2, norm=torch.nn.LayerNorm(E).double(), enable_nested_tensor=False)
    ours = dm.nn.TransformerEncoder(layer_d, 2, norm=dm.nn.LayerNorm(E, dtype=dm.float64))
    _copy(ours, theirs)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((B, L, E) if kw.get("batch_first") else (L, B, E))
    res = []
    for lib, mod in ((dm, ours), (torch, theirs)):
        x = lib.tensor(X, requires_grad=True)
        y = mod(x, mask=lib.tensor(np.triu(np.full((L, L), -np.inf), 1)))
        (y * lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))).sum().backward()
        res.append([y.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for _, p in mod.named_parameters()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_default_init_as_torch():
    m = dm.nn.MultiheadAttention(64, 4)
    w = m.in_proj_weight.detach().numpy()
    bound = np.sqrt(6 / (64 + 3 * 64))        # xavier_uniform on (3E, E)
    assert np.abs(w).max() <= bound and w.std() > 0.9 * bound / np.sqrt(3)
    assert not m.in_proj_bias.detach().numpy().any() and not m.out_proj.bias.detach().numpy().any()


@pytest.mark.parametrize("case", ["causal_without_mask", "heads", "mask_shape", "embed"])
def test_bad_input_raises_like_torch(torch, case):
    def fn(lib):
        if case == "heads":
            return lib.nn.MultiheadAttention(E, 3)
        m = lib.nn.MultiheadAttention(E, HEADS)
        x = lib.zeros(L, B, E)
        if case == "causal_without_mask":
            return m(x, x, x, is_causal=True)
        if case == "mask_shape":
            return m(x, x, x, attn_mask=lib.zeros(L + 1, L))
        y = lib.zeros(L, B, E + 1)
        return m(y, y, y)
    assert_raises_like_torch(fn, torch=torch)


_MHA_CASES = {   # found by a probe: each failed inside reshape, or with another exception type
    "key_value_lengths": lambda l, m: m(l.randn(3, 2, 8), l.randn(5, 2, 8), l.randn(4, 2, 8)),
    "query_key_batch": lambda l, m: m(l.randn(3, 2, 8), l.randn(5, 3, 8), l.randn(5, 3, 8)),
    "integer_attn_mask": lambda l, m: m(l.randn(3, 2, 8), l.randn(5, 2, 8), l.randn(5, 2, 8),
                                        attn_mask=l.zeros(3, 5, dtype=l.int64)),
    "integer_key_padding_mask": lambda l, m: m(l.randn(3, 2, 8), l.randn(5, 2, 8), l.randn(5, 2, 8),
                                               key_padding_mask=l.zeros(2, 5, dtype=l.int64)),
    "unbatched_3d_mask": lambda l, m: m(l.randn(3, 8), l.randn(5, 8), l.randn(5, 8), attn_mask=l.zeros(1, 3, 5)),
    "batched_3d_mask": lambda l, m: m(l.randn(3, 2, 8), l.randn(5, 2, 8), l.randn(5, 2, 8),
                                      attn_mask=l.zeros(1, 3, 5)),
}


@pytest.mark.parametrize("case", list(_MHA_CASES))
def test_bad_multihead_attention_input_is_named(torch, case):
    exc = assert_raises_like_torch(lambda l: _MHA_CASES[case](l, l.nn.MultiheadAttention(8, 2)), torch=torch)
    assert str(exc).startswith("MultiheadAttention: "), str(exc)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_with_other_key_and_value_widths_matches_torch(torch, batch_first):
    """kdim / vdim: cross-attention to a stream of another width, with separate projections."""
    rng = np.random.default_rng(5)
    Q, K, V = (rng.standard_normal(s) for s in ((4, 3, 8), (6, 3, 5), (6, 3, 7)))
    if batch_first:
        Q, K, V = (a.transpose(1, 0, 2).copy() for a in (Q, K, V))
    tm = torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=7, batch_first=batch_first, dtype=torch.float64)
    m = dm.nn.MultiheadAttention(8, 2, kdim=5, vdim=7, batch_first=batch_first, dtype=dm.float64)
    assert list(m.state_dict()) == list(tm.state_dict()) and m.in_proj_weight is None
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    res = []
    for lib, mod in ((torch, tm), (dm, m)):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in (Q, K, V))
        out, w = mod(q, k, v)
        ((out * out).sum() + w.sum()).backward()
        res.append([out.detach().numpy(), w.detach().numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]
                   + [p.grad.numpy() for p in mod.parameters()])
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    with pytest.raises(AssertionError, match="MultiheadAttention: was expecting embedding dimensions"):
        m(dm.tensor(Q), dm.tensor(V), dm.tensor(V))   # a key of the values' width


def test_multihead_attention_separate_projections_are_xavier_initialised():
    m = dm.nn.MultiheadAttention(16, 4, kdim=32, vdim=8)
    for w, fan_in in ((m.q_proj_weight, 16), (m.k_proj_weight, 32), (m.v_proj_weight, 8)):
        bound = (6 / (fan_in + 16)) ** 0.5
        a = w.detach().numpy()
        assert np.abs(a).max() <= bound and a.std() > 0.8 * bound / 3 ** 0.5
