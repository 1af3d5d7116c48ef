"""The layers of dm.nn against torch.nn holding the same weights.

Each case builds the module in both libraries, copies dlmath's state dict (with
its affine parameters randomised first, so ones and zeros cannot hide a bug)
into torch's, and compares outputs, input and parameter gradients and buffers,
in float32 and float64, in training and in evaluation mode. Then: default-init
statistics against torch's formulas, state-dict keys, reprs and bad input.
"""
import math
from collections import OrderedDict

import numpy as np
import pytest

from helpers import assert_raises_like_torch, dlmath_only, dm

TOL = {"float32": (2e-5, 2e-5), "float64": (1e-9, 1e-10)}


def _lib_dtype(lib, name):
    return getattr(lib, name)


def _randomise(module, rng):
    """Random values in every floating parameter and buffer (running_var kept positive)."""
    with dm.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if not t.is_floating_point():
                continue
            vals = rng.standard_normal(tuple(t.shape))
            if name.endswith("running_var") or name.endswith("pos_weight") or name.endswith("weight") \
                    and "Loss" in type(module).__name__:
                vals = np.abs(vals) + 0.5
            t.copy_(dm.tensor(vals, dtype=t.dtype))


def _copy_to_torch(torch, ours, theirs):
    sd = OrderedDict((k, torch.tensor(v.detach().numpy().copy())) for k, v in ours.state_dict().items())
    theirs.load_state_dict(sd)


class Label:
    """A floating input that is data, not a variable (a +-1 target): no gradient asked for."""

    def __init__(self, a):
        self.a = np.asarray(a, dtype=float)


def _inputs(lib, arrays, dtype):
    out = []
    for a in arrays:
        if isinstance(a, Label):
            out.append(lib.tensor(a.a, dtype=_lib_dtype(lib, dtype)))
        elif a.dtype.kind == "f":
            out.append(lib.tensor(a, dtype=_lib_dtype(lib, dtype), requires_grad=True))
        else:
            out.append(lib.tensor(a))
    return out


def check_module(torch, make, arrays, dtype="float64", train=True, steps=1, randomise=True, seed=0,
                 grad=True, grad_tol=None):
    """``make(lib)`` in both libraries with the same weights; ``steps`` forward/backward passes on
    ``arrays`` (NumPy, floats require grad), comparing everything after each."""
    rng = np.random.default_rng(seed)
    ours, theirs = make(dm), make(torch)
    ours.to(_lib_dtype(dm, dtype))
    theirs.to(_lib_dtype(torch, dtype))
    if randomise:
        _randomise(ours, rng)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_to_torch(torch, ours, theirs)
    ours.train(train)
    theirs.train(train)
    rtol, atol = TOL[dtype]
    grtol, gatol = grad_tol or (rtol * 10, atol * 10)
    for step in range(steps):
        xo, xt = _inputs(dm, arrays, dtype), _inputs(torch, arrays, dtype)
        yo, yt = ours(*xo), theirs(*xt)
        assert str(yo.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
        assert tuple(yo.shape) == tuple(yt.shape)
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"output, step {step}")
        for (n, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
            np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=rtol, atol=atol, err_msg=f"buffer {n}")
            assert str(b.dtype).split(".")[-1] == str(c.dtype).split(".")[-1], n
        if not grad or not yt.requires_grad:
            continue
        w = rng.standard_normal(tuple(yt.shape))
        (yo * dm.tensor(w, dtype=yo.dtype)).sum().backward()
        (yt * torch.tensor(w, dtype=yt.dtype)).sum().backward()
        for k, (a, b) in enumerate(zip(xo, xt)):
            if b.requires_grad:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=grtol, atol=gatol,
                                           err_msg=f"gradient of input {k}")
        for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            if q.grad is None:
                assert p.grad is None or not p.grad.numpy().any(), n
                continue
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=grtol, atol=gatol,
                                       err_msg=f"gradient of {n}")
    return ours, theirs


R = np.random.default_rng(42)


def normal(*shape):
    return R.standard_normal(shape)


