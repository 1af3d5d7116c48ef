"""Test helpers: gradient checks and the PyTorch oracle, for any op.

Every function here takes the library as an argument (``lib`` = dlmath or
torch), so the helpers themselves can be checked by running them with torch
on both sides.

* ``numerical_vjp_check``: first derivatives against central differences,
  along one random direction (<u, J^T v> = <J u, v>; cheap for any shape, the
  idea of HIPS autograd's ``check_grads``) and, for small inputs, element by
  element.
* ``second_order_check``: grad-of-grad (``create_graph=True``) against central
  differences of the first-order gradient.
* ``compare_with_torch``: the same lambda run on dlmath and on torch; forward
  values, dtype, shape, ``requires_grad`` of the outputs, gradients, and the
  exception type when torch raises.

Inputs are *samples*: a tuple whose items are a shape tuple, an ``Arg``, a
NumPy array (explicit values) or a Python scalar (passed through untouched).
"""

import builtins
import os
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

AGAINST_TORCH = os.environ.get("DLMATH_TESTS_AGAINST_TORCH") == "1"
if AGAINST_TORCH:  # self-check of the suite: see conftest.py
    import torch as dm
else:
    import dlmath as dm

dlmath_only = pytest.mark.dlmath_only

FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")


def load_torch():
    """Return torch; skip the test without it, or fail if the oracle is required."""
    try:
        import torch
    except ImportError as exc:
        if os.environ.get("DLMATH_REQUIRE_ORACLE") == "1":
            pytest.fail(
                "DLMATH_REQUIRE_ORACLE=1 but the test oracle torch cannot be imported "
                f"({exc}); install it with: pip install -e '.[test]' (torch==2.13.0)",
                pytrace=False)
        pytest.skip("torch is not installed: oracle comparison skipped")
    return torch


# ----------------------------------------------------------------- dtypes ----

def dtype_name(dtype):
    """'float32' for torch.float32, dm.float32 or np.float32."""
    text = str(dtype)
    for prefix in ("torch.", "dlmath."):
        if text.startswith(prefix):
            return text[len(prefix):]
    return np.dtype(dtype).name


def is_float(t):
    return dtype_name(t.dtype) in FLOAT_NAMES


def lib_dtype(lib, name):
    return getattr(lib, name)


def to_numpy(t):
    t = t.detach()
    if getattr(t, "_is_zerotensor", lambda: False)():  # torch's lazy zeros (abs'')
        return np.zeros(tuple(t.shape), dtype=dtype_name(t.dtype))
    return t.numpy()


# ----------------------------------------------------------------- inputs ----

@dataclass(frozen=True)
class Arg:
    """A tensor argument of a sample.

    shape: its shape; domain: 'real', 'positive', 'nonzero', 'unit', 'grid'
    or 'grid_shift' (None: the op's default); dtype: None for the floating
    dtype under test, else a name such as 'int64' or 'bool'; value: explicit
    values (override shape and domain); grad: whether a floating argument
    requires grad.
    """
    shape: tuple = ()
    domain: str = None
    dtype: str = None
    value: object = None
    grad: bool = True


def _grid(rng, shape, shift):
    """Distinct values k/10 + 0.013..0.018 (+ shift): no ties, and at least
    0.013 from any multiple of 0.05 (clamp bounds, kinks) or from the other
    grid, so finite differences never straddle a kink."""
    n = int(np.prod(shape, dtype=int))
    k = rng.permutation(n) - n // 2
    vals = k * 0.1 + 0.013 + rng.uniform(0, 0.005, n) + shift
    return vals.reshape(shape)


