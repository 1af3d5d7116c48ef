"""dm.optim against torch.optim: trajectories, parameter groups, state dicts, errors.

Every optimiser runs 20 steps of the same small problem in both libraries (a tanh MLP with a
squared loss, the same initial weights and batches) and the parameters are compared after each
step, in float64 and float32.
"""
import copy

import numpy as np
import pytest

from helpers import AGAINST_TORCH, dlmath_only, dm, dtype_name, to_numpy

RNG = np.random.default_rng(7)
INIT = [RNG.standard_normal((5, 3)) * 0.5, RNG.standard_normal(5) * 0.1,
        RNG.standard_normal((2, 5)) * 0.5, RNG.standard_normal(2) * 0.1]
BATCHES = [(RNG.standard_normal((6, 3)), RNG.standard_normal((6, 2))) for _ in range(4)]

TOL = {"float64": dict(rtol=1e-9, atol=1e-12), "float32": dict(rtol=2e-5, atol=2e-6)}

# every option of every optimiser (lr chosen so 20 steps move the weights visibly)
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.01, nesterov=True, maximize=True)),
    ("SGD", dict(lr=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True, betas=(0.8, 0.99))),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-4, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, eps=1e-5)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]


def case_id(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def make_params(lib, dtype, init=INIT):
    return [lib.tensor(np.array(a), dtype=getattr(lib, dtype), requires_grad=True) for a in init]


def loss_fn(lib, params, step, dtype):
    w1, b1, w2, b2 = params[:4]
    x, y = BATCHES[step % len(BATCHES)]
    x = lib.tensor(x, dtype=getattr(lib, dtype))
    y = lib.tensor(y, dtype=getattr(lib, dtype))
    out = (x @ w1.T + b1).tanh() @ w2.T + b2
    return ((out - y) ** 2).mean()


def train(lib, opt, params, dtype, steps, start=0):
    """``steps`` steps from batch index ``start``; the parameters after each step."""
    seen = []
    for k in range(start, start + steps):
        opt.zero_grad()
        loss_fn(lib, params, k, dtype).backward()
        opt.step()
        seen.append([to_numpy(p).copy() for p in params])
    return seen


def assert_same_trajectory(ours, theirs, dtype, what=""):
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for i, (pa, pb) in enumerate(zip(a, b)):
            assert pa.dtype == pb.dtype == np.dtype(dtype), f"{what} step {k + 1}, param {i}: dtype"
            np.testing.assert_allclose(pa, pb, **TOL[dtype], err_msg=f"{what} step {k + 1}, param {i}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch(torch, case, dtype):
    name, kw = case
    runs = []
    for lib in (dm, torch):
        params = make_params(lib, dtype)
        opt = getattr(lib.optim, name)(params, **kw)
        runs.append(train(lib, opt, params, dtype, 20))
    assert_same_trajectory(*runs, dtype, case_id(case))


@pytest.mark.parametrize("case", [c for c in CASES if c[1].get("momentum") or c[0] != "SGD"], ids=case_id)
def test_state_matches_torch(torch, case):
    """After 5 steps: the same state keys in the same order, tensors of the same shape, dtype and value."""
    name, kw = case
    states = []
    for lib in (dm, torch):
        params = make_params(lib, "float32")
        opt = getattr(lib.optim, name)(params, **kw)
        train(lib, opt, params, "float32", 5)
        states.append(opt.state_dict())
    ours, theirs = states
    assert list(ours["state"]) == list(theirs["state"])
    for idx in theirs["state"]:
        a, b = ours["state"][idx], theirs["state"][idx]
        assert list(a) == list(b), f"state keys of param {idx}"
        for key in b:
            assert isinstance(a[key], dm.Tensor), f"{key} is not a tensor"
            assert dtype_name(a[key].dtype) == dtype_name(b[key].dtype), key
            assert tuple(a[key].shape) == tuple(b[key].shape), key
            np.testing.assert_allclose(to_numpy(a[key]), to_numpy(b[key]), rtol=1e-5, atol=1e-7, err_msg=key)
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for ga, gb in zip(ours["param_groups"], theirs["param_groups"]):
        assert list(ga) == list(gb), "param group keys (and their order) as torch's"
        assert ga == gb


def test_step_dtype_follows_default_dtype(torch):
    """The step counter is a 0-d float32 tensor, float64 when the default dtype is float64."""
    prev = dm.get_default_dtype()
    try:
        for default in ("float32", "float64"):
            dm.set_default_dtype(getattr(dm, default))
            params = make_params(dm, "float32")
            opt = dm.optim.Adam(params)
            train(dm, opt, params, "float32", 1)
            step = opt.state[params[0]]["step"]
            assert step.shape == () and dtype_name(step.dtype) == default
            assert dtype_name(opt.state[params[0]]["exp_avg"].dtype) == "float32"
    finally:
        dm.set_default_dtype(prev)


# --------------------------------------------------------------- groups ----

def grouped(lib, name, params):
    if name == "SGD":
        return lib.optim.SGD([{"params": params[:2]},
                              {"params": params[2:], "lr": 0.03, "momentum": 0.5, "nesterov": True}],
                             lr=0.1, momentum=0.9)
    if name == "Adam":
        return lib.optim.Adam([{"params": params[:2], "betas": (0.8, 0.9)},
                               {"params": params[2:], "lr": 0.003, "amsgrad": True, "weight_decay": 0.1}],
                              lr=0.01)
    if name == "AdamW":
        return lib.optim.AdamW([{"params": params[:2], "weight_decay": 0.0},
                                {"params": params[2:]}], lr=0.01)
    if name == "RMSprop":
        return lib.optim.RMSprop([{"params": params[:2], "centered": True},
                                  {"params": params[2:], "momentum": 0.9, "lr": 0.001}], lr=0.01)
    return lib.optim.Adagrad([{"params": params[:2], "lr_decay": 0.1},
                              {"params": params[2:], "lr": 0.05, "weight_decay": 0.01}], lr=0.1)


NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_param_groups_match_torch(torch, name, dtype):
    runs = []
    for lib in (dm, torch):
        params = make_params(lib, dtype)
        opt = grouped(lib, name, params)
        runs.append(train(lib, opt, params, dtype, 20))
    assert_same_trajectory(*runs, dtype, name)


@pytest.mark.parametrize("name", NAMES)
def test_add_param_group_midway(torch, name):
    """Train the first layer alone for 5 steps, then add the second with its own lr."""
    runs = []
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        opt = getattr(lib.optim, name)(params[:2], lr=0.01)
        seen = train(lib, opt, params, "float64", 5)
        opt.add_param_group({"params": params[2:], "lr": 0.02})
        seen += train(lib, opt, params, "float64", 10, start=5)
        runs.append(seen)
        assert [g["lr"] for g in opt.param_groups] == [0.01, 0.02]
    assert_same_trajectory(*runs, "float64", name)


def test_parameter_without_grad_is_skipped(torch):
    """A parameter outside the loss (grad None) or frozen keeps its value and gets no state."""
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        unused = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        frozen = lib.tensor([3.0], dtype=lib.float64)
        opt = lib.optim.Adam(params + [unused, frozen], lr=0.1)
        train(lib, opt, params, "float64", 3)
        assert to_numpy(unused).tolist() == [1.0, 2.0] and to_numpy(frozen).tolist() == [3.0]
        assert unused not in opt.state and frozen not in opt.state
        assert sorted(opt.state_dict()["state"]) == [0, 1, 2, 3]


def test_named_parameters(torch):
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        opt = lib.optim.SGD([("w1", params[0]), ("b1", params[1])], lr=0.1)
        assert opt.param_groups[0]["param_names"] == ["w1", "b1"]
        assert opt.state_dict()["param_groups"][0]["param_names"] == ["w1", "b1"]


def test_defaults_and_group_keys_match_torch(torch):
    for name in NAMES:
        groups = []
        for lib in (dm, torch):
            opt = getattr(lib.optim, name)(make_params(lib, "float64"))
            groups.append({k: v for k, v in opt.param_groups[0].items() if k != "params"})
            assert opt.defaults == groups[-1]
        assert groups[0] == groups[1], name
        assert list(groups[0]) == list(groups[1]), name


# -------------------------------------------------------------- closure ----

def test_step_with_closure(torch):
    """The closure runs with grad enabled (even under no_grad) and its loss is returned."""
    results = []
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
        calls = []

        def closure():
            opt.zero_grad()
            loss = loss_fn(lib, params, 0, "float64")
            calls.append(lib.is_grad_enabled())
            loss.backward()
            return loss
        losses = []
        for _ in range(5):
            with lib.no_grad():
                losses.append(opt.step(closure).item())
        assert calls == [True] * 5
        assert opt.step() is None
        results.append((losses, [to_numpy(p) for p in params]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_step_is_not_recorded():
    params = make_params(dm, "float64")
    opt = dm.optim.Adam(params, lr=0.1)
    train(dm, opt, params, "float64", 2)
    for p in params:
        assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_zero_grad(torch):
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        opt = lib.optim.SGD(params, lr=0.1)
        loss_fn(lib, params, 0, "float64").backward()
        grad = params[0].grad
        opt.zero_grad(set_to_none=False)
        assert params[0].grad is grad and not to_numpy(grad).any()
        opt.zero_grad()
        assert all(p.grad is None for p in params)


# ----------------------------------------------------------- state dict ----

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_round_trip(case, dtype):
    """Save after 10 steps, load into a fresh optimiser on copied weights, 10 more steps: the same
    trajectory as 20 steps without stopping."""
    name, kw = case
    params = make_params(dm, dtype)
    opt = getattr(dm.optim, name)(params, **kw)
    straight = train(dm, opt, params, dtype, 20)

    params = make_params(dm, dtype)
    opt = getattr(dm.optim, name)(params, **kw)
    train(dm, opt, params, dtype, 10)
    saved = copy.deepcopy(opt.state_dict())
    weights = [to_numpy(p).copy() for p in params]

    params2 = make_params(dm, dtype, init=weights)
    opt2 = getattr(dm.optim, name)(params2, **{k: v for k, v in kw.items() if k != "lr"})  # lr comes from the dict
    opt2.load_state_dict(saved)
    resumed = train(dm, opt2, params2, dtype, 10, start=10)
    for k, (a, b) in enumerate(zip(resumed, straight[10:])):
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(pa, pb, err_msg=f"step {k + 11}")


@pytest.mark.parametrize("name", NAMES)
def test_torch_state_dict_loads_into_dlmath(torch, name):
    """A state dict saved by torch (its tensors converted) resumes the same trajectory here."""
    kw = dict(lr=0.01, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.01)
    tparams = make_params(torch, "float64")
    topt = getattr(torch.optim, name)(tparams, **kw)
    train(torch, topt, tparams, "float64", 10)
    sd = topt.state_dict()
    sd = {"state": {i: {k: (dm.tensor(v.numpy().copy()) if isinstance(v, torch.Tensor) else v)
                        for k, v in s.items()}
                    for i, s in sd["state"].items()},
          "param_groups": copy.deepcopy(sd["param_groups"])}
    params = make_params(dm, "float64", init=[to_numpy(p).copy() for p in tparams])
    opt = getattr(dm.optim, name)(params)
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.01
    ours = train(dm, opt, params, "float64", 10, start=10)
    theirs = train(torch, topt, tparams, "float64", 10, start=10)
    assert_same_trajectory(ours, theirs, "float64", name)


@dlmath_only
def test_load_copies_the_state_and_takes_numpy_arrays():
    """torch's load shares tensors of the right dtype with the dict; dlmath copies them, so the
    dict stays a snapshot while training goes on. NumPy arrays are taken as tensors."""
    params = make_params(dm, "float64")
    opt = dm.optim.Adam(params, lr=0.1)
    train(dm, opt, params, "float64", 3)
    sd = opt.state_dict()
    as_numpy = {"state": {i: {k: v.numpy().copy() for k, v in st.items()} for i, st in sd["state"].items()},
                "param_groups": sd["param_groups"]}
    opt2 = dm.optim.Adam(params)
    opt2.load_state_dict(sd)
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            assert value is not opt2.state[params[idx]][key]
    before = sd["state"][0]["exp_avg"].numpy().copy()
    train(dm, opt2, params, "float64", 1)
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].numpy(), before)
    opt3 = dm.optim.Adam(params)
    opt3.load_state_dict(as_numpy)
    st = opt3.state[params[0]]
    assert isinstance(st["exp_avg"], dm.Tensor) and isinstance(st["step"], dm.Tensor)
    assert opt3.param_groups[0]["lr"] == 0.1


def test_load_casts_state_to_param_dtype_except_step():
    params = make_params(dm, "float64")
    opt = dm.optim.Adam(params)
    train(dm, opt, params, "float64", 2)
    sd = copy.deepcopy(opt.state_dict())
    p32 = make_params(dm, "float32")
    opt32 = dm.optim.Adam(p32)
    opt32.load_state_dict(sd)
    st = opt32.state[p32[0]]
    assert dtype_name(st["exp_avg"].dtype) == "float32"
    assert dtype_name(st["step"].dtype) == dtype_name(sd["state"][0]["step"].dtype)


def test_state_dict_structure():
    params = make_params(dm, "float64")
    opt = dm.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    train(dm, opt, params, "float64", 1)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2, 3]]
    assert list(sd["state"]) == [0, 1, 2, 3]
    assert isinstance(sd["state"][0]["momentum_buffer"], dm.Tensor)
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["lr"] == 0.1