LAYERS = {
    "Linear": (lambda lib: lib.nn.Linear(4, 3), [normal(5, 4)]),
    "Linear-nobias": (lambda lib: lib.nn.Linear(4, 3, bias=False), [normal(2, 5, 4)]),
    "Linear-1d": (lambda lib: lib.nn.Linear(4, 3), [normal(4)]),
    "Bilinear": (lambda lib: lib.nn.Bilinear(3, 4, 2), [normal(5, 3), normal(5, 4)]),
    "Bilinear-nobias-3d": (lambda lib: lib.nn.Bilinear(3, 4, 2, bias=False), [normal(2, 5, 3), normal(2, 5, 4)]),
    "Embedding": (lambda lib: lib.nn.Embedding(10, 3), [R.integers(0, 10, (4, 5))]),
    "Embedding-pad": (lambda lib: lib.nn.Embedding(10, 3, padding_idx=2), [np.array([[2, 1, 2], [0, 2, 9]])]),
    "Embedding-negpad": (lambda lib: lib.nn.Embedding(6, 3, padding_idx=-1), [np.array([5, 1, 5, 0])]),
    "ReLU": (lambda lib: lib.nn.ReLU(), [normal(3, 4)]),
    "LeakyReLU": (lambda lib: lib.nn.LeakyReLU(0.2), [normal(3, 4)]),
    "GELU": (lambda lib: lib.nn.GELU(), [normal(3, 4)]),
    "GELU-tanh": (lambda lib: lib.nn.GELU(approximate="tanh"), [normal(3, 4)]),
    "SiLU": (lambda lib: lib.nn.SiLU(), [normal(3, 4)]),
    "Tanh": (lambda lib: lib.nn.Tanh(), [normal(3, 4)]),
    "Sigmoid": (lambda lib: lib.nn.Sigmoid(), [normal(3, 4)]),
    "Softmax": (lambda lib: lib.nn.Softmax(dim=1), [normal(3, 4)]),
    "LogSoftmax": (lambda lib: lib.nn.LogSoftmax(dim=-1), [normal(2, 3, 4)]),
    "Softmin": (lambda lib: lib.nn.Softmin(dim=0), [normal(3, 4)]),
    "Softplus": (lambda lib: lib.nn.Softplus(beta=2.0, threshold=1.0), [normal(3, 4)]),
    "ELU": (lambda lib: lib.nn.ELU(alpha=0.5), [normal(3, 4)]),
    "LogSigmoid": (lambda lib: lib.nn.LogSigmoid(), [normal(3, 4)]),
    "SELU": (lambda lib: lib.nn.SELU(), [normal(3, 4)]),
    "Hardtanh": (lambda lib: lib.nn.Hardtanh(-0.5, 0.8), [normal(3, 4)]),
    "ReLU6": (lambda lib: lib.nn.ReLU6(), [normal(3, 4) * 5]),
    "Hardsigmoid": (lambda lib: lib.nn.Hardsigmoid(), [normal(3, 4) * 4]),
    "Hardswish": (lambda lib: lib.nn.Hardswish(), [normal(3, 4) * 4]),
    "Mish": (lambda lib: lib.nn.Mish(), [normal(3, 4) * 3]),
    "Softsign": (lambda lib: lib.nn.Softsign(), [normal(3, 4)]),
    "Tanhshrink": (lambda lib: lib.nn.Tanhshrink(), [normal(3, 4)]),
    "PReLU": (lambda lib: lib.nn.PReLU(), [normal(3, 4)]),
    "PReLU-channels": (lambda lib: lib.nn.PReLU(3, init=0.1), [normal(2, 3, 4)]),
    "CELU": (lambda lib: lib.nn.CELU(0.7), [normal(3, 4) * 3]),
    "Threshold": (lambda lib: lib.nn.Threshold(0.1, -2.0), [normal(3, 4)]),
    "Softshrink": (lambda lib: lib.nn.Softshrink(0.3), [normal(3, 4)]),
    "Hardshrink": (lambda lib: lib.nn.Hardshrink(0.3), [normal(3, 4)]),
    "GLU": (lambda lib: lib.nn.GLU(dim=0), [normal(4, 3)]),
    "LayerNorm": (lambda lib: lib.nn.LayerNorm(4), [normal(3, 4)]),
    "LayerNorm-2d-shape": (lambda lib: lib.nn.LayerNorm((3, 4), eps=1e-3), [normal(2, 3, 4)]),
    "LayerNorm-noaffine": (lambda lib: lib.nn.LayerNorm([4], elementwise_affine=False), [normal(2, 4)]),
    "LayerNorm-nobias": (lambda lib: lib.nn.LayerNorm(4, bias=False), [normal(2, 5, 4)]),
    "RMSNorm": (lambda lib: lib.nn.RMSNorm(4), [normal(3, 4)]),
    "RMSNorm-eps": (lambda lib: lib.nn.RMSNorm((3, 4), eps=1e-3), [normal(2, 3, 4)]),
    "RMSNorm-noaffine": (lambda lib: lib.nn.RMSNorm(4, elementwise_affine=False), [normal(2, 4)]),
    "Flatten": (lambda lib: lib.nn.Flatten(), [normal(2, 3, 4)]),
    "Unflatten": (lambda lib: lib.nn.Unflatten(-1, (2, 2)), [normal(3, 4)]),
    "Identity": (lambda lib: lib.nn.Identity(), [normal(3, 4)]),
    "Dropout-eval-or-p0": (lambda lib: lib.nn.Dropout(0.0), [normal(3, 4)]),
    "MLP": (lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.LayerNorm(8), lib.nn.GELU(),
                                          lib.nn.Linear(8, 2), lib.nn.LogSoftmax(-1)), [normal(5, 4)]),
}


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(torch, name, dtype, train):
    make, arrays = LAYERS[name]
    tol = None
    if name in ("Hardsigmoid", "CELU") and dtype == "float64":
        # torch's backward of these uses a float32 constant (1/6; CELU's 1/alpha) even in float64
        tol = (1e-6, 1e-8)
    check_module(torch, make, arrays, dtype=dtype, train=train, grad_tol=tol)


