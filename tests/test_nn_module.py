"""nn.Parameter, nn.Module and the containers, against torch.nn (the oracle).

Each test builds the same architecture in both libraries (``lib`` = dlmath or
torch) and compares what the user sees: registration, traversal order, state
dict keys, load_state_dict's errors and results, hooks, modes, dtypes, repr.
"""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

from helpers import dlmath_only, dm


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))


class Net:
    """A hand-written module with parameters, buffers (persistent or not), children, a shared child."""

    @staticmethod
    def make(lib):
        nn = lib.nn

        class N(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 2)
                self.scale = nn.Parameter(lib.ones(2))
                self.register_buffer("mean", lib.zeros(2))
                self.register_buffer("scratch", lib.zeros(1), persistent=False)
                self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Tanh()])
                self.shared = self.fc
                self.plain = 3

            def forward(self, x):
                h = self.fc(x) * self.scale - self.mean
                for b in self.blocks:
                    h = b(h)
                return h

        return N()


def to_torch_state(torch, sd):
    return OrderedDict((k, torch.tensor(v.detach().numpy())) for k, v in sd.items())


# --- Parameter ----------------------------------------------------------------------
def test_parameter_is_a_tensor_that_requires_grad():
    w = dm.nn.Parameter(dm.ones(2, 3))
    assert isinstance(w, dm.Tensor) and isinstance(w, dm.nn.Parameter)
    assert w.requires_grad and w.is_leaf and w.grad is None
    y = (w.exp() * 2 + w @ dm.ones(3, 2).sum(1)[:3] if False else (w.exp() * 2).sum())
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.exp(np.ones((2, 3))), rtol=1e-6)
    assert not dm.nn.Parameter(dm.ones(2), requires_grad=False).requires_grad
    # ops on a parameter give plain tensors
    assert type(w * 2) is type(dm.ones(1)) and type(w.detach()) is type(dm.ones(1))


def test_parameter_shares_memory_and_repr(torch):
    t = dm.zeros(2)
    p = dm.nn.Parameter(t)
    with dm.no_grad():
        p.add_(1)
    assert t.tolist() == [1.0, 1.0]
    for lib in (dm, torch):
        r = repr(lib.nn.Parameter(lib.tensor([1.0, 2.0])))
        assert r.startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")


def test_parameter_of_integers_cannot_require_grad(torch):
    for lib in (dm, torch):
        with pytest.raises(RuntimeError):
            lib.nn.Parameter(lib.tensor([1, 2]))
        assert not lib.nn.Parameter(lib.tensor([1, 2]), requires_grad=False).requires_grad


def test_parameter_copy_and_pickle():
    p = dm.nn.Parameter(dm.arange(3.0))
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert isinstance(q, dm.nn.Parameter) and q.requires_grad
        assert q.tolist() == [0.0, 1.0, 2.0]
        with dm.no_grad():
            q.add_(1)
        assert p.tolist() == [0.0, 1.0, 2.0]


# --- registration and traversal ----------------------------------------------------------
def test_registration_and_traversal_like_torch(torch):
    ours, theirs = Net.make(dm), Net.make(torch)
    for fn in (lambda m: [n for n, _ in m.named_parameters()],
               lambda m: [n for n, _ in m.named_parameters(prefix="net")],
               lambda m: [n for n, _ in m.named_parameters(recurse=False)],
               lambda m: [n for n, _ in m.named_parameters(remove_duplicate=False)],
               lambda m: [n for n, _ in m.named_buffers()],
               lambda m: [n for n, _ in m.named_children()],
               lambda m: [n for n, _ in m.named_modules()],
               lambda m: [type(c).__name__ for c in m.children()],
               lambda m: [type(c).__name__ for c in m.modules()],
               lambda m: len(list(m.parameters())),
               lambda m: len(list(m.buffers())),
               lambda m: list(m.state_dict()),
               lambda m: type(m.get_submodule("blocks.0")).__name__,
               lambda m: m.plain):
        assert fn(ours) == fn(theirs)
    assert isinstance(ours.state_dict(), OrderedDict)


