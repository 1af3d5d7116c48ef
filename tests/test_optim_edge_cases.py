"""Edge cases of dm.optim and dm.nn.utils against torch: bad arguments raise torch's builtin
exception type (checked with torch on both sides of each snippet), dlmath's message names the
function and the offending value, and what torch accepts (a checkpoint's extra keys, a 0-d
total norm, a vector longer than the parameters) is accepted with torch's result.

Each snippet is ``fn(lib)`` with ``lib`` dm or torch; the message tests are dlmath_only (with
DLMATH_TESTS_AGAINST_TORCH=1 the messages would be torch's)."""
import numpy as np
import pytest

from helpers import assert_raises_like_torch, dlmath_only, dm, to_numpy


def _param(lib, n=2):
    return lib.zeros(n, requires_grad=True)


def _with_grad(lib, values=(3.0, 4.0)):
    p = lib.zeros(len(values), requires_grad=True)
    p.grad = lib.tensor(list(values))
    return p


# Each entry: snippet raising in torch, and the words dlmath's message must contain.
RAISING = {
    # 1. Adam/AdamW need two betas: torch indexes betas[1] at construction (IndexError)
    "adam_one_beta": (lambda lib: lib.optim.Adam([_param(lib)], betas=(0.9,)),
                      ("Adam", "(0.9,)")),
    "adamw_one_beta": (lambda lib: lib.optim.AdamW([_param(lib)], betas=(0.9,)),
                       ("AdamW", "(0.9,)")),
    "adam_no_betas": (lambda lib: lib.optim.Adam([_param(lib)], betas=()),
                      ("Adam", "()")),
    "adam_one_beta_list": (lambda lib: lib.optim.Adam([_param(lib)], betas=[0.9]),
                           ("Adam", "[0.9]")),
    # torch checks betas[0]'s range before it reaches the missing betas[1]: ValueError
    "adam_one_bad_beta": (lambda lib: lib.optim.Adam([_param(lib)], betas=(2.0,)),
                          ("Adam", "index 0", "2.0")),
    # 2. vector_to_parameters: an integer vector for a parameter that requires grad
    "v2p_int_vec": (lambda lib: lib.nn.utils.vector_to_parameters(lib.arange(2), [_param(lib)]),
                    ("vector_to_parameters", "int64")),
    "v2p_int32_second": (lambda lib: lib.nn.utils.vector_to_parameters(
        lib.arange(2, dtype=lib.int32), [lib.zeros(1), lib.zeros(1, requires_grad=True)]),
        ("vector_to_parameters", "int32", "parameters[1]")),
    # ... and a vector too short for the parameters (torch: RuntimeError from its reshape)
    "v2p_short_vec": (lambda lib: lib.nn.utils.vector_to_parameters(lib.arange(1.0), [_param(lib)]),
                      ("vector_to_parameters", "1", "2")),
    "v2p_short_vec_two_params": (lambda lib: lib.nn.utils.vector_to_parameters(
        lib.arange(3.0), [_param(lib), _param(lib)]), ("vector_to_parameters", "3", "4")),
    # 3. get_total_norm with a None among the tensors (a p.grad passed unfiltered)
    "total_norm_none": (lambda lib: lib.nn.utils.get_total_norm([lib.ones(2), None]),
                        ("get_total_norm", "tensors[1]", "None")),
    "total_norm_none_middle": (lambda lib: lib.nn.utils.get_total_norm(
        [lib.ones(2), None, lib.ones(2)]), ("get_total_norm", "tensors[1]", "None")),
    "total_norm_float": (lambda lib: lib.nn.utils.get_total_norm([lib.ones(2), 3.0]),
                         ("get_total_norm", "tensors[1]", "float")),
    # 4. clip_grads_with_norm_: total_norm must be a tensor, a 0-d one
    "clip_float_total": (lambda lib: lib.nn.utils.clip_grads_with_norm_([_with_grad(lib)], 1.0, 5.0),
                         ("clip_grads_with_norm_", "total_norm", "Tensor", "float")),
    "clip_int_total": (lambda lib: lib.nn.utils.clip_grads_with_norm_([_with_grad(lib)], 1.0, 5),
                       ("clip_grads_with_norm_", "total_norm", "Tensor", "int")),
    "clip_numpy_total": (lambda lib: lib.nn.utils.clip_grads_with_norm_(
        [_with_grad(lib)], 1.0, np.float64(5.0)), ("clip_grads_with_norm_", "total_norm", "Tensor")),
    "clip_1d_total": (lambda lib: lib.nn.utils.clip_grads_with_norm_(
        [_with_grad(lib)], 1.0, lib.tensor([5.0])), ("clip_grads_with_norm_", "0-d", "(1,)")),
    "clip_2d_total": (lambda lib: lib.nn.utils.clip_grads_with_norm_(
        [_with_grad(lib)], 1.0, lib.tensor([5.0, 1.0])), ("clip_grads_with_norm_", "0-d", "(2,)")),
}


@pytest.mark.parametrize("name", sorted(RAISING))
def test_raises_like_torch(name, torch):
    assert_raises_like_torch(RAISING[name][0], torch=torch)


@dlmath_only
@pytest.mark.parametrize("name", sorted(RAISING))
def test_message_names_function(name):
    fn, words = RAISING[name]
    with pytest.raises(Exception) as info:
        fn(dm)
    for word in words:
        assert word in str(info.value), f"{name}: {word!r} not in {str(info.value)!r}"


# ------------------------------------------------------------------------- Adam --