BATCHNORMS = {
    "2d-input": (lambda lib: lib.nn.BatchNorm1d(3), normal(6, 3)),
    "3d-input": (lambda lib: lib.nn.BatchNorm1d(3), normal(4, 3, 5)),
    "momentum-None": (lambda lib: lib.nn.BatchNorm1d(3, momentum=None), normal(5, 3)),
    "momentum-0.3-eps": (lambda lib: lib.nn.BatchNorm1d(3, momentum=0.3, eps=1e-3), normal(4, 3, 2)),
    "no-affine": (lambda lib: lib.nn.BatchNorm1d(3, affine=False), normal(6, 3)),
    "no-running-stats": (lambda lib: lib.nn.BatchNorm1d(3, track_running_stats=False), normal(6, 3)),
    "2d": (lambda lib: lib.nn.BatchNorm2d(3), normal(2, 3, 2, 2)),
}


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(BATCHNORMS))
def test_batchnorm_matches_torch_over_steps(torch, name, dtype, train):
    make, x = BATCHNORMS[name]
    # three steps: the running estimates (and num_batches_tracked) evolve as torch's
    ours, theirs = check_module(torch, make, [x], dtype=dtype, train=train, steps=3)
    if ours.track_running_stats:
        assert ours.num_batches_tracked.dtype == dm.int64
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == (3 if train else 0)


def test_batchnorm_running_estimates_formula():
    """running_var takes the unbiased batch variance; the output uses the biased one."""
    bn = dm.nn.BatchNorm1d(2, momentum=0.5, affine=False)
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]])
    y = bn(dm.tensor(x, dtype=dm.float32))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * x.var(0, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(y.detach().numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-5,
                               atol=1e-6)


def test_batchnorm_cumulative_average_with_momentum_none():
    bn = dm.nn.BatchNorm1d(1, momentum=None, affine=False)
    batches = [np.array([[1.0], [3.0]]), np.array([[5.0], [9.0]]), np.array([[0.0], [2.0]])]
    for b in batches:
        bn(dm.tensor(b, dtype=dm.float32))
    np.testing.assert_allclose(bn.running_mean.numpy(), [np.mean([b.mean() for b in batches])], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), [np.mean([b.var(ddof=1) for b in batches])], rtol=1e-6)


