"""dm.autograd tools: gradcheck / gradgradcheck, custom Function, detect_anomaly; and dm.explain."""

import io
import re

import numpy as np
import pytest

from helpers import dlmath_only, dm

RNG = np.random.default_rng(3)


def t64(*shape, grad=True):
    return dm.tensor(RNG.standard_normal(shape), dtype=dm.float64, requires_grad=grad)


# --- custom Functions --------------------------------------------------------------------
class Cube(dm.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x ** 2

    @staticmethod
    def jvp(ctx, t):
        x, = ctx.saved_tensors
        return t * 3 * x ** 2


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, g):          # off by 5% in the second element only
        x, = ctx.saved_tensors
        scale = dm.tensor([1.0, 1.05, 1.0], dtype=x.dtype)
        return g * 3 * x ** 2 * scale


class MulAdd(dm.autograd.Function):
    """Two outputs, a non-tensor argument, needs_input_grad."""

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.save_for_backward(a, b)
        ctx.alpha = alpha
        ctx.seen = ctx.needs_input_grad
        return a * b, a + alpha * b

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        a, b = ctx.saved_tensors
        ga = g_prod * b + g_sum if ctx.needs_input_grad[0] else None
        gb = g_prod * a + ctx.alpha * g_sum if ctx.needs_input_grad[1] else None
        return ga, gb, None


@dlmath_only
def test_function_forward_backward_and_ctx():
    x = dm.tensor([1.0, 2.0, -0.5], requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn is not None and y.grad_fn.name == "Cube"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, 2.0, -0.5]) ** 2)
    a, b = t64(3), t64(3, grad=False)
    p, s = MulAdd.apply(a, b, 2.0)
    (p.sum() + 2 * s.sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.numpy() + 2)
    p, s = MulAdd.apply(a, b, 2.0)
    p.sum().backward()                 # the unused output's gradient is materialized as zeros
    np.testing.assert_allclose(a.grad.numpy(), 2 * b.numpy() + 2)
    with pytest.raises(RuntimeError, match="static"):
        Cube()


@dlmath_only
def test_function_errors():
    class TooMany(Cube):
        @staticmethod
        def backward(ctx, g):
            return g, g

    class BadShape(Cube):
        @staticmethod
        def backward(ctx, g):
            return dm.ones(5)
    x = t64(3)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooMany.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0.*\[5\].*\[3\]"):
        BadShape.apply(x).sum().backward()


@dlmath_only
def test_function_composes_with_transforms():
    x = np.array([1.0, 2.0, -0.5])
    np.testing.assert_allclose(dm.func.jacrev(Cube.apply)(x), np.diag(3 * x ** 2))
    np.testing.assert_allclose(dm.func.jacfwd(Cube.apply)(x), np.diag(3 * x ** 2))
    # second order needs the backward to be differentiable: it is, written with dlmath ops
    np.testing.assert_allclose(dm.func.hessian(lambda x: Cube.apply(x).sum())(x), np.diag(6 * x))
    xt = dm.tensor(x, requires_grad=True)
    g, = dm.autograd.grad(Cube.apply(xt).sum(), xt, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), 6 * x)


# --- gradcheck ---------------------------------------------------------------------------------
def test_gradcheck_passes_on_good_functions():
    x, w = t64(3, 4), t64(4)
    assert dm.autograd.gradcheck(lambda x, w: (x @ w).tanh(), (x, w))
    assert dm.autograd.gradcheck(lambda x: x.softmax(-1), (x,))
    assert dm.autograd.gradgradcheck(lambda x, w: (x @ w).sigmoid() * w.sum(), (x, w))
    assert dm.autograd.gradgradcheck(lambda x: x.log_softmax(-1), (x,))


@dlmath_only
def test_gradcheck_on_custom_functions():
    x = t64(3)
    assert dm.autograd.gradcheck(Cube.apply, (x,))
    assert dm.autograd.gradgradcheck(Cube.apply, (x,))
    a, b = t64(3), t64(3)
    assert dm.autograd.gradcheck(lambda a, b: MulAdd.apply(a, b, 2.0), (a, b))


@dlmath_only
def test_gradcheck_reports_the_worst_element_of_a_wrong_function():
    x = dm.tensor([1.0, 2.0, -0.5], dtype=dm.float64, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        dm.autograd.gradcheck(WrongCube.apply, (x,))
    msg = str(info.value)
    assert isinstance(info.value, dm.autograd.GradcheckError)
    assert "Jacobian mismatch for output 0 with respect to input 0" in msg
    # d out[1] / d x[1]: analytical 3 * 4 * 1.05 = 12.6, numerical 12
    assert re.search(r"worst element: d output0\[1\] / d input0\[1\]: analytical 12\.6, numerical 12\b", msg)
    assert "1 of 9 elements" in msg
    assert dm.autograd.gradcheck(WrongCube.apply, (x,), raise_exception=False) is False

    class DetachedCube(Cube):      # right first derivative, but not differentiable in x
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x.detach() ** 2
    assert dm.autograd.gradcheck(DetachedCube.apply, (x,))
    with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to input 0"):
        dm.autograd.gradgradcheck(DetachedCube.apply, (x,))


@dlmath_only
def test_gradcheck_argument_checks():
    with pytest.raises(ValueError, match="requires_grad"):
        dm.autograd.gradcheck(lambda x: x * 2, (t64(2, grad=False),))
    x32 = dm.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="double precision"):
        dm.autograd.gradcheck(lambda x: x * 2, (x32,), atol=1e-2, rtol=1e-2, eps=1e-3)