def test_load_state_dict_mismatched_groups_raise_like_torch(torch):
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        sd = lib.optim.SGD(params, lr=0.1).state_dict()
        two = lib.optim.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
        with pytest.raises(ValueError, match="different number of parameter groups"):
            two.load_state_dict(sd)
        short = lib.optim.SGD(params[:3], lr=0.1)
        with pytest.raises(ValueError, match="doesn't match the size"):
            short.load_state_dict(sd)
        with pytest.raises(KeyError):
            short.load_state_dict({"state": {}})


# --------------------------------------------------------------- errors ----

BAD = [
    ("SGD", dict(lr=-0.1), "learning rate: -0.1"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "momentum value: -0.5"),
    ("SGD", dict(lr=0.1, weight_decay=-1.0), "weight_decay value: -1.0"),
    ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    ("Adam", dict(lr=-1e-3), "learning rate: -0.001"),
    ("Adam", dict(betas=(1.0, 0.999)), "beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "beta parameter at index 1: -0.1"),
    ("Adam", dict(eps=-1e-8), "epsilon value: -1e-08"),
    ("Adam", dict(weight_decay=-0.1), "weight_decay value: -0.1"),
    ("Adam", dict(betas=(0, 0.9)), "betas must be either both floats or both Tensors"),
    ("AdamW", dict(betas=(0.9, 1.5)), "beta parameter at index 1: 1.5"),
    ("AdamW", dict(lr=-2.0), "learning rate: -2.0"),
    ("RMSprop", dict(alpha=-0.5), "alpha value: -0.5"),
    ("RMSprop", dict(momentum=-0.5), "momentum value: -0.5"),
    ("RMSprop", dict(eps=-1.0), "epsilon value: -1.0"),
    ("Adagrad", dict(lr_decay=-0.1), "lr_decay value: -0.1"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value value: -1.0"),
    ("Adagrad", dict(lr=-0.5), "learning rate: -0.5"),
]


@pytest.mark.parametrize("name,kw,msg", BAD, ids=[f"{n}-{m}" for n, _, m in BAD])
def test_bad_hyperparameters_raise_like_torch(torch, name, kw, msg):
    errors = []
    for lib in (dm, torch):
        with pytest.raises(Exception) as info:
            getattr(lib.optim, name)(make_params(lib, "float64"), **kw)
        errors.append(info.value)
    assert type(errors[0]) is type(errors[1]) is ValueError
    text = str(errors[0]).lower()
    if not AGAINST_TORCH:
        assert text.startswith(name.lower() + ":"), f"message should name the optimiser: {errors[0]}"
    assert msg.lower() in text, errors[0]


def test_bad_params_raise_like_torch(torch):
    for lib in (dm, torch):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(TypeError):
            lib.optim.SGD(p, lr=0.1)                       # a tensor, not an iterable of tensors
        with pytest.raises(ValueError, match="empty parameter list"):
            lib.optim.Adam([])
        with pytest.raises(ValueError, match="non-leaf"):
            lib.optim.Adam([p * 2])
        with pytest.raises(TypeError, match="only optimize Tensors"):
            lib.optim.Adam([[1.0, 2.0]])
        with pytest.raises(ValueError, match="more than one parameter group"):
            lib.optim.Adam([{"params": [p]}, {"params": [p]}])
        with pytest.raises(TypeError, match="ordered collections"):
            lib.optim.Adam([{"params": {p}}])
        opt = lib.optim.SGD([p], lr=0.1)
        with pytest.raises(TypeError, match="must be a dict"):
            opt.add_param_group([p])


def test_lr_required_in_custom_optimiser(torch):
    import importlib
    for lib in (dm, torch):
        required = importlib.import_module(lib.__name__ + ".optim.optimizer").required

        class Plain(lib.optim.Optimizer):
            def __init__(self, params, lr=required):
                super().__init__(params, dict(lr=lr))
        p = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
            Plain([p])
        assert Plain([{"params": [p], "lr": 0.1}]).param_groups[0]["lr"] == 0.1


@dlmath_only
def test_unsupported_switches_say_so():
    p = dm.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="Adam: differentiable=True"):
        dm.optim.Adam([p], differentiable=True)
    with pytest.raises(ValueError, match="RMSprop: capturable=True"):
        dm.optim.RMSprop([p], capturable=True)
    # foreach and fused choose among torch's kernels for the same rule: accepted, one rule here
    for flag in ("foreach", "fused"):
        opt = dm.optim.Adam([p], **{flag: True})
        assert opt.param_groups[0][flag] is True


def test_float32_stays_float32():
    params = make_params(dm, "float32")
    for name, kw in CASES:
        opt = getattr(dm.optim, name)(params, **kw)
        train(dm, opt, params, "float32", 2)
        for p in params:
            assert dtype_name(p.dtype) == "float32"
        for st in opt.state.values():
            for key, value in st.items():
                if key != "step" and isinstance(value, dm.Tensor):
                    assert dtype_name(value.dtype) == "float32", (name, key)


def test_repr(torch):
    texts = []
    for lib in (dm, torch):
        texts.append(repr(lib.optim.SGD(make_params(lib, "float64"), lr=0.1, momentum=0.9)))
    assert texts[0] == texts[1]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_tensor_lr_matches_torch(torch, name):
    """lr given as a 0-d tensor (a scheduler may then fill it in place), as torch allows."""
    runs = []
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        kw = {}
        if name.startswith("Adam"):     # float64 betas: torch computes with a tensor beta in its dtype
            kw = dict(betas=(lib.tensor(0.8, dtype=lib.float64), lib.tensor(0.99, dtype=lib.float64)))
        opt = getattr(lib.optim, name)(params, lr=lib.tensor(0.01), **kw)
        seen = train(lib, opt, params, "float64", 5)
        opt.param_groups[0]["lr"].fill_(0.003)
        seen += train(lib, opt, params, "float64", 5, start=5)
        runs.append(seen)
    assert_same_trajectory(*runs, "float64", name)


def test_tensor_lr_must_have_one_element(torch):
    for lib in (dm, torch):
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            lib.optim.SGD(make_params(lib, "float64"), lr=lib.tensor([0.1, 0.2]))


def test_step_hooks(torch):
    for lib in (dm, torch):
        opt_mod = __import__(lib.__name__ + ".optim.optimizer", fromlist=["x"])
        params = make_params(lib, "float64")
        opt = lib.optim.Adam(params, lr=0.1)
        calls = []
        h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
        h2 = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(o.state))))
        g = opt_mod.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global", None)))
        try:
            train(lib, opt, params, "float64", 1)
        finally:
            g.remove()
        assert calls == [("global", None), ("pre", True), ("post", 4)]
        h1.remove()
        h2.remove()
        train(lib, opt, params, "float64", 1)
        assert len(calls) == 3
        # a pre-hook may replace the arguments: here it supplies a closure
        opt.register_step_pre_hook(lambda o, a, k: ((o,), {"closure": lambda: 42.0}))
        assert opt.step() == 42.0


