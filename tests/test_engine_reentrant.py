"""The engine as networks need it: custom Functions checked like primitives, backward
passes that nest (reentrant) and run in several threads, per-thread anomaly mode.

Each case is the audit's repro, run in dlmath and in torch, which must agree.
"""
import threading

import numpy as np
import pytest

from helpers import dlmath_only, dm


def _function_classes(lib):
    class Double_(lib.autograd.Function):
        """In place: x *= 2, declared with mark_dirty."""
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class SavesInput(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x

    class SavesOutput(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x * 3
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            out, = ctx.saved_tensors
            return g * out

    return Double_, SavesInput, SavesOutput


def test_mark_dirty_makes_the_input_the_output(torch):
    results = []
    for lib in (dm, torch):
        Double_, *_ = _function_classes(lib)
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        z = Double_.apply(y)
        assert z is y and y.grad_fn is not None
        (z * y).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_array_equal(results[0], [8.0, 16.0, 24.0])
    np.testing.assert_array_equal(results[0], results[1])


def test_mark_dirty_on_a_leaf_that_requires_grad_raises(torch):
    for lib in (dm, torch):
        Double_, *_ = _function_classes(lib)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            Double_.apply(lib.tensor([1.0], requires_grad=True))


def test_mark_dirty_without_grad_returns_the_input(torch):
    for lib in (dm, torch):
        Double_, *_ = _function_classes(lib)
        y = lib.ones(2)
        assert Double_.apply(y) is y
        np.testing.assert_array_equal(y.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("which", ["input", "output"])
def test_saved_tensor_modified_in_place_raises_at_backward(torch, which):
    for lib in (dm, torch):
        _, SavesInput, SavesOutput = _function_classes(lib)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        if which == "input":
            y = x * 1
            z = SavesInput.apply(y)
            y.mul_(5)
        else:
            z = SavesOutput.apply(x)
            z.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_saved_tensor_unmodified_gives_the_gradient(torch):
    grads = []
    for lib in (dm, torch):
        _, SavesInput, SavesOutput = _function_classes(lib)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (SavesInput.apply(x * 1) + SavesOutput.apply(x)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


@pytest.mark.parametrize("n_inputs", [1, 2, 3])
def test_multi_output_function_returns_a_tuple(torch, n_inputs):
    grads = []
    for lib in (dm, torch):
        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, *xs):
                return xs[0] * 2, xs[0] * 3

            @staticmethod
            def backward(ctx, g1, g2):
                return (g1 * 2 + g2 * 3,) + (None,) * (n_inputs - 1)

        xs = [lib.tensor([1.0, 2.0], requires_grad=True) for _ in range(n_inputs)]
        o1, o2 = Split.apply(*xs)
        assert tuple(o1.shape) == (2,) and tuple(o2.shape) == (2,)
        (o1 * o2).sum().backward()
        grads.append(xs[0].grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_function_without_saved_tensors_can_go_backward_twice(torch):
    for lib in (dm, torch):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        x = lib.ones(2, requires_grad=True)
        y = Twice.apply(x).sum()
        y.backward()
        y.backward()
        np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])


# ------------------------------------------------------------ reentrant ----
def _reentrant_loss(lib, kind, retain):
    """A Function whose backward runs autograd.grad over a graph it shares with the outer pass."""
    x = lib.tensor([1.0, 2.0], requires_grad=True)

    class Inner(lib.autograd.Function):
        @staticmethod
        def forward(ctx, y):
            ctx.save_for_backward(y)
            return y * 1

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            with lib.enable_grad():
                lib.autograd.grad((y * y).sum(), x, retain_graph=retain)
            return g

    y = x + 0.5 if kind == "add" else x.exp()
    return x, (3 * y).sum() + Inner.apply(y).sum()


@pytest.mark.parametrize("kind", ["add", "exp"])
def test_reentrant_backward_sharing_nodes(torch, kind):
    grads = []
    for lib in (dm, torch):
        x, loss = _reentrant_loss(lib, kind, retain=True)
        loss.backward()
        grads.append(x.grad.numpy())
    expected = [4.0, 4.0] if kind == "add" else 4 * np.exp([1.0, 2.0])
    np.testing.assert_allclose(grads[0], expected, rtol=1e-6)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_reentrant_backward_that_frees_a_shared_node_raises_as_torch(torch):
    for lib in (dm, torch):
        x, loss = _reentrant_loss(lib, "exp", retain=False)
        with pytest.raises(RuntimeError, match="second time"):
            loss.backward()


def test_nested_grad_inside_backward_of_a_double_backward(torch):
    """A reentrant pass inside a create_graph pass: values and second derivatives agree."""
    results = []
    for lib in (dm, torch):
        x, loss = _reentrant_loss(lib, "exp", retain=True)
        g, = lib.autograd.grad(loss, x, create_graph=True)
        g.sum().backward()
        results.append((g.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)


# -------------------------------------------------------------- threads ----
def test_grad_from_threads_on_one_shared_graph():
    rng = np.random.default_rng(0)
    x = dm.tensor(rng.standard_normal((8, 5)), requires_grad=True)
    w = dm.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    h = (x @ w).tanh()
    loss = (h * h).sum() + h.exp().mean()
    expected, = dm.autograd.grad(loss, x, retain_graph=True)
    expected = expected.numpy().copy()
    errors, wrong = [], [0]

    def worker():
        for _ in range(300):
            try:
                g, = dm.autograd.grad(loss, x, retain_graph=True)
                if not np.allclose(g.numpy(), expected, rtol=1e-12, atol=1e-12):
                    wrong[0] += 1
            except Exception as e:  # noqa: BLE001 -- any error is a failure of the engine
                errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert wrong[0] == 0


@dlmath_only
def test_anomaly_mode_is_per_thread():
    """One thread's detect_anomaly must not make another thread's forward raise."""
    entered, done = threading.Event(), threading.Event()
    failures = []

    def anomalous():
        with dm.autograd.detect_anomaly():
            entered.set()
            done.wait(5)

    t = threading.Thread(target=anomalous)
    t.start()
    try:
        assert entered.wait(5)
        assert not dm.autograd.is_anomaly_enabled()
        try:
            dm.log(dm.tensor([0.0]))          # -inf: fine when this thread has no anomaly mode
        except RuntimeError as e:
            failures.append(e)
    finally:
        done.set()
        t.join()
    assert not failures


# ----------------------------------------------------------- small ones ----
def test_detach_in_place_on_a_view_raises(torch):
    for lib in (dm, torch):
        v = lib.ones(3, requires_grad=True) * 1
        with pytest.raises(RuntimeError, match="detach views in-place"):
            v[1:].detach_()


def test_retained_grad_accumulated_under_create_graph_keeps_its_graph(torch):
    grads = []
    for lib in (dm, torch):
        a = lib.ones(3, requires_grad=True)
        h = a * 2
        h.retain_grad()
        loss = (h * h).sum()
        loss.backward(create_graph=True)
        loss.backward(create_graph=True)
        assert h.grad.grad_fn is not None
        h.grad.sum().backward()
        grads.append((h.grad.detach().numpy(), a.grad.detach().numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])


def test_function_returning_a_one_tuple_returns_a_one_tuple(torch):
    grads = []
    for lib in (dm, torch):
        class One(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return (x * 2,)

            @staticmethod
            def backward(ctx, g):
                return g * 2
        x = lib.ones(2, requires_grad=True)
        out = One.apply(x)
        assert isinstance(out, tuple) and len(out) == 1
        out[0].sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
