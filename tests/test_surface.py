"""The everyday tensor surface tutorials touch (issue #14), against torch where torch has it.

Devices on a CPU-only library, constants and dtype helpers, the legacy forms
(``FloatTensor``, ``Variable``, ``.type()``, ``grad_fn.next_functions``),
``utils.benchmark.Timer``, ``func.functional_call``, the checks torch makes at the
call, what ``dir()`` shows, reproducible generators, and a beginner's program run
with dlmath and with torch bound to the same name, printing the same numbers.
"""
import io
import contextlib
import math

import numpy as np
import pytest

from helpers import dm, dlmath_only


def both(torch):
    return [("dlmath", dm), ("torch", torch)]


def raises_same(torch, fn):
    """``fn(lib)`` raises the same exception type with dlmath and torch; returns both messages."""
    msgs = []
    for name, lib in both(torch):
        with pytest.raises(Exception) as info:
            fn(lib)
        msgs.append(info.value)
    assert type(msgs[0]) is type(msgs[1]) or isinstance(msgs[0], type(msgs[1])), msgs
    return [str(m) for m in msgs]


# --- 1. devices ------------------------------------------------------------------------------
CREATORS = [
    ("tensor", lambda lib, **kw: lib.tensor([1.0, 2.0], **kw)),
    ("as_tensor", lambda lib, **kw: lib.as_tensor([1.0, 2.0], **kw)),
    ("zeros", lambda lib, **kw: lib.zeros(2, 3, **kw)),
    ("ones", lambda lib, **kw: lib.ones(2, **kw)),
    ("empty", lambda lib, **kw: lib.empty(2, **kw)),
    ("full", lambda lib, **kw: lib.full((2,), 1.5, **kw)),
    ("arange", lambda lib, **kw: lib.arange(5, **kw)),
    ("linspace", lambda lib, **kw: lib.linspace(0, 1, 5, **kw)),
    ("logspace", lambda lib, **kw: lib.logspace(0, 1, 5, **kw)),
    ("rand", lambda lib, **kw: lib.rand(2, **kw)),
    ("randn", lambda lib, **kw: lib.randn(2, **kw)),
    ("randint", lambda lib, **kw: lib.randint(0, 5, (3,), **kw)),
    ("randperm", lambda lib, **kw: lib.randperm(4, **kw)),
    ("eye", lambda lib, **kw: lib.eye(3, **kw)),
    ("zeros_like", lambda lib, **kw: lib.zeros_like(lib.ones(2), **kw)),
    ("ones_like", lambda lib, **kw: lib.ones_like(lib.ones(2), **kw)),
    ("empty_like", lambda lib, **kw: lib.empty_like(lib.ones(2), **kw)),
    ("full_like", lambda lib, **kw: lib.full_like(lib.ones(2), 3.0, **kw)),
    ("rand_like", lambda lib, **kw: lib.rand_like(lib.ones(2), **kw)),
    ("randn_like", lambda lib, **kw: lib.randn_like(lib.ones(2), **kw)),
    ("randint_like", lambda lib, **kw: lib.randint_like(lib.ones(2), 0, 5, **kw)),
    ("Tensor", lambda lib, **kw: lib.Tensor([1.0], **kw)),
    ("new_zeros", lambda lib, **kw: lib.ones(2).new_zeros(3, **kw)),
    ("new_tensor", lambda lib, **kw: lib.ones(2).new_tensor([1, 2], **kw)),
]


@pytest.mark.parametrize("name,make", CREATORS, ids=[c[0] for c in CREATORS])
def test_creation_takes_a_cpu_device(torch, name, make):
    for _, lib in both(torch):
        for device in ("cpu", lib.device("cpu"), lib.device("cpu", 0), "cpu:0"):
            t = make(lib, device=device)
            assert t.device.type == "cpu"
            assert str(t.device) == "cpu"


@dlmath_only
@pytest.mark.parametrize("name,make", CREATORS, ids=[c[0] for c in CREATORS])
def test_creation_on_an_accelerator_says_cpu_only(name, make):
    for device in ("cuda", "cuda:0", "mps", dm.device("cuda", 1)):
        with pytest.raises(RuntimeError, match="dlmath runs on the CPU only") as info:
            make(dm, device=device)
        assert str(dm.device(device)) in str(info.value)


