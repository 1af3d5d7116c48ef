"""Error inputs: the exception type is PyTorch's; the message is dlmath's own
and better: it names the op and, for shape errors, the shapes involved, so
it is never a bare NumPy message (NumPy knows neither the op nor, for an
index error, the tensor: its 'index 5 is out of bounds for axis 0' is not
enough)."""

import re

import numpy as np
import pytest

from helpers import assert_raises_like_torch, dlmath_only, dm


def _ones(lib, *shape):
    return lib.ones(*shape)


ERRORS = {  # name -> (fn(lib), word(s) the message must contain, shapes it must mention)
    "matmul_2d": (lambda lib: _ones(lib, 2, 3) @ _ones(lib, 4, 5), "matmul", [(2, 3), (4, 5)]),
    "matmul_fn": (lambda lib: lib.matmul(_ones(lib, 2, 3), _ones(lib, 4, 5)), "matmul",
                  [(2, 3), (4, 5)]),
    "matmul_vec": (lambda lib: _ones(lib, 3) @ _ones(lib, 4), "matmul", [(3,), (4,)]),
    "matmul_batch": (lambda lib: _ones(lib, 2, 2, 3) @ _ones(lib, 3, 3, 5), "matmul",
                     [(2, 2, 3), (3, 3, 5)]),
    "matmul_0d": (lambda lib: lib.tensor(1.0) @ _ones(lib, 3), "matmul", []),
    "dot_2d": (lambda lib: lib.dot(_ones(lib, 2, 2), _ones(lib, 2, 2)), "dot", []),
    "dot_length": (lambda lib: lib.dot(_ones(lib, 3), _ones(lib, 4)), "dot", []),
    "inner_last_dim": (lambda lib: lib.inner(_ones(lib, 2, 3), _ones(lib, 2)), "inner",
                       [(2, 3), (2,)]),
    "add_broadcast": (lambda lib: _ones(lib, 2, 3) + _ones(lib, 2, 4), "add", [(2, 3), (2, 4)]),
    "mul_broadcast": (lambda lib: _ones(lib, 2, 3) * _ones(lib, 3, 2), "mul", [(2, 3), (3, 2)]),
    "where_broadcast": (lambda lib: lib.where(lib.ones(2, dtype=lib.bool), _ones(lib, 3),
                                              _ones(lib, 3)), "where", []),
    "reshape": (lambda lib: _ones(lib, 2, 3).reshape(4, 2), "reshape", []),
    "reshape_two_inferred": (lambda lib: _ones(lib, 2, 3).reshape(-1, -1), "reshape", []),
    "view": (lambda lib: _ones(lib, 2, 3).view(5), "view", []),
    "cat_sizes": (lambda lib: lib.cat([_ones(lib, 2, 3), _ones(lib, 2, 4)]), "cat", []),
    "cat_ndim": (lambda lib: lib.cat([_ones(lib, 2, 3), _ones(lib, 3)]), "cat", []),
    "cat_empty": (lambda lib: lib.cat([]), "cat", []),
    "stack": (lambda lib: lib.stack([_ones(lib, 2, 3), _ones(lib, 3, 2)]), "stack", []),
    "expand": (lambda lib: _ones(lib, 2, 3).expand(3, 3), "expand", []),
    "repeat_too_few": (lambda lib: _ones(lib, 2, 3).repeat(2), "repeat", []),
    "tril_1d": (lambda lib: _ones(lib, 3).tril(), "tril", []),
    "einsum_sizes": (lambda lib: lib.einsum("ij,jk->ik", _ones(lib, 2, 3), _ones(lib, 4, 5)),
                     "einsum", []),
    "masked_fill_shape": (lambda lib: _ones(lib, 2, 3).masked_fill(
        lib.ones(3, 2, dtype=lib.bool), 0.0), "masked_fill", []),
    "gather_out_of_range": (lambda lib: _ones(lib, 2, 3).gather(
        1, lib.tensor([[0, 5], [0, 0]])), "gather", []),
    "gather_float_index": (lambda lib: _ones(lib, 2, 3).gather(
        1, lib.tensor([[0.0, 1.0], [0.0, 0.0]])), "gather", []),
    "scatter_add_out_of_range": (lambda lib: lib.zeros(3).scatter_add(
        0, lib.tensor([5]), _ones(lib, 1)), "scatter_add", []),
    "chunk_zero": (lambda lib: _ones(lib, 3).chunk(0), "chunk", []),
    "max_of_empty": (lambda lib: lib.ones(0).max(), "max", []),
    "max_dim_of_size_zero": (lambda lib: lib.ones(0, 3).max(0), "max", []),
    "argmax_of_empty": (lambda lib: lib.ones(0, 3).argmax(), "argmax", []),
    "amin_dim_of_size_zero": (lambda lib: lib.ones(2, 0).amin(-1), "amin", []),
    "zeros_negative": (lambda lib: lib.zeros(-1), ("zeros", "negative"), []),
    "index_out_of_range": (lambda lib: _ones(lib, 3)[5], "index", [(3,)]),
    "index_negative_out_of_range": (lambda lib: _ones(lib, 3)[-4], "index", [(3,)]),
    "index_array_out_of_range": (lambda lib: _ones(lib, 3)[[0, 5]], "index", [(3,)]),
    "index_tensor_out_of_range": (lambda lib: _ones(lib, 3)[lib.tensor([0, 5])], "index",
                                  [(3,)]),
    "too_many_indices": (lambda lib: _ones(lib, 3)[0, 0], "ind", []),
    "mask_shape": (lambda lib: _ones(lib, 3)[lib.tensor([True, False])], ("mask", "boolean"),
                   [(3,)]),
    "sum_dim": (lambda lib: _ones(lib, 2, 3).sum(dim=2), "dim", []),
    "transpose_dim": (lambda lib: _ones(lib, 2, 3).transpose(0, 2), "dim", []),
    "squeeze_dim": (lambda lib: _ones(lib, 2, 3).squeeze(3), "dim", []),
    "unsqueeze_dim": (lambda lib: _ones(lib, 2, 3).unsqueeze(4), "dim", []),
    "softmax_dim": (lambda lib: _ones(lib, 2, 3).softmax(dim=2), "dim", []),
    "max_dim": (lambda lib: _ones(lib, 2, 3).max(dim=5), "dim", []),
    "argmax_dim": (lambda lib: _ones(lib, 2, 3).argmax(dim=5), "dim", []),
    "var_dim": (lambda lib: _ones(lib, 2, 3).var(dim=5), "dim", []),
    "permute_length": (lambda lib: _ones(lib, 2, 3).permute(0), "permute", []),
    "setitem_shape": (lambda lib: _setitem(_ones(lib, 3), _ones(lib, 2)), "assign",
                      [(2,), (3,)]),
    "backward_non_scalar": (lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(),
                            "scalar", []),
    "backward_gradient_shape": (lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(
        lib.ones(3)), "shape", []),
    "backward_without_grad": (lambda lib: lib.ones(2).sum().backward(), "grad", []),
}

