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