def random_values(rng, shape, domain="real", dtype="float64"):
    domain = domain or "real"
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if not dtype.startswith(("float", "bfloat")):
        if domain == "positive":
            vals = rng.integers(1, 7, shape)
        elif domain == "nonzero":
            vals = rng.integers(1, 7, shape) * rng.choice([-1, 1], shape)
        else:
            vals = rng.integers(-6, 7, shape)
        return np.asarray(vals).astype(dtype)
    if domain == "real":
        vals = rng.standard_normal(shape)
    elif domain == "positive":
        vals = rng.uniform(0.5, 2.0, shape)
    elif domain == "nonzero":
        vals = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif domain == "unit":
        vals = rng.uniform(-0.9, 0.9, shape)
    elif domain in ("grid", "grid_shift"):
        vals = _grid(rng, shape, 0.05 if domain == "grid_shift" else 0.0)
    else:
        raise ValueError(f"unknown domain {domain!r}")
    return np.asarray(vals, dtype=np.float64).astype(dtype)


def materialize(sample, float_dtype="float64", domains="real", seed=0):
    """Turn a sample into [(value, requires_grad)] with NumPy values.

    ``domains`` is one domain for all arguments or a tuple, one per position.
    Python scalars come back unchanged with requires_grad None.
    """
    rng = np.random.default_rng(seed)
    out = []
    for i, item in enumerate(sample):
        if isinstance(domains, tuple):
            domain = domains[i] if i < len(domains) else "real"
        else:
            domain = domains
        if isinstance(item, tuple):
            item = Arg(shape=item)
        elif isinstance(item, np.ndarray):
            item = Arg(value=item)
        if not isinstance(item, Arg):
            out.append((item, None))
            continue
        if item.value is not None:
            val = np.asarray(item.value)
            if val.dtype.kind == "f" and item.dtype is None:
                val = val.astype(float_dtype)
            elif item.dtype is not None:
                val = val.astype(item.dtype)
        else:
            val = random_values(rng, item.shape, item.domain or domain,
                                item.dtype or float_dtype)
        out.append((val, bool(item.grad) and val.dtype.kind == "f"))
    return out


def build(lib, values):
    """Tensors of ``lib`` from materialize()'s output (scalars pass through)."""
    args = []
    for val, grad in values:
        if grad is None:
            args.append(val)
        else:
            args.append(lib.tensor(val, dtype=lib_dtype(lib, val.dtype.name),
                                   requires_grad=grad))
    return args


def flatten_outputs(out):
    """A tensor, or nested tuples/lists of them (max(dim=...), split) -> list."""
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in flatten_outputs(item)]
    return [out]


def _weights(rng, outs):
    return [rng.standard_normal(tuple(o.shape)) for o in outs]


def _as_lib(lib, array, like):
    return lib.tensor(np.asarray(array), dtype=like.dtype)


# ------------------------------------------------------ finite differences ----

def _scalar_objective(lib, fn, args, diff_pos, vs):
    """x -> sum_k <v_k, out_k(x)> for the floating outputs, as a float."""
    def objective(arrays):
        call = list(args)
        for pos, arr in zip(diff_pos, arrays):
            call[pos] = lib.tensor(arr, dtype=args[pos].dtype)
        outs = [o for o in flatten_outputs(fn(lib, *call)) if is_float(o)]
        return float(sum(np.sum(to_numpy(o).astype(np.float64) * v) for o, v in zip(outs, vs)))
    return objective


def _first_grads(lib, fn, args, diff_pos, vs, create_graph=False):
    """Gradients of sum_k <v_k, out_k> w.r.t. the differentiable inputs."""
    outs = [o for o in flatten_outputs(fn(lib, *args)) if is_float(o)]
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    inputs = [args[p] for p in diff_pos]
    if not live:
        return [None] * len(inputs)
    grads = lib.autograd.grad([o for o, _ in live], inputs,
                              grad_outputs=[_as_lib(lib, v, o) for o, v in live],
                              create_graph=create_graph, allow_unused=True)
    return list(grads)


def _zeros_if_none(grads, arrays):
    return [np.zeros(a.shape) if g is None else to_numpy(g).astype(np.float64)
            for g, a in zip(grads, arrays)]


def _differentiable(args):
    return [i for i, a in enumerate(args)
            if hasattr(a, "requires_grad") and a.requires_grad and is_float(a)]