def test_setattr_moves_between_registries(torch):
    for lib in (dm, torch):
        m = lib.nn.Module()
        m.a = lib.nn.Parameter(lib.ones(1))
        assert "a" in m._parameters
        m.a = None                              # a registered parameter may be set to None
        assert m.a is None and "a" in m._parameters
        with pytest.raises(TypeError):
            m.a = lib.ones(1)                   # a plain tensor is not a parameter
        m.register_buffer("b", lib.zeros(1))
        m.b = lib.ones(2)                       # a buffer takes any tensor
        assert m.b.shape == (2,)
        with pytest.raises(TypeError):
            m.b = 3
        m.c = lib.nn.Linear(1, 1)
        with pytest.raises(TypeError):
            m.c = 3
        del m.c
        with pytest.raises(AttributeError):
            m.c
        with pytest.raises(AttributeError, match="no attribute 'nothing'"):
            m.nothing


def test_registration_errors_like_torch(torch):
    class Early:
        @staticmethod
        def make(lib):
            class E(lib.nn.Module):
                def __init__(self):
                    self.w = lib.nn.Parameter(lib.ones(1))
            return E()

    def check(fn, exc):
        for lib in (dm, torch):
            with pytest.raises(exc):
                fn(lib)

    check(Early.make, AttributeError)
    check(lambda lib: lib.nn.Module().register_buffer("a.b", lib.ones(1)), KeyError)
    check(lambda lib: lib.nn.Module().register_buffer("", lib.ones(1)), KeyError)
    check(lambda lib: lib.nn.Module().register_buffer(1, lib.ones(1)), TypeError)
    check(lambda lib: lib.nn.Module().register_buffer("x", 3), TypeError)
    check(lambda lib: lib.nn.Module().register_buffer("training", lib.ones(1)), KeyError)
    check(lambda lib: lib.nn.Module().register_parameter("x", lib.ones(1)), TypeError)
    check(lambda lib: lib.nn.Module().register_parameter("x", lib.nn.Parameter(lib.ones(1)) * 2), TypeError)
    check(lambda lib: lib.nn.Module().add_module("x", 3), TypeError)
    check(lambda lib: lib.nn.Module().add_module("a.b", lib.nn.ReLU()), KeyError)
    check(lambda lib: lib.nn.Module().get_submodule("nothing"), AttributeError)
    check(lambda lib: lib.nn.Module()(1), NotImplementedError)


def test_non_leaf_parameter_is_refused():
    m = dm.nn.Module()
    p = dm.nn.Parameter(dm.ones(1))
    q = p * 2
    # a non-leaf can only be made a Parameter by detaching: Parameter(data) is always a leaf
    assert dm.nn.Parameter(q).is_leaf
    with pytest.raises(TypeError):
        m.register_parameter("q", q)


def test_register_module_and_get_parameter_buffer(torch):
    for lib in (dm, torch):
        m = Net.make(lib)
        m.register_module("extra", lib.nn.ReLU())
        assert isinstance(m.extra, lib.nn.ReLU)
        assert m.get_parameter("fc.weight") is m.fc.weight
        assert m.get_buffer("mean") is m.mean
        with pytest.raises(AttributeError):
            m.get_parameter("mean")
        assert m.get_submodule("") is m


def test_apply_train_eval_requires_grad_zero_grad(torch):
    for lib in (dm, torch):
        m = Net.make(lib)
        seen = []
        m.apply(lambda mod: seen.append(type(mod).__name__))
        assert seen == ["Linear", "Linear", "Tanh", "ModuleList", "N"]
        assert m.eval() is m and not any(mod.training for mod in m.modules())
        assert m.train() is m and all(mod.training for mod in m.modules())
        with pytest.raises(ValueError):
            m.train("no")
        m.requires_grad_(False)
        assert not any(p.requires_grad for p in m.parameters())
        m.requires_grad_()
        m(lib.ones(4, 3)).sum().backward()
        assert all(p.grad is not None for p in m.parameters())
        m.zero_grad(set_to_none=False)
        assert all(float(p.grad.abs().sum()) == 0 for p in m.parameters())
        m.zero_grad()
        assert all(p.grad is None for p in m.parameters())