def test_state_dict_hooks(torch):
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
        train(lib, opt, params, "float64", 2)
        seen = []
        opt.register_state_dict_pre_hook(lambda o: seen.append("pre"))
        opt.register_state_dict_post_hook(lambda o, sd: dict(sd, extra=1), prepend=True)
        sd = opt.state_dict()
        assert seen == ["pre"] and sd["extra"] == 1

        def drop_extra(o, sd):
            sd.pop("extra", None)
        opt.register_load_state_dict_pre_hook(drop_extra)
        opt.register_load_state_dict_post_hook(lambda o: seen.append("loaded"))
        opt.load_state_dict(sd)
        assert seen[-1] == "loaded" and "extra" in sd       # the hook saw a shallow copy


@dlmath_only
def test_subclass_step_calling_super_runs_hooks_once():
    """torch runs the hooks twice here once the base class's step has been patched (by any
    earlier instance); dlmath wraps each class's step once and runs them once per step."""
    class Counting(dm.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)
    params = make_params(dm, "float64")
    opt = Counting(params, lr=0.1)
    calls = []
    opt.register_step_post_hook(lambda o, a, k: calls.append(1))
    train(dm, opt, params, "float64", 2)
    assert calls == [1, 1]


def test_deepcopy_and_pickle_keep_state():
    import pickle
    params = make_params(dm, "float64")
    opt = dm.optim.Adam(params, lr=0.1)
    train(dm, opt, params, "float64", 2)
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert clone.param_groups[0]["lr"] == 0.1 and len(clone.state) == 4
        clone.register_step_post_hook(lambda o, a, k: None)