# --- detect_anomaly -----------------------------------------------------------------------
def _small_graph(x, w):
    h = (x * w).sum(1)          # a clean op first
    return h


@dlmath_only
def test_anomaly_names_log_of_zero_in_forward():
    x, w = dm.tensor([[1.0, 0.0], [2.0, 3.0]]), dm.tensor([0.5, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        with dm.autograd.detect_anomaly():
            h = _small_graph(x, w)
            y = dm.log(x * w)            # log(0) planted here
            (y.sum() + h.sum()).backward()
    msg = str(info.value)
    assert "'Log'" in msg and "-inf" in msg and "forward" in msg
    assert "test_autograd_tools.py" in msg and "y = dm.log(x * w)" in msg


@dlmath_only
def test_anomaly_names_zero_over_zero_in_forward():
    x = dm.tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        with dm.autograd.detect_anomaly():
            a = x * x
            r = a / x                    # 0/0 planted here
            r.sum().backward()
    msg = str(info.value)
    assert "'Div'" in msg and "nan" in msg and "r = a / x" in msg


@dlmath_only
def test_anomaly_names_the_op_whose_backward_makes_nan():
    x = dm.tensor([4.0, 0.0], requires_grad=True)
    with dm.autograd.detect_anomaly():
        y = dm.sqrt(x)                  # finite forward, infinite derivative at 0
        z = (y * 2).sum()
        with pytest.raises(RuntimeError) as info:
            z.backward()
    msg = str(info.value)
    assert "'SqrtBackward'" in msg and "inf" in msg and "y = dm.sqrt(x)" in msg


@dlmath_only
def test_anomaly_passes_incoming_inf_and_restores_state():
    from dlmath.autograd import _flags
    scores = dm.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = dm.tensor([False, True, False])
    with dm.autograd.detect_anomaly():
        p = scores.masked_fill(mask, float("-inf")).softmax(0)     # -inf comes in: no alarm
        p[0].backward()
    assert np.isfinite(scores.grad.numpy()).all()
    assert not _flags.local.anomaly and not _flags.active and not dm.autograd.is_anomaly_enabled()
    with dm.autograd.detect_anomaly(check_nan=False):
        y = dm.log(dm.tensor([0.0]))                                # recorded, not raised
    assert y.numpy()[0] == -np.inf


# --- explain ------------------------------------------------------------------------------------
def _mlp():
    dm.manual_seed(0)
    x, y = dm.randn(4, 3), dm.randn(4, 1)
    params = dict(W1=dm.randn(3, 5, requires_grad=True), b1=dm.zeros(5, requires_grad=True),
                  W2=dm.randn(5, 4, requires_grad=True), b2=dm.zeros(4, requires_grad=True),
                  W3=dm.randn(4, 1, requires_grad=True), b3=dm.zeros(1, requires_grad=True))
    p = params
    h = dm.tanh(x @ p["W1"] + p["b1"])
    h = dm.relu(h @ p["W2"] + p["b2"])
    loss = ((h @ p["W3"] + p["b3"] - y) ** 2).mean()
    return loss, params


@dlmath_only
def test_explain_walks_a_3_layer_mlp_op_by_op():
    loss, params = _mlp()
    buf = io.StringIO()
    assert dm.explain(loss, names=params, file=buf) is None  # printed, not also returned (a REPL would echo it)
    text = buf.getvalue()
    assert text.strip() == dm.explain(loss, names=params, file=None).strip()
    steps = re.findall(r"^\[(\d+)\] (\w+): (.*) -> (.*)$", text, flags=re.M)
    assert [s[1] for s in steps] == ["Mean", "Pow", "Sub", "Add", "MatMul", "Relu", "Add", "MatMul",
                                     "Tanh", "Add", "MatMul"]
    assert steps[4][2:] == ("(4, 4), (4, 1)", "(4, 1)")
    assert "local derivative: tanh(x); d/dx = 1 - tanh(x)^2" in text
    assert "d out/d input 0 (elementwise)" in text           # small tensors: the numbers
    assert "gradient out to input 1 -> leaf W3" in text
    assert text.startswith("Backward pass of a scalar of value")
    # the leaves' gradients are those backward() accumulates; explain leaves the graph usable
    leaf = dict(re.findall(r"^    (W3|b3|b2): (\[.*?\])$", text, flags=re.M | re.S))
    loss.backward()
    for name in ("b3", "b2"):
        got = np.array(eval(leaf[name].replace("\n", "")))
        np.testing.assert_allclose(got, params[name].grad.numpy(), rtol=1e-3, atol=1e-4)


@dlmath_only
def test_explain_errors_and_quiet_mode():
    x = dm.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    assert "Mul" in dm.explain(y, file=None)
    y.backward()
    with pytest.raises(RuntimeError, match="freed"):
        dm.explain(y, file=None)
    with pytest.raises(RuntimeError, match="scalar"):
        dm.explain(x * 2, file=None)
    with pytest.raises(RuntimeError, match="no graph"):
        dm.explain(dm.tensor(1.0), file=None)
