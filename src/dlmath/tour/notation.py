"""The notes' notation cheat-sheet (section 10.5) as data: each symbol, what it means, and
what it is called in dlmath; :mod:`.report` turns it into the report's last section.

A symbol is a list of ``(text, style)`` parts, style ``"i"`` (italic), ``"b"`` (bold), ``"sub"`` or
``""``, so the report can set it as mathematics without trusting any markup. ``finds``
are regular expressions searched in each experiment's source: an experiment whose code
matches one is listed as a place where the notation is at work; no ``finds`` means the
notation is everywhere (every experiment makes tensors).
"""
from __future__ import annotations

import io
import re
import tokenize
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
             # a product of two named things (not a number times something)
             [r"\bdm\.mul\(", r"(?<![\w.])[A-Za-z_]\w*(\(\)|\[[^]]*\])?\s\*\s[A-Za-z_(]", r"\)\s\*\s[A-Za-z_(]"]),
    Notation([("δ", "i"), ("ˡ", "")],
             "error signal at layer l (∂L / ∂z at that layer's pre-activation)",
             ["dm.autograd.grad(loss, z)", "z.retain_grad(); z.grad", "dm.func.vjp"],
             [r"\bautograd\.grad\(", r"\.retain_grad\(", r"\bvjp\(", r"\bdelta\w*\s*="]),
    Notation([("d", "i"), ("model", "sub"), (", ", ""), ("d", "i"), ("k", "sub"), (", ", ""), ("h", "i")],
             "model dimension, head dimension, number of heads",
             ["nn.MultiheadAttention(embed_dim=d_model, num_heads=h)", "d_k = d_model // h",
              "F.scaled_dot_product_attention"],
             [r"\bMultiheadAttention\b", r"\bscaled_dot_product_attention\b", r"\bd_(model|k)\b", r"\bsqrt\(d(_k)?\)",
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
    """The ids (in ``sources``' order) of the experiments whose code uses ``notation``."""
    patterns = [re.compile(p) for p in notation.finds]
    return [eid for eid, source in sources.items()
            if any(p.search(line) for line in mathematics(source) for p in patterns)]


# a line that draws: ax.plot(...), ax[0].set_title(...), fig.colorbar(...), run.figure(...)
_DRAWING = re.compile(r"\b(ax\w*|fig|plt)\s*[.\[]|\brun\.figure\(")


def mathematics(source: str) -> list[str]:
    """The lines of ``source`` that compute: no decorator, docstring, comment or string text
    (a claim that names the sigmoid does not use it), and no drawing (``ax.plot(x * 10)``)."""
    lines = source.splitlines()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.COMMENT, tokenize.STRING):
                (r0, c0), (r1, c1) = token.start, token.end
                for row in range(r0 - 1, r1):
                    line = lines[row]
                    start = c0 if row == r0 - 1 else 0
                    end = c1 if row == r1 - 1 else len(line)
                    lines[row] = line[:start] + " " * (end - start) + line[end:]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # an odd source is searched as it is
    body = next((i for i, line in enumerate(lines) if line.lstrip().startswith("def ")), 0)
    return [line for line in lines[body:] if not _DRAWING.search(line)]