@dlmath_only
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad"])
def test_complex_parameters_are_refused_by_adaptive_optimisers(name):
    """torch runs these on view_as_real(p); without it the rule would differ, so dlmath says so."""
    z = dm.tensor(np.array([1 + 2j, 3 - 1j]), requires_grad=True)
    with pytest.raises(NotImplementedError, match=f"{name}: complex parameters"):
        opt = getattr(dm.optim, name)([z])
        z.grad = dm.ones_like(z)
        opt.step()


@pytest.mark.parametrize("name", NAMES)
def test_dlmath_state_dict_loads_into_torch(torch, name):
    """The other direction: a dlmath state dict (tensors converted) resumes torch's trajectory."""
    kw = dict(lr=0.01, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.01)
    params = make_params(dm, "float32")
    opt = getattr(dm.optim, name)(params, **kw)
    train(dm, opt, params, "float32", 10)
    sd = opt.state_dict()
    tsd = {"state": {i: {k: (torch.tensor(v.detach().numpy().copy()) if isinstance(v, dm.Tensor) else v)
                         for k, v in st.items()} for i, st in sd["state"].items()},
           "param_groups": copy.deepcopy(sd["param_groups"])}
    tparams = make_params(torch, "float32", init=[to_numpy(p).copy() for p in params])
    topt = getattr(torch.optim, name)(tparams)
    topt.load_state_dict(tsd)
    theirs = train(torch, topt, tparams, "float32", 10, start=10)
    ours = train(dm, opt, params, "float32", 10, start=10)
    assert_same_trajectory(ours, theirs, "float32", name)