def test_device_objects(torch):
    for _, lib in both(torch):
        d = lib.device("cpu")
        assert repr(d) == "device(type='cpu')"
        assert (d.type, d.index) == ("cpu", None)
        assert repr(lib.device("cuda", 1)) == "device(type='cuda', index=1)"
        assert str(lib.device("cuda:1")) == "cuda:1"
        assert repr(lib.device("cpu", 0)) == "device(type='cpu', index=0)"
        assert lib.device(lib.device("cpu")) == d
        assert lib.device("cpu:0") != d
        assert lib.zeros(2).device == d
        assert {d: 1}[lib.device("cpu")] == 1
        assert lib.zeros(2).get_device() == -1
        assert lib.zeros(2).is_cuda is False and lib.zeros(2).is_cpu is True
    raises_same(torch, lambda lib: lib.device("foo"))
    raises_same(torch, lambda lib: lib.device("cpu", -1))
    raises_same(torch, lambda lib: lib.device("cuda:x"))


@dlmath_only
def test_a_device_equals_its_string():
    """Documented leniency: torch's ``t.device == "cpu"`` is False (a trap); dlmath's is True."""
    assert dm.zeros(1).device == "cpu"


def test_to_and_cpu(torch):
    for _, lib in both(torch):
        t = lib.zeros(2)
        assert t.to("cpu") is t and t.cpu() is t and t.to(lib.device("cpu")) is t
        assert t.to(t) is t and t.to(lib.float32) is t
        assert t.to("cpu", lib.float64).dtype == lib.float64
        assert t.to(device="cpu", dtype=lib.float64).dtype == lib.float64
        assert t.to(lib.ones(1, dtype=lib.int64)).dtype == lib.int64
        c = t.to("cpu", copy=True)
        assert c is not t and c.dtype == t.dtype
        assert lib.zeros(2).to("cpu", lib.float64, False, True).dtype == lib.float64


@dlmath_only
def test_to_an_accelerator_says_cpu_only():
    t = dm.zeros(2)
    for call in (lambda: t.to("cuda"), lambda: t.to("cuda:0"), lambda: t.to("mps"), lambda: t.cuda(),
                 lambda: t.to(dm.device("cuda")), lambda: t.to("cuda", dm.float64), lambda: t.to(0),
                 lambda: t.to(device="cuda"), lambda: dm.set_default_device("cuda"),
                 lambda: dm.nn.Linear(2, 2).to("cuda"), lambda: dm.nn.Linear(2, 2).cuda()):
        with pytest.raises(RuntimeError, match="CPU only"):
            call()


def test_module_to_devices(torch):
    for _, lib in both(torch):
        m = lib.nn.Linear(2, 3)
        assert m.to("cpu") is m and m.to(lib.device("cpu")) is m and m.cpu() is m
        assert m.to("cpu", lib.float64).weight.dtype == lib.float64
        assert m.to(lib.zeros(1)).weight.dtype == lib.float32
        assert m.weight.device.type == "cpu"


def test_accelerator_queries(torch):
    for _, lib in both(torch):
        assert lib.cuda.is_available() is False
        assert lib.cuda.device_count() == 0
        assert lib.backends.mps.is_available() is False
        assert lib.backends.cudnn.is_available() is False
        assert lib.accelerator.is_available() is False
        assert lib.accelerator.current_accelerator() is None
        lib.cuda.manual_seed(0)
        lib.cuda.manual_seed_all(0)
        lib.cuda.empty_cache()
        lib.set_default_device("cpu")
        assert lib.get_default_device() == lib.device("cpu")
        lib.backends.cudnn.deterministic = True
        lib.backends.cudnn.deterministic = False
        device = "cuda" if lib.cuda.is_available() else "cpu"
        assert lib.ones(2, device=device).to(device).device.type == "cpu"


# --- 2. constants and dtype helpers ----------------------------------------------------------
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64",
          "complex128"]


def test_constants(torch):
    for name in ("pi", "e", "inf"):
        assert getattr(dm, name) == getattr(torch, name)
    assert math.isnan(dm.nan)