# --- forward hooks ----------------------------------------------------------------------
def test_forward_hooks(torch):
    results = []
    for lib in (dm, torch):
        m = lib.nn.Linear(2, 2)
        calls = []
        h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre") or (args[0] * 2,))
        h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
        h3 = m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
        h4 = m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs), with_kwargs=True)
        x = lib.ones(1, 2)
        with lib.no_grad():
            m.weight.copy_(lib.eye(2))
            m.bias.zero_()
            y = m(x)
        assert y.tolist() == [[3.0, 3.0]]
        results.append(list(calls))
        for h in (h1, h2, h3, h4):
            h.remove()
        h1.remove()                         # removing twice is harmless
        with lib.no_grad():
            assert m(x).tolist() == [[1.0, 1.0]]
        with m.register_forward_hook(lambda mod, args, kwargs, out: out * 0, with_kwargs=True):
            assert m(x).abs().sum().item() == 0
        assert m(x).abs().sum().item() != 0
    assert results[0] == results[1] == ["pre", "first", "post"]


def test_pre_hook_returning_a_single_value_is_wrapped():
    m = dm.nn.Identity()
    m.register_forward_pre_hook(lambda mod, args: args[0] + 1)
    assert m(dm.zeros(1)).item() == 1.0


# --- state dict ---------------------------------------------------------------------------
def test_state_dict_round_trip_with_torch(torch):
    ours, theirs = Net.make(dm), Net.make(torch)
    sd = ours.state_dict()
    assert list(sd) == list(theirs.state_dict()) == ["scale", "mean", "fc.weight", "fc.bias",
                                                      "blocks.0.weight", "blocks.0.bias",
                                                      "shared.weight", "shared.bias"]   # shared: twice, as torch
    assert all(not v.requires_grad for v in sd.values())
    assert repr(theirs.load_state_dict(to_torch_state(torch, sd))) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(dm.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    # and back: torch's values into a fresh dlmath module
    fresh = Net.make(dm)
    res = fresh.load_state_dict({k: dm.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert str(res) == "<All keys matched successfully>"
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())


def test_state_dict_shares_memory_and_keep_vars():
    m = dm.nn.Linear(2, 2)
    sd = m.state_dict()
    with dm.no_grad():
        m.weight.zero_()
    assert float(sd["weight"].abs().sum()) == 0
    assert m.state_dict(keep_vars=True)["weight"] is m.weight
    assert list(m.state_dict(prefix="lin.")) == ["lin.weight", "lin.bias"]


@dlmath_only
def test_load_state_dict_numpy_values_and_in_place():
    """dlmath takes NumPy arrays as values (torch wants tensors)."""
    m = dm.nn.Linear(2, 3)
    w = m.weight
    m.load_state_dict({"weight": np.ones((3, 2)), "bias": np.arange(3.0)})
    assert m.weight is w and w.dtype == dm.float32 and w.requires_grad
    assert m.bias.tolist() == [0.0, 1.0, 2.0]


def _load_both(torch, make, sd_fn, strict=True):
    out = []
    for lib in (dm, torch):
        m = make(lib)
        sd = sd_fn(lib, m)
        try:
            out.append(m.load_state_dict(sd, strict=strict))
        except Exception as e:  # noqa: BLE001
            out.append(e)
    return out


def test_load_state_dict_missing_and_unexpected_like_torch(torch):
    def drop_and_add(lib, m):
        sd = m.state_dict()
        del sd["fc.bias"]
        del sd["mean"]
        sd["fc.nothing"] = lib.zeros(1)
        sd["other"] = lib.zeros(1)
        sd["scratch"] = lib.zeros(1)        # non-persistent: unexpected
        return sd

    ours, theirs = _load_both(torch, Net.make, drop_and_add)
    assert type(ours) is type(theirs) is RuntimeError
    assert str(ours).replace("dlmath", "torch") == str(theirs)
    ours, theirs = _load_both(torch, Net.make, drop_and_add, strict=False)
    assert ours.missing_keys == theirs.missing_keys == ["mean", "fc.bias"]
    assert ours.unexpected_keys == theirs.unexpected_keys
    assert set(ours.unexpected_keys) == {"fc.nothing", "other", "scratch"}
    assert repr(ours) == repr(theirs)


def test_load_state_dict_size_mismatch_like_torch(torch):
    def wrong(lib, m):
        sd = m.state_dict()
        sd["fc.weight"] = lib.zeros(5, 3)
        return sd

    for strict in (True, False):
        ours, theirs = _load_both(torch, Net.make, wrong, strict=strict)
        assert isinstance(ours, RuntimeError) and isinstance(theirs, RuntimeError)
        assert str(ours).replace("dlmath", "torch") == str(theirs)


@dlmath_only
def test_load_state_dict_writes_nothing_on_error():
    """A deliberate difference: torch copies the keys that fit before raising; dlmath checks first."""
    m = Net.make(dm)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    sd = {k: v + 1 for k, v in m.state_dict().items()}
    sd["blocks.0.weight"] = dm.zeros(9, 9)
    with pytest.raises(RuntimeError, match=r"size mismatch for blocks\.0\.weight.*\[9, 9\].*\[2, 2\]"):
        m.load_state_dict(sd)
    del sd["blocks.0.weight"]
    with pytest.raises(RuntimeError, match='Missing key.*"blocks.0.weight"'):
        m.load_state_dict(sd)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k].numpy())


