"""Edge cases the random-program fuzzer (tests/test_programs.py) found: empty and 0-d
tensors, values with extra size-1 dims, out-of-range dims. Each snippet runs with
``T`` = dlmath and = torch and must give the same results (or the same error type)."""

import numpy as np
import pytest

from helpers import dm

pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom"),  # torch's, on var of nothing
              pytest.mark.filterwarnings("ignore:Tensor.mT is deprecated on 0-D")]  # torch's

CASES = {
    "prod of a 0-d tensor along dim 0": "x = T.tensor(0.0, dtype=T.float64, requires_grad=True); y = x.prod(0); y.backward(); R = [y, x.grad]",
    "+= of a grad value into an empty slice": "t = T.tensor([[1.0, 2.0]], dtype=T.float64); v = T.tensor([3.0, 4.0], dtype=T.float64, requires_grad=True); t[2:] += v; R = [t]",
    "add_ with alpha of empty tensors": "t = T.zeros(0, dtype=T.float64); t.add_(T.zeros(0, dtype=T.float64), alpha=3); R = [t]",
    "mean of nothing, backward": "x = T.tensor([], dtype=T.float64, requires_grad=True); x.mean().backward(); R = [x.grad]",
    "var of nothing, backward": "x = T.tensor([], dtype=T.float64, requires_grad=True); x.var().backward(); R = [x.grad]",
    "std along an empty dim, backward": "x = T.zeros(2, 0, dtype=T.float64, requires_grad=True); x.std(1).sum().backward(); R = [x.grad]",
    "split and chunk of an empty tensor": "x = T.tensor([], dtype=T.float64); R = [T.tensor(float(len(x.split(2)))), T.tensor(float(len(x.chunk(2)))), T.tensor(float(len(T.zeros(0, 3).split(2, dim=0))))]",
    "setitem of a value with extra leading size-1 dims": "x = T.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=T.float64, requires_grad=True); v = T.tensor([[0.5]], dtype=T.float64, requires_grad=True); t = x * 1; t[0] = v; t.sum().backward(); R = [t, x.grad, v.grad]",
    "boolean setitem of a (1, 1) value": "t = T.tensor([[0.25, -1.0]], dtype=T.float64); t[t > 0] = T.tensor([[7.0]], dtype=T.float64); R = [t]",
    "max along dim 0 of a 0-d tensor is a new tensor": "x = T.tensor(1.5, dtype=T.float64); m = x.max(0).values; x.add_(1); R = [m]",
    "log_softmax of a 0-d tensor": "x = T.tensor(1.5, dtype=T.float64, requires_grad=True); l = x.log_softmax(0); l.backward(); R = [l, x.grad]",
    "softmax of a 0-d tensor along dim 1": "x = T.tensor(1.5, dtype=T.float64); R = [x.softmax(1)]",
    "max of a 0-d tensor along dim 1": "x = T.tensor(1.5, dtype=T.float64); R = [x.max(1).values]",
    "squeeze of a 0-d tensor along dim 1": "x = T.tensor(1.5, dtype=T.float64); R = [x.squeeze(1)]",
    "flatten of a 0-d tensor from dim 2": "x = T.tensor(1.5, dtype=T.float64); R = [x.flatten(2)]",
    "cat where only an empty tensor requires grad": "x = T.tensor([], dtype=T.float64, requires_grad=True); c = T.cat([x, T.tensor([1.0], dtype=T.float64)]); R = [T.tensor(float(c.requires_grad))]",
    "masked_fill broadcasting its input": "x = T.tensor(0.5, dtype=T.float64); R = [x.masked_fill(T.tensor([True, False]), 2.0)]",
    "masked_fill_ may not broadcast": "x = T.tensor(0.5, dtype=T.float64); x.masked_fill_(T.tensor([True, False]), 2.0); R = [x]",
    "writing a quotient in place (div saves its inputs, not its output)": "x = T.tensor([0.5, 1.5], dtype=T.float64, requires_grad=True); t = x / (x.abs() + 0.5); t[0] = 3.0; t.sum().backward(); R = [t, x.grad]",
    "writing through an expand that repeats nothing": "x = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True); t = x * 1; t.expand(1, 2).mul_(3); (t * 1).sum().backward(); R = [t, x.grad]",
    "sqrt after clamp or relu: an infinite gradient where the mask is off gives 0": "x = T.tensor([0.52, -1.0, 2.0], dtype=T.float64, requires_grad=True); (T.clamp(x, min=0.25, max=0.0).abs().sqrt().sum() + T.sqrt(T.clamp(x, min=0)).sum() + x.relu().sqrt().sum()).backward(); R = [x.grad]",
    "a NaN gradient stops at max, relu and index assignment masks": "x = T.tensor([1.0, 2.0, -0.5], dtype=T.float64, requires_grad=True); y = (x.max() + x.max(0).values + x.relu().sum()) * float('nan'); z = T.tensor([0.5, -0.25], dtype=T.float64, requires_grad=True); t = z * 1; t[0] = 3.0; (y + t.sqrt().sum()).backward(); R = [x.grad, z.grad]",
    "an expand of a 0-d tensor used after the tensor is written": "x1 = T.tensor([[0.43, -0.93], [0.62, 1.51]], dtype=T.float64, requires_grad=True); t = T.var(x1, unbiased=False); e = t.expand((2,)); t.div_(T.tensor(2.33, dtype=T.float64)); (1.2 * e.sum()).backward(); R = [e, x1.grad]",
    "in place on a repeating expand is an error": "x = T.tensor([[-0.07]], dtype=T.float64); x.expand(2, 1, 1).add_(1.5); R = [x]",
    "log_softmax of a 0-d NaN": "x = T.tensor(float('nan'), dtype=T.float64); R = [T.nn.functional.log_softmax(x, dim=0)]",
    "boolean setitem of a value that does not fit": "x0 = T.tensor([[-0.38], [2.27], [-1.41]], dtype=T.float64, requires_grad=True); t1 = T.clamp(x0, 0.25, 0.5); t1[t1 > 0] = x0; R = [t1]",
    "in place through an empty view of a 0-d base": "x1 = T.tensor(0.25, dtype=T.float64, requires_grad=True); t2 = T.div(x1, 3.5); t2.reshape((-1, 1, 1))[:, 2:3:2, ::3] /= (x1.abs() + 0.5); R = [t2]",
    "cat of a legacy empty vector that requires grad with a matrix": "y = T.ones(2, 3, dtype=T.float64); e = T.tensor([], dtype=T.float64, requires_grad=True); c = T.cat([y, e]); c.sum().backward(); R = [c, T.tensor(float(c.requires_grad)), e.grad, T.cat([e, e], dim=-2), T.cat([e, y, e], dim=1)]",
    "maximum with a number is a TypeError": "x = T.tensor([1.0, 2.0]); R = [x.maximum(3.0)]",
    "minimum with a number is a TypeError": "x = T.tensor([1.0, 2.0]); R = [T.minimum(x, 3.0)]",
    "where with a Python bool condition is a TypeError": "x = T.tensor([1.0, 2.0]); R = [T.where(True, 1.0, x)]",
    "mT of a 0-d tensor is itself": "x = T.tensor(1.5); R = [x.mT]",
    "flatten with nothing to merge is the input": "x = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True); R = [T.tensor(float(x.flatten() is x))]",
}


def _run(lib, code):
    env = {"T": lib}
    try:
        exec(code, env)
    except Exception as e:  # noqa: BLE001 - the error type is the result
        return type(e)
    return [np.asarray(r.detach().numpy()) for r in env["R"]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_case_matches_torch(name, torch):
    ours, theirs = _run(dm, CASES[name]), _run(torch, CASES[name])
    if isinstance(theirs, type):
        assert ours is theirs or (isinstance(ours, type) and issubclass(ours, theirs)), (ours, theirs)
        return
    assert not isinstance(ours, type), f"dlmath raised {ours.__name__}"
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=0)


def test_in_place_write_to_a_read_only_numpy_array_names_the_cause():
    a = np.ones(3)
    a.flags.writeable = False
    t = dm.from_numpy(a)
    with pytest.raises(RuntimeError, match="read-only"):
        t.add_(1)
    with pytest.raises(RuntimeError, match="read-only"):
        t[0] = 2.0