@pytest.mark.parametrize("name", [None, "float16", "float32", "float64", "complex64", "complex128"])
def test_finfo(torch, name):
    a = dm.finfo() if name is None else dm.finfo(getattr(dm, name))
    b = torch.finfo() if name is None else torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(a, field) == getattr(b, field), field
        assert type(getattr(a, field)) is type(getattr(b, field)), field
    assert repr(a) == repr(b)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(torch, name):
    a, b = dm.iinfo(getattr(dm, name)), torch.iinfo(getattr(torch, name))
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(a, field) == getattr(b, field) and type(getattr(a, field)) is type(getattr(b, field))
    assert repr(a) == repr(b)


def test_finfo_iinfo_refuse_the_other_kind(torch):
    raises_same(torch, lambda lib: lib.finfo(lib.int32))
    raises_same(torch, lambda lib: lib.iinfo(lib.float32))
    raises_same(torch, lambda lib: lib.iinfo(lib.bool))


def test_finfo_follows_the_default_dtype(torch):
    for _, lib in both(torch):
        lib.set_default_dtype(lib.float64)
        try:
            assert lib.finfo().bits == 64
        finally:
            lib.set_default_dtype(lib.float32)


def test_promote_types_and_can_cast_every_pair(torch):
    for a in DTYPES:
        for b in DTYPES:
            got = dm.promote_types(getattr(dm, a), getattr(dm, b))
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert str(want) == "torch." + got.name, (a, b)
            assert dm.can_cast(getattr(dm, a), getattr(dm, b)) == torch.can_cast(getattr(torch, a), getattr(torch, b)), \
                (a, b)
    raises_same(torch, lambda lib: lib.promote_types(lib.float32, 1))


RESULT_TYPE = [
    lambda lib: (lib.ones(2), 1.0), lambda lib: (lib.ones(2, dtype=lib.int32), lib.tensor(2.0, dtype=lib.float64)),
    lambda lib: (2, 3.0), lambda lib: (lib.tensor([1], dtype=lib.uint8), -1), lambda lib: (True, 2),
    lambda lib: (lib.tensor(1.0, dtype=lib.float64), lib.ones(2)), lambda lib: (lib.tensor(1, dtype=lib.int32), 2.5),
    lambda lib: (lib.ones(2, dtype=lib.int64), lib.ones(2, dtype=lib.float16)), lambda lib: (1j, lib.ones(2)),
]


@pytest.mark.parametrize("k", range(len(RESULT_TYPE)))
def test_result_type(torch, k):
    got = dm.result_type(*RESULT_TYPE[k](dm))
    want = torch.result_type(*RESULT_TYPE[k](torch))
    assert str(want) == "torch." + got.name
    raises_same(torch, lambda lib: lib.result_type(lib.ones(1), "a"))


def test_is_floating_point_and_is_complex(torch):
    for _, lib in both(torch):
        assert lib.is_floating_point(lib.ones(1)) and not lib.is_floating_point(lib.ones(1, dtype=lib.int64))
        assert lib.is_complex(lib.ones(1, dtype=lib.complex64)) and not lib.is_complex(lib.ones(1))
        assert lib.numel(lib.ones(2, 3)) == 6
        assert lib.get_default_dtype() == lib.float32
    raises_same(torch, lambda lib: lib.is_floating_point(1.0))
    raises_same(torch, lambda lib: lib.is_complex([1]))


REPRS = [
    "lib.tensor([1.123456789, 2.0, 1e-5])", "lib.tensor([1e10, 1.0])", "lib.tensor([[1.5, 2.25], [3., 4.]])",
    "lib.arange(10.)", "lib.arange(2000.)", "lib.arange(10)", "lib.tensor([True, False])", "lib.tensor(3.)",
    "lib.tensor([float('nan'), 1., float('inf')])", "lib.zeros(0)", "lib.zeros(0, 3)",
    "lib.zeros(0, dtype=lib.int64)", "lib.arange(24.).reshape(2, 3, 4)", "lib.arange(3000.).reshape(10, 300)",
    "lib.tensor([1 + 2j, -3.5j])", "lib.tensor([1, 2], dtype=lib.int32)", "lib.tensor([0.1, 0.2], dtype=lib.float64)",
    "lib.tensor([-1.5, 200.25])", "lib.ones(2, requires_grad=True)", "lib.arange(30.).reshape(3, 10) / 7",
    "lib.tensor([[1e-8, 1.0]])", "lib.tensor([1., 2.], dtype=lib.float16)", "lib.tensor(-0.)",
    "lib.tensor([1, -20, 300])", "(lib.ones(2, requires_grad=True) * 2).sum()",
]
PRINT_OPTIONS = [{}, {"precision": 2}, {"threshold": 5}, {"edgeitems": 1, "threshold": 5}, {"sci_mode": True},
                 {"sci_mode": False}, {"profile": "short"}, {"linewidth": 40}, {"profile": "full"},
                 {"edgeitems": 0, "threshold": 5}]


