"""Programs written the way PyTorch's beginner tutorials write them, run once with dlmath bound to
the name ``torch`` and once with torch itself; every number they print must agree.

They use no randomness (dlmath does not reproduce torch's random stream): weights start from
fixed values, as a reader would set them to follow along.
"""
import contextlib
import io
import math
import re

import numpy as np
import pytest

import dlmath

POLYNOMIAL_WITH_AUTOGRAD = '''
import math
dtype = torch.float
device = "cuda" if torch.cuda.is_available() else "cpu"
torch.set_default_device(device)

# fit y = sin(x) with a third-order polynomial, gradients from autograd
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)
a = torch.tensor(0.1, dtype=dtype, requires_grad=True)
b = torch.tensor(-0.2, dtype=dtype, requires_grad=True)
c = torch.tensor(0.3, dtype=dtype, requires_grad=True)
d = torch.tensor(-0.1, dtype=dtype, requires_grad=True)
learning_rate = 1e-6
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
'''

POLYNOMIAL_WITH_NN_AND_OPTIM = '''
import math
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
with torch.no_grad():  # fixed weights instead of a random init, to follow along
    model[0].weight.copy_(torch.tensor([[0.5, -0.1, 0.05]]))
    model[0].bias.fill_(0.2)
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for t in range(400):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
linear_layer = model[0]
print(f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
      f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")
'''

TENSOR_BASICS = '''
data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
x_ones = torch.ones_like(x_data)
x_rand = torch.full_like(x_data, 0.5, dtype=torch.float)
print(x_ones.sum().item(), x_rand.mean().item())
shape = (2, 3,)
tensor = torch.ones(shape)
print(tensor.shape[0], tensor.shape[1], tensor.dtype == torch.float32, tensor.device.type == "cpu")
tensor = torch.ones(4, 4)
tensor[:, 1] = 0
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1.shape[1], t1.sum().item())
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(y1.sum().item(), y2.sum().item(), y3.sum().item(), z3.sum().item())
agg = tensor.sum()
print(agg.item(), float(agg))
tensor.add_(5)
print(tensor[0].tolist())
n = tensor.numpy()
tensor.add_(1)
print(n[0, 0], torch.from_numpy(n).sum().item())
print(torch.cumprod(torch.tensor([1.0, 2.0, 3.0]), dim=0).tolist(),
      torch.median(torch.tensor([3.0, 1.0, 2.0])).item(),
      torch.quantile(torch.tensor([1.0, 2.0, 3.0, 4.0]), 0.5).item(),
      torch.finfo(torch.float32).eps, torch.iinfo(torch.int32).max, torch.pi)
'''

PROGRAMS = {"polynomial-autograd": POLYNOMIAL_WITH_AUTOGRAD, "polynomial-nn-optim": POLYNOMIAL_WITH_NN_AND_OPTIM,
            "tensor-basics": TENSOR_BASICS}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|True|False")


def _run(program, library):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(program, "<tutorial>", "exec"), {"torch": library, "math": math})
    if hasattr(library, "set_default_device"):
        library.set_default_device(None)
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_a_tutorial_program_prints_the_same_numbers(torch, name):
    ours = _run(PROGRAMS[name], dlmath)
    theirs = _run(PROGRAMS[name], torch)
    got, expected = NUMBER.findall(ours), NUMBER.findall(theirs)
    assert len(got) == len(expected) and len(got) >= 5, (ours, theirs)
    for g, e in zip(got, expected):
        if e in ("True", "False"):
            assert g == e
        else:  # float32 training runs: agree to float32 accumulation, not bit for bit
            np.testing.assert_allclose(float(g), float(e), rtol=2e-4, atol=1e-6, err_msg=f"{ours}\n---\n{theirs}")
