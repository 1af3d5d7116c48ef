"""The notes' notation cheat-sheet (section 10.5) as data: each symbol, what it means, and
what it is called in dlmath; :mod:`.report` turns it into the report's last section.

A symbol is a list of ``(text, style)`` parts, style ``"i"`` (italic), ``"b"`` (bold) or
``""``, so the report can set it as mathematics without trusting any markup. ``finds``
are regular expressions searched in each experiment's source: an experiment whose code
matches one is listed as a place where the notation is at work; no ``finds`` means the
notation is everywhere (every experiment makes tensors).
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Notation:
    symbol: list
    meaning: str
    dlmath: list  # names a reader types, shown as code
    finds: list  # regular expressions over an experiment's source


NOTATION = [
    Notation([("x", "i"), (", ", ""), ("x", "b"), (", ", ""), ("W", "b")],
             "scalar, vector, matrix",
             ["dm.tensor(3.0)", "dm.tensor([1., 2.])", "dm.randn(m, n)", "x.shape", "x.dim()"],
             []),
    Notation([("ŷ", "i"), (" / ", ""), ("y", "i")],
             "prediction / ground truth",
             ["y_hat = model(x)", "target", "loss_fn(y_hat, y)"],
             [r"\by_hat\b", r"\bpred(iction)?s?\b", r"\btargets?\b"]),
    Notation([("σ", "i")],
             "activation (often the sigmoid)",
             ["dm.sigmoid", "F.sigmoid", "F.relu", "F.tanh", "nn.Sigmoid()"],
             [r"\bsigmoid\b", r"\b(F|dm)\.(relu|tanh|gelu|softplus)\b"]),
    Notation([("η", "i")],
             "learning rate",
             ["optim.SGD(params, lr=η)", "optim.Adam(params, lr=η)", "lr_scheduler"],
             [r"\blr\s*=", r"\blearning_rate\b", r"\boptim\."]),
    Notation([("L", "i"), (", ∇", ""), ("θ", "sub"), ("L", "i")],
             "loss, its gradient with respect to the parameters",
             ["loss = F.mse_loss(y_hat, y)", "loss.backward()", "p.grad", "dm.autograd.grad(loss, params)"],
             [r"\.backward\(", r"\.grad\b", r"_loss\("]),
    Notation([("⊙", "")],
             "elementwise (Hadamard) product",
             ["a * b", "dm.mul(a, b)"],
             [r"\bdm\.mul\(", r"\w\s\*\s\w"]),
    Notation([("δ", "i"), ("ˡ", "")],
             "error signal at layer l (∂L / ∂z at that layer's pre-activation)",
             ["dm.autograd.grad(loss, z)", "z.retain_grad(); z.grad", "dm.func.vjp"],
             [r"\bautograd\.grad\(", r"\.retain_grad\(", r"\bvjp\("]),
    Notation([("d", "i"), ("model", "sub"), (", ", ""), ("d", "i"), ("k", "sub"), (", ", ""), ("h", "i")],
             "model dimension, head dimension, number of heads",
             ["nn.MultiheadAttention(embed_dim=d_model, num_heads=h)", "d_k = d_model // h",
              "F.scaled_dot_product_attention"],
             [r"\bMultiheadAttention\b", r"\bscaled_dot_product_attention\b", r"\bd_(model|k)\b",
              r"\bnum_heads\b"]),
    Notation([("n", "i"), (" / ", ""), ("T", "i")],
             "sequence length / time steps",
             ["x.shape[1] (batch_first)", "nn.RNN", "nn.LSTM", "for t in range(T)"],
             [r"\bnn\.(RNN|LSTM|GRU)\b", r"\bseq(uence)?_len\b", r"\bfor t in range\("]),
    Notation([("𝔼", ""), (", ", ""), ("Var", "")],
             "expectation, variance",
             ["x.mean()", "x.var()", "d.mean, d.variance (dm.distributions)", "dm.sample"],
             [r"\.(var|std)\(", r"\.variance\b", r"\bdistributions\b", r"\bdm\.sample\b"]),
]


def appearances(notation: Notation, sources: dict[str, str]) -> list[str]:
    """The ids (in ``sources``' order) of the experiments whose source uses ``notation``."""
    patterns = [re.compile(p) for p in notation.finds]
    return [eid for eid, code in sources.items() if any(p.search(code) for p in patterns)]
