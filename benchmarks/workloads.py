"""Registry of benchmark workloads: name -> Workload(funcs={lib: function}).

To add a workload (W4 Hessian and W5 Jacobian are in ``w45_jacobians.py``):

1. write ``benchmarks/wN_<topic>.py`` with functions ``wN_<lib>()`` that
   import their library lazily, build data, and return either the seconds of
   one iteration or ``(seconds, check)`` -- use ``timing.per_iteration``;
   ``check`` is a float or list of floats that should agree across libraries;
2. register it below with its unit, how to turn seconds into that unit, and
   an optional target.  ``run.py --only WN`` then picks it up.

Library keys are those of ``LIBRARIES``; a workload may implement any subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# key -> (importable module that must exist, label printed in the table).
# torch and dlmath are always attempted (a failure is reported); the others
# are skipped quietly when not installed.
LIBRARIES = {
    "torch": ("torch", "PyTorch"),
    "dlmath": ("dlmath", "dlmath"),
    "numpy": ("numpy", "NumPy floor (hand-written)"),
    "numpy_as_written": ("numpy", "NumPy, user code as written"),
    "autograd": ("autograd", "HIPS autograd"),
    "mygrad": ("mygrad", "MyGrad"),
    "jax": ("jax", "JAX eager (no jit)"),
}
REQUIRED = ("torch", "dlmath", "numpy")
REFERENCE = "torch"  # the ratio column divides by this library's median


@dataclass
class Target:
    lib: str          # library under test
    ref: str          # library it is compared with
    factor: float     # lib <= factor * ref (lower is better) or >= (higher is better)


@dataclass
class Workload:
    name: str
    title: str
    unit: str
    convert: Callable[[float], float]  # seconds per iteration -> value in ``unit``
    higher_is_better: bool
    funcs: dict[str, Callable] = field(default_factory=dict)
    target: Target | None = None

    def target_text(self) -> str:
        t = self.target
        op = ">=" if self.higher_is_better else "<="
        return f"{t.lib} {self.unit} {op} {t.factor:g}x {t.ref}"


REGISTRY: dict[str, Workload] = {}


def register(wl: Workload) -> Workload:
    REGISTRY[wl.name] = wl
    return wl


def _register_builtin() -> None:
    import w1_overhead
    import w2_mlp
    import w2t_mlp
    import w45_jacobians
    import w6_recurrent
    import w8_nn

    register(Workload(
        name="W1",
        title=f"op overhead: {w1_overhead.N_OPS} elementwise ops on "
              f"{w1_overhead.N_ELEMS} float32, fwd+bwd",
        unit="us/op",
        convert=lambda s: s / w1_overhead.N_OPS * 1e6,
        higher_is_better=False,
        funcs=w1_overhead.FUNCS,
        target=Target("dlmath", "torch", 0.8),
    ))
    register(Workload(
        name="W2",
        title="MLP step: 784-512-256-10 ReLU, batch 128, float32, SGD by hand",
        unit="steps/s",
        convert=lambda s: 1.0 / s,
        higher_is_better=True,
        funcs=w2_mlp.FUNCS,
        target=Target("dlmath", "numpy", 0.95),
    ))
    register(Workload(
        name="W2T",
        title="MLP step, torch's weight layout: W (out, in), (x @ W.T + b).relu(), "
              "784-512-256-10, batch 128, float32, SGD by hand",
        unit="steps/s",
        convert=lambda s: 1.0 / s,
        higher_is_better=True,
        funcs=w2t_mlp.FUNCS,
        target=Target("dlmath", "numpy", 0.85),  # issue #9
    ))
    register(Workload(
        name="W4",
        title=f"Hessian ({w45_jacobians.D}x{w45_jacobians.D}) of the mean logistic loss, "
              f"X {w45_jacobians.N}x{w45_jacobians.D}, float64",
        unit="ms",
        convert=lambda s: s * 1e3,
        higher_is_better=False,
        funcs=w45_jacobians.FUNCS_W4,
        target=Target("dlmath", "torch", 0.5),
    ))
    register(Workload(
        name="W5",
        title=f"Jacobian ({w45_jacobians.K}x{w45_jacobians.K}) of softmax, float64",
        unit="ms",
        convert=lambda s: s * 1e3,
        higher_is_better=False,
        funcs=w45_jacobians.FUNCS_W5,
        target=Target("dlmath", "torch", 0.5),
    ))
    rnn = (f"T={w6_recurrent.T}, batch {w6_recurrent.BATCH}, input {w6_recurrent.INPUT}, "
           f"hidden {w6_recurrent.HIDDEN}, float32, loss = h_T.sum(), backward through time")
    register(Workload(
        name="W6", title="nn.RNN (tanh) step: " + rnn, unit="steps/s", convert=lambda s: 1.0 / s,
        higher_is_better=True, funcs=w6_recurrent.FUNCS_W6,
        target=Target("dlmath", "torch", 1.3),  # issue #10
    ))
    register(Workload(
        name="W7", title="nn.LSTM step: " + rnn, unit="steps/s", convert=lambda s: 1.0 / s,
        higher_is_better=True, funcs=w6_recurrent.FUNCS_W7,
        target=Target("dlmath", "torch", 1.0),  # issue #10
    ))
    register(Workload(
        name="W8", title="nn MLP step: Sequential(Linear 784-512-256-10, ReLU), F.cross_entropy, optim.SGD, "
                         "batch 128, float32",
        unit="steps/s", convert=lambda s: 1.0 / s, higher_is_better=True, funcs=w8_nn.FUNCS_W8,
        target=Target("dlmath", "torch", 1.0),  # issue #10 (also >= 0.9x the numpy floor)
    ))
    block = (f"Transformer block step: V={w8_nn.V}, d={w8_nn.D}, {w8_nn.HEADS} heads, T={w8_nn.T}, "
             f"batch {w8_nn.BATCH}, pre-LN, causal, tanh-GELU MLP 4x, Adam")
    register(Workload(
        name="W9", title=block + ", attention by hand", unit="steps/s", convert=lambda s: 1.0 / s,
        higher_is_better=True, funcs=w8_nn.FUNCS_W9, target=Target("dlmath", "torch", 1.0),  # issue #10
    ))
    register(Workload(
        name="W9S", title=block + ", F.scaled_dot_product_attention", unit="steps/s",
        convert=lambda s: 1.0 / s, higher_is_better=True, funcs=w8_nn.FUNCS_W9S,
        target=Target("dlmath", "torch", 1.0),  # issue #10
    ))


_register_builtin()