def test_load_state_dict_keeps_optimiser_view():
    """The parameters are the same objects after loading (an optimiser holds them)."""
    m = mlp(dm)
    params = list(m.parameters())
    m.load_state_dict({k: v * 0 for k, v in m.state_dict().items()})
    assert all(a is b for a, b in zip(params, m.parameters()))
    assert all(float(p.abs().sum()) == 0 for p in params)
    loss = m(dm.ones(1, 4)).sum()
    loss.backward()
    assert all(p.grad is not None for p in params)


def test_load_state_dict_assign():
    m = dm.nn.Linear(2, 2)
    new = {"weight": dm.ones(2, 2, dtype=dm.float64), "bias": dm.zeros(2, dtype=dm.float64)}
    m.load_state_dict(new, assign=True)
    assert m.weight.dtype == dm.float64 and isinstance(m.weight, dm.nn.Parameter) and m.weight.requires_grad


def test_load_state_dict_not_a_mapping(torch):
    for lib in (dm, torch):
        with pytest.raises(TypeError):
            lib.nn.Linear(1, 1).load_state_dict([1, 2])


# --- dtype conversion ---------------------------------------------------------------------
def test_float_double_half_to(torch):
    for lib in (dm, torch):
        m = lib.nn.BatchNorm1d(3) if hasattr(lib.nn, "BatchNorm1d") else lib.nn.Linear(2, 2)
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), m)
        w = m[0].weight
        assert m.double() is m
        assert m[0].weight is w and w.dtype == lib.float64 and w.requires_grad
        assert all(b.dtype in (lib.float64, lib.int64) for b in m.buffers())
        m.half()
        assert w.dtype == lib.float16
        m.float()
        assert w.dtype == lib.float32
        m.to(lib.float64)
        assert w.dtype == lib.float64
        assert m.to("cpu") is m
        m.to(lib.zeros(1, dtype=lib.float32))
        assert w.dtype == lib.float32
        with pytest.raises(TypeError):
            m.to(lib.int32)


def test_double_keeps_grad_and_trains():
    m = dm.nn.Linear(2, 1)
    m(dm.ones(1, 2)).sum().backward()
    m.double()
    assert m.weight.grad.dtype == dm.float64
    m.zero_grad()
    m(dm.ones(1, 2, dtype=dm.float64)).sum().backward()
    assert m.weight.grad.tolist() == [[1.0, 1.0]]


