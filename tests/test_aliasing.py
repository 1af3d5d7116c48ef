"""Which results share memory with their input, as in PyTorch: a view must be
one (a write through it shows in the base and in the gradient), and a copy must
not be (a write to it leaves the input alone). Also: a saved output of a
multi-output op written in place is caught at backward."""

import numpy as np
import pytest

from helpers import dlmath_only, dm, to_numpy


def _base(lib):
    return lib.arange(12, dtype=lib.float64).reshape(3, 4) * 1


VIEWS = {
    "diagonal": lambda h: h.diagonal(),
    "diagonal offset": lambda h: h.diagonal(1),
    "narrow": lambda h: h.narrow(1, 1, 2),
    "select": lambda h: h[1],
    "select one element (0-d)": lambda h: h[1, 2],
    "unbind of a vector (0-d)": lambda h: h[0].unbind(0)[3],
    "transpose": lambda h: h.transpose(0, 1),
    "T": lambda h: h.T,
    "reshape": lambda h: h.reshape(12),
    "view": lambda h: h.view(2, 6),
    "flatten": lambda h: h.flatten(),
    "unsqueeze": lambda h: h.unsqueeze(0),
    "split": lambda h: h.split(2, dim=1)[1],
    "unbind": lambda h: h.unbind(0)[2],
    "contiguous of contiguous": lambda h: h.contiguous(),
}
COPIES = {
    "flip": lambda h: h.flip(0),
    "contiguous of a transpose": lambda h: h.T.contiguous(),
    "arithmetic on a transpose": lambda h: h.T * 1,
    "clone": lambda h: h.clone(),
    "tril": lambda h: h.tril(),
    "roll": lambda h: h.roll(1, 0),
    "repeat": lambda h: h.repeat(1, 1),
}


def _shares(lib, a, b):
    return np.shares_memory(to_numpy(a) if lib is dm else a.detach().numpy(),
                            to_numpy(b) if lib is dm else b.detach().numpy())


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_memory_like_torch(name, torch):
    for lib in (dm, torch):
        h = _base(lib)
        assert _shares(lib, VIEWS[name](h), h), lib.__name__


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copies_do_not_alias_their_input(name, torch):
    for lib in (dm, torch):
        h = _base(lib)
        assert not _shares(lib, COPIES[name](h), h), lib.__name__


def test_einsum_transpose_is_a_view_and_other_single_operand_einsums_are_copies(torch):
    for lib in (dm, torch):
        h = _base(lib)
        assert _shares(lib, lib.einsum("ij->ji", h), h)
        assert not _shares(lib, lib.einsum("ij->j", h), h)


@dlmath_only
def test_einsum_diagonal_is_a_copy():
    """torch gives a diagonal view; dlmath a copy, never an alias its version counter misses."""
    square = _base(dm)[:, :3] * 1
    assert not _shares(dm, dm.einsum("ii->i", square), square)


def test_write_through_a_diagonal_view_matches_torch(torch):
    results = []
    for lib in (dm, torch):
        x = lib.tensor([0.5, 1.5, -1.0], dtype=lib.float64, requires_grad=True)
        h = x.reshape(3, 1) * lib.ones(3, 3, dtype=lib.float64)
        h.diagonal().mul_(x)
        h.diagonal(1).zero_()
        loss = (h * h).sum()
        loss.backward()
        results.append((to_numpy(h), to_numpy(x.grad)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_diagonal_of_a_batch_and_its_gradient_match_torch(torch):
    results = []
    for lib in (dm, torch):
        x = lib.tensor(np.arange(24.0).reshape(2, 3, 4), dtype=lib.float64, requires_grad=True)
        parts = [x.diagonal(0, 1, 2), x.diagonal(1, 0, 2), x.diagonal(-2, 2, 1), x.diagonal(5)]
        sum((p * p).sum() for p in parts).backward()
        results.append([to_numpy(p) for p in parts] + [to_numpy(x.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs)


def test_tile_takes_dims_as_separate_ints(torch):
    for lib in (dm, torch):
        t = lib.tensor([[1, 2]])
        assert t.tile(2, 1).tolist() == [[1, 2], [1, 2]]
        assert t.tile((1, 3)).tolist() == [[1, 2, 1, 2, 1, 2]]


@pytest.mark.parametrize("write", ["eigenvectors", "eigenvalues"])
def test_writing_a_saved_output_of_eigh_raises_at_backward(write, torch):
    for lib in (dm, torch):
        x = lib.tensor([0.5, 1.5, -1.0], dtype=lib.float64, requires_grad=True)
        A = x.reshape(3, 1) * x.reshape(1, 3) + 3 * lib.eye(3, dtype=lib.float64)
        w, V = lib.linalg.eigh(A)
        loss = (w * 2).sum() + V.sum()
        (V if write == "eigenvectors" else w).mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_write_through_a_0d_element_view_matches_torch(torch):
    results = []
    for lib in (dm, torch):
        t = lib.tensor([1.0, 2.0], dtype=lib.float64)
        v = t[0]
        t.add_(10)
        t[1].mul_(3)
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        h = x * 1
        h[1].mul_(5)
        h.sum().backward()
        results.append([to_numpy(v), to_numpy(t), to_numpy(x.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)