def _setitem(t, value):
    t[:] = value


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_type_like_torch(name, torch):
    assert_raises_like_torch(ERRORS[name][0], torch=torch)


def mentions_shape(message, shape):
    inner = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
    candidates = [f"({inner})", f"[{', '.join(str(s) for s in shape)}]"]
    return any(c in message for c in candidates)


@dlmath_only
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_message_is_dlmaths_own(name):
    fn, word, shapes = ERRORS[name]
    with pytest.raises(Exception) as info:
        fn(dm)
    message = str(info.value)
    assert message.strip(), "empty error message"
    words = (word,) if isinstance(word, str) else word
    assert any(w.lower() in message.lower() for w in words), \
        f"message does not mention {' or '.join(map(repr, words))}: {message}"
    for shape in shapes:
        assert mentions_shape(message, shape), f"message does not show shape {shape}: {message}"


@dlmath_only
def test_matmul_message_names_op_and_both_shapes():
    with pytest.raises(RuntimeError) as info:
        dm.ones(2, 3) @ dm.ones(4, 5)
    message = str(info.value)
    assert "matmul" in message and "(2, 3)" in message and "(4, 5)" in message, message


@dlmath_only
def test_broadcast_message_names_both_shapes():
    with pytest.raises(RuntimeError) as info:
        dm.ones(2, 3) + dm.ones(2, 4)
    message = str(info.value)
    assert "(2, 3)" in message and "(2, 4)" in message, message


def test_out_of_range_index_is_index_error_not_numpy():
    with pytest.raises(IndexError) as info:
        dm.ones(3, 2)[3]
    assert re.search(r"\b3\b", str(info.value))


def test_errors_leave_no_partial_state():
    """A failed op must not corrupt its inputs or the graph."""
    x = dm.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x @ dm.ones(4, 5)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))