def test_zero_grad_detaches_a_recorded_grad(torch):
    """A gradient made with create_graph=True has a history: zero_grad(set_to_none=False) cuts it."""
    for lib in (dm, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
        assert x.grad.grad_fn is not None
        opt = lib.optim.SGD([x], lr=0.1)
        opt.zero_grad(set_to_none=False)
        assert x.grad.grad_fn is None and not x.grad.requires_grad
        assert to_numpy(x.grad).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nn_training_loop_matches_torch(torch, dtype):
    """The whole loop with modules: Sequential(Linear, Tanh, Linear) with torch's weights, MSE loss,
    AdamW and a OneCycleLR schedule stepped per batch, 20 steps; weights and losses compared."""
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    weights = {k: v.detach().numpy().astype(dtype) for k, v in ref.state_dict().items()}
    results = []
    for lib in (dm, torch):
        model = lib.nn.Sequential(lib.nn.Linear(3, 8), lib.nn.Tanh(), lib.nn.Linear(8, 2))
        model.load_state_dict({k: lib.tensor(v.copy()) for k, v in weights.items()})
        if dtype == "float64":
            model.double()
        opt = lib.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.05)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=20)
        losses = []
        for k in range(20):
            x, y = BATCHES[k % len(BATCHES)]
            x, y = lib.tensor(x, dtype=getattr(lib, dtype)), lib.tensor(y, dtype=getattr(lib, dtype))
            opt.zero_grad()
            loss = lib.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        results.append((losses, {k: to_numpy(v).copy() for k, v in model.state_dict().items()},
                        opt.param_groups[0]["betas"]))
    (l1, w1, b1), (l2, w2, b2) = results
    np.testing.assert_allclose(l1, l2, **TOL[dtype])
    assert b1 == b2
    for k in w2:
        assert w1[k].dtype == w2[k].dtype == np.dtype(dtype)
        np.testing.assert_allclose(w1[k], w2[k], **TOL[dtype], err_msg=k)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad"])