def numerical_vjp_check(fn, args, lib=None, eps=1e-6, rtol=1e-5, atol=1e-6,
                        full_max_size=60, seed=0):
    """Check first derivatives of ``fn(lib, *args)`` (float64) numerically.

    Directional: <u, J^T v> from backward vs (<v, f(x+eps u)> - <v, f(x-eps u)>)
    / (2 eps); then, when the inputs have at most ``full_max_size`` elements in
    all, every partial derivative by its own central difference.
    """
    lib = lib or dm
    rng = np.random.default_rng(seed)
    diff_pos = _differentiable(args)
    if not diff_pos:
        return
    x0 = [to_numpy(args[p]).astype(np.float64) for p in diff_pos]
    vs = _weights(rng, [o for o in flatten_outputs(fn(lib, *args)) if is_float(o)])
    objective = _scalar_objective(lib, fn, args, diff_pos, vs)
    grads = _zeros_if_none(_first_grads(lib, fn, args, diff_pos, vs), x0)
    for g, x in zip(grads, x0):
        assert g.shape == x.shape, f"gradient shape {g.shape} != input shape {x.shape}"

    us = [rng.standard_normal(x.shape) for x in x0]
    fd = (objective([x + eps * u for x, u in zip(x0, us)])
          - objective([x - eps * u for x, u in zip(x0, us)])) / (2 * eps)
    analytic = sum(float(np.sum(g * u)) for g, u in zip(grads, us))
    assert np.isclose(analytic, fd, rtol=rtol, atol=atol), \
        f"directional derivative: backward gives {analytic!r}, finite differences {fd!r}"

    if sum(x.size for x in x0) > full_max_size:
        return
    for k, (g, x) in enumerate(zip(grads, x0)):
        numeric = np.zeros_like(x)
        for idx in np.ndindex(*x.shape):
            plus = [a.copy() for a in x0]
            minus = [a.copy() for a in x0]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            numeric[idx] = (objective(plus) - objective(minus)) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {diff_pos[k]}")


def second_order_check(fn, args, lib=None, eps=1e-5, rtol=1e-4, atol=1e-5, seed=1):
    """Check grad-of-grad of ``fn(lib, *args)`` (float64).

    g = autograd.grad(out, x, grad_outputs=v, create_graph=True); then
    d<g, w>/dx along u against central differences of <g(x), w>.
    """
    lib = lib or dm
    rng = np.random.default_rng(seed)
    diff_pos = _differentiable(args)
    if not diff_pos:
        return
    x0 = [to_numpy(args[p]).astype(np.float64) for p in diff_pos]
    vs = _weights(rng, [o for o in flatten_outputs(fn(lib, *args)) if is_float(o)])
    ws = [rng.standard_normal(x.shape) for x in x0]
    us = [rng.standard_normal(x.shape) for x in x0]

    def first_order_objective(arrays):
        call = list(args)
        for pos, arr in zip(diff_pos, arrays):
            call[pos] = lib.tensor(arr, dtype=args[pos].dtype, requires_grad=True)
        grads = _zeros_if_none(_first_grads(lib, fn, call, diff_pos, vs), arrays)
        return sum(float(np.sum(g * w)) for g, w in zip(grads, ws))

    grads = _first_grads(lib, fn, args, diff_pos, vs, create_graph=True)
    terms = [(g * _as_lib(lib, w, g)).sum() for g, w in zip(grads, ws)
             if g is not None and g.requires_grad]
    if terms:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        inputs = [args[p] for p in diff_pos]
        hess_w = _zeros_if_none(lib.autograd.grad(total, inputs, allow_unused=True), x0)
    else:  # the gradient does not depend on x: second derivative is zero
        hess_w = [np.zeros(x.shape) for x in x0]
    analytic = sum(float(np.sum(h * u)) for h, u in zip(hess_w, us))
    fd = (first_order_objective([x + eps * u for x, u in zip(x0, us)])
          - first_order_objective([x - eps * u for x, u in zip(x0, us)])) / (2 * eps)
    assert np.isclose(analytic, fd, rtol=rtol, atol=atol), \
        f"second derivative: grad-of-grad gives {analytic!r}, finite differences {fd!r}"


