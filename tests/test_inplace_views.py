"""In-place writes through views of tensors in a graph (torch's CopySlices): the
base's history takes the write, the view's is regenerated from the base, and the
cases torch refuses raise the same error type."""

import numpy as np
import pytest

from helpers import assert_raises_like_torch, dm, to_numpy


def _f64(lib, values, requires_grad=False):
    return lib.tensor(np.asarray(values, dtype=np.float64), dtype=lib.float64,
                      requires_grad=requires_grad)


def _same_as_torch(run, torch):
    """``run(lib, x)`` returns tensors; they must hold the same numbers with dlmath and torch."""
    results = []
    for lib in (dm, torch):
        x = _f64(lib, [0.5, 1.5, -1.0], requires_grad=True)
        results.append([to_numpy(t) for t in run(lib, x)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def _loss_and_grad(make_loss):
    def run(lib, x):
        loss = make_loss(lib, x)
        loss.backward()
        return [loss, x.grad]
    return run


def _outputs_and_grad(make_outputs):
    def run(lib, x):
        outs = make_outputs(lib, x)
        sum(o.sum() for o in outs).backward()
        return outs + [x.grad]
    return run


def _mul_on_slice(lib, x):
    h = x * 1
    h[0:2].mul_(3)
    return (h * h).sum()


def _add_on_row(lib, x):
    h = x.reshape(3, 1) * lib.ones(3, 2, dtype=lib.float64)
    h[1].add_(x[0:2] * 2)
    return (h ** 2).sum()


def _clamp_on_transpose(lib, x):
    h = x.reshape(3, 1) * _f64(lib, [[1.0, -2.0]])
    h.T.clamp_(-1.0, 1.0)
    return (h * x.reshape(3, 1)).sum()


def _write_then_use_the_view(lib, x):
    h = x * 2
    v = h[1:]
    v.mul_(x[1:])
    return v.sum() + (h * 3).sum()


def _buffer_filled_through_views(lib, x):
    buf = lib.zeros(3, 2, dtype=lib.float64)
    buf[:, 0].copy_(x)
    buf[:, 1].copy_(x.exp())
    return (buf.sum(1) ** 2).sum()


def _setitem_on_view(lib, x):
    h = x * 1
    v = h[0:2]
    v[1] = x[2] * 4
    return (h * h).sum()


def _fill_on_view(lib, x):
    h = x.exp() * 1
    h[1:].fill_(2.0)
    return (h * x).sum()


def _zero_on_view_of_view(lib, x):
    h = (x * 1).reshape(3, 1).repeat(1, 2)
    h[:, 1][0:2].zero_()
    return (h * h).sum()


def _consumer_before_the_write(lib, x):
    h = x.reshape(3, 1) * lib.ones(3, 2, dtype=lib.float64)
    y = h * 5
    h[:, 0].sub_(x)
    return y.sum() + (h * h).sum()


def _augmented_assignment_on_view(lib, x):
    h = x * 1
    v = h[::2]
    v += x[0:2] ** 2
    return (h * x).sum()


WRITES = {f.__name__[1:]: f for f in (
    _mul_on_slice, _add_on_row, _clamp_on_transpose, _write_then_use_the_view,
    _buffer_filled_through_views, _setitem_on_view, _fill_on_view, _zero_on_view_of_view,
    _consumer_before_the_write, _augmented_assignment_on_view)}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_write_through_a_view_gives_torchs_value_and_gradient(name, torch):
    _same_as_torch(_loss_and_grad(WRITES[name]), torch)


def test_the_base_and_the_view_see_the_write_and_have_a_history():
    x = _f64(dm, [0.5, 1.5, -1.0], requires_grad=True)
    h = x * 1
    v = h[0:2]
    v.mul_(3)
    np.testing.assert_allclose(to_numpy(h), [1.5, 4.5, -1.0])
    np.testing.assert_allclose(to_numpy(v), [1.5, 4.5])
    assert h.grad_fn is not None and v.grad_fn is not None
    assert v._base is h


def test_write_through_a_view_of_a_leaf_that_requires_grad_raises(torch):
    def run(lib):
        x = _f64(lib, [1.0, 2.0], requires_grad=True)
        x[0:1].mul_(2)
    err = assert_raises_like_torch(run, torch=torch)
    assert "view of a leaf" in str(err)


def test_write_through_an_expanded_view_raises(torch):
    def run(lib):
        x = _f64(lib, [1.0, 2.0], requires_grad=True)
        h = (x * 1).reshape(2, 1).expand(2, 3)
        h.add_(1.0)
    assert_raises_like_torch(run, torch=torch)


def test_write_through_a_view_made_in_no_grad_mode_raises(torch):
    def run(lib):
        x = _f64(lib, [1.0, 2.0], requires_grad=True)
        h = x * 2
        with lib.no_grad():
            v = h[0:1]
        v.mul_(2)
    assert_raises_like_torch(run, torch=torch)


def test_no_grad_write_through_a_view_of_a_parameter_is_allowed(torch):
    for lib in (dm, torch):
        w = _f64(lib, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        with lib.no_grad():
            w[0].mul_(10)
            w[:, 1] -= 1
        np.testing.assert_allclose(to_numpy(w), [[10.0, 19.0], [3.0, 3.0]])
        assert w.is_leaf and w.requires_grad


def _retain_then_write(lib, x):
    h = x * 2
    h.retain_grad()
    h.mul_(3)
    (h * h).sum().backward()
    return [h.grad, x.grad]


def _masked_augmented_assignment(lib, x):
    h = x * 1
    h[h > 0] *= 2
    (h * h).sum().backward()
    return [h, x.grad]


def _repeated_index_augmented_assignment(lib, x):
    h = x * 1
    h[lib.tensor([0, 0])] += 1
    (h * h).sum().backward()
    return [h, x.grad]


def _second_order_through_a_view_write(lib, x):
    h = x * x
    h[0:2].mul_(x[1:])
    g, = lib.autograd.grad(h.sum(), [x], create_graph=True)
    g.sum().backward()
    return [g, x.grad]


def _write_through_unsqueeze(lib, x):
    h = x * 1
    h.unsqueeze(0)[0, 1] = 10.0
    (h * h).sum().backward()
    return [h, x.grad]


RESULTS = {f.__name__[1:]: f for f in (
    _retain_then_write, _masked_augmented_assignment, _repeated_index_augmented_assignment,
    _second_order_through_a_view_write, _write_through_unsqueeze)}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_more_writes_match_torch(name, torch):
    _same_as_torch(RESULTS[name], torch)


def _through_views_of_a_0d_base(lib, x):
    t = x @ x
    t[None].mul_(2)
    u = t * 1
    w = t.reshape(1, 1)
    t.add_(1)
    return [t, u, w * 3]


def _through_a_reshape_that_copies(lib, x):
    t = x.reshape(3, 1) * lib.ones(1, 2, dtype=lib.float64)
    r = t.T.reshape(6).add_(10)   # torch and NumPy copy here: t is untouched
    return [r, t * 1]


def _view_of_an_advanced_index_result(lib, x):
    t = (x.reshape(3, 1) * lib.ones(1, 3, dtype=lib.float64))[:, [2, 1, 0]]
    t.view(9)[0] = 100.0
    return [t * 1]


@pytest.mark.parametrize("make", [_through_views_of_a_0d_base, _through_a_reshape_that_copies,
                                  _view_of_an_advanced_index_result])
def test_views_and_copies_that_numpy_and_torch_lay_out_alike(make, torch):
    _same_as_torch(_outputs_and_grad(make), torch)


def test_view_of_a_transpose_raises_as_torch(torch):
    def run(lib):
        lib.ones(2, 3).T.view(6)
    err = assert_raises_like_torch(run, torch=torch)
    assert "reshape" in str(err)


def test_view_made_before_its_base_joined_the_graph_follows_it(torch):
    """buf += w after v = buf.unsqueeze(1): v sees the write, and its gradient reaches w."""
    results = []
    for lib in (dm, torch):
        buf = lib.tensor([1.0, 2.0], dtype=lib.float64)
        w = lib.tensor([0.5, 0.5], dtype=lib.float64, requires_grad=True)
        v = buf.unsqueeze(1)
        buf += w
        y = v * v
        assert y.requires_grad
        y.sum().backward()
        results.append([to_numpy(y), to_numpy(w.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs)


def test_write_through_a_view_made_before_its_base_joined_the_graph(torch):
    """c[1:2] = w gives c a history; a view of c made before then takes part in it when written."""
    def run(lib, x):
        c = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
        v = c[2:3].unsqueeze(0)
        c[1:2] = x[0:1] * 2
        v[0] = x[1:2] * lib.tensor([1.08], dtype=lib.float64)
        (c * c).sum().backward()
        return [c, x.grad]
    _same_as_torch(run, torch)
