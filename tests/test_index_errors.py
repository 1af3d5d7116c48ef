"""Indexing mistakes get torch's exception and torch's words, said once, with the shape.

NumPy's message speaks of axes and arrays; dlmath's says what torch says (dimension,
tensor) in one clause and adds the index as written and the tensor's shape.
"""
import pytest

from helpers import dm


def _cases(lib):
    t = lib.arange(6.).reshape(2, 3)
    return t, {
        "int": lambda: t[5],
        "pair": lambda: t[0, 7],
        "slice_then_int": lambda: t[:, 3],
        "negative": lambda: t[-3],
        "tensor": lambda: t[lib.tensor([0, 4])],
        "advanced_pair": lambda: t[[0, 1], [0, 5]],
        "assign_int": lambda: t.__setitem__(7, 1.0),
        "assign_pair": lambda: t.__setitem__((0, 9), 1.0),
        "too_many": lambda: t[1, 2, 3],
        "mask": lambda: t[lib.tensor([True, False, True])],
        "broadcast": lambda: t[[0, 1], [0, 1, 2]],
        "assign_shape": lambda: t.__setitem__(0, lib.ones(4)),
        "select": lambda: t.select(0, 5),
    }


OUT_OF_BOUNDS = {"int", "pair", "slice_then_int", "negative", "tensor", "advanced_pair", "assign_int",
                 "assign_pair"}


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


@pytest.mark.parametrize("case", sorted(_cases(dm)[1]))
def test_index_error_as_torch_said_once(case, torch):
    ours = _error(_cases(dm)[1][case])
    theirs = _error(_cases(torch)[1][case])
    assert type(ours) is type(theirs), (ours, theirs)
    text = str(ours)
    if case in OUT_OF_BOUNDS:
        assert str(theirs) in text          # torch's sentence, word for word
        assert text.count("out of bounds") == 1
    if case != "select":                    # select names its size as torch does: [2, 3]
        assert "(2, 3)" in text
    assert "axis" not in text and "array" not in text


def test_the_index_is_shown_as_written():
    t = dm.zeros(2, 3)
    assert "t[:, 3]" in str(_error(lambda: t[:, 3]))
    assert "t[1:, ::2, 1]" in str(_error(lambda: t[1:, ::2, 1]))
    assert "t[..., 7]" in str(_error(lambda: t[..., 7]))
