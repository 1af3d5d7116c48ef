"""dm.nn.utils against torch.nn.utils: the same gradients give the same clipped gradients and
returned norms (every norm_type, inf, non-finite gradients), the vector round trip, and
pad_sequence's values and gradients."""
import math
import warnings

import numpy as np
import pytest

from helpers import dlmath_only, dm, to_numpy

utils = dm.nn.utils
INF = math.inf
SHAPES = [(3, 4), (5,), (2, 2, 3), ()]


def arrays(seed=0, dtype="float32", shapes=SHAPES, scale=3.0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]


def params(lib, values, grads):
    """Leaves requiring grad, with .grad set (None where grads[i] is None)."""
    out = []
    for v, g in zip(values, grads):
        p = lib.tensor(v.copy(), requires_grad=True)
        if g is not None:
            p.grad = lib.tensor(g.copy())
        out.append(p)
    return out


def tol(dtype):
    return dict(rtol=1e-6, atol=1e-7) if str(dtype).endswith("float32") else dict(rtol=1e-12, atol=1e-14)


def assert_grads_equal(ours, theirs, dtype="float32"):
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
            continue
        assert to_numpy(p.grad).dtype == to_numpy(q.grad).dtype
        np.testing.assert_allclose(to_numpy(p.grad), to_numpy(q.grad), **tol(dtype))


def assert_norm_equal(ours, theirs, dtype="float32"):
    assert tuple(ours.shape) == () and not ours.requires_grad
    assert to_numpy(ours).dtype == to_numpy(theirs).dtype
    np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), **tol(dtype))


# --- clip_grad_norm_ ------------------------------------------------------------------------
NORM_TYPES = [2.0, 1, 3.0, 0.5, INF, -INF, "inf", 0]


@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", [0.5, 1e4])  # clipped, and left alone (the coefficient clamps at 1)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm, dtype):
    values, grads = arrays(0, dtype), arrays(1, dtype)
    grads[2] = None  # a parameter without a gradient is skipped
    ours, theirs = params(dm, values, grads), params(torch, values, grads)
    kept = [p.grad for p in ours]
    total = utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert_norm_equal(total, expected, dtype)
    assert_grads_equal(ours, theirs, dtype)
    # in place: the same gradient tensors, now scaled
    assert all(p.grad is g for p, g in zip(ours, kept))
    # the parameters themselves are untouched
    for p, v in zip(ours, values):
        np.testing.assert_array_equal(to_numpy(p), v)


def test_clip_grad_norm_formula():
    """g *= max_norm / (total + 1e-6), clamped at 1; the returned norm is the one before."""
    g = np.array([3.0, 4.0, 12.0])
    p = dm.zeros(3, dtype=dm.float64, requires_grad=True)
    p.grad = dm.tensor(g.copy())
    total = utils.clip_grad_norm_(p, 2.0)  # a single tensor is accepted
    assert float(total) == 13.0
    np.testing.assert_allclose(to_numpy(p.grad), g * 2.0 / (13.0 + 1e-6), rtol=1e-15)
    assert float(dm.linalg.vector_norm(p.grad)) < 2.0
    # a second clip is (almost) a no-op: the norm is now below max_norm
    before = to_numpy(p.grad).copy()
    utils.clip_grad_norm_([p], 2.0)
    np.testing.assert_allclose(to_numpy(p.grad), before, rtol=1e-6)


def test_clip_grad_norm_single_tensor_generator_and_mixed_dtypes(torch):
    values = arrays(2, "float32", [(4,), (3, 2)])
    grads = arrays(3, "float32", [(4,), (3, 2)])
    values[1], grads[1] = values[1].astype("float64"), grads[1].astype("float64")
    ours, theirs = params(dm, values, grads), params(torch, values, grads)
    total = utils.clip_grad_norm_((p for p in ours), 1.0, 3)
    expected = torch.nn.utils.clip_grad_norm_((p for p in theirs), 1.0, 3)
    assert_norm_equal(total, expected)  # float64: the per-tensor norms are stacked and promoted
    assert_grads_equal(ours, theirs)
    a, b = params(dm, values[:1], grads[:1])[0], params(torch, values[:1], grads[:1])[0]
    assert_norm_equal(utils.clip_grad_norm_(a, 0.1, INF), torch.nn.utils.clip_grad_norm_(b, 0.1, INF))
    assert_grads_equal([a], [b])


