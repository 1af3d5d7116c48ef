"""dir() of every public module lists what it offers (as torch's), not the helpers it imported."""
import types

import pytest

import dlmath as dm
from dlmath._dir import PUBLIC_SUBMODULES

MODULES = [dm, dm.autograd, dm.nn, dm.nn.functional, dm.nn.init, dm.nn.utils, dm.optim, dm.optim.lr_scheduler,
           dm.linalg, dm.func, dm.distributions, dm.special, dm.utils, dm.utils.data, dm.datasets, dm.random,
           dm.cuda, dm.backends, dm.accelerator]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_dir_lists_public_names_only(module):
    names = dir(module)
    assert not {"np", "math", "annotations", "make_tensor", "warnings"} & set(names)
    for name in names:
        obj = getattr(module, name)  # everything listed resolves
        assert not name.startswith("_")
        if isinstance(obj, types.ModuleType):
            assert name in PUBLIC_SUBMODULES, name
    for name in getattr(module, "__all__", ()):
        assert name in names


def test_the_top_level_lists_what_a_torch_user_looks_for():
    names = set(dir(dm))
    assert {"tensor", "zeros", "float32", "bool", "Tensor", "Size", "device", "no_grad", "manual_seed", "nn",
            "optim", "save", "load", "pi", "finfo", "explain", "sample"} <= names
    assert not {"creation", "inplace", "comparison", "ops", "serialization", "sampling"} & names
