"""dm.special: torch.special's functions against PyTorch, and entropy / cross-entropy / KL of distributions.

Also the property that ties temperature to uncertainty: the entropy of
softmax(z / T) never decreases as T grows (Hypothesis), and the forward-mode
rules (jvp) of the primitives this issue added, against finite differences.
"""

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, strategies as st

from helpers import Arg, build, compare_with_torch, dlmath_only, dm, materialize, numerical_vjp_check, \
    second_order_check, to_numpy

RNG = np.random.default_rng(11)
UNIT = RNG.uniform(0.02, 0.98, (3, 4))
TAILS = np.array([-40.0, -12.0, -3.0, -0.5, 0.0, 0.7, 4.0, 9.0])

SPECIAL = [  # (name, fn, samples, second derivative checked)
    ("expit", lambda lib, x: lib.special.expit(x), [((3, 4),)], True),
    ("logit", lambda lib, x: lib.special.logit(x), [(UNIT,)], True),
    ("logit_eps", lambda lib, x: lib.special.logit(x, eps=0.1),
     [(np.array([0.013, 0.2, 0.5, 0.85, 0.987]),)], True),
    ("erf", lambda lib, x: lib.special.erf(x), [((3, 4),)], True),
    ("erfc", lambda lib, x: lib.special.erfc(x), [((3, 4),), (np.array([-3.0, 0.0, 2.0, 5.0, 9.0]),)], True),
    ("ndtr", lambda lib, x: lib.special.ndtr(x), [((3, 4),), (TAILS[1:],)], True),
    ("log_ndtr", lambda lib, x: lib.special.log_ndtr(x), [((3, 4),), (TAILS,)], True),
    ("xlogy", lambda lib, x, y: lib.special.xlogy(x, y),
     [((3, 4), Arg((3, 4), "positive")), ((4,), Arg((3, 1), "positive")),
      (np.array([0.0, 0.0, 1.5, -2.0]), np.array([2.0, 0.5, 3.0, 0.7]))], True),
    ("xlogy_scalar", lambda lib, y: lib.special.xlogy(2.0, y), [(Arg((3,), "positive"),)], True),
    ("xlog1py", lambda lib, x, y: lib.special.xlog1py(x, y),
     [((3, 4), Arg((3, 4), "positive")), (np.array([0.0, 1.5, -2.0]), np.array([2.0, 3.0, -0.5]))], True),
    ("entr", lambda lib, x: lib.special.entr(x), [(Arg((3, 4), "positive"),)], True),
    ("entr_edges", lambda lib, x: lib.special.entr(x), [(np.array([0.0, 0.3, 1.0, -1.0]),)], False),
    ("softmax", lambda lib, x: lib.special.softmax(x, 1), [((3, 4),)], True),
    ("log_softmax", lambda lib, x: lib.special.log_softmax(x, 0, dtype=lib.float64), [((3, 4),)], True),
    ("logsumexp", lambda lib, x: lib.special.logsumexp(x, 1, keepdim=True), [((3, 4),)], True),
    ("expm1", lambda lib, x: lib.special.expm1(x), [((3, 4),)], True),
    ("log1p", lambda lib, x: lib.special.log1p(x), [(Arg((3, 4), "positive"),)], True),
    ("exp2", lambda lib, x: lib.special.exp2(x), [((3, 4),)], True),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,samples,twice", SPECIAL, ids=[s[0] for s in SPECIAL])
def test_special_matches_torch(name, fn, samples, twice, dtype, torch):
    for s in samples:
        compare_with_torch(fn, s, dtype=dtype, torch=torch)


@pytest.mark.parametrize("name,fn,samples,twice", [s for s in SPECIAL if s[0] != "entr_edges"],
                         ids=[s[0] for s in SPECIAL if s[0] != "entr_edges"])
def test_special_derivatives(name, fn, samples, twice):
    for s in samples:
        args = build(dm, materialize(s))
        numerical_vjp_check(fn, args)
        if twice:
            second_order_check(fn, args)


def test_integer_inputs_become_float(torch):
    for fn in (lambda lib, x: lib.special.exp2(x), lambda lib, x: lib.special.erfc(x),
               lambda lib, x: lib.special.logit(x), lambda lib, x: lib.special.xlogy(x, x)):
        compare_with_torch(fn, (Arg(value=np.array([1, 2]), dtype="int64"),), torch=torch)


@dlmath_only
def test_tails_stay_finite():
    """log_ndtr(x) for x < -38 and erfc(x) for x > 4: where log(ndtr) and 1 - erf give up."""
    x = dm.tensor([-60.0, -40.0, 5.0], dtype=dm.float64, requires_grad=True)
    y = dm.special.log_ndtr(x)
    np.testing.assert_allclose(to_numpy(y), scipy.special.log_ndtr([-60.0, -40.0, 5.0]), rtol=1e-12)
    assert np.isinf(to_numpy(dm.log(dm.special.ndtr(x)))[0])
    y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad)[:2], [60.0, 40.0], rtol=1e-3)  # the inverse Mills ratio ~ -x
    e = dm.special.erfc(dm.tensor([5.0, 9.0]))               # float32
    np.testing.assert_allclose(to_numpy(e), scipy.special.erfc([5.0, 9.0]), rtol=1e-5)
    assert not (1 - to_numpy(dm.erf(dm.tensor([5.0, 9.0])))).any()


