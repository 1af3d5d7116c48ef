"""dm.func leaves nothing for the cyclic GC: results are freed when dropped (issue #9).

A reference cycle holding a Jacobian keeps it until the GC runs, ~20 calls later;
glibc then trims the freed heap and every call page-faults (W5: 0.12 -> 0.44 ms).
"""
import gc

import numpy as np
import pytest

from helpers import dm

_A = dm.tensor(np.random.default_rng(1).standard_normal((8, 16)))
_x = dm.tensor(np.random.default_rng(0).standard_normal(16))


def _f(x):
    return dm.tanh(_A @ x)


def _s(x):
    return (dm.tanh(_A @ x) ** 2).sum()


CASES = {
    "grad": lambda: dm.func.grad(_s)(_x),
    "vjp": lambda: dm.func.vjp(_f, _x)[1](dm.ones(8)),
    "vmap(vjp_fn)": lambda: dm.func.vmap(dm.func.vjp(_f, _x)[1])(dm.eye(8)),
    "jvp": lambda: dm.func.jvp(_f, (_x,), (dm.ones(16),)),
    "jacrev": lambda: dm.func.jacrev(_f)(_x),
    "jacrev softmax": lambda: dm.func.jacrev(lambda z: dm.softmax(z, dim=-1))(_x),
    "jacfwd": lambda: dm.func.jacfwd(_f)(_x),
    "hessian": lambda: dm.func.hessian(_s)(_x),
    "hvp": lambda: dm.func.hvp(_s, (_x,), (dm.ones(16),)),
    "numpy in": lambda: dm.func.jacrev(lambda z: dm.tanh(z))(np.ones(4)),
}


@pytest.mark.dlmath_only
@pytest.mark.parametrize("name", list(CASES))
def test_transform_leaves_no_garbage_cycles(name):
    call = CASES[name]
    call()
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        call()
        assert gc.collect() == 0, f"dm.func {name} built reference cycles"
    finally:
        if enabled:
            gc.enable()
