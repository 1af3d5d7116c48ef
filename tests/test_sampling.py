"""dm.sample (temperature, top-k, top-p) and dm.bernoulli / dm.multinomial / dm.normal.

Frequencies of dm.sample against the tempered, truncated distribution
(computed here independently, token by token) with a chi-square test at a
fixed seed; entropy increasing with the temperature (hypothesis); greedy
limits; reproducibility; argument validation.
"""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from helpers import AGAINST_TORCH, assert_raises_like_torch, dm, numerical_vjp_check

pytestmark = pytest.mark.skipif(AGAINST_TORCH, reason="dm.sample has no torch counterpart")


def _gen(seed):
    return dm.Generator().manual_seed(seed)


def reference(logits, temperature=1.0, top_k=None, top_p=None):
    """The distribution dm.sample draws from, one row at a time, straight from the definition."""
    logits = np.asarray(logits, dtype=np.float64)
    out = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape[:-1]):
        z = logits[idx]
        order = sorted(range(len(z)), key=lambda i: (-z[i], i))  # most likely first, lower index at ties
        if temperature == 0 or top_k == 1 or top_p == 0:
            out[idx][order[0]] = 1.0
            continue
        kept = order[:top_k] if top_k else order
        w = {i: math.exp((z[i] - z[order[0]]) / temperature) for i in kept}
        total = sum(w.values())
        if top_p is not None:
            nucleus, mass = [], 0.0
            for i in kept:
                if mass >= top_p and nucleus:
                    break
                nucleus.append(i)
                mass += w[i] / total
            kept = nucleus
        total = sum(w[i] for i in kept)
        for i in kept:
            out[idx][i] = w[i] / total
    return out


LOGITS = np.array([[2.0, 1.0, 0.5, 0.0, -1.0, 1.5, -0.5, 0.2],
                   [0.3, -2.0, 1.1, 0.9, 0.0, -0.4, 2.2, 0.1]])
SETTINGS = [dict(), dict(temperature=0.5), dict(temperature=2.5), dict(top_k=3), dict(top_p=0.7),
            dict(temperature=0.8, top_k=5, top_p=0.9), dict(temperature=3.0, top_p=0.5)]


@pytest.mark.parametrize("kw", SETTINGS, ids=[str(k) for k in SETTINGS])
def test_frequencies_match_tempered_truncated_distribution(kw):
    n = 20000
    expected = reference(LOGITS, **kw)
    out = dm.sample(dm.tensor(LOGITS), num_samples=n, generator=_gen(0), return_distribution=True, **kw)
    assert out.ids.shape == (2, n) and out.ids.dtype == dm.int64
    np.testing.assert_allclose(out.probs.numpy(), expected, rtol=1e-5, atol=1e-7)
    for row in range(2):
        counts = np.bincount(out.ids.numpy()[row], minlength=LOGITS.shape[1])
        assert np.all(counts[expected[row] == 0] == 0), "drew a token outside the kept set"
        support = expected[row] > 0
        if support.sum() > 1:
            pvalue = stats.chisquare(counts[support], n * expected[row][support]).pvalue
            assert pvalue > 1e-3, f"row {row}: chi-square p-value {pvalue}"


def test_returned_entropy_is_entropy_of_returned_probs():
    out = dm.sample(dm.tensor(LOGITS), temperature=0.7, top_k=6, return_distribution=True)
    assert out.entropy.shape == (2,)
    np.testing.assert_allclose(out.entropy.numpy(), stats.entropy(out.probs.numpy(), axis=-1), rtol=1e-5)
    np.testing.assert_allclose(out.probs.numpy().sum(-1), 1.0, rtol=1e-6)
    ids, probs, entropy = out  # a namedtuple
    assert ids is out.ids


def test_top_p_keeps_the_token_that_crosses_it():
    logits = dm.tensor(np.log([0.5, 0.3, 0.15, 0.05]), dtype=dm.float64)

    def kept(p):
        return np.flatnonzero(dm.sample(logits, top_p=p, return_distribution=True).probs.numpy() > 0).tolist()
    assert kept(0.75) == [0, 1]       # 0.5 < 0.75: the second token crosses it and is kept
    assert kept(0.4) == [0]
    assert kept(0.81) == [0, 1, 2]
    assert kept(1.0) == [0, 1, 2, 3]
    assert kept(0.0) == [0]


@given(logits=arrays(np.float64, st.integers(2, 8), elements=st.floats(-5, 5)),
       t1=st.floats(0.05, 10), t2=st.floats(0.05, 10), top_k=st.one_of(st.none(), st.integers(1, 8)))