def test_batchnorm_state_dict_without_counter_loads_like_torch(torch):
    """A hand-made dict (no _metadata) without num_batches_tracked: no missing key, the counter
    keeps its value (torch's compatibility with the layout before the counter)."""
    for lib in (dm, torch):
        bn = lib.nn.BatchNorm1d(2)
        bn(lib.randn(4, 2))
        sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
        res = bn.load_state_dict(sd)
        assert res.missing_keys == [] and int(bn.num_batches_tracked) == 1
        # with the metadata of the current layout it is a missing key
        sd = bn.state_dict()
        del sd["num_batches_tracked"]
        with pytest.raises(RuntimeError, match="num_batches_tracked"):
            bn.load_state_dict(sd)


# --- losses ---------------------------------------------------------------------------------
def _probs(*shape):
    return 1 / (1 + np.exp(-normal(*shape)))


LOSSES = {
    "MSELoss": (lambda lib: lib.nn.MSELoss(), [normal(3, 4), normal(3, 4)]),
    "MSELoss-sum": (lambda lib: lib.nn.MSELoss(reduction="sum"), [normal(3, 4), normal(3, 4)]),
    "L1Loss-none": (lambda lib: lib.nn.L1Loss(reduction="none"), [normal(3, 4), normal(3, 4)]),
    "CrossEntropyLoss": (lambda lib: lib.nn.CrossEntropyLoss(), [normal(5, 4), R.integers(0, 4, 5)]),
    "CrossEntropyLoss-weight-smooth": (
        lambda lib: lib.nn.CrossEntropyLoss(weight=lib.tensor([1.0, 2.0, 0.5, 1.5]), label_smoothing=0.1,
                                            ignore_index=1),
        [normal(5, 4), np.array([0, 1, 2, 3, 1])]),
    "CrossEntropyLoss-probs": (lambda lib: lib.nn.CrossEntropyLoss(), [normal(5, 4), _probs(5, 4)]),
    "NLLLoss": (lambda lib: lib.nn.NLLLoss(weight=lib.tensor([1.0, 2.0, 3.0])),
                [normal(4, 3), R.integers(0, 3, 4)]),
    "NLLLoss-2d": (lambda lib: lib.nn.NLLLoss(reduction="sum"), [normal(2, 3, 5), R.integers(0, 3, (2, 5))]),
    "BCELoss": (lambda lib: lib.nn.BCELoss(weight=lib.tensor([1.0, 2.0, 3.0])), [_probs(4, 3), _probs(4, 3)]),
    "BCEWithLogitsLoss": (lambda lib: lib.nn.BCEWithLogitsLoss(pos_weight=lib.tensor([1.0, 2.0, 3.0]),
                                                               weight=lib.tensor([0.5, 1.0, 2.0])),
                          [normal(4, 3), _probs(4, 3)]),
    "BCEWithLogitsLoss-plain": (lambda lib: lib.nn.BCEWithLogitsLoss(reduction="none"),
                                [normal(4, 3), _probs(4, 3)]),
    "KLDivLoss": (lambda lib: lib.nn.KLDivLoss(reduction="batchmean"), [np.log(_probs(4, 3)), _probs(4, 3)]),
    "KLDivLoss-log-target": (lambda lib: lib.nn.KLDivLoss(reduction="sum", log_target=True),
                             [np.log(_probs(4, 3)), np.log(_probs(4, 3))]),
    "SmoothL1Loss": (lambda lib: lib.nn.SmoothL1Loss(beta=0.5), [normal(3, 4), normal(3, 4)]),
    "HuberLoss": (lambda lib: lib.nn.HuberLoss(delta=0.7), [normal(3, 4), normal(3, 4)]),
    "MarginRankingLoss": (lambda lib: lib.nn.MarginRankingLoss(margin=0.3),
                          [normal(6), normal(6), Label(np.sign(normal(6)))]),
    "CosineEmbeddingLoss": (lambda lib: lib.nn.CosineEmbeddingLoss(margin=0.2),
                            [normal(5, 3), normal(5, 3), Label([1.0, -1.0, 1.0, -1.0, -1.0])]),
    "PoissonNLLLoss": (lambda lib: lib.nn.PoissonNLLLoss(), [normal(3, 4), R.poisson(2.0, (3, 4)).astype(float)]),
    "PoissonNLLLoss-full": (lambda lib: lib.nn.PoissonNLLLoss(log_input=False, full=True),
                            [_probs(3, 4) * 3, Label(R.poisson(2.0, (3, 4)))]),
    "GaussianNLLLoss": (lambda lib: lib.nn.GaussianNLLLoss(full=True),
                        [normal(4, 2), normal(4, 2), np.abs(normal(4, 2)) + 0.1]),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_module_matches_torch(torch, name, dtype):
    make, arrays = LOSSES[name]
    # weights are buffers: they follow .to(dtype), and are not randomised (kept as given)
    check_module(torch, make, arrays, dtype=dtype, randomise=False)


def test_loss_state_dict_keys_like_torch(torch):
    def keys(lib):
        return [list(lib.nn.CrossEntropyLoss(weight=lib.ones(3)).state_dict()),
                list(lib.nn.CrossEntropyLoss().state_dict()),
                list(lib.nn.BCEWithLogitsLoss(pos_weight=lib.ones(3)).state_dict()),
                list(lib.nn.BCEWithLogitsLoss(weight=lib.ones(3), pos_weight=lib.ones(3)).state_dict()),
                list(lib.nn.MSELoss().state_dict()),
                repr(lib.nn.CrossEntropyLoss()), repr(lib.nn.BCEWithLogitsLoss(pos_weight=lib.ones(3)))]
    assert keys(dm) == keys(torch)


def test_legacy_reduction_arguments(torch):
    for lib in (dm, torch):
        with pytest.warns(UserWarning, match="reduction='sum'"):
            assert lib.nn.MSELoss(size_average=False).reduction == "sum"
        with pytest.warns(UserWarning):
            assert lib.nn.L1Loss(reduce=False).reduction == "none"


# --- dropout -------------------------------------------------------------------------------
def test_dropout_train_and_eval():
    d = dm.nn.Dropout(0.25)
    x = dm.ones(200, 200)
    dm.manual_seed(0)
    y = d(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    dm.manual_seed(0)
    np.testing.assert_array_equal(d(x).numpy(), y)           # reproducible from the seed
    d.eval()
    assert d(x) is x or np.array_equal(d(x).numpy(), x.numpy())
    with pytest.raises(ValueError):
        dm.nn.Dropout(1.5)


def test_inplace_activations_write_their_input(torch):
    for make in (lambda lib: lib.nn.ReLU6(inplace=True), lambda lib: lib.nn.Hardtanh(-0.5, 0.5, True),
                 lambda lib: lib.nn.CELU(inplace=True), lambda lib: lib.nn.Threshold(0.0, 5.0, True),
                 lambda lib: lib.nn.Mish(inplace=True), lambda lib: lib.nn.Hardswish(inplace=True)):
        results = []
        x0 = normal(3, 4) * 3
        for lib in (dm, torch):
            x = lib.tensor(x0)
            y = make(lib)(x)
            assert y is x or y.data_ptr() == x.data_ptr()
            results.append(x.numpy().copy())
        np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_prelu_default_init_and_errors(torch):
    assert dm.nn.PReLU(3).weight.tolist() == [0.25] * 3
    assert_raises_like_torch(lambda lib: lib.nn.PReLU(3)(lib.ones(2, 4)))
    assert_raises_like_torch(lambda lib: lib.nn.PReLU(3)(lib.ones(3)))        # a 1-D input has 1 channel


@pytest.mark.parametrize("cls,shape", [("Dropout1d", (40, 50, 7)), ("Dropout1d", (50, 7)),
                                       ("Dropout2d", (20, 50, 3, 4)), ("Dropout3d", (10, 50, 2, 3, 2)),
                                       ("Dropout3d", (50, 2, 3, 2))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    dm.manual_seed(0)
    d = getattr(dm.nn, cls)(0.3)
    x = dm.ones(*shape, requires_grad=True)
    y = d(x)
    a = y.detach().numpy()
    batched = len(shape) == {"Dropout1d": 3, "Dropout2d": 4, "Dropout3d": 5}[cls]
    per_channel = a.reshape((shape[0] * shape[1] if batched else shape[0], -1))
    assert all(len(np.unique(row)) == 1 for row in per_channel)          # a channel is kept or dropped whole
    kept = per_channel[:, 0] != 0
    assert abs(kept.mean() - 0.7) < 0.15
    np.testing.assert_allclose(per_channel[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a)                      # the gradient is the mask
    d.eval()
    assert np.array_equal(d(x).detach().numpy(), x.detach().numpy())


def test_channel_dropout_input_checks_like_torch(torch):
    assert_raises_like_torch(lambda lib: lib.nn.Dropout1d()(lib.ones(2, 3, 4, 5)))
    for lib in (dm, torch):
        with pytest.warns(UserWarning, match="3D input to dropout2d"):
            lib.nn.Dropout2d()(lib.ones(2, 3, 4))
        with pytest.warns(UserWarning, match="dropout3d"):
            lib.nn.Dropout3d()(lib.ones(2, 3, 4))
        assert repr(lib.nn.Dropout2d(0.3)) == "Dropout2d(p=0.3, inplace=False)"
        assert repr(lib.nn.AlphaDropout(0.2)) == "AlphaDropout(p=0.2, inplace=False)"
        with pytest.raises(ValueError):
            lib.nn.AlphaDropout(2)


def test_alpha_dropout_keeps_mean_and_variance():
    dm.manual_seed(0)
    d = dm.nn.AlphaDropout(0.2)
    x = dm.randn(500, 400, dtype=dm.float64)
    y = d(x).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    # dropped units all take one value: a * alpha' + c
    alpha_p = -1.0507009873554805 * 1.6732632423543772
    a = 1 / math.sqrt(0.8 * (1 + 0.2 * alpha_p ** 2))
    dropped = np.isclose(y, a * alpha_p - a * alpha_p * 0.2)
    assert abs(dropped.mean() - 0.2) < 0.01
    d.eval()
    assert d(x) is x


def test_dropout_gradient_is_the_mask():
    d = dm.nn.Dropout(0.5)
    x = dm.ones(50, 50, requires_grad=True)
    y = d(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


# --- embedding specifics -------------------------------------------------------------------
def test_embedding_padding_row_zero_and_no_gradient():
    e = dm.nn.Embedding(5, 3, padding_idx=-2)
    assert e.padding_idx == 3
    assert not e.weight[3].detach().numpy().any()
    e(dm.tensor([[3, 1, 3]])).sum().backward()
    assert not e.weight.grad[3].numpy().any() and e.weight.grad[1].numpy().all()


def test_embedding_from_pretrained(torch):
    table = np.arange(12.0).reshape(4, 3)
    for lib in (dm, torch):
        w = lib.tensor(table, dtype=lib.float32)
        e = lib.nn.Embedding.from_pretrained(w)
        assert not e.weight.requires_grad and e.weight.tolist() == table.tolist()
        assert e(lib.tensor([2, 0])).tolist() == table[[2, 0]].tolist()
        e2 = lib.nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
        assert e2.weight.requires_grad and e2.weight[1].tolist() == [3.0, 4.0, 5.0]   # not zeroed
        assert repr(e2) == "Embedding(4, 3, padding_idx=1)"
        with pytest.raises(AssertionError):
            lib.nn.Embedding.from_pretrained(lib.ones(3))
        with pytest.raises(AssertionError):
            lib.nn.Embedding(4, 3, padding_idx=4)
        with pytest.raises(AssertionError):
            lib.nn.Embedding(4, 3, padding_idx=-5)


def test_embedding_max_norm_like_torch(torch):
    check_module(torch, lambda lib: lib.nn.Embedding(6, 3, max_norm=1.0), [np.array([[0, 1], [1, 5]])])


# --- default init --------------------------------------------------------------------------
def test_linear_default_init_statistics():
    dm.manual_seed(0)
    m = dm.nn.Linear(400, 300)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    bound = 1 / math.sqrt(400)        # kaiming_uniform(a=sqrt(5)): gain sqrt(1/3) * sqrt(3 / fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.95 * bound
    assert m.weight.dtype == dm.float32 and m.weight.requires_grad


def test_bilinear_default_init_statistics():
    dm.manual_seed(0)
    m = dm.nn.Bilinear(50, 20, 100)
    bound = 1 / math.sqrt(50)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(b).max() <= bound


def test_embedding_and_norm_default_init():
    dm.manual_seed(0)
    w = dm.nn.Embedding(500, 200).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    ln = dm.nn.LayerNorm((2, 3))
    assert ln.weight.tolist() == [[1.0] * 3] * 2 and ln.bias.tolist() == [[0.0] * 3] * 2
    bn = dm.nn.BatchNorm1d(3)
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    assert bn.weight.tolist() == [1.0] * 3 and bn.bias.tolist() == [0.0] * 3
    assert dm.nn.RMSNorm(3).weight.tolist() == [1.0] * 3


def test_dtype_argument():
    for m in (dm.nn.Linear(2, 3, dtype=dm.float64), dm.nn.Bilinear(2, 2, 3, dtype=dm.float64),
              dm.nn.LayerNorm(3, dtype=dm.float64), dm.nn.Embedding(3, 2, dtype=dm.float64),
              dm.nn.BatchNorm1d(3, dtype=dm.float64), dm.nn.RMSNorm(3, dtype=dm.float64)):
        assert all(p.dtype == dm.float64 for p in m.parameters())


# --- state dict keys and repr ----------------------------------------------------------------
def _zoo(lib):
    nn = lib.nn
    return [nn.Linear(3, 2), nn.Linear(3, 2, bias=False), nn.Bilinear(2, 3, 4), nn.Embedding(5, 2, padding_idx=0),
            nn.Embedding(5, 2, max_norm=1.0, scale_grad_by_freq=True), nn.LayerNorm((2, 3), eps=1e-6),
            nn.LayerNorm(3, elementwise_affine=False), nn.LayerNorm(3, bias=False), nn.RMSNorm(3), nn.RMSNorm([2, 3], eps=0.1),
            nn.BatchNorm1d(3), nn.BatchNorm1d(3, momentum=None, affine=False), nn.BatchNorm1d(3, track_running_stats=False),
            nn.BatchNorm2d(4), nn.BatchNorm1d(2, bias=False), nn.Dropout(), nn.Dropout(0.1, inplace=True), nn.ReLU(), nn.ReLU(inplace=True),
            nn.LeakyReLU(), nn.LeakyReLU(0.2, True), nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Tanh(),
            nn.Sigmoid(), nn.Softmax(dim=1), nn.Softmax(), nn.LogSoftmax(1), nn.Softplus(), nn.Softplus(2, 10),
            nn.ELU(), nn.ELU(0.5, True), nn.Softmin(0), nn.LogSigmoid(), nn.SELU(), nn.SELU(True), nn.GLU(), nn.GLU(0),
            nn.Hardtanh(), nn.Hardtanh(-2, 3, True), nn.ReLU6(), nn.ReLU6(True), nn.Hardsigmoid(), nn.Hardswish(),
            nn.Mish(), nn.Mish(True), nn.Softsign(), nn.Tanhshrink(), nn.PReLU(), nn.PReLU(3, 0.1), nn.CELU(),
            nn.CELU(0.5, True), nn.Threshold(0.1, 20), nn.Threshold(0.1, 20, True), nn.Softshrink(),
            nn.Hardshrink(0.3), nn.Identity(), nn.Flatten(0),
            nn.CrossEntropyLoss(), nn.MSELoss(), nn.KLDivLoss()]


def test_reprs_and_state_dict_keys_like_torch(torch):
    for ours, theirs in zip(_zoo(dm), _zoo(torch)):
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict()), repr(ours)
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
        assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_nested_model_state_dict_round_trip(torch):
    def model(lib):
        nn = lib.nn
        return nn.Sequential(OrderedDict([
            ("emb", nn.Embedding(10, 4)), ("flat", nn.Flatten()),
            ("body", nn.Sequential(nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.0))),
            ("norm", nn.LayerNorm(6)), ("head", nn.Linear(6, 3))]))

    x = R.integers(0, 10, (5, 2))
    for train in (True, False):
        ours, theirs = check_module(torch, model, [x], dtype="float64", train=train, steps=2)
    assert repr(ours) == repr(theirs)


# --- bad input -------------------------------------------------------------------------------
def test_linear_wrong_in_features():
    assert_raises_like_torch(lambda lib: lib.nn.Linear(4, 3)(lib.ones(2, 5)))


@dlmath_only
def test_linear_wrong_in_features_names_layer_and_shapes():
    with pytest.raises(RuntimeError) as info:
        dm.nn.Linear(4, 3)(dm.ones(2, 5))
    msg = str(info.value)
    assert "Linear(in_features=4, out_features=3" in msg and "(2, 5)" in msg and "(3, 4)" in msg


def test_bad_input_raises_like_torch():
    assert_raises_like_torch(lambda lib: lib.nn.Linear(4, 3)(lib.ones(2, 4, dtype=lib.float64)))
    assert_raises_like_torch(lambda lib: lib.nn.Bilinear(2, 3, 4)(lib.ones(5, 2), lib.ones(4, 3)))
    assert_raises_like_torch(lambda lib: lib.nn.Bilinear(2, 3, 4)(lib.ones(5, 2), lib.ones(5, 4)))
    assert_raises_like_torch(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 3, 4, 5)))
    assert_raises_like_torch(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 4)))
    assert_raises_like_torch(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3)))
    assert_raises_like_torch(lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 3)))
    assert_raises_like_torch(lambda lib: lib.nn.LayerNorm(4)(lib.ones(2, 3)))
    assert_raises_like_torch(lambda lib: lib.nn.RMSNorm((2, 4))(lib.ones(3, 4)))
    assert_raises_like_torch(lambda lib: lib.nn.Embedding(4, 2)(lib.tensor([4])))
    assert_raises_like_torch(lambda lib: lib.nn.Embedding(4, 2)(lib.tensor([1.0])))
    assert_raises_like_torch(lambda lib: lib.nn.CrossEntropyLoss()(lib.ones(2, 3), lib.tensor([0, 3])))
    assert_raises_like_torch(lambda lib: lib.nn.Dropout(-0.1))