# --- containers ---------------------------------------------------------------------------
def test_sequential_indexing_like_torch(torch):
    def ops(lib):
        nn = lib.nn
        s = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh())
        out = [len(s), type(s[-1]).__name__, type(s[1:3]).__name__, repr(s[1:3]), repr(s[::-2]),
               [type(m).__name__ for m in s]]
        s.append(nn.Sigmoid())
        s.insert(0, nn.Identity())
        s.insert(-1, nn.SiLU())
        s.extend([nn.GELU()])
        out.append(repr(s))
        del s[1]
        out.append(list(s.state_dict()))
        out.append(repr(s + s[:2]))
        s[0] = nn.ELU()
        out.append(repr(s))
        out.append(repr(s.pop(0)))
        named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
        out.append(list(named.state_dict()))
        out.append(repr(named))
        out.append(type(named.fc).__name__)
        for bad in (lambda: s[10], lambda: s[-11]):
            try:
                bad()
            except IndexError:
                out.append("IndexError")
        return out

    assert ops(dm) == ops(torch)


def test_sequential_forward_matches_torch(torch):
    ours, theirs = mlp(dm), mlp(torch)
    theirs.load_state_dict(to_torch_state(torch, ours.state_dict()))
    x = np.random.default_rng(1).standard_normal((6, 4))
    xo = dm.tensor(x, dtype=dm.float32, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    ours(xo).square().sum().backward()
    theirs(xt).square().sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


def test_module_list_and_dict_like_torch(torch):
    def ops(lib):
        nn = lib.nn
        ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
        ml.append(nn.ReLU())
        ml.extend([nn.Tanh()])
        ml.insert(1, nn.Sigmoid())
        ml += [nn.ReLU()]
        out = [len(ml), repr(ml), repr(ml[1:3]), type(ml[-1]).__name__, list(ml.state_dict())]
        del ml[0]
        out.append(repr(ml))
        md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(1, 1)})
        md["c"] = nn.Tanh()
        md.update([("d", nn.Sigmoid())])
        out += [list(md), list(md.keys()), "a" in md, len(md), repr(md), list(md.state_dict())]
        out.append(type(md.pop("b")).__name__)
        out.append(list(md))
        out.append(repr(nn.ModuleList()))
        return out

    assert ops(dm) == ops(torch)


def test_parameter_list_and_dict_like_torch(torch):
    def ops(lib):
        nn = lib.nn
        pl = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3, 2)])
        pl.append(lib.ones(1))
        out = [len(pl), [type(p).__name__ for p in pl], list(pl.state_dict()),
               repr(pl).replace("torch.", "").replace("dlmath.", ""),
               [tuple(p.shape) for p in pl[1:]], len(list(pl.parameters()))]
        pd = nn.ParameterDict({"b": lib.ones(2), "a": nn.Parameter(lib.zeros(1))})
        pd["c"] = lib.ones(3)
        out += [list(pd), list(pd.keys()), "a" in pd, list(pd.state_dict()), type(pd["c"]).__name__,
                repr(pd).replace("torch.", "").replace("dlmath.", "")]
        out.append(tuple(pd.pop("b").shape))
        out.append(list(pd))
        try:
            pl(1)
        except RuntimeError:
            out.append("RuntimeError")
        return out

    assert ops(dm) == ops(torch)


def test_flatten_unflatten_identity(torch):
    from helpers import compare_with_torch
    compare_with_torch(lambda lib, x: lib.nn.Flatten()(x), ((2, 3, 4),))
    compare_with_torch(lambda lib, x: lib.nn.Flatten(0, 1)(x), ((2, 3, 4),))
    compare_with_torch(lambda lib, x: lib.nn.Unflatten(1, (2, 6))(x), ((3, 12),))
    compare_with_torch(lambda lib, x: lib.nn.Identity(3, foo=1)(x), ((3, 2),))
    for lib in (dm, torch):
        assert repr(lib.nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
        assert repr(lib.nn.Unflatten(1, (2, 6))) == "Unflatten(dim=1, unflattened_size=(2, 6))"
        assert repr(lib.nn.Identity()) == "Identity()"


# --- repr ---------------------------------------------------------------------------------
def test_repr_like_torch(torch):
    def net(lib):
        nn = lib.nn
        inner = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Dropout(0.25))
        return nn.Sequential(OrderedDict([("body", inner), ("norm", nn.LayerNorm(8)),
                                          ("head", nn.Linear(8, 2, bias=False)), ("out", nn.LogSoftmax(dim=-1))]))

    assert repr(net(dm)) == repr(net(torch))
    assert repr(Net.make(dm)) == repr(Net.make(torch))