# ------------------------------------------------ entropy, cross-entropy, KL ----
def _rand_probs(shape, rng=RNG, zeros=False):
    p = rng.uniform(0.05, 1.0, shape)
    if zeros:
        p[..., 0] = 0.0
    return p / p.sum(-1, keepdims=True)


@dlmath_only
def test_entropy_values():
    p = _rand_probs((3, 5), zeros=True)
    np.testing.assert_allclose(to_numpy(dm.special.entropy(dm.tensor(p))), scipy.stats.entropy(p, axis=-1),
                               rtol=1e-6)
    assert dm.special.entropy(dm.ones(8) / 8).item() == pytest.approx(np.log(8))   # uniform: the maximum
    assert dm.special.entropy(dm.tensor([0.0, 1.0, 0.0])).item() == 0.0          # certain: 0 log 0 = 0
    h = dm.special.entropy(dm.tensor(p.T, dtype=dm.float64), dim=0, keepdim=True)
    assert h.shape == (1, 3)
    np.testing.assert_allclose(to_numpy(h)[0], scipy.stats.entropy(p, axis=-1), rtol=1e-12)


@dlmath_only
def test_cross_entropy_and_kl_identities():
    p, q = _rand_probs((4, 6), zeros=True), _rand_probs((4, 6))
    P, Q = dm.tensor(p, dtype=dm.float64), dm.tensor(q, dtype=dm.float64)
    H, HPQ, KL = dm.special.entropy(P), dm.special.cross_entropy(P, Q), dm.special.kl_div(P, Q)
    np.testing.assert_allclose(to_numpy(KL), scipy.special.rel_entr(p, q).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(HPQ), to_numpy(H) + to_numpy(KL), rtol=1e-12)  # H(p,q) = H(p) + KL
    assert (to_numpy(KL) > 0).all()
    assert dm.special.kl_div(P, P).abs().max().item() < 1e-15                         # zero iff p = q
    # against the losses: one-hot p gives -log q[y]; F.kl_div takes (log q, p)
    y = np.array([1, 0, 5, 2])
    onehot = dm.tensor(np.eye(6)[y])
    np.testing.assert_allclose(to_numpy(dm.special.cross_entropy(onehot, Q)), -np.log(q[np.arange(4), y]))
    ce = dm.nn.functional.cross_entropy(dm.log(Q), dm.tensor(y), reduction="none")
    np.testing.assert_allclose(to_numpy(ce), to_numpy(dm.special.cross_entropy(onehot, Q)), rtol=1e-12)
    F_kl = dm.nn.functional.kl_div(dm.log(Q), P, reduction="batchmean")
    np.testing.assert_allclose(F_kl.item(), to_numpy(KL).mean(), rtol=1e-12)


@dlmath_only
def test_kl_is_asymmetric():
    """KL(p||q) != KL(q||p); KL(p||q) is infinite where q misses mass of p, and p = 0 points cost nothing."""
    p, q = dm.tensor([0.9, 0.1]), dm.tensor([0.5, 0.5])
    assert dm.special.kl_div(p, q).item() == pytest.approx(0.9 * np.log(1.8) + 0.1 * np.log(0.2), rel=1e-5)
    assert dm.special.kl_div(q, p).item() == pytest.approx(0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(5), rel=1e-5)
    assert dm.special.kl_div(p, q).item() != pytest.approx(dm.special.kl_div(q, p).item(), rel=0.05)
    a, b = dm.tensor([0.5, 0.5, 0.0]), dm.tensor([0.5, 0.0, 0.5])
    assert dm.special.kl_div(a, b).item() == np.inf and dm.special.cross_entropy(a, b).item() == np.inf
    c = dm.tensor([0.4, 0.3, 0.3])
    assert np.isfinite(dm.special.kl_div(a, c).item()) and dm.special.kl_div(c, a).item() == np.inf


@dlmath_only
@pytest.mark.parametrize("fn", [lambda p, q: dm.special.entropy(p), lambda p, q: dm.special.cross_entropy(p, q),
                                lambda p, q: dm.special.kl_div(p, q)], ids=["entropy", "cross_entropy", "kl"])
def test_information_derivatives(fn):
    args = build(dm, materialize((_rand_probs((3, 4)), _rand_probs((3, 4)))))
    numerical_vjp_check(lambda lib, p, q: fn(p, q), args)
    second_order_check(lambda lib, p, q: fn(p, q), args)


