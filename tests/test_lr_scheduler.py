"""dm.optim.lr_scheduler against torch.optim.lr_scheduler: learning-rate (and momentum) sequences
over 30 steps on optimisers with the same settings, state dicts, warnings and errors."""
import copy
import warnings

import numpy as np
import pytest

from helpers import AGAINST_TORCH, dm


def make_optimizer(lib, kind="SGD"):
    w = lib.tensor(np.ones((2, 2)), requires_grad=True)
    b = lib.tensor(np.zeros(2), requires_grad=True)
    groups = [{"params": [w]}, {"params": [b], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))
    if kind == "Adagrad":
        return lib.optim.Adagrad(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def lam(e):
    return 0.95 ** e


def lam2(e):
    return 1.0 / (1 + e)


SCHEDULES = {
    "StepLR": ("SGD", lambda L, o: L.StepLR(o, step_size=7, gamma=0.5)),
    "StepLR-default-gamma": ("SGD", lambda L, o: L.StepLR(o, 3)),
    "MultiStepLR": ("SGD", lambda L, o: L.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.3)),
    "ExponentialLR": ("SGD", lambda L, o: L.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": ("SGD", lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    "CosineAnnealingLR-7": ("Adam", lambda L, o: L.CosineAnnealingLR(o, T_max=7)),
    "LambdaLR": ("SGD", lambda L, o: L.LambdaLR(o, lr_lambda=lam)),
    "LambdaLR-list": ("SGD", lambda L, o: L.LambdaLR(o, lr_lambda=[lam, lam2])),
    "LinearLR-warmup": ("SGD", lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=8)),
    "LinearLR-decay": ("Adam", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10)),
    "LinearLR-default": ("SGD", lambda L, o: L.LinearLR(o)),
    "OneCycleLR-cos": ("SGD", lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=31)),
    "OneCycleLR-linear": ("SGD", lambda L, o: L.OneCycleLR(o, max_lr=0.4, total_steps=31,
                                                           anneal_strategy="linear", pct_start=0.25)),
    "OneCycleLR-three-phase": ("SGD", lambda L, o: L.OneCycleLR(o, max_lr=0.4, total_steps=35, three_phase=True,
                                                                base_momentum=0.8, max_momentum=0.9)),
    "OneCycleLR-adam-betas": ("Adam", lambda L, o: L.OneCycleLR(o, max_lr=0.01, epochs=3, steps_per_epoch=11,
                                                                div_factor=10.0, final_div_factor=100.0)),
    "OneCycleLR-no-momentum": ("Adagrad", lambda L, o: L.OneCycleLR(o, max_lr=0.3, total_steps=40,
                                                                    cycle_momentum=False)),
    "MultiplicativeLR": ("SGD", lambda L, o: L.MultiplicativeLR(o, lr_lambda=lambda e: 0.9 if e % 2 else 1.05)),
    "ConstantLR": ("SGD", lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=6)),
    "PolynomialLR": ("Adam", lambda L, o: L.PolynomialLR(o, total_iters=20, power=2.0)),
    "CosineAnnealingWarmRestarts": ("SGD", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2,
                                                                                      eta_min=0.001)),
    "CosineAnnealingWarmRestarts-1": ("SGD", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=7)),
    "ChainedScheduler": ("SGD", lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.5, total_iters=4), L.ExponentialLR(o, gamma=0.9)])),
    "SequentialLR-constant-warmup": ("Adam", lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.1, total_iters=3), L.PolynomialLR(o, total_iters=15)], milestones=[3])),
    "SequentialLR": ("SGD", lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=12, eta_min=0.01)],
        milestones=[5])),
    "SequentialLR-three": ("SGD", lambda L, o: L.SequentialLR(
        o, [L.ExponentialLR(o, gamma=0.8), L.StepLR(o, step_size=4, gamma=0.5),
            L.LambdaLR(o, lr_lambda=lam)], milestones=[6, 15])),
}


def momenta(opt):
    out = []
    for g in opt.param_groups:
        if "betas" in g:
            out.append(g["betas"][0])
        elif "momentum" in g:
            out.append(g["momentum"])
    return out


def run(lib, kind, make, steps=30, opt=None, sched=None):
    opt = opt or make_optimizer(lib, kind)
    sched = sched or make(lib.optim.lr_scheduler, opt)
    seen = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momenta(opt),
             getattr(sched, "last_epoch", None))]
    for _ in range(steps):
        opt.step()
        sched.step()
        seen.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momenta(opt),
                     getattr(sched, "last_epoch", None)))
    return seen, opt, sched


