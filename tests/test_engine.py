"""The autograd engine: backward, accumulation, retain_graph, higher order,
grad mode, leaves and autograd.grad; PyTorch's semantics throughout."""

import gc
import threading
import weakref

import numpy as np
import pytest

from helpers import dlmath_only, dm, to_numpy

# torch warns when .grad of a non-leaf is read; reading it is the point here
pytestmark = pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor")


def _f64(lib, values, requires_grad=False):
    return lib.tensor(np.asarray(values, dtype=np.float64), dtype=lib.float64,
                      requires_grad=requires_grad)


def _issue_example(lib, w0):
    """The example from the issue, with a fixed W so torch can replay it."""
    W = _f64(lib, w0, requires_grad=True)
    x = lib.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=lib.float64)
    b = lib.zeros(3, dtype=lib.float64, requires_grad=True)
    loss = (x @ W.T + b).tanh().pow(2).sum()
    loss.backward(retain_graph=True)
    first = (to_numpy(W.grad).copy(), to_numpy(b.grad).copy())
    g, = lib.autograd.grad(loss, [W], create_graph=True)
    (g * g).sum().backward()
    return loss, first, (to_numpy(W.grad), to_numpy(b.grad)), to_numpy(g)


def test_issue_example_matches_torch(torch):
    w0 = np.random.default_rng(0).standard_normal((3, 4)) * 0.3
    ours, theirs = _issue_example(dm, w0), _issue_example(torch, w0)
    assert ours[1][0].shape == (3, 4) and ours[1][1].shape == (3,)
    np.testing.assert_allclose(ours[0].item(), theirs[0].item(), rtol=1e-12)
    for a, b in zip(ours[1] + ours[2] + (ours[3],), theirs[1] + theirs[2] + (theirs[3],)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # the second backward added d/dW sum(g*g) on top of the first-order gradient
    assert not np.allclose(ours[2][0], ours[1][0])


def test_issue_example_float32_default():
    W = dm.randn(3, 4, requires_grad=True)
    x = dm.tensor([[1.0, 2.0, 3.0, 4.0]])
    b = dm.zeros(3, requires_grad=True)
    loss = (x @ W.T + b).tanh().pow(2).sum()
    loss.backward()
    assert tuple(W.grad.shape) == (3, 4) and tuple(b.grad.shape) == (3,)
    assert W.grad.dtype == dm.float32 and loss.dtype == dm.float32


def test_gradients_accumulate_across_backward_calls():
    x = _f64(dm, [1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [4.0, 8.0, 12.0])
    x.grad = None
    (3 * x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [3.0, 3.0, 3.0])


def test_retain_graph_allows_second_backward():
    x = _f64(dm, [1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    expected = 2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
    np.testing.assert_allclose(to_numpy(x.grad), expected)


def test_second_backward_through_freed_graph_raises():
    x = _f64(dm, [1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_nodes_that_saved_nothing_can_be_backpropagated_again(torch):
    """Backward frees saved values only, as torch: a transpose of a weight kept across steps
    (and across optimiser updates) still leads its gradient to the weight."""
    grads = []
    for lib in (dm, torch):
        W = _f64(lib, [[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]], requires_grad=True)
        WT = W.T
        x = _f64(lib, [[1.0, 2.0]])
        for _ in range(3):
            (x @ WT).relu().sum().backward()
            with lib.no_grad():
                W -= 0.1 * W.grad
        grads.append((to_numpy(W.grad).copy(), to_numpy(W.detach()).copy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@dlmath_only
def test_a_kept_view_of_a_weight_stays_the_same_view_across_optimiser_steps():
    """A no_grad update changes no history: the transpose's node is re-stamped, not
    regenerated as a gather over every element."""
    W = _f64(dm, np.arange(6.0).reshape(3, 2), requires_grad=True)
    WT = W.T
    node = WT.grad_fn
    for _ in range(2):
        (_f64(dm, [[1.0, 2.0]]) @ WT).sum().backward()
        with dm.no_grad():
            W -= 0.1 * W.grad
    assert WT.grad_fn is node


@dlmath_only
def test_released_nodes_keep_no_input_values():
    x = _f64(dm, np.ones(5000), requires_grad=True)
    h = x + 2
    data = weakref.ref(h._data)
    y = (h + 1).sum()   # add saves no values: its node survives backward, without h's numbers
    y.backward()
    del h
    gc.collect()
    assert data() is None
    y.backward()        # and a second pass through it still works
    np.testing.assert_allclose(to_numpy(x.grad), np.full(5000, 2.0))


def test_graph_is_freed_after_backward():
    """Saved activations are released by backward (unless retain_graph)."""
    x = _f64(dm, [1.0, 2.0, 3.0], requires_grad=True)
    h = x * 3
    ref = weakref.ref(h)
    loss = (h * h).sum()
    del h
    gc.collect()
    assert ref() is not None, "the graph should hold the saved input of mul"
    loss.backward()
    gc.collect()
    assert ref() is None, "backward did not free the tensors saved for it"


def test_backward_of_non_scalar_needs_gradient():
    x = _f64(dm, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        (x * 2).backward()


def test_backward_with_gradient_argument(torch):
    v = np.array([[1.0, -2.0], [0.5, 3.0]])
    grads = []
    for lib in (dm, torch):
        x = _f64(lib, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        (x * x).backward(gradient=_f64(lib, v))
        grads.append(to_numpy(x.grad))
    np.testing.assert_allclose(grads[0], grads[1])
    np.testing.assert_allclose(grads[0], 2 * np.array([[1.0, 2.0], [3.0, 4.0]]) * v)


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        dm.ones(3).sum().backward()


# ---------------------------------------------------------- grad mode ----

def test_no_grad_context_manager():
    x = dm.ones(3, requires_grad=True)
    with dm.no_grad():
        y = x * 2
        with dm.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert (x * 2).requires_grad


def test_no_grad_and_enable_grad_as_decorators():
    @dm.no_grad()
    def frozen(t):
        return t * 2

    @dm.enable_grad()
    def tracked(t):
        return t * 2

    x = dm.ones(3, requires_grad=True)
    assert not frozen(x).requires_grad
    with dm.no_grad():
        assert tracked(x).requires_grad
    assert (x * 2).requires_grad


def test_no_grad_restores_mode_on_exception():
    x = dm.ones(3, requires_grad=True)
    with pytest.raises(ValueError):
        with dm.no_grad():
            raise ValueError("boom")
    assert (x * 2).requires_grad


def test_grad_mode_is_thread_local():
    x = dm.ones(3, requires_grad=True)
    seen = {}
    started, release = threading.Event(), threading.Event()

    def worker():
        seen["other_thread"] = (x * 2).requires_grad
        started.set()
        release.wait(5)

    with dm.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        started.wait(5)
        seen["this_thread"] = (x * 2).requires_grad
        release.set()
        t.join(5)
    assert seen == {"other_thread": True, "this_thread": False}

    def disable_in_thread():
        with dm.no_grad():
            seen["inside"] = (x * 2).requires_grad
    t = threading.Thread(target=disable_in_thread)
    t.start()
    t.join(5)
    assert not seen["inside"] and (x * 2).requires_grad


# ------------------------------------------------------ tensor state ----

def test_leaves_and_grad_fn():
    x = dm.ones(2, requires_grad=True)
    c = dm.ones(2)
    y = x * 2
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert x.grad_fn is None and c.grad_fn is None and y.grad_fn is not None
    assert (c * 2).is_leaf, "a result that does not require grad is a leaf"


def test_detach_shares_data_and_cuts_graph():
    x = dm.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    np.testing.assert_array_equal(to_numpy(d), [2.0, 2.0, 2.0])
    with dm.no_grad():
        y.mul_(3)
    np.testing.assert_array_equal(to_numpy(d), [6.0, 6.0, 6.0])


def test_requires_grad_():
    x = dm.ones(3)
    assert not x.requires_grad
    assert x.requires_grad_() is x and x.requires_grad
    (x * x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [2.0, 2.0, 2.0])
    x.requires_grad_(False)
    assert not (x * 2).requires_grad


def test_requires_grad_on_non_leaf_false_raises():
    x = dm.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError):
        y.requires_grad_(False)


def test_retain_grad_on_intermediate():
    x = _f64(dm, [1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = y * 2
    (y * y).sum().backward()
    np.testing.assert_allclose(to_numpy(y.grad), [6.0, 12.0])
    assert z.grad is None


def test_non_leaf_grad_is_none_without_retain_grad():
    x = dm.ones(2, requires_grad=True)
    y = x * 3
    y.sum().backward()
    assert y.grad is None


# ------------------------------------------------------- autograd.grad ----

def test_autograd_grad_does_not_touch_dot_grad():
    x = _f64(dm, [1.0, 2.0], requires_grad=True)
    g, = dm.autograd.grad((x ** 3).sum(), [x])
    np.testing.assert_allclose(to_numpy(g), [3.0, 12.0])
    assert x.grad is None


def test_autograd_grad_allow_unused():
    x = _f64(dm, [1.0, 2.0], requires_grad=True)
    unused = _f64(dm, [5.0], requires_grad=True)
    out = (x * x).sum()
    with pytest.raises(RuntimeError):
        dm.autograd.grad(out, [x, unused], retain_graph=True)
    gx, gu = dm.autograd.grad(out, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(to_numpy(gx), [2.0, 4.0])


def test_autograd_grad_with_non_leaf_input():
    x = _f64(dm, [1.0, 2.0], requires_grad=True)
    h = x * 3
    out = (h * h).sum()
    gh, = dm.autograd.grad(out, h)
    np.testing.assert_allclose(to_numpy(gh), [6.0, 12.0])
    assert x.grad is None and h.grad is None


def test_autograd_grad_grad_outputs_and_several_outputs(torch):
    results = []
    for lib in (dm, torch):
        x = _f64(lib, [1.0, 2.0, 3.0], requires_grad=True)
        a, b = x.sin(), x * x
        g, = lib.autograd.grad([a, b], [x], grad_outputs=[_f64(lib, [1.0, 0.5, 2.0]),
                                                          _f64(lib, [1.0, 1.0, -1.0])])
        results.append(to_numpy(g))
    np.testing.assert_allclose(results[0], results[1])


def test_autograd_grad_create_graph_third_order():
    x = _f64(dm, [0.3, -1.2], requires_grad=True)
    g1, = dm.autograd.grad(x.sin().sum(), x, create_graph=True)
    g2, = dm.autograd.grad(g1.sum(), x, create_graph=True)
    g3, = dm.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(to_numpy(g1), np.cos([0.3, -1.2]))
    np.testing.assert_allclose(to_numpy(g2), -np.sin([0.3, -1.2]))
    np.testing.assert_allclose(to_numpy(g3), -np.cos([0.3, -1.2]))
    assert g1.requires_grad and not g3.requires_grad


def test_autograd_grad_of_tensor_not_requiring_grad_raises():
    x = dm.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        dm.autograd.grad(dm.ones(2).sum(), [x])


def test_shared_subexpression_and_reuse(torch):
    """A tensor used on several paths receives the sum of their gradients."""
    grads = []
    for lib in (dm, torch):
        x = _f64(lib, [0.5, -1.0, 2.0], requires_grad=True)
        h = x.exp()
        out = (h * h + h.sin() * x + h[0] * h).sum()
        out.backward()
        grads.append(to_numpy(x.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_deep_graph_does_not_hit_recursion_limit():
    x = dm.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** 5000, rtol=1e-3)