# ------------------------------------------------------------ torch oracle ----

def builtin_exception(exc_type):
    """The first builtin class in the MRO (torch._C._LinAlgError -> RuntimeError)."""
    for cls in exc_type.__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls
    return Exception


def _call(fn, lib, args):
    try:
        return fn(lib, *args), None
    except Exception as exc:  # noqa: BLE001 - the exception is the result
        return None, exc


def assert_same_exception(exc_ours, exc_torch, what="call"):
    expected = builtin_exception(type(exc_torch))
    assert exc_ours is not None, \
        f"{what}: torch raises {type(exc_torch).__name__}({exc_torch}); dlmath does not raise"
    assert isinstance(exc_ours, expected), (
        f"{what}: torch raises {expected.__name__}, dlmath raises "
        f"{type(exc_ours).__name__}: {exc_ours}")


def assert_close_tensor(ours, theirs, rtol, atol, what):
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), \
        f"{what}: dtype {dtype_name(ours.dtype)}, torch gives {dtype_name(theirs.dtype)}"
    assert tuple(ours.shape) == tuple(theirs.shape), \
        f"{what}: shape {tuple(ours.shape)}, torch gives {tuple(theirs.shape)}"
    a, b = to_numpy(ours), to_numpy(theirs)
    if is_float(theirs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


TOLERANCES = {  # (forward rtol, forward atol, gradient rtol, gradient atol)
    "float64": (1e-6, 1e-8, 1e-6, 1e-8),
    "float32": (1e-5, 1e-5, 1e-4, 1e-5),
}


def compare_with_torch(fn, sample, dtype="float64", domains="real", lib=None,
                       torch=None, tolerances=None, grad=True, seed=0):
    """Run ``fn(lib, *args)`` on dlmath and on torch and compare everything.

    ``sample`` as in ``materialize``. Checks: same exception type if torch
    raises; else the same number of outputs, each with torch's dtype, shape,
    values and requires_grad; then the gradients of sum_k (out_k * w_k).sum()
    w.r.t. every floating input (None counts as zeros).
    """
    lib = lib or dm
    torch = torch or load_torch()
    rtol, atol, grtol, gatol = tolerances or TOLERANCES.get(dtype, TOLERANCES["float64"])
    values = materialize(sample, dtype, domains, seed)
    ours_args, torch_args = build(lib, values), build(torch, values)

    torch_out, torch_exc = _call(fn, torch, torch_args)
    ours_out, ours_exc = _call(fn, lib, ours_args)
    if torch_exc is not None:
        assert_same_exception(ours_exc, torch_exc, "forward")
        return
    if ours_exc is not None:
        raise AssertionError(f"torch succeeds but dlmath raises: {ours_exc!r}") from ours_exc

    torch_outs, ours_outs = flatten_outputs(torch_out), flatten_outputs(ours_out)
    assert len(ours_outs) == len(torch_outs), \
        f"{len(ours_outs)} outputs, torch gives {len(torch_outs)}"
    for k, (o, t) in enumerate(zip(ours_outs, torch_outs)):
        assert_close_tensor(o, t, rtol, atol, f"output {k}")
        assert bool(o.requires_grad) == bool(t.requires_grad), \
            f"output {k}: requires_grad={o.requires_grad}, torch gives {t.requires_grad}"
    if not grad:
        return

    diff_pos = _differentiable(torch_args)
    live = [k for k, t in enumerate(torch_outs) if is_float(t) and t.requires_grad]
    if not diff_pos or not live:
        return
    rng = np.random.default_rng(seed + 1)
    ws = {k: rng.standard_normal(tuple(torch_outs[k].shape)) for k in live}

    def gradients(mod, args, outs):
        loss = sum((outs[k] * _as_lib(mod, ws[k], outs[k])).sum() for k in live)
        return mod.autograd.grad(loss, [args[p] for p in diff_pos], allow_unused=True)

    torch_grads, torch_exc = _call(lambda mod, *a: gradients(mod, list(a), torch_outs),
                                   torch, torch_args)
    ours_grads, ours_exc = _call(lambda mod, *a: gradients(mod, list(a), ours_outs),
                                 lib, ours_args)
    if torch_exc is not None:
        assert_same_exception(ours_exc, torch_exc, "backward")
        return
    if ours_exc is not None:
        raise AssertionError(f"torch backward succeeds but dlmath raises: {ours_exc!r}") \
            from ours_exc
    for p, g_ours, g_torch in zip(diff_pos, ours_grads, torch_grads):
        if g_torch is None:
            g_torch = torch.zeros_like(torch_args[p])
        if g_ours is None:
            g_ours = lib.zeros_like(ours_args[p])
        assert_close_tensor(g_ours, g_torch, grtol, gatol, f"gradient of input {p}")


def assert_raises_like_torch(fn, *args, torch=None, lib=None):
    """``fn(lib)`` must raise, with the builtin exception type torch raises.

    Returns dlmath's exception so the caller can check the message.
    """
    lib = lib or dm
    torch = torch or load_torch()
    _, torch_exc = _call(fn, torch, args)
    assert torch_exc is not None, "torch does not raise: the test is wrong"
    _, ours_exc = _call(fn, lib, args)
    assert_same_exception(ours_exc, torch_exc)
    return ours_exc


def grads_like_torch(fn, *arrays, torch=None, lib=None, rtol=1e-6, atol=1e-8):
    """Forward and ``out.sum().backward()`` gradients, dlmath vs torch, for
    float64 arrays (all requiring grad); for hand-written edge cases."""
    lib = lib or dm
    torch = torch or load_torch()
    results = []
    for mod in (lib, torch):
        xs = [mod.tensor(np.asarray(a, dtype=np.float64), dtype=mod.float64,
                         requires_grad=True) for a in arrays]
        out = fn(mod, *xs)
        out.sum().backward()
        results.append((to_numpy(out), [to_numpy(x.grad) for x in xs]))
    (out_ours, g_ours), (out_torch, g_torch) = results
    np.testing.assert_allclose(out_ours, out_torch, rtol=rtol, atol=atol, equal_nan=True)
    for a, b in zip(g_ours, g_torch):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    return out_ours, g_ours


# --- snippets run once with each library ---------------------------------------------------
def run_snippet(lib, code):
    """Run ``code`` with ``T`` bound to ``lib`` (dm or torch): its list ``R``, or the type of
    the exception it raised (warnings silenced: torch's deprecation notes are not results)."""
    env = {"T": lib}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(code, env)
    except Exception as e:  # noqa: BLE001 - the error type is the result
        return type(e)
    return env["R"]


def assert_snippets_agree(ours, theirs, where, compare=None):
    """dlmath's and torch's results of one snippet agree: the same builtin exception type, or
    the same number of results, each equal (numbers) or of equal dtype, shape and values.
    ``compare(a, b, where)`` checks one result pair instead of the default."""
    if isinstance(theirs, type):
        assert isinstance(ours, type), f"{where}: torch raises {theirs.__name__}, dlmath returns {ours}"
        base = next(c for c in theirs.__mro__ if c.__module__ == "builtins")
        assert issubclass(ours, base), (where, ours, theirs)
        return
    assert not isinstance(ours, type), f"{where}: dlmath raised {ours.__name__}"
    assert len(ours) == len(theirs), where
    for k, (a, b) in enumerate(zip(ours, theirs)):
        (compare or _same_result)(a, b, f"{where}: result {k}")


def _same_result(a, b, where):
    if isinstance(b, (int, float, bool)):
        assert a == b, (where, a, b)
        return
    assert dtype_name(a.dtype) == dtype_name(b.dtype), (where, a.dtype, b.dtype)
    assert tuple(a.shape) == tuple(b.shape), (where, tuple(a.shape), tuple(b.shape))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-12, equal_nan=True,
                               err_msg=str(where))