def test_legacy_numeric_step_becomes_a_tensor(torch, name):
    """A state dict from before torch 1.12 holds 'step' as a number: loading makes it a 0-d tensor."""
    for lib in (dm, torch):
        params = make_params(lib, "float64")
        opt = getattr(lib.optim, name)(params, lr=0.01)
        train(lib, opt, params, "float64", 2)
        sd = copy.deepcopy(opt.state_dict())
        for st in sd["state"].values():
            st["step"] = float(st["step"])
        opt2 = getattr(lib.optim, name)(params)
        opt2.load_state_dict(sd)
        step = opt2.state[params[0]]["step"]
        assert isinstance(step, lib.Tensor) and step.shape == () and step.item() == 2.0


# --- dm._fused_adam_ / _fused_adamw_ (torch's fused kernels: what optim.Adam's step calls) ----
def _fused_adam(adamw, amsgrad, maximize, wd):
    """The fused Adam's name and keyword arguments for one case."""
    name = "_fused_adamw_" if adamw else "_fused_adam_"
    return name, dict(lr=0.01, beta1=0.9, beta2=0.999, weight_decay=wd, eps=1e-8, amsgrad=amsgrad, maximize=maximize)


def _adam_case(lib, seed, dtype, amsgrad=True):
    """(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs (empty without amsgrad), steps)."""
    rng = np.random.default_rng(seed)
    shapes = [(5, 7), (3,), (4, 4)]
    mk = lambda s: lib.tensor(rng.standard_normal(s).astype(dtype))   # noqa: E731
    ps, gs, ms = [mk(s) for s in shapes], [mk(s) for s in shapes], [mk(s) * 0.1 for s in shapes]
    vs = [mk(s).abs() * 0.1 for s in shapes]
    vmax = [v.clone() * 1.5 for v in vs]
    steps = [lib.tensor(float(k + 1)) for k in range(len(shapes))]
    return ps, gs, ms, vs, (vmax if amsgrad else []), steps