def test_clip_grad_norm_no_grads_and_empty(torch):
    for lib in (dm, torch):
        p = lib.ones(3, requires_grad=True)
        total = lib.nn.utils.clip_grad_norm_([p], 1.0)
        assert float(total) == 0.0 and p.grad is None
        assert float(lib.nn.utils.clip_grad_norm_([], 1.0)) == 0.0
        with pytest.warns(UserWarning, match="empty generator"):
            lib.nn.utils.clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.parametrize("bad", [math.nan, INF, -INF])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, INF])
def test_clip_grad_norm_nonfinite(torch, bad, norm_type):
    values, grads = arrays(0), arrays(1)
    grads[0][1, 2] = bad
    # error_if_nonfinite: RuntimeError in both, and the gradients are left as they were
    for lib in (dm, torch):
        ps = params(lib, values, grads)
        with pytest.raises(RuntimeError, match="non-finite"):
            lib.nn.utils.clip_grad_norm_(ps, 1.0, norm_type, error_if_nonfinite=True)
        np.testing.assert_array_equal(to_numpy(ps[0].grad), grads[0])
    # without it: scaled by the non-finite norm's coefficient (0 for inf, NaN for NaN), as torch
    ours, theirs = params(dm, values, grads), params(torch, values, grads)
    total = utils.clip_grad_norm_(ours, 1.0, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    np.testing.assert_array_equal(to_numpy(total), to_numpy(expected))
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(to_numpy(p.grad), to_numpy(q.grad), rtol=1e-6, equal_nan=True)


def test_clip_grad_norm_after_backward_tames_a_large_gradient(torch):
    """The training use: backward, clip, step. Same model, same data -> same clipped update."""
    rng = np.random.default_rng(4)
    W, x = rng.standard_normal((8, 5)).astype("float32"), rng.standard_normal((16, 5)).astype("float32")
    steps = []
    for lib in (dm, torch):
        w = lib.tensor(W.copy(), requires_grad=True)
        loss = (lib.tanh(lib.tensor(x) @ w.T) * 100).pow(2).sum()
        loss.backward()
        total = lib.nn.utils.clip_grad_norm_([w], max_norm=1.0)
        assert float(total) > 1.0
        assert float(lib.linalg.vector_norm(w.grad)) <= 1.0
        steps.append((to_numpy(total), to_numpy(w.grad)))
    np.testing.assert_allclose(steps[0][0], steps[1][0], rtol=1e-5)
    np.testing.assert_allclose(steps[0][1], steps[1][1], rtol=1e-4, atol=1e-7)


def test_clip_grad_norm_deprecated_name(torch):
    for lib in (dm, torch):
        p = lib.ones(3, requires_grad=True)
        p.grad = lib.full((3,), 2.0)
        with pytest.warns(FutureWarning, match="deprecated"):
            total = lib.nn.utils.clip_grad_norm(p, 1.0)
        assert float(total) == pytest.approx(math.sqrt(12))


# --- get_total_norm and clip_grads_with_norm_ ------------------------------------------------
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_get_total_norm(torch, norm_type):
    ts = arrays(5, "float64")
    ours = utils.get_total_norm([dm.tensor(t) for t in ts], norm_type)
    theirs = torch.nn.utils.get_total_norm([torch.tensor(t) for t in ts], norm_type)
    assert_norm_equal(ours, theirs, "float64")
    # the norm of the concatenation, for every p but 0 (torch's "0-norm" of the per-tensor
    # counts is the number of nonzero tensors, not of nonzero entries)
    flat = np.concatenate([t.ravel() for t in ts])
    p = float(norm_type)
    direct = (np.abs(flat).max() if p == INF else np.abs(flat).min() if p == -INF
              else len(ts) if p == 0 else (np.abs(flat) ** p).sum() ** (1 / p))
    assert float(ours) == pytest.approx(direct, rel=1e-12)


def test_get_total_norm_edge_cases(torch):
    for lib in (dm, torch):
        empty = lib.nn.utils.get_total_norm([])
        assert float(empty) == 0.0 and str(empty.dtype).endswith("float32")
        one = lib.nn.utils.get_total_norm(lib.tensor([3.0, 4.0]))  # a single tensor
        assert float(one) == 5.0
        with pytest.raises(RuntimeError, match="non-finite"):
            lib.nn.utils.get_total_norm([lib.tensor([1.0, math.nan])], error_if_nonfinite=True)
        with pytest.raises(RuntimeError):  # an integer tensor has no norm
            lib.nn.utils.get_total_norm([lib.tensor([1, 2])])
    half = [np.array([1.0, -3.0, 2.0], dtype="float16")]
    assert_norm_equal(utils.get_total_norm([dm.tensor(h) for h in half], INF),
                      torch.nn.utils.get_total_norm([torch.tensor(h) for h in half], INF))


@pytest.mark.parametrize("total", [0.5, 7.0, 0.0])
def test_clip_grads_with_norm_(torch, total):
    values, grads = arrays(6), arrays(7)
    grads[1] = None
    ours, theirs = params(dm, values, grads), params(torch, values, grads)
    assert utils.clip_grads_with_norm_(ours, 2.0, dm.tensor(total)) is None
    torch.nn.utils.clip_grads_with_norm_(theirs, 2.0, torch.tensor(total))
    assert_grads_equal(ours, theirs)


def test_get_total_norm_then_clip_equals_clip_grad_norm_():
    values, grads = arrays(8), arrays(9)
    a, b = params(dm, values, grads), params(dm, values, grads)
    total = utils.get_total_norm([p.grad for p in a], 3.0)
    utils.clip_grads_with_norm_(a, 1.0, total)
    assert float(utils.clip_grad_norm_(b, 1.0, 3.0)) == float(total)
    assert_grads_equal(a, b)


# --- clip_grad_value_ -----------------------------------------------------------------------
@pytest.mark.parametrize("clip_value", [0.5, 2, 100.0])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_(torch, clip_value, dtype):
    values, grads = arrays(10, dtype), arrays(11, dtype)
    grads[0] = None
    ours, theirs = params(dm, values, grads), params(torch, values, grads)
    kept = [p.grad for p in ours]
    assert utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert_grads_equal(ours, theirs, dtype)
    assert all(p.grad is g for p, g in zip(ours, kept))
    for p in ours[1:]:
        assert np.abs(to_numpy(p.grad)).max() <= clip_value
    single = params(dm, values[1:2], grads[1:2])[0]
    utils.clip_grad_value_(single, clip_value)
    np.testing.assert_allclose(to_numpy(single.grad), to_numpy(theirs[1].grad), **tol(dtype))


def test_clip_grad_value_nan_passes_through(torch):
    g = np.array([math.nan, 5.0, -INF], dtype="float32")
    out = []
    for lib in (dm, torch):
        p = lib.zeros(3, requires_grad=True)
        p.grad = lib.tensor(g.copy())
        lib.nn.utils.clip_grad_value_([p], 1.0)
        out.append(to_numpy(p.grad))
    np.testing.assert_array_equal(out[0], out[1])


# --- parameters <-> vector -------------------------------------------------------------------
def test_parameters_to_vector_values_and_gradient(torch):
    values = arrays(12, "float64")
    grads = []
    for lib in (dm, torch):
        ps = [lib.tensor(v.copy(), requires_grad=True) for v in values]
        vec = lib.nn.utils.parameters_to_vector(ps)
        assert tuple(vec.shape) == (sum(v.size for v in values),) and vec.requires_grad
        np.testing.assert_array_equal(to_numpy(vec), np.concatenate([v.ravel() for v in values]))
        weights = lib.arange(vec.shape[0], dtype=lib.float64)
        (vec * weights).sum().backward()
        grads.append([to_numpy(p.grad) for p in ps])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_vector_round_trip(torch):
    values = arrays(13, "float32")
    ps = [dm.tensor(v.copy(), requires_grad=True) for v in values]
    vec = utils.parameters_to_vector(ps).detach() * 2 + 1
    utils.vector_to_parameters(vec, ps)
    for p, v in zip(ps, values):
        np.testing.assert_allclose(to_numpy(p), v * 2 + 1, rtol=1e-6)
        assert p.requires_grad and p.is_leaf
    np.testing.assert_array_equal(to_numpy(utils.parameters_to_vector(ps)), to_numpy(vec))
    # the parameters still train after taking the vector's values
    sum((p * p).sum() for p in ps).backward()
    for p in ps:
        np.testing.assert_allclose(to_numpy(p.grad), 2 * to_numpy(p), rtol=1e-6)


def test_vector_to_parameters_as_torch_views_and_dtype(torch):
    """As torch, ``param.data = vec[i:j].view_as(param).data``: the parameters take the vector's
    dtype and share its memory; entries past the last parameter are ignored."""
    out = []
    for lib in (dm, torch):
        ps = [lib.zeros(2, 3, requires_grad=True), lib.zeros(4, requires_grad=True)]
        vec = lib.arange(12, dtype=lib.float64)
        assert lib.nn.utils.vector_to_parameters(vec, ps) is None
        assert all(str(p.dtype).endswith("float64") for p in ps)
        with lib.no_grad():
            vec.mul_(10)
        out.append([to_numpy(p).copy() for p in ps])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out[0][1], [60.0, 70.0, 80.0, 90.0])