@pytest.mark.parametrize("opts", PRINT_OPTIONS, ids=[str(o) for o in PRINT_OPTIONS])
def test_repr_and_set_printoptions_as_torch(torch, opts):
    out = {}
    for name, lib in both(torch):
        lib.set_printoptions(**opts)
        try:
            out[name] = [repr(eval(c, {"lib": lib})).replace("torch.", "dlmath.") for c in REPRS]
        finally:
            lib.set_printoptions(profile="default")
    for c, a, b in zip(REPRS, out["dlmath"], out["torch"]):
        assert a == b, c
    assert str(dm.ones(2)) == repr(dm.ones(2))


# --- 3. legacy forms -------------------------------------------------------------------------
LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
          "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructors(torch, name):
    for args in ([[1, 2]], [[[1.5, 2.7]]], [(2, 3)], [[True, False]]):
        a, b = getattr(dm, name)(*args), getattr(torch, name)(*args)
        assert a.tolist() == b.tolist() and str(b.dtype) == "torch." + a.dtype.name
    for args in ((2, 3), (), (dm.Size([4]),)):
        targs = tuple(torch.Size(a) if isinstance(a, tuple) else a for a in args)
        a, b = getattr(dm, name)(*args), getattr(torch, name)(*targs)
        assert tuple(a.shape) == tuple(b.shape) and str(b.dtype) == "torch." + a.dtype.name
    for name2 in LEGACY:
        for _, lib in both(torch):
            t = getattr(lib, name2)([1])
            assert isinstance(t, getattr(lib, name)) == (name == name2)
            assert isinstance(t, lib.Tensor)
    raises_same(torch, lambda lib: getattr(lib, name)("a"))
    raises_same(torch, lambda lib: getattr(lib, name)(2.5))


def test_legacy_alias_and_type_strings(torch):
    x = dm.ones(2)
    y = dm.FloatTensor(x)
    assert y is not x and np.shares_memory(y.numpy(), x.numpy())
    assert x.type() == "dlmath.FloatTensor" and torch.ones(2).type() == "torch.FloatTensor"
    assert dm.ones(2, dtype=dm.int64).type() == "dlmath.LongTensor"
    for _, lib in both(torch):
        t = lib.ones(2)
        assert t.type(lib.float64).dtype == lib.float64
        assert t.type("torch.DoubleTensor").dtype == lib.float64
        assert t.type(lib.LongTensor).dtype == lib.int64
        assert t.type(lib.float32) is t
    assert dm.ones(2).type("dlmath.IntTensor").dtype == dm.int32
    raises_same(torch, lambda lib: lib.ones(2).type("foo"))


def test_variable(torch):
    for _, lib in both(torch):
        from importlib import import_module
        Variable = import_module(lib.__name__ + ".autograd").Variable
        x = lib.ones(2)
        v = Variable(x, requires_grad=True)
        assert v is not x and v.requires_grad and not x.requires_grad and type(v) is lib.Tensor
        assert isinstance(x, Variable) and isinstance(v, Variable)
        (v * 3).sum().backward()
        assert v.grad.tolist() == [3.0, 3.0]
        assert Variable(x).requires_grad is False
        d = v.data
        assert not d.requires_grad and np.shares_memory(np.asarray(d), np.asarray(x))
    raises_same(torch, lambda lib: __import__(lib.__name__ + ".autograd").autograd.Variable([1, 2]))


def _edges(fn, depth=3):
    """The graph below ``fn`` as nested (name, output index) tuples, AccumulateGrad as 'leaf'."""
    if fn is None:
        return None
    if not fn.next_functions and type(fn).__name__ == "AccumulateGrad":
        return "leaf"
    return (fn.name(), tuple((_edges(f, depth - 1) if depth else "...", k) for f, k in fn.next_functions))