def test_deepcopy_module_is_independent():
    m = Net.make(dm)
    c = copy.deepcopy(m)
    assert c.shared is c.fc                       # sharing inside the copy is kept
    with dm.no_grad():
        c.fc.weight.add_(1)
    assert not np.allclose(c.fc.weight.detach().numpy(), m.fc.weight.detach().numpy())
    assert list(c.state_dict()) == list(m.state_dict())


@dlmath_only
def test_call_without_hooks_goes_straight_to_forward():
    m = dm.nn.Identity()
    assert not m._forward_hooks and not m._forward_pre_hooks
    x = dm.ones(1)
    assert m(x) is x


@dlmath_only
def test_load_torch_state_dict_directly(torch):
    """torch tensors (anything with __array__ and a shape) are accepted as values: weights move over as they are."""
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    tm(torch.randn(4, 3))
    m = dm.nn.Sequential(dm.nn.Linear(3, 2), dm.nn.BatchNorm1d(2))
    assert str(m.load_state_dict(tm.state_dict())) == "<All keys matched successfully>"
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), tm.state_dict()[k].numpy())
    assert m[1].num_batches_tracked.dtype == dm.int64 and int(m[1].num_batches_tracked) == 1
    m.load_state_dict(tm.state_dict(), assign=True)        # assigned values are copies, not torch's memory
    with torch.no_grad():
        tm[0].weight.add_(1)
    assert not np.array_equal(m[0].weight.detach().numpy(), tm[0].weight.detach().numpy())


def test_extra_state_like_torch(torch):
    def make(lib):
        class E(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.k = 3
                self.lin = lib.nn.Linear(1, 1)

            def get_extra_state(self):
                return {"k": self.k}

            def set_extra_state(self, state):
                self.k = state["k"]
        return E()

    for lib in (dm, torch):
        e = make(lib)
        sd = e.state_dict()
        assert list(sd) == ["_extra_state", "lin.weight", "lin.bias"]
        sd["_extra_state"] = {"k": 7}
        e.load_state_dict(sd)
        assert e.k == 7
        del sd["_extra_state"]
        assert e.load_state_dict(sd, strict=False).missing_keys == ["_extra_state"]


def test_always_call_forward_hook(torch):
    for lib in (dm, torch):
        m = lib.nn.Linear(2, 2)
        seen = []
        m.register_forward_hook(lambda mod, args, out: seen.append("always"), always_call=True)
        m.register_forward_hook(lambda mod, args, out: seen.append("normal"))
        with pytest.raises(RuntimeError):
            m(lib.ones(1, 3))
        assert seen == ["always"]


def test_full_backward_hooks_like_torch(torch):
    """grad_input / grad_output as torch gives them, a pre-hook's new grad_output flows on,
    a hook's new grad_input replaces the input's gradient, and handles remove them."""
    w = np.random.default_rng(3).standard_normal((2, 3))
    x0 = np.random.default_rng(4).standard_normal((4, 3))
    results = []
    for lib in (dm, torch):
        m = lib.nn.Linear(3, 2)
        with lib.no_grad():
            m.weight.copy_(lib.tensor(w, dtype=lib.float32))
            m.bias.zero_()
        seen = []
        h1 = m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go[0].numpy().copy()))
                                               or (go[0] * 2,))
        h2 = m.register_full_backward_hook(lambda mod, gi, go: seen.append(("hook", gi[0].numpy().copy(),
                                                                            go[0].numpy().copy())))
        x = lib.tensor(x0, dtype=lib.float32, requires_grad=True)
        (m(x) * lib.arange(8.0).reshape(4, 2)).sum().backward()
        results.append((seen, x.grad.numpy().copy(), m.weight.grad.numpy().copy()))
        h1.remove()
        h2.remove()
        h3 = m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 1,))
        x = lib.tensor(x0, dtype=lib.float32, requires_grad=True)
        m(x).sum().backward()
        assert x.grad.numpy().tolist() == np.ones((4, 3)).tolist()
        h3.remove()
        x = lib.tensor(x0, dtype=lib.float32, requires_grad=True)
        m(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), np.tile(w.sum(0), (4, 1)), rtol=1e-6)
    (s_ours, gx_ours, gw_ours), (s_torch, gx_torch, gw_torch) = results
    assert [s[0] for s in s_ours] == [s[0] for s in s_torch] == ["pre", "hook"]
    for a, b in zip(s_ours, s_torch):
        for u, v in zip(a[1:], b[1:]):
            np.testing.assert_allclose(u, v, rtol=1e-6)
    np.testing.assert_allclose(gx_ours, gx_torch, rtol=1e-6)
    np.testing.assert_allclose(gw_ours, gw_torch, rtol=1e-6)