@dlmath_only
def test_batchnorm_channel_error_names_the_module():
    with pytest.raises(RuntimeError, match=r"BatchNorm1d\(3.*\(2, 4\).*num_features=3"):
        dm.nn.BatchNorm1d(3)(dm.ones(2, 4))


def test_rmsnorm_eps_none_is_the_dtype_epsilon(torch):
    # a tiny input, where eps dominates mean(x^2): float32's epsilon, not float64's
    x = np.full((2, 3), 1e-4)
    for dtype in ("float32", "float64"):
        check_module(torch, lambda lib: lib.nn.RMSNorm(3), [x], dtype=dtype)


@dlmath_only
def test_errors_name_the_layer():
    cases = [(lambda: dm.nn.LayerNorm(4)(dm.ones(2, 3)), RuntimeError, r"LayerNorm\(\(4,\).*\[2, 3\]"),
             (lambda: dm.nn.RMSNorm(3)(dm.ones(2)), RuntimeError, r"RMSNorm\(\(3,\)"),
             (lambda: dm.nn.Embedding(4, 2)(dm.tensor([5])), IndexError, r"Embedding\(4, 2\).*index 5"),
             (lambda: dm.nn.Bilinear(2, 3, 4)(dm.ones(5, 2), dm.ones(4, 3)), RuntimeError, r"Bilinear\(in1_features=2"),
             (lambda: dm.nn.PReLU(3)(dm.ones(2, 4)), RuntimeError, r"PReLU\(num_parameters=3\).*\(2, 4\)")]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 5)])