def test_entropy_increases_with_temperature(logits, t1, t2, top_k):
    lo, hi = sorted((t1, t2))
    x = dm.tensor(logits)

    def entropy(t):
        return dm.sample(x, temperature=t, top_k=top_k, return_distribution=True).entropy.item()
    h0, h_lo, h_hi = entropy(0.0), entropy(lo), entropy(hi)
    assert h0 == 0.0
    assert h0 <= h_lo + 1e-9 and h_lo <= h_hi + 1e-9
    assert h_hi <= math.log(min(top_k or len(logits), len(logits))) + 1e-9


@pytest.mark.parametrize("kw", [dict(temperature=0), dict(temperature=0.0, top_p=0.9), dict(top_k=1),
                                dict(top_p=0), dict(temperature=5.0, top_k=1), dict(top_p=0.0, top_k=4)])
def test_greedy_limits_give_the_argmax(kw):
    logits = dm.tensor([[0.1, 3.0, 3.0, -1.0], [5.0, 0.0, 1.0, 4.9], [-1.0, -2.0, -0.5, -3.0]])
    out = dm.sample(logits, num_samples=50, generator=_gen(1), return_distribution=True, **kw)
    assert (out.ids.numpy() == np.array([[1], [0], [2]])).all()     # first index among ties
    np.testing.assert_array_equal(out.probs.numpy(), np.eye(4)[[1, 0, 2]])
    np.testing.assert_array_equal(out.entropy.numpy(), 0.0)
    assert dm.sample(logits, **kw).tolist() == [1, 0, 2]


def test_tiny_temperature_does_not_overflow():
    logits = dm.tensor([1.0, 3.0, 2.0])
    out = dm.sample(logits, temperature=1e-30, return_distribution=True, generator=_gen(0))
    assert out.ids.item() == 1 and np.isfinite(out.probs.numpy()).all() and out.entropy.item() == 0.0


def test_minus_inf_logits_are_never_drawn():
    logits = dm.tensor([0.0, float("-inf"), 0.0, float("-inf")])
    ids = dm.sample(logits, temperature=50.0, num_samples=5000, generator=_gen(2)).numpy()
    assert set(np.unique(ids)) == {0, 2}


def test_same_seed_same_ids_and_shapes():
    logits = dm.randn(3, 4, 10, generator=_gen(0))
    a = dm.sample(logits, temperature=1.3, top_p=0.95, num_samples=7, generator=_gen(5))
    b = dm.sample(logits, temperature=1.3, top_p=0.95, num_samples=7, generator=_gen(5))
    assert a.shape == (3, 4, 7) and np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), dm.sample(logits, temperature=1.3, top_p=0.95, num_samples=7,
                                                   generator=_gen(6)).numpy())
    assert dm.sample(logits).shape == (3, 4)
    assert dm.sample(dm.tensor([0.0, 1.0])).shape == ()
    dm.manual_seed(3)
    c = dm.sample(logits, num_samples=4)
    dm.manual_seed(3)
    assert np.array_equal(c.numpy(), dm.sample(logits, num_samples=4).numpy())
    assert dm.sample(np.zeros((2, 3)), num_samples=2).shape == (2, 2)   # arrays are accepted


def test_filtered_distribution_is_differentiable_in_the_logits():
    def fn(lib, logits):
        out = lib.sample(logits, temperature=0.7, top_k=4, top_p=0.95, return_distribution=True)
        return out.probs, out.entropy
    x = dm.tensor(LOGITS + np.random.default_rng(0).uniform(0, 0.01, LOGITS.shape), dtype=dm.float64,
                  requires_grad=True)
    numerical_vjp_check(fn, [x])
    out = dm.sample(x, temperature=2.0, return_distribution=True)
    out.entropy.sum().backward()
    assert x.grad.shape == x.shape and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("kw,exc", [
    (dict(temperature=-0.1), ValueError), (dict(temperature=float("nan")), ValueError),
    (dict(temperature=float("inf")), ValueError), (dict(temperature="hot"), TypeError),
    (dict(top_k=0), ValueError), (dict(top_k=-3), ValueError), (dict(top_k=2.5), TypeError),
    (dict(top_p=-0.01), ValueError), (dict(top_p=1.5), ValueError), (dict(num_samples=0), ValueError),
])
def test_invalid_arguments_raise_clearly(kw, exc):
    with pytest.raises(exc, match="sample: (temperature|top_k|top_p|num_samples)"):
        dm.sample(dm.zeros(2, 5), **kw)