def test_grad_fn_next_functions_and_names(torch):
    graphs = {}
    for name, lib in both(torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        c = lib.tensor([1.0, 1.0])
        z = ((x * w + c).exp() * 2).sum()
        graphs[name] = _edges(z.grad_fn, 6)
        assert repr(z.grad_fn).startswith("<SumBackward0 object at 0x")
        assert "grad_fn=<SumBackward0>" in repr(z)
        acc = z.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].next_functions[0][0] \
            .next_functions[0][0]
        assert acc.variable is x and acc.next_functions == ()
        assert acc is z.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0] \
            .next_functions[0][0].next_functions[0][0]
    assert graphs["dlmath"] == graphs["torch"], graphs


@dlmath_only
def test_next_functions_after_the_graph_is_freed_says_so():
    x = dm.ones(2, requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.grad_fn.next_functions[0][0].next_functions


# --- 4. utils.benchmark.Timer ----------------------------------------------------------------
def _masked(m):
    """A Measurement's repr with its numbers, address and module masked: the layout only."""
    import re
    text = "\n".join(repr(m).splitlines()[1:])
    return re.sub(r"\d+(\.\d+)?", "N", text)


def test_timer_as_torchs(torch):
    import importlib
    tb = importlib.import_module("torch.utils.benchmark")
    db = dm.utils.benchmark
    kw = dict(stmt="x + y", setup="y = 1", globals={"x": 2}, label="add", sub_label="ints", description="plain")
    for k, call in enumerate((lambda T: T(**kw).timeit(100), lambda T: T(**kw).blocked_autorange(min_run_time=0.02))):
        a, b = call(db.Timer), call(tb.Timer)
        if k == 0:
            assert _masked(a) == _masked(b)
        else:   # the block count and any warning depend on the machine's timing
            assert _masked(a).splitlines()[:3] == _masked(b).splitlines()[:3]
        assert a.number_per_run >= 1 and len(a.times) == len(a.raw_times) >= 1
        assert min(a.times) <= a.median <= max(a.times) and a.iqr >= 0 and a.mean > 0
        assert a.title == b.title == "add: ints"
    m = db.Timer("x @ x", globals={"x": dm.ones(8, 8)}, num_threads=1).adaptive_autorange(max_run_time=0.5)
    assert len(m.times) >= 4 and m.median > 0
    assert repr(m).startswith("<dlmath.utils.benchmark.Measurement object at 0x")
    assert "x @ x" in repr(m) and "runs per measurement, 1 thread" in repr(m)
    one = db.Timer("pass").timeit(10)
    assert "1 measurement, 10 runs , 1 thread" in repr(one)


# --- 5. func.functional_call, stack_module_state, vmap -------------------------------------------
def _fixed_net(lib, seed_values=True):
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    with lib.no_grad():
        for k, p in enumerate(net.parameters()):
            p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) * (0.5 + 0.1 * k),
                               dtype=lib.float32))
    return net


def _data(lib):
    x = lib.tensor(np.linspace(-2, 2, 15).reshape(5, 3), dtype=lib.float32)
    y = lib.tensor([0, 1, 1, 0, 1])
    return x, y