def assert_same_sequence(ours, theirs, what):
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a[:3], b[:3]):
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=0, err_msg=f"{what}, step {k}")
        assert a[3] == b[3], f"{what}, step {k}: last_epoch {a[3]}, torch {b[3]}"


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_sequence_matches_torch(torch, name):
    kind, make = SCHEDULES[name]
    steps = 33 if name == "OneCycleLR-adam-betas" else 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # the proper order (optimizer, then scheduler) warns of nothing
        ours, opt, _ = run(dm, kind, make, steps)
    theirs, topt, _ = run(torch, kind, make, steps)
    assert_same_sequence(ours, theirs, name)
    for g, tg in zip(opt.param_groups, topt.param_groups):
        assert set(g) == set(tg)
        for key in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):
            assert g.get(key) == tg.get(key), key


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_keys_and_values_match_torch(torch, name):
    kind, make = SCHEDULES[name]
    states = []
    for lib in (dm, torch):
        _, _, sched = run(lib, kind, make, 12)
        states.append(sched.state_dict())
    ours, theirs = states

    def plain(sd):
        return {k: v for k, v in sd.items() if k not in ("_schedulers", "lr_lambdas")}
    assert list(plain(ours)) == list(plain(theirs))
    assert plain(ours) == plain(theirs)
    if "_schedulers" in theirs:
        for a, b in zip(ours["_schedulers"], theirs["_schedulers"]):
            assert plain(a) == plain(b)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_round_trip(name):
    """Save optimiser and scheduler after 12 steps, rebuild both, load, go on: the same sequence."""
    kind, make = SCHEDULES[name]
    straight, _, _ = run(dm, kind, make, 30)
    _, opt, sched = run(dm, kind, make, 12)
    opt_sd, sched_sd = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
    opt2 = make_optimizer(dm, kind)
    sched2 = make(dm.optim.lr_scheduler, opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    resumed, _, _ = run(dm, kind, make, 18, opt=opt2, sched=sched2)
    assert_same_sequence(resumed, straight[12:], name)


def test_reduce_lr_on_plateau_matches_torch(torch):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.5, 0.5, 0.5,
               0.5, 0.5, 0.5, 0.5, 0.5, 0.4999, 0.49999, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    configs = [
        dict(),
        dict(patience=2),
        dict(mode="max", patience=1, factor=0.5),
        dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
        dict(patience=0, factor=0.2, min_lr=[0.01, 0.004]),
        dict(patience=0, factor=0.5, min_lr=0.02, eps=1e-3),
        dict(mode="max", threshold_mode="abs", threshold=0.0, patience=3, cooldown=1),
    ]
    for kw in configs:
        seqs = []
        for lib in (dm, torch):
            opt = make_optimizer(lib)
            sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
            seq = []
            for m in metrics:
                opt.step()
                sched.step(lib.tensor(m) if m < 0.6 else m)      # a 0-d tensor or a number
                seq.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                            sched.num_bad_epochs, sched.cooldown_counter, sched.best, sched.last_epoch))
            seqs.append((seq, sched.state_dict()))
        (ours, sd), (theirs, tsd) = seqs
        for k, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a[0], b[0], rtol=1e-13, err_msg=f"{kw} step {k}")
            np.testing.assert_allclose(a[1], b[1], rtol=1e-13, err_msg=f"{kw} step {k}")
            assert a[2:] == b[2:], f"{kw} step {k}"
        assert list(sd) == list(tsd) and sd == tsd


def test_reduce_lr_on_plateau_round_trip():
    opt = make_optimizer(dm)
    sched = dm.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1)
    for m in [1, 2, 2, 2]:
        sched.step(m)
    sd = copy.deepcopy(sched.state_dict())
    sched2 = dm.optim.lr_scheduler.ReduceLROnPlateau(make_optimizer(dm))
    sched2.load_state_dict(sd)
    assert sched2.mode == "max" and sched2.best == 2 and sched2._is_better(3, 2)


def test_base_class_sets_initial_lr(torch):
    for lib in (dm, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
        assert sched.base_lrs == [0.1, 0.05] and sched.last_epoch == 0 and sched.get_last_lr() == [0.1, 0.05]
        assert isinstance(sched, lib.optim.lr_scheduler.LRScheduler)
        # a second scheduler keeps the first one's initial_lr
        opt.param_groups[0]["lr"] = 0.7
        second = lib.optim.lr_scheduler.StepLR(opt, 2)
        assert second.base_lrs == [0.1, 0.05]


def test_resume_with_last_epoch(torch):
    """last_epoch >= 0 needs 'initial_lr' in the groups (KeyError without), and then resumes."""
    for lib in (dm, torch):
        L = lib.optim.lr_scheduler
        with pytest.raises(KeyError, match="initial_lr"):
            L.StepLR(make_optimizer(lib), 3, last_epoch=5)
    seqs = []
    for lib in (dm, torch):
        opt = make_optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        seq = []
        for _ in range(10):
            opt.step()
            sched.step()
            seq.append(list(sched.get_last_lr()))
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-13)


def test_step_with_epoch_uses_closed_form(torch):
    seqs = []
    for lib in (dm, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, 3, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
            sched.step(epoch=7)
        seqs.append(sched.get_last_lr())
    assert seqs[0] == seqs[1] == [0.1 * 0.25, 0.05 * 0.25]


def test_warm_restarts_with_fractional_epochs(torch):
    seqs = []
    for lib in (dm, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.01)
        seq = []
        for epoch in np.arange(0, 20, 0.37):
            opt.step()
            sched.step(float(epoch))
            seq.append(list(sched.get_last_lr()) + [sched.T_i, sched.T_cur, sched.last_epoch])
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-13)