def test_batchnorm_on_an_empty_batch_is_empty_and_keeps_the_running_stats(torch, shape):
    res = []
    for lib in (torch, dm):
        m = lib.nn.BatchNorm1d(3)
        x = lib.ones(*shape, requires_grad=True)
        y = m(x)
        y.sum().backward()
        res.append([tuple(y.shape), m.running_mean.tolist(), m.running_var.tolist(), int(m.num_batches_tracked),
                    tuple(x.grad.shape), m.weight.grad.tolist(), m.bias.grad.tolist()])
    assert res[0] == res[1]


def test_batchnorm_float16_input_with_float32_parameters_as_torch(torch):
    X = np.random.default_rng(0).standard_normal((6, 3, 4)).astype(np.float16)
    outs = []
    for lib in (torch, dm):
        m = lib.nn.BatchNorm1d(3)
        y = m(lib.tensor(X))
        assert y.dtype == lib.float16 and m.running_mean.dtype == lib.float32
        outs.append((y.detach().numpy().astype(np.float64), m.running_var.detach().numpy()))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-5)


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_refuses_mixed_dtypes(torch, train):
    def fn(lib):
        m = lib.nn.BatchNorm1d(3)
        return (m if train else m.eval())(lib.randn(4, 3, dtype=lib.float64))
    exc = assert_raises_like_torch(fn, torch=torch)
    assert "batch_norm" in str(exc) and "float64" in str(exc)