@pytest.mark.parametrize("logits", [dm.tensor(1.0), dm.zeros(2, 0), dm.tensor([0.0, float("nan")]),
                                    dm.tensor([float("-inf"), float("-inf")]), dm.tensor([0.0, float("inf")])])
def test_invalid_logits_raise(logits):
    with pytest.raises(ValueError, match="sample: "):
        dm.sample(logits)


# --- dm.bernoulli, dm.multinomial, dm.normal -----------------------------------------------
def test_bernoulli_draws():
    p = dm.tensor([[0.0, 0.25], [0.9, 1.0]], dtype=dm.float64)
    draws = np.stack([dm.bernoulli(p, generator=_gen(s)).numpy() for s in range(4000)])
    assert draws.dtype == np.float64 and set(np.unique(draws)) <= {0.0, 1.0}
    assert draws[:, 0, 0].max() == 0 and draws[:, 1, 1].min() == 1
    pv = p.numpy()
    assert np.all(np.abs(draws.mean(0) - pv) <= 4 * np.sqrt(pv * (1 - pv) / 4000) + 1e-12)
    assert np.array_equal(dm.bernoulli(p, generator=_gen(1)).numpy(), dm.bernoulli(p, generator=_gen(1)).numpy())


def test_multinomial_draws():
    w = dm.tensor([[1.0, 0.0, 3.0, 4.0], [0.5, 0.5, 0.0, 1.0]])
    ids = dm.multinomial(w, 20000, replacement=True, generator=_gen(0))
    assert ids.shape == (2, 20000) and ids.dtype == dm.int64
    for row in range(2):
        p = w.numpy()[row] / w.numpy()[row].sum()
        counts = np.bincount(ids.numpy()[row], minlength=4)
        assert counts[p == 0].sum() == 0
        assert stats.chisquare(counts[p > 0], 20000 * p[p > 0]).pvalue > 1e-3
    no_rep = dm.multinomial(dm.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), 5, generator=_gen(1))
    assert sorted(no_rep.tolist()) == [0, 1, 2, 3, 4] and no_rep.shape == (5,)
    # without replacement, zero-weight classes come only after the others
    assert sorted(dm.multinomial(dm.tensor([1.0, 0.0, 1.0]), 3, generator=_gen(2)).tolist()[:2]) == [0, 2]
    first = [dm.multinomial(dm.tensor([1.0, 3.0]), 2, generator=_gen(s))[0].item() for s in range(4000)]
    assert abs(np.mean(first) - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 4000)


def test_normal_draws_and_overloads(torch):
    x = dm.normal(dm.tensor([0.0, 10.0]), dm.tensor([1.0, 0.1]), generator=_gen(0))
    assert x.shape == (2,) and x.dtype == dm.float32 and not x.requires_grad
    big = dm.normal(3.0, 2.0, size=(50000,), generator=_gen(1)).numpy().astype(np.float64)
    assert abs(big.mean() - 3) < 4 * 2 / math.sqrt(50000) and abs(big.std() / 2 - 1) < 4 / math.sqrt(2 * 50000)
    for args, kw in [((np.zeros((2, 1)), np.ones(3)), {}), ((np.zeros(3, np.float64), 1.0), {}),
                     ((0.0, np.ones(2)), {}), ((0.0, 1.0), dict(size=(4, 2)))]:
        shapes = []
        for lib in (dm, torch):
            a = [lib.tensor(v) if isinstance(v, np.ndarray) else v for v in args]
            out = lib.normal(*a, **kw)
            shapes.append((tuple(out.shape), str(out.dtype).split(".")[-1]))
        assert shapes[0] == shapes[1]
    a = dm.normal(dm.zeros(3), 1.0, generator=_gen(4))
    assert np.array_equal(a.numpy(), dm.normal(dm.zeros(3), 1.0, generator=_gen(4)).numpy())


ERRORS = [
    lambda lib: lib.bernoulli(lib.tensor([1.5])),
    lambda lib: lib.multinomial(lib.tensor([-1.0, 2.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([1.0, 0.0, 1.0]), 4),
    lambda lib: lib.multinomial(lib.tensor([1.0, 2.0]), 0, True),
    lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1, True),
    lambda lib: lib.multinomial(lib.tensor([1.0, float("inf")]), 1, True),
    lambda lib: lib.multinomial(lib.tensor([1, 2]), 1, True),
    lambda lib: lib.normal(lib.zeros(2), lib.tensor([-1.0, 1.0])),
    lambda lib: lib.normal(0.0, -1.0, size=(2,)),
    lambda lib: lib.normal(lib.zeros(2), lib.ones(3)),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(k, torch):
    assert_raises_like_torch(ERRORS[k], torch=torch)