@dlmath_only
def test_gradient_at_zero_probability_is_finite():
    """0 log 0 = 0 with slope 0 at p = 0, so an underflowed softmax entry does not make the gradient NaN."""
    p = dm.tensor([0.0, 0.25, 0.75], dtype=dm.float64, requires_grad=True)
    q = dm.tensor([0.2, 0.3, 0.5], dtype=dm.float64, requires_grad=True)
    (dm.special.entropy(p) + dm.special.kl_div(p, q) + dm.special.cross_entropy(p, q)).backward()
    assert np.isfinite(to_numpy(p.grad)).all() and np.isfinite(to_numpy(q.grad)).all()
    assert to_numpy(q.grad)[0] == 0.0                            # no mass at 0: q_0 is irrelevant
    z = dm.tensor([0.0, 2.0, -1e4], dtype=dm.float64, requires_grad=True)  # softmax(z)[2] = 0 exactly
    s = dm.softmax(z, 0)
    h = dm.special.entropy(s)
    h.backward()
    pv, hv = to_numpy(s), h.item()
    with np.errstate(all="ignore"):
        expect = -pv * (np.where(pv > 0, np.log(pv), 0.0) + hv)  # dH/dz_i = -p_i (log p_i + H), -> 0 as p_i -> 0
    np.testing.assert_allclose(to_numpy(z.grad), expect, atol=1e-15)
    e = dm.tensor([0.0, 0.5], requires_grad=True)
    dm.special.entr(e).sum().backward()
    assert to_numpy(e.grad)[0] == np.inf                        # entr keeps PyTorch's +inf


# --------------------------------------------------- temperature and entropy ----
_logits = st.lists(st.floats(-20, 20, allow_nan=False), min_size=2, max_size=8)
_temps = st.tuples(st.floats(0.05, 30), st.floats(0.05, 30))


@dlmath_only
@given(_logits, _temps)
def test_entropy_of_softmax_increases_with_temperature(z, temps):
    """dH/dT = Var_p(z) / T^3 >= 0: a hotter softmax is never more certain."""
    t1, t2 = sorted(temps)
    z = dm.tensor(z, dtype=dm.float64)
    h1 = dm.special.entropy(dm.softmax(z / t1, 0)).item()
    h2 = dm.special.entropy(dm.softmax(z / t2, 0)).item()
    assert h1 <= h2 + 1e-9
    assert -1e-12 <= h1 and h2 <= np.log(len(z)) + 1e-12


@dlmath_only
def test_temperature_limits():
    z = dm.tensor([2.0, 1.0, -1.0, 0.5], dtype=dm.float64)
    assert dm.special.entropy(dm.softmax(z / 1e-3, 0)).item() < 1e-12          # T -> 0: argmax, certain
    np.testing.assert_allclose(dm.special.entropy(dm.softmax(z / 1e6, 0)).item(), np.log(4), rtol=1e-9)


@dlmath_only
@given(st.integers(2, 6), st.integers(0, 2 ** 32 - 1))
def test_gibbs_inequality(n, seed):
    rng = np.random.default_rng(seed)
    p, q = dm.tensor(rng.dirichlet(np.ones(n))), dm.tensor(rng.dirichlet(np.ones(n)))
    assert dm.special.kl_div(p, q).item() >= -1e-6
    assert dm.special.cross_entropy(p, q).item() >= dm.special.entropy(p).item() - 1e-6


# ---------------------------------------------------------- forward mode (jvp) ----
def _primitive_cases():
    from dlmath.ops.losses import BinaryCrossEntropy, Softplus, softmax_cross_entropy
    from dlmath.special import Entr, Erfc, LogNdtr
    u = RNG.uniform(0.05, 0.95, 5)
    ce = [softmax_cross_entropy(dm.zeros(3, 4, 2, requires_grad=True), np.array([[0, 3], [1, 1], [2, 0]]), 1).grad_fn,
          softmax_cross_entropy(dm.zeros(3, 4, requires_grad=True), np.array([3, 0, 0]), 1).grad_fn]
    return [(Erfc(), [RNG.standard_normal(5)]), (LogNdtr(), [TAILS]), (Entr(), [u]),
            (Softplus(), [np.array([-30.0, -1.0, 0.0, 0.5, 30.0])]), (BinaryCrossEntropy(), [u, u[::-1].copy()]),
            (ce[0], [RNG.standard_normal((3, 4, 2)) * 5]), (ce[1], [RNG.standard_normal((3, 4))])]


@dlmath_only
def test_primitive_jvp_matches_finite_differences():
    import dlmath.autograd.xp_numpy as xp
    for op, xs in _primitive_cases():
        eps = 1e-6
        ts = [RNG.standard_normal(x.shape) for x in xs]
        y = op.forward(*xs)
        jvp = op.jvp(xp, tuple(ts), *xs, y)
        op.needs = (True,) * len(xs)
        g = RNG.standard_normal(y.shape)
        vjp = op.vjp(xp, g, *xs, y)
        assert np.isclose(sum(np.sum(v * t) for v, t in zip(vjp, ts)), np.sum(g * jvp))  # <J^T g, t> = <g, J t>
        fd = (op.forward(*[x + eps * t for x, t in zip(xs, ts)])
              - op.forward(*[x - eps * t for x, t in zip(xs, ts)])) / (2 * eps)
        np.testing.assert_allclose(jvp, fd, rtol=1e-5, atol=1e-7, err_msg=type(op).__name__)