def test_adam_three_betas_constructs_like_torch(torch):
    """torch checks betas[0] and betas[1] only: extra items construct (the step then fails)."""
    for lib in (dm, torch):
        opt = lib.optim.Adam([_param(lib)], betas=(0.9, 0.99, 5.0))
        assert tuple(opt.param_groups[0]["betas"]) == (0.9, 0.99, 5.0)


def test_adam_bad_beta_raises_before_step(torch):
    """The construction raises, so the step's unpacking is never reached with one beta."""
    for lib in (dm, torch):
        with pytest.raises(IndexError):
            lib.optim.AdamW([_param(lib)], lr=0.1, betas=(0.5,), weight_decay=0.0)


# ---------------------------------------------------------- vector_to_parameters --

@dlmath_only
def test_vector_to_parameters_failure_leaves_parameters():
    """dlmath checks before it assigns (torch assigns the first parameter, then fails)."""
    ps = [dm.ones(2, requires_grad=True), dm.ones(2, requires_grad=True)]
    with pytest.raises(RuntimeError):
        dm.nn.utils.vector_to_parameters(dm.arange(3.0), ps)
    assert [to_numpy(p).tolist() for p in ps] == [[1.0, 1.0], [1.0, 1.0]]


def test_vector_to_parameters_accepted_like_torch(torch):
    """What torch accepts: an integer vector for parameters without grad (they become int64),
    a vector longer than the parameters (the rest is ignored), a generator of parameters."""
    for lib in (dm, torch):
        p = lib.zeros(2)
        lib.nn.utils.vector_to_parameters(lib.arange(2), [p])
        assert str(p.dtype).endswith("int64") and p.tolist() == [0, 1]
        q = lib.zeros(2, requires_grad=True)
        lib.nn.utils.vector_to_parameters(lib.arange(5.0), (x for x in [q]))
        assert q.tolist() == [0.0, 1.0] and q.requires_grad


# ------------------------------------------------------------------ clip_grad --

def test_clip_grads_with_norm_0d_tensor_like_torch(torch):
    results = []
    for lib in (dm, torch):
        p = _with_grad(lib)
        lib.nn.utils.clip_grads_with_norm_([p], 1.0, lib.tensor(5.0))
        results.append(to_numpy(p.grad))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_clip_grads_with_norm_no_grads_checks_nothing(torch):
    """No gradient to clip: torch returns before looking at total_norm, so a float passes."""
    for lib in (dm, torch):
        assert lib.nn.utils.clip_grads_with_norm_([_param(lib)], 1.0, 5.0) is None
        assert lib.nn.utils.clip_grads_with_norm_([], 1.0, 5.0) is None


def test_clip_grad_norm_none_parameter_like_torch(torch):
    """clip_grad_norm_ never hands get_total_norm a None (it filters p.grad); a None among the
    parameters fails on ``.grad`` in both libraries."""
    assert_raises_like_torch(lambda lib: lib.nn.utils.clip_grad_norm_([_with_grad(lib), None], 1.0),
                             torch=torch)


def test_clip_grad_norm_skips_missing_grads_like_torch(torch):
    norms = []
    for lib in (dm, torch):
        norms.append(float(lib.nn.utils.clip_grad_norm_([_with_grad(lib), _param(lib)], 1.0)))
    assert norms[0] == pytest.approx(norms[1]) == pytest.approx(5.0)


@dlmath_only
def test_total_norm_leading_none_is_runtime_error():
    """torch raises AttributeError when the None comes first (an accident of its grouping by
    device); dlmath gives the same RuntimeError wherever it is."""
    with pytest.raises(RuntimeError, match=r"get_total_norm: tensors\[0\] is None"):
        dm.nn.utils.get_total_norm([None, dm.ones(2)])


# ------------------------------------------------------------ load_state_dict --

def _trained_sgd(lib):
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = lib.tensor([1.0, -1.0])
    opt.step()
    return p, opt


def test_load_state_dict_ignores_extra_top_level_keys(torch):
    for lib in (dm, torch):
        p, opt = _trained_sgd(lib)
        sd = opt.state_dict()
        sd["epoch"] = 3
        sd["scheduler"] = {"last_epoch": 3}
        opt.load_state_dict(sd)
        assert set(opt.state_dict()) == {"state", "param_groups"}
        assert opt.state[p]["momentum_buffer"].tolist() == [1.0, -1.0]


def test_load_state_dict_keeps_state_of_unknown_index(torch):
    """torch keeps the entry under its index, uncopied; a save gives it back, steps ignore it."""
    results = []
    for lib in (dm, torch):
        p, opt = _trained_sgd(lib)
        sd = opt.state_dict()
        extra = {"momentum_buffer": lib.ones(3)}
        sd["state"][9] = extra
        opt.load_state_dict(sd)
        assert opt.state[9] is extra
        assert sorted(opt.state_dict()["state"]) == [0, 9]
        p.grad = lib.tensor([1.0, 1.0])
        opt.step()
        results.append(p.tolist())
        assert opt.state_dict()["state"][9]["momentum_buffer"].tolist() == [1.0, 1.0, 1.0]
    assert results[0] == pytest.approx(results[1])


def test_load_state_dict_unknown_index_non_dict_value(torch):
    """A kept value need not be a dict (Adam's step-count conversion skips it)."""
    for lib in (dm, torch):
        p = lib.zeros(2, requires_grad=True)
        opt = lib.optim.Adam([p])
        sd = opt.state_dict()
        sd["state"][5] = 7
        opt.load_state_dict(sd)
        assert opt.state[5] == 7