@pytest.mark.parametrize("adamw", [False, True])
@pytest.mark.parametrize("amsgrad,maximize,wd", [(False, False, 0.0), (True, False, 0.1), (False, True, 0.05)])
def test_fused_adam_matches_torch(adamw, amsgrad, maximize, wd):
    torch = pytest.importorskip("torch")
    name, kw = _fused_adam(adamw, amsgrad, maximize, wd)
    ours, theirs = _adam_case(dm, 0, np.float32, amsgrad), _adam_case(torch, 0, np.float32, amsgrad)
    for _ in range(3):
        getattr(dm, name)(*ours, **kw)
        getattr(torch, name)(*theirs, **kw)
    for a, b in zip(ours[:5], theirs[:5]):
        for x, y in zip(a, b):
            np.testing.assert_allclose(to_numpy(x), y.numpy(), rtol=1e-5, atol=1e-6)


@dlmath_only
@pytest.mark.parametrize("amsgrad,maximize,wd,adamw", [(False, False, 0.0, False), (True, True, 0.1, False),
                                                       (False, False, 0.1, True), (True, False, 0.1, True)])
def test_fused_adam_fast_path_is_the_composed_ops(monkeypatch, amsgrad, maximize, wd, adamw):
    """The array fast path is the single-tensor Adam's in-place ops to the bit, versions included."""
    from dlmath import inplace
    name, kw = _fused_adam(adamw, amsgrad, maximize, wd)
    fast, slow = _adam_case(dm, 1, np.float32, amsgrad), _adam_case(dm, 1, np.float32, amsgrad)
    for _ in range(3):
        getattr(dm, name)(*fast, **kw)
    monkeypatch.setattr(inplace, "_adam_fast", lambda *a: False)
    for _ in range(3):
        getattr(dm, name)(*slow, **kw)
    for a, b in zip(fast[:5], slow[:5]):
        for x, y in zip(a, b):
            assert np.array_equal(x.numpy(), y.numpy())
            assert x._vc[0] == y._vc[0]


@dlmath_only
def test_fused_adam_refuses_grad_scaling_and_ragged_lists():
    ps, gs, ms, vs, vmax, steps = _adam_case(dm, 2, np.float32)
    kw = dict(lr=0.01, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)
    with pytest.raises(NotImplementedError):
        dm._fused_adam_(ps, gs, ms, vs, [], steps, grad_scale=dm.tensor(1.0), **kw)
    with pytest.raises(RuntimeError):
        dm._fused_adam_(ps, gs[:2], ms, vs, [], steps, **kw)
    with pytest.raises(RuntimeError):   # max_exp_avg_sqs without amsgrad (torch: the same)
        dm._fused_adam_(ps, gs, ms, vs, vmax, steps, **kw)