def test_vector_to_parameters_errors(torch):
    for lib in (dm, torch):
        with pytest.raises(TypeError, match="numpy.ndarray"):
            lib.nn.utils.vector_to_parameters(np.zeros(3), [lib.zeros(3)])
        with pytest.raises(RuntimeError):  # too short for the parameters
            lib.nn.utils.vector_to_parameters(lib.zeros(5), [lib.zeros(2, 3)])
        with pytest.raises(ValueError):  # nothing to concatenate
            lib.nn.utils.parameters_to_vector([])


# --- pad_sequence ----------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pad_sequence_values_and_gradients(torch, batch_first, padding_side, trailing, dtype):
    rng = np.random.default_rng(14)
    lengths = [3, 5, 1, 5, 0]
    seqs = [rng.standard_normal((n,) + trailing).astype(dtype) for n in lengths]
    shape = (len(lengths), max(lengths)) if batch_first else (max(lengths), len(lengths))
    w = rng.standard_normal(shape + trailing).astype(dtype)  # a cotangent that tells positions apart
    results = []
    for lib in (dm, torch):
        ts = [lib.tensor(s.copy(), requires_grad=True) for s in seqs]
        out = lib.nn.utils.rnn.pad_sequence(ts, batch_first=batch_first, padding_value=-1.5,
                                            padding_side=padding_side)
        (out * lib.tensor(w)).sum().backward()
        results.append((to_numpy(out), [to_numpy(t.grad) for t in ts]))
    (out_d, grads_d), (out_t, grads_t) = results
    assert out_d.shape == out_t.shape and out_d.dtype == out_t.dtype
    np.testing.assert_array_equal(out_d, out_t)
    for a, b in zip(grads_d, grads_t):
        np.testing.assert_array_equal(a, b)