def test_per_sample_gradients_with_vmap_grad_functional_call(torch):
    """The torch.func tutorial: vmap(grad(loss through functional_call)) against a loop, and against torch."""
    results = {}
    for name, lib in both(torch):
        fc = (dm.func if lib is dm else torch.func)
        net = _fixed_net(lib)
        x, y = _data(lib)
        params = {k: v.detach() for k, v in net.named_parameters()}
        buffers = {k: v.detach() for k, v in net.named_buffers()}

        def loss(params, buffers, sample, target):
            out = fc.functional_call(net, (params, buffers), (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, target.unsqueeze(0))

        per_sample = fc.vmap(fc.grad(loss), in_dims=(None, None, 0, 0))(params, buffers, x, y)
        for i in range(x.shape[0]):
            net.zero_grad()
            lib.nn.functional.cross_entropy(net(x[i:i + 1]), y[i:i + 1]).backward()
            for k, p in net.named_parameters():
                np.testing.assert_allclose(per_sample[k][i].detach().numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert all(p is net.get_parameter(k) for k, p in net.named_parameters())   # restored
        results[name] = {k: v.detach().numpy() for k, v in per_sample.items()}
    for k in results["torch"]:
        np.testing.assert_allclose(results["dlmath"][k], results["torch"][k], rtol=1e-5, atol=1e-6)


def test_model_ensembling_with_stack_module_state(torch):
    outs = {}
    for name, lib in both(torch):
        fc = (dm.func if lib is dm else torch.func)
        models = [_fixed_net(lib) for _ in range(3)]
        with lib.no_grad():
            for k, m in enumerate(models):
                for p in m.parameters():
                    p.mul_(1 + k)
        params, buffers = fc.stack_module_state(models)
        assert tuple(params["0.weight"].shape) == (3, 4, 3) and params["0.weight"].requires_grad
        assert params["0.weight"].is_leaf and buffers == {}
        x, _ = _data(lib)

        def run(p, b, x):
            return fc.functional_call(models[0], (p, b), (x,))
        out = lib.vmap(run, in_dims=(0, 0, None))(params, buffers, x)
        for k, m in enumerate(models):
            np.testing.assert_allclose(out[k].detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
        outs[name] = out.detach().numpy()
    np.testing.assert_allclose(outs["dlmath"], outs["torch"], rtol=1e-5, atol=1e-6)
    raises_same(torch, lambda lib: (dm.func if lib is dm else torch.func).stack_module_state([]))


def test_functional_call_options(torch):
    msgs = {}
    for name, lib in both(torch):
        fc = (dm.func if lib is dm else torch.func)
        m = lib.nn.Linear(2, 2)
        x = lib.ones(2)
        w = lib.zeros(2, 2)
        out = fc.functional_call(m, {"weight": w}, x)   # a lone argument, not a tuple
        np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy())
        out = fc.functional_call(m, {"weight": w, "bias": lib.ones(2)}, (x,), strict=True)
        assert out.tolist() == [1.0, 1.0]
        with pytest.raises(RuntimeError) as info:
            fc.functional_call(m, {"weight": w, "foo": lib.ones(1)}, (x,), strict=True)
        msgs[name] = str(info.value)
        with pytest.raises(ValueError):
            fc.functional_call(m, ({"weight": w}, {"weight": w}), (x,))
        # tied weights: one replacement serves both names
        tied = lib.nn.Sequential(lib.nn.Linear(2, 2, bias=False), lib.nn.Linear(2, 2, bias=False))
        tied[1].weight = tied[0].weight
        out = fc.functional_call(tied, {"0.weight": lib.eye(2) * 2}, (x,))
        assert out.tolist() == [4.0, 4.0]
        out = fc.functional_call(tied, {"0.weight": lib.eye(2) * 2}, (x,), tie_weights=False)
        assert out.tolist() != [4.0, 4.0]
        # kwargs are passed through
        out = fc.functional_call(lib.nn.Softmax(dim=0), {}, (), {"input": lib.zeros(2)})
        assert out.tolist() == [0.5, 0.5]
    assert msgs["dlmath"] == msgs["torch"]
    assert dm.vmap is not None and dm.vmap(lambda t: t * 2)(dm.ones(3, 2)).shape == (3, 2)


# --- 6. checks torch makes at the call ----------------------------------------------------------
MIXED = [
    lambda lib: lib.ones(2, 3) @ lib.ones(3, 2, dtype=lib.float64),
    lambda lib: lib.mm(lib.ones(2, 3), lib.ones(3, 2, dtype=lib.float64)),
    lambda lib: lib.matmul(lib.ones(2, 3), lib.ones(3, 2, dtype=lib.float64)),
    lambda lib: lib.ones(2, 2, 3) @ lib.ones(3, 2, dtype=lib.float64),
    lambda lib: lib.ones(3, dtype=lib.float64) @ lib.ones(3, 2),
    lambda lib: lib.ones(2, 3, dtype=lib.int64) @ lib.ones(3, 2),
    lambda lib: lib.ones(3) @ lib.ones(3, dtype=lib.float64),
]


@pytest.mark.parametrize("k", range(len(MIXED)))
def test_matmul_of_mixed_dtypes_raises_as_torch(torch, k):
    mine, theirs = raises_same(torch, MIXED[k])
    assert mine.startswith(theirs.split(" (")[0][:40]), (mine, theirs)


def test_softmax_of_integers_and_float_sizes_raise(torch):
    for fn in (lambda lib: lib.softmax(lib.ones(2, dtype=lib.int64), 0),
               lambda lib: lib.log_softmax(lib.ones(2, dtype=lib.int64), 0),
               lambda lib: lib.nn.functional.softmax(lib.ones(2, dtype=lib.int64), 0),
               lambda lib: lib.ones(2, dtype=lib.int64).softmax(0),
               lambda lib: lib.randn(2.0, 3), lambda lib: lib.zeros(2.0), lambda lib: lib.rand(2, 3.5)):
        raises_same(torch, fn)
    for _, lib in both(torch):
        assert lib.softmax(lib.ones(2, dtype=lib.int64), 0, dtype=lib.float32).tolist() == [0.5, 0.5]


# --- 8. reproducibility ----------------------------------------------------------------------
def test_generator_state_round_trip():
    g = dm.Generator().manual_seed(3)
    state = g.get_state()
    a = dm.randn(4, generator=g)
    g.set_state(state)
    assert dm.randn(4, generator=g).tolist() == a.tolist()
    s = dm.get_rng_state()
    b = dm.rand(3)
    dm.set_rng_state(s)
    assert dm.rand(3).tolist() == b.tolist()
    dm.manual_seed(5)
    c = dm.randn(3)
    dm.manual_seed(5)
    assert dm.randn(3).tolist() == c.tolist()


# --- a beginner's program, run with dlmath and with torch under the same name ----------------------
PROGRAM = '''
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device", device, torch.device(device).type)
x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
print("shape", list(x.shape), "numel", x.numel(), "sum", x.sum().item(), "mean", x.mean().item())
print("matmul", (x @ x.T).tolist())
print("ops", (x * 2 + 1).tolist(), x.max().item(), x.argmax().item())
f = torch.FloatTensor([1, 2, 3])
l = torch.LongTensor([1, 2, 3])
print("legacy", f.tolist(), l.tolist(), isinstance(f, torch.FloatTensor), isinstance(l, torch.FloatTensor))
v = Variable(torch.ones(2) * 3, requires_grad=True)
(v * v).sum().backward()
print("variable grad", v.grad.tolist())
print("eps", torch.finfo(torch.float32).eps, "pi", torch.pi)

# a two-layer network trained by hand, from fixed weights
N, D_in, H, D_out = 4, 3, 5, 2
data = torch.arange(N * D_in, dtype=torch.float32).reshape(N, D_in) / 10
target = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -0.5]])
w1 = (torch.arange(D_in * H, dtype=torch.float32).reshape(D_in, H) / 20 - 0.3).to(device).requires_grad_()
w2 = (torch.arange(H * D_out, dtype=torch.float32).reshape(H, D_out) / 10 - 0.4).requires_grad_()
learning_rate = 0.05
for t in range(5):
    y_pred = data.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - target).pow(2).sum()
    print("step", t, "loss", round(loss.item(), 5))
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
print("w2", w2.detach().cpu().numpy().round(5).tolist())
print("pred", data.mm(w1).clamp(min=0).mm(w2).detach().numpy().round(4).tolist())
'''


def _run_program(lib, variable):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(PROGRAM, {"torch": lib, "Variable": variable})
    return out.getvalue()


def _numbers(text):
    import re
    return [float(m) for m in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", text)]


def test_a_tutorial_program_prints_the_same_with_dlmath_and_torch(torch):
    from torch.autograd import Variable as TorchVariable
    mine = _run_program(dm, dm.autograd.Variable)
    theirs = _run_program(torch, TorchVariable)
    assert [line.split()[0] for line in mine.splitlines()] == [line.split()[0] for line in theirs.splitlines()]
    a, b = _numbers(mine), _numbers(theirs)
    assert len(a) == len(b) and len(a) > 50
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert "device cpu cpu" in mine and "True False" in mine


def test_fork_rng_restores_the_default_stream():
    dm.manual_seed(1)
    with dm.random.fork_rng():
        dm.rand(5)
    a = dm.rand(2)
    dm.manual_seed(1)
    assert dm.rand(2).tolist() == a.tolist()
    assert dm.random.manual_seed is dm.manual_seed


def test_name_of_a_custom_function_node_is_torchs(torch):
    names = []
    for lib in (dm, torch):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g

        names.append(Square.apply(lib.ones(2, requires_grad=True)).grad_fn.name())
    assert names[0] == names[1] == "SquareBackward"