def test_backward_hook_when_no_input_requires_grad(torch):
    for lib in (dm, torch):
        m = lib.nn.Linear(3, 2)
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, tuple(go[0].shape))))
        with pytest.warns(UserWarning) if lib is torch else _nothing():
            m(lib.ones(4, 3)).sum().backward()
        assert seen == [((None,), (4, 2))]
        with lib.no_grad():
            m(lib.ones(4, 3))                       # no graph: nothing wrapped, nothing fires


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_training_loop_matches_torch(torch):
    """A small classifier trained 10 steps with Adam: every parameter and buffer as torch's."""
    def model(lib):
        nn = lib.nn
        return nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.0),
                             nn.Linear(16, 16), nn.LayerNorm(16), nn.Tanh(), nn.Linear(16, 3))

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 5)), rng.integers(0, 3, 32)
    ours, theirs = model(dm).double(), model(torch).double()
    theirs.load_state_dict(to_torch_state(torch, ours.state_dict()))
    loss_fns = (dm.nn.CrossEntropyLoss(label_smoothing=0.05), torch.nn.CrossEntropyLoss(label_smoothing=0.05))
    opts = (dm.optim.Adam(ours.parameters(), lr=1e-2, weight_decay=1e-3),
            torch.optim.Adam(theirs.parameters(), lr=1e-2, weight_decay=1e-3))
    for step in range(10):
        for lib, m, loss_fn, opt in zip((dm, torch), (ours, theirs), loss_fns, opts):
            opt.zero_grad()
            loss = loss_fn(m(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7, atol=1e-9, err_msg=k)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(dm.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-7, atol=1e-9)


def test_state_dict_hooks_like_torch(torch):
    for lib in (dm, torch):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2))
        calls = []
        h1 = m[0].register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix)))

        def post(mod, sd, prefix, local_metadata):
            calls.append(("post", prefix))
            sd[prefix + "extra"] = lib.zeros(1)
        h2 = m[0].register_state_dict_post_hook(post)
        sd = m.state_dict()
        assert calls == [("pre", "0."), ("post", "0.")] and "0.extra" in sd
        h1.remove()
        h2.remove()
        assert list(m.state_dict()) == ["0.weight", "0.bias"]

        def rename(mod, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
            for k in list(state_dict):
                if k.startswith(prefix + "old_"):
                    state_dict[prefix + k[len(prefix) + 4:]] = state_dict.pop(k)
        m[0].register_load_state_dict_pre_hook(rename)
        seen = []
        m[0].register_load_state_dict_post_hook(lambda mod, keys: seen.append(list(keys.missing_keys)))
        old = {"0.old_weight": lib.ones(2, 2), "0.old_bias": lib.zeros(2)}
        res = m.load_state_dict(old)
        assert res.missing_keys == [] and res.unexpected_keys == [] and "0.old_weight" in old
        assert m[0].weight.tolist() == [[1.0, 1.0], [1.0, 1.0]] and seen == [[]]


def test_always_call_forward_hook_runs_when_a_pre_hook_raises(torch):
    for lib in (torch, dm):
        seen = []
        m = lib.nn.Linear(2, 2)
        m.register_forward_pre_hook(lambda mod, args: 1 / 0)
        m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
        m.register_forward_hook(lambda mod, args, out: seen.append("not always"))
        with pytest.raises(ZeroDivisionError):
            m(lib.ones(1, 2))
        assert seen == [None], lib.__name__