def test_pad_sequence_defaults_and_dtypes(torch):
    cases = [
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, 3), lib.ones(4, 3)]),
        lambda lib: lib.nn.utils.rnn.pad_sequence((lib.tensor([1, 2]), lib.tensor([3, 4, 5])), True, 7),
        # the first sequence's dtype wins; the others are cast
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2), lib.ones(3, dtype=lib.float64)]),
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, dtype=lib.int64), lib.ones(3)], padding_value=0.5),
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(0, 2), lib.ones(0, 2)]),
        # a tensor is an iterable of sequences: its rows
        lambda lib: lib.nn.utils.rnn.pad_sequence(lib.arange(6.0).reshape(3, 2)),
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.tensor([True]), lib.tensor([False, True])], True),
    ]
    for case in cases:
        a, b = to_numpy(case(dm)), to_numpy(case(torch))
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_pad_sequence_second_derivative():
    x = dm.tensor([1.0, 2.0], requires_grad=True)
    y = dm.tensor([3.0], requires_grad=True)
    out = utils.rnn.pad_sequence([x * x, y], batch_first=True)
    (gx,) = dm.autograd.grad(out.sum(), [x], create_graph=True)
    np.testing.assert_array_equal(to_numpy(gx), [2.0, 4.0])
    (hx,) = dm.autograd.grad(gx.sum(), [x])
    np.testing.assert_array_equal(to_numpy(hx), [2.0, 2.0])