def test_scheduler_before_optimizer_warns(torch):
    for lib in (dm, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, 3)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            sched.step()


def test_get_lr_outside_step_warns(torch):
    for lib in (dm, torch):
        sched = lib.optim.lr_scheduler.StepLR(make_optimizer(lib), 3)
        with pytest.warns(UserWarning, match="get_last_lr"):
            sched.get_lr()


def test_lambda_lr_state_dict_keeps_callable_objects(torch):
    class Scale:
        def __init__(self, f):
            self.f = f

        def __call__(self, e):
            return self.f ** e
    sds = []
    for lib in (dm, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.LambdaLR(opt, [Scale(0.5), lam])
        sds.append(sched.state_dict()["lr_lambdas"])
        other = Scale(0.9)
        sched2 = lib.optim.lr_scheduler.LambdaLR(make_optimizer(lib), [other, lam])
        sched2.load_state_dict(sched.state_dict())
        assert other.f == 0.5
    assert sds[0] == sds[1] == [{"f": 0.5}, None]


BAD = [
    ("LinearLR start_factor", lambda L, o: L.LinearLR(o, start_factor=0.0), ValueError, "start_factor=0.0"),
    ("LinearLR end_factor", lambda L, o: L.LinearLR(o, end_factor=1.5), ValueError, "end_factor=1.5"),
    ("LambdaLR count", lambda L, o: L.LambdaLR(o, [lam]), ValueError, "expected 2 lr_lambdas"),
    ("Plateau factor", lambda L, o: L.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor=1.0"),
    ("Plateau mode", lambda L, o: L.ReduceLROnPlateau(o, mode="up"), ValueError, "mode up is unknown"),
    ("Plateau threshold", lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold mode x"),
    ("Plateau min_lrs", lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs"),
    ("OneCycle steps", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=0), ValueError, "total_steps, but got 0"),
    ("OneCycle nothing", lambda L, o: L.OneCycleLR(o, 0.1), ValueError, "total_steps OR"),
    ("OneCycle pct", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), ValueError, "got 1.5"),
    ("OneCycle anneal", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "instead got exp"),
    ("OneCycle max_lr", lambda L, o: L.OneCycleLR(o, [0.1], total_steps=10), ValueError, "max_lr has 1 values"),
    ("Sequential milestones", lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]),
     ValueError, "number of milestones to be equal to 0"),
    ("Sequential plateau", lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)],
                                                       milestones=[3]), ValueError, "ReduceLROnPlateau"),
    ("ConstantLR factor", lambda L, o: L.ConstantLR(o, factor=1.5), ValueError, "factor=1.5"),
    ("MultiplicativeLR callable", lambda L, o: L.MultiplicativeLR(o, 0.9), TypeError, "got float"),
    ("WarmRestarts T_0", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0, but got 0"),
    ("WarmRestarts T_mult", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0), ValueError,
     "T_mult >= 1, but got 0"),
    ("Chained empty", lambda L, o: L.ChainedScheduler([]), ValueError, "at least one scheduler"),
    ("not an optimizer", lambda L, o: L.StepLR(object(), 2), TypeError, "object is not an Optimizer"),
]


@pytest.mark.parametrize("what,make,exc,msg", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_like_torch(torch, what, make, exc, msg):
    for lib in (dm, torch):
        with pytest.raises(exc) as info:
            make(lib.optim.lr_scheduler, make_optimizer(lib))
        if lib is dm and not AGAINST_TORCH:
            assert msg in str(info.value), info.value


def test_one_cycle_past_the_end_raises(torch):
    for lib in (dm, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            opt.step()
            sched.step()


def test_one_cycle_needs_momentum(torch):
    for lib in (dm, torch):
        opt = make_optimizer(lib, "Adagrad")
        with pytest.raises(ValueError, match="momentum or beta1"):
            lib.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LinearLR-warmup", "OneCycleLR-cos"])
def test_tensor_lr_is_filled_in_place(torch, name):
    """A 0-d tensor lr stays the same tensor: the scheduler writes into it, as torch."""
    kind, make = SCHEDULES[name]
    seqs = []
    for lib in (dm, torch):
        opt = make_optimizer(lib, kind)
        for g in opt.param_groups:
            g["lr"] = lib.tensor(g["lr"], dtype=lib.float64)
        lrs = [g["lr"] for g in opt.param_groups]
        sched = make(lib.optim.lr_scheduler, opt)
        seq = []
        for _ in range(20):
            opt.step()
            sched.step()
            last = sched.get_last_lr()
            assert all(isinstance(x, lib.Tensor) for x in last)
            assert all(x is not g["lr"] for x, g in zip(last, opt.param_groups))
            seq.append([float(x) for x in last])
        assert all(a is g["lr"] for a, g in zip(lrs, opt.param_groups))
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-13)