PAD_ERRORS = {
    "empty": lambda lib: lib.nn.utils.rnn.pad_sequence([]),
    "not_iterable": lambda lib: lib.nn.utils.rnn.pad_sequence(5),
    "trailing_mismatch": lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, 3), lib.ones(3, 4)]),
    "bad_side": lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2)], padding_side="middle"),
    "zero_dim": lambda lib: lib.nn.utils.rnn.pad_sequence([lib.tensor(1.0)]),
}


@pytest.mark.parametrize("case", sorted(PAD_ERRORS))
def test_pad_sequence_errors_match_torch(torch, case):
    for lib in (torch, dm):
        with pytest.raises(RuntimeError):
            PAD_ERRORS[case](lib)


@dlmath_only
def test_pad_sequence_error_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"sequence 1 has shape \(3, 4\).*\(2, 3\)"):
        utils.rnn.pad_sequence([dm.ones(2, 3), dm.ones(3, 4)])


@dlmath_only
def test_utils_do_not_record():
    """Clipping and norms run under no_grad even when grad mode is on and grads require grad."""
    p = dm.ones(3, requires_grad=True)
    p.grad = dm.tensor([3.0, 4.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = utils.clip_grad_norm_([p], 1.0)
    assert total.grad_fn is None and p.grad.grad_fn is None


# --- packing ----------------------------------------------------------------------------------
PACK_CASES = [  # lengths, batch_first, enforce_sorted, trailing
    ([5, 3, 3, 1], False, True, (2,)),
    ([5, 3, 3, 1], True, True, ()),
    ([2, 5, 1, 5, 3], False, False, (3,)),   # unsorted, with ties
    ([2, 5, 1, 5, 3], True, False, (2, 2)),
    ([4], True, True, (1,)),
]


def padded_input(lengths, batch_first, trailing, seed=15):
    rng = np.random.default_rng(seed)
    T, B = max(lengths), len(lengths)
    x = rng.standard_normal((B, T) + trailing)
    for b, n in enumerate(lengths):
        x[b, n:] = 0.0
    return x if batch_first else np.swapaxes(x, 0, 1).copy()


@pytest.mark.parametrize("lengths,batch_first,enforce_sorted,trailing", PACK_CASES)
@pytest.mark.parametrize("lengths_as_tensor", [False, True])
def test_pack_and_pad_packed_match_torch(torch, lengths, batch_first, enforce_sorted, trailing, lengths_as_tensor):
    x = padded_input(lengths, batch_first, trailing)
    scale = 0.37  # a second path: packed.data itself is differentiable
    results = []
    for lib in (dm, torch):
        inp = lib.tensor(x.copy(), requires_grad=True)
        lens = lib.tensor(lengths) if lengths_as_tensor else lengths
        packed = lib.nn.utils.rnn.pack_padded_sequence(inp, lens, batch_first=batch_first,
                                                       enforce_sorted=enforce_sorted)
        assert isinstance(packed, lib.nn.utils.rnn.PackedSequence)
        fields = [to_numpy(packed.data), to_numpy(packed.batch_sizes),
                  None if packed.sorted_indices is None else to_numpy(packed.sorted_indices),
                  None if packed.unsorted_indices is None else to_numpy(packed.unsorted_indices)]
        out, out_lens = lib.nn.utils.rnn.pad_packed_sequence(packed, batch_first=batch_first, padding_value=-2.0,
                                                             total_length=max(lengths) + 1)
        w = np.random.default_rng(17).standard_normal(tuple(out.shape))
        ((out * lib.tensor(w)).sum() + (packed.data * scale).sum()).backward()
        results.append((fields, to_numpy(out), to_numpy(out_lens), to_numpy(inp.grad)))
    (f_d, out_d, lens_d, g_d), (f_t, out_t, lens_t, g_t) = results
    for a, b in zip(f_d, f_t):
        if b is None:
            assert a is None
        else:
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out_d, out_t)
    np.testing.assert_array_equal(lens_d, lens_t)
    assert lens_d.dtype == lens_t.dtype
    np.testing.assert_allclose(g_d, g_t, rtol=1e-14)


def test_pack_sequence_round_trip(torch):
    rng = np.random.default_rng(18)
    seqs = [rng.standard_normal((n, 3)) for n in (2, 6, 4)]
    for lib in (dm, torch):
        ts = [lib.tensor(s) for s in seqs]
        with pytest.raises(RuntimeError, match="sorted in decreasing order"):
            lib.nn.utils.rnn.pack_sequence(ts)
        packed = lib.nn.utils.rnn.pack_sequence(ts, enforce_sorted=False)
        assert to_numpy(packed.batch_sizes).tolist() == [3, 3, 2, 2, 1, 1]
        back = lib.nn.utils.rnn.unpack_sequence(packed)
        for a, b in zip(back, seqs):
            np.testing.assert_array_equal(to_numpy(a), b)
        assert packed.double().data.dtype == lib.float64 and packed.float().data.dtype == lib.float32


def test_unpad_sequence(torch):
    x = padded_input([3, 1, 2], False, (2,))
    outs = []
    for lib in (dm, torch):
        inp = lib.tensor(x.copy(), requires_grad=True)
        parts = lib.nn.utils.rnn.unpad_sequence(inp * 1, lib.tensor([3, 1, 2]))
        sum((p * (i + 1)).sum() for i, p in enumerate(parts)).backward()
        outs.append(([to_numpy(p) for p in parts], to_numpy(inp.grad)))
    for a, b in zip(outs[0][0], outs[1][0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


@dlmath_only
def test_unpad_sequence_leaves_its_input_alone():
    """torch's unpad_sequence transposes a time-first input in place; dlmath does not."""
    x = dm.zeros(4, 2, 3)
    utils.rnn.unpad_sequence(x, [4, 2])
    assert tuple(x.shape) == (4, 2, 3)


PACK_ERRORS = {
    "unsorted": (RuntimeError, lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.ones(3, 2), [1, 3])),
    "zero_length": (RuntimeError, lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.ones(3, 2), [2, 0])),
    "batch_mismatch": (RuntimeError, lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.ones(3, 2), [3])),
    "total_length": (ValueError, lambda lib: lib.nn.utils.rnn.pad_packed_sequence(
        lib.nn.utils.rnn.pack_padded_sequence(lib.ones(3, 2), [3, 1]), total_length=2)),
    "pack_empty": (RuntimeError, lambda lib: lib.nn.utils.rnn.pack_sequence([])),
    "unpad_mismatch": (ValueError, lambda lib: lib.nn.utils.rnn.unpad_sequence(lib.ones(3, 2), lib.tensor([3]))),
}


@pytest.mark.parametrize("case", sorted(PACK_ERRORS))
def test_packing_errors_match_torch(torch, case):
    exc, fn = PACK_ERRORS[case]
    for lib in (torch, dm):
        with pytest.raises(exc):
            fn(lib)


@dlmath_only
def test_pack_length_beyond_the_input_raises():
    """torch reads past the input for a length longer than T; dlmath refuses."""
    with pytest.raises(RuntimeError, match="exceeds the 3 steps"):
        utils.rnn.pack_padded_sequence(dm.ones(3, 2), [4, 1])


def test_utils_on_parameters(torch):
    """Parameters (and a generator of them, as model.parameters() gives) go through unchanged in kind."""
    if not hasattr(dm.nn, "Parameter"):
        pytest.skip("dm.nn.Parameter is not there yet")
    values, grads = arrays(19, "float32", [(4, 3), (3,)]), arrays(20, "float32", [(4, 3), (3,)])
    out = []
    for lib in (dm, torch):
        ps = [lib.nn.Parameter(lib.tensor(v.copy())) for v in values]
        for p, g in zip(ps, grads):
            p.grad = lib.tensor(g.copy())
        total = lib.nn.utils.clip_grad_norm_((p for p in ps), 0.1)
        vec = lib.nn.utils.parameters_to_vector(ps)
        lib.nn.utils.vector_to_parameters(vec.detach() * 2, ps)
        assert all(isinstance(p, lib.nn.Parameter) and p.requires_grad for p in ps)
        out.append((to_numpy(total), [to_numpy(p.grad) for p in ps], [to_numpy(p).copy() for p in ps]))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-6)
    for a, b in zip(out[0][1] + out[0][2], out[1][1] + out[1][2]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
