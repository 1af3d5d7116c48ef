"""One table of ops (OpInfo style) that drives the generic tests.

Each entry: a name, a lambda ``fn(lib, *args)`` written once for both dlmath
and torch, sample inputs (see ``helpers.materialize``: shape tuples, ``Arg``,
explicit NumPy arrays, Python scalars), the domain of the random inputs
(one for all, or a tuple per position), and flags:

* ``grad``: floating inputs require grad (False for ops torch does not
  differentiate, like ``//``);
* ``fd``: the op has a differentiable floating output, so finite differences
  and gradient shapes are meaningful (False for comparisons, argmax,
  indices; the domains keep inputs away from kinks);
* ``twice``: twice differentiable (second-order check).

A new op gets every generic test (torch oracle in float64 and float32,
finite differences, second derivatives, gradient shapes) by being listed.
"""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from helpers import Arg


@dataclass
class OpInfo:
    name: str
    fn: Callable
    samples: list
    domain: object = "real"
    grad: bool = True
    fd: bool = True
    twice: bool = True
    tolerances: dict = field(default_factory=dict)  # dtype -> 4-tuple, see helpers


OPS = []


def op(name, fn, samples, **kw):
    OPS.append(OpInfo(name, fn, samples, **kw))


# ------------------------------------------------------------ arithmetic ----
BINARY = [((3, 4), (3, 4)), ((3, 1, 4), (5, 4)), ((), (3, 4)), ((2, 3), ()), ((4,), (3, 1))]
WITH_SCALARS = BINARY + [((3, 4), 2.5), (2.5, (3, 4)), ((2, 3), 2), (3, (2, 3))]

op("add", lambda lib, a, b: a + b, WITH_SCALARS)
op("sub", lambda lib, a, b: a - b, WITH_SCALARS)
op("mul", lambda lib, a, b: a * b, WITH_SCALARS)
op("div", lambda lib, a, b: a / b, WITH_SCALARS, domain=("nonzero", "nonzero"))
op("add_fn_alpha", lambda lib, a, b: lib.add(a, b, alpha=2), BINARY)
op("sub_fn", lambda lib, a, b: lib.sub(a, b), BINARY)
op("mul_fn", lambda lib, a, b: lib.mul(a, b), BINARY)
op("div_fn", lambda lib, a, b: lib.div(a, b), BINARY, domain=("real", "nonzero"))
op("floordiv", lambda lib, a, b: a // b,
   BINARY + [((3, 4), 0.7), (2.5, (3, 4))], domain=("real", "nonzero"), grad=False)
op("floordiv_int", lambda lib, a, b: a // b,
   [(Arg((3, 4), dtype="int64"), Arg((3, 4), dtype="int64", domain="nonzero")),
    (Arg((3, 4), dtype="int64"), 2), (-7, Arg((4,), dtype="int64", domain="nonzero"))],
   grad=False)
op("int_true_div", lambda lib, a, b: a / b,
   [(Arg((3, 4), dtype="int64"), Arg((3, 4), dtype="int64", domain="nonzero")),
    (Arg((3,), dtype="int64"), 2)], grad=False)
op("pow", lambda lib, a, b: a ** b, BINARY + [(2.0, (3, 4))], domain=("positive", "real"))
op("pow_fn", lambda lib, a, b: lib.pow(a, b), BINARY, domain=("positive", "real"))
# 0 ** 0 with a tensor exponent: d/da is 0 where b == 0, as torch (not 0 * 0^-1 = NaN)
op("pow_zero_zero", lambda lib, a, b: a ** b,
   [(np.array([0.0, 1.5, 2.0, 0.0]), np.array([0.0, 0.0, 2.0, 3.0]))], fd=False)
op("pow_scalar_base_fn", lambda lib, a: lib.pow(2.0, a), [((3, 4),), ((),)])
for exponent in (2, 3, -2, 0):
    op(f"pow_int_{exponent}", lambda lib, a, e=exponent: a ** e, [((3, 4),), ((),)],
       domain="nonzero")
for exponent in (0.5, -1.5, 2.5):
    op(f"pow_float_{exponent}", lambda lib, a, e=exponent: a.pow(e), [((3, 4),), ((),)],
       domain="positive")
op("neg_operator", lambda lib, a: -a, [((3, 4),), ((),)])

# --------------------------------------------------------------- unary ----
UNARY = {  # name -> domain
    "neg": "real", "exp": "real", "log": "positive", "log1p": "positive",
    "expm1": "real", "sqrt": "positive", "rsqrt": "positive", "abs": "nonzero",
    "sign": "nonzero", "sin": "real", "cos": "real", "tanh": "real",
    "sigmoid": "real", "relu": "nonzero", "square": "real", "reciprocal": "nonzero",
}
UNARY_SHAPES = [((3, 4),), ((),), ((2, 3, 4),), ((0, 3),)]
for _name, _domain in UNARY.items():
    op(_name, lambda lib, a, n=_name: getattr(a, n)(), UNARY_SHAPES, domain=_domain)
    op(f"{_name}_fn", lambda lib, a, n=_name: getattr(lib, n)(a), [((3, 4),)], domain=_domain)

# --------------------------------------------------- clamp, max, where ----
GRID2 = ("grid", "grid_shift")
op("clamp", lambda lib, a: a.clamp(-0.5, 0.5), [((4, 5),), ((),)], domain="grid")
op("clamp_min", lambda lib, a: a.clamp(min=-0.3), [((4, 5),)], domain="grid")
op("clamp_max", lambda lib, a: a.clamp(max=0.3), [((4, 5),)], domain="grid")
op("clamp_fn", lambda lib, a: lib.clamp(a, -0.5, 0.5), [((4, 5),)], domain="grid")
op("clamp_tensor_bounds", lambda lib, a, lo, hi: lib.clamp(a, min=lo, max=hi),
   [((3, 4), (4,), np.array([[0.35], [0.45], [2.0]]))], domain=("grid", "grid_shift"))
op("maximum", lambda lib, a, b: lib.maximum(a, b), BINARY, domain=GRID2)
op("minimum", lambda lib, a, b: lib.minimum(a, b), BINARY, domain=GRID2)
op("max_binary", lambda lib, a, b: lib.max(a, b), BINARY[:2], domain=GRID2)
op("where", lambda lib, c, a, b: lib.where(c, a, b),
   [(Arg((3, 4), dtype="bool"), (3, 4), (3, 4)),
    (Arg((3, 1), dtype="bool"), (1, 4), ()),
    (Arg((2, 1, 4), dtype="bool"), (3, 1), (4,))])
op("where_scalar_branch", lambda lib, a: lib.where(a > 0, a, 0.0), [((3, 4),)], domain="nonzero")
op("where_scalar_first", lambda lib, a: lib.where(a > 0, 1.5, a), [((3, 4),)], domain="nonzero")
EQ_A = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
EQ_B = np.array([[1.0, 0.0, 3.0], [0.5, 2.0, -2.0]])
COMPARE = [(EQ_A, EQ_B), (EQ_A, np.array([1.0, 2.0, 2.0])), (EQ_A, 2.0),
           (Arg((3, 4), dtype="int64"), Arg((4,), dtype="int64")),
           (Arg((3,), dtype="int64"), 1.5)]
for _name, _fn in {
    "lt": lambda lib, a, b: a < b, "le": lambda lib, a, b: a <= b,
    "gt": lambda lib, a, b: a > b, "ge": lambda lib, a, b: a >= b,
    "eq": lambda lib, a, b: a == b, "ne": lambda lib, a, b: a != b,
}.items():  # with a Python scalar on the left, the reflected operator
    op(f"compare_{_name}", _fn, COMPARE + [(2.0, EQ_A)], fd=False)
op("compare_eq_fn", lambda lib, a, b: lib.eq(a, b), COMPARE, fd=False)
op("compare_gt_fn", lambda lib, a, b: lib.gt(a, b), COMPARE, fd=False)

# --------------------------------------------------------------- casts ----
# a cast to an integer or bool dtype is not differentiable: no requires_grad
op("cast_long", lambda lib, a: a.long(), [((3, 4),)], domain="grid", fd=False)
op("cast_to_int32", lambda lib, a: a.to(lib.int32), [((3, 4),)], domain="grid", fd=False)
op("cast_bool", lambda lib, a: a.bool(), [((3, 4),)], domain="nonzero", fd=False)
op("cast_double", lambda lib, a: a.double() * 2, [((3, 4),)])

# ---------------------------------------------------------- reductions ----
R3 = [((3, 4, 5),)]
op("sum", lambda lib, a: a.sum(), [((3, 4),), ((),), ((0, 3),)])
op("sum_dim", lambda lib, a: a.sum(dim=1), R3)
op("sum_dims_keepdim", lambda lib, a: a.sum(dim=(0, 2), keepdim=True), R3)
op("sum_neg_dim", lambda lib, a: lib.sum(a, -1), R3)
op("sum_axis_alias", lambda lib, a: a.sum(axis=1), R3)
op("mean", lambda lib, a: a.mean(), [((3, 4),), ((),)])
op("mean_dim", lambda lib, a: a.mean(dim=-1, keepdim=True), R3)
op("mean_axis_fn", lambda lib, a: lib.mean(a, axis=(0, 1)), R3)
for _red in ("var", "std"):
    op(_red, lambda lib, a, r=_red: getattr(a, r)(), [((3, 4),)])
    op(f"{_red}_dim", lambda lib, a, r=_red: getattr(a, r)(dim=1), R3)
    op(f"{_red}_correction0", lambda lib, a, r=_red: getattr(a, r)(dim=1, correction=0), R3)
    op(f"{_red}_correction0_all", lambda lib, a, r=_red: getattr(a, r)(correction=0), R3)
    op(f"{_red}_fn_keepdim", lambda lib, a, r=_red:
       getattr(lib, r)(a, dim=(0, 2), keepdim=True, correction=1), R3)
    op(f"{_red}_positional_unbiased", lambda lib, a, r=_red: getattr(a, r)(1, False), R3)
    op(f"{_red}_positional_unbiased_keepdim", lambda lib, a, r=_red:
       getattr(lib, r)(a, -1, True, True), R3)
    op(f"{_red}_unbiased_only", lambda lib, a, r=_red: getattr(a, r)(False), R3)
# a constant row: std is 0 there and torch's derivative is 0 (not 0 * inf = NaN)
STD_CONSTANT = np.array([[1.5, 1.5, 1.5], [1.0, 2.0, 3.5]])
op("std_constant_row", lambda lib, a: a.std(dim=1), [(STD_CONSTANT,)], fd=False)
op("std_constant_all", lambda lib, a: a[0].std(correction=0), [(STD_CONSTANT,)], fd=False)
PROD_ZEROS = np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [1.0, -2.0, 0.5]])
op("prod", lambda lib, a: a.prod(), [((3, 4),), (PROD_ZEROS,)], domain="nonzero")
op("prod_dim", lambda lib, a: a.prod(dim=1), [((3, 4),), (PROD_ZEROS,)], domain="nonzero")
op("prod_dim_keepdim", lambda lib, a: lib.prod(a, 0, keepdim=True), [((3, 4),)],
   domain="nonzero")
for _red in ("max", "min"):
    op(_red, lambda lib, a, r=_red: getattr(a, r)(), [((3, 4),), ((),)], domain="grid")
    op(f"{_red}_dim", lambda lib, a, r=_red: getattr(a, r)(dim=1), R3, domain="grid")
    op(f"{_red}_dim_keepdim", lambda lib, a, r=_red: getattr(a, r)(0, keepdim=True), R3,
       domain="grid")
    op(f"{_red}_dim_values", lambda lib, a, r=_red: getattr(a, r)(dim=-1).values, R3,
       domain="grid")
    op(f"{_red}_dim_indices", lambda lib, a, r=_red: getattr(a, r)(dim=-1).indices, R3,
       domain="grid", fd=False)
    op(f"{_red}_dim_unpack", lambda lib, a, r=_red: getattr(lib, r)(a, 1)[0] * 2, R3,
       domain="grid")
    op(f"arg{_red}", lambda lib, a, r=_red: getattr(a, f"arg{r}")(), [((3, 4),)], domain="grid",
       fd=False)
    op(f"arg{_red}_dim", lambda lib, a, r=_red: getattr(a, f"arg{r}")(dim=1), R3, domain="grid",
       fd=False)
    op(f"arg{_red}_keepdim_fn", lambda lib, a, r=_red:
       getattr(lib, f"arg{r}")(a, dim=0, keepdim=True), R3, domain="grid", fd=False)
    op(f"a{_red}", lambda lib, a, r=_red: getattr(a, f"a{r}")(), [((3, 4),)], domain="grid")
    op(f"a{_red}_dim", lambda lib, a, r=_red: getattr(a, f"a{r}")(dim=1), R3, domain="grid")
    op(f"a{_red}_dims_keepdim", lambda lib, a, r=_red:
       getattr(lib, f"a{r}")(a, dim=(0, 2), keepdim=True), R3, domain="grid")
op("prod_axis_alias", lambda lib, a: a.prod(axis=1), R3, domain="nonzero")
op("amax_axis_alias", lambda lib, a: a.amax(axis=1), R3, domain="grid")
op("amin_axis_alias_fn", lambda lib, a: lib.amin(a, axis=(0, 2), keepdim=True), R3, domain="grid")
op("cumsum_axis_alias", lambda lib, a: lib.cumsum(a, axis=-1), R3)
# an empty batch reduced along a non-empty dim: an empty result, not an error
op("max_dim_empty_batch", lambda lib, a: a.max(dim=1), [((0, 3),)], fd=False)
op("argmin_empty_batch", lambda lib, a: a.argmin(-1), [((0, 3),)], fd=False)
op("amax_empty_batch", lambda lib, a: lib.amax(a, 1, keepdim=True), [((0, 3),)], fd=False)
op("logsumexp", lambda lib, a: a.logsumexp(dim=1), R3 + [((3, 4),)])
op("logsumexp_keepdim", lambda lib, a: a.logsumexp(-1, keepdim=True), R3)
op("logsumexp_fn_dims", lambda lib, a: lib.logsumexp(a, dim=(0, 2)), R3)
op("norm", lambda lib, a: a.norm(), [((3, 4),)])
op("norm_dim", lambda lib, a: a.norm(dim=1), R3)

# ----------------------------------------------------------- shape ops ----
S = [((3, 4),)]
op("reshape", lambda lib, a: a.reshape(4, 3), S)
op("reshape_tuple_infer", lambda lib, a: a.reshape((2, -1)), S)
op("reshape_fn", lambda lib, a: lib.reshape(a, (12,)), S)
op("reshape_0d", lambda lib, a: a.reshape(1, 1), [((),)])
op("view", lambda lib, a: a.view(2, 6), S)
op("view_infer", lambda lib, a: a.view(-1), S)
op("flatten", lambda lib, a: a.flatten(), R3)
op("flatten_start", lambda lib, a: a.flatten(1), R3)
op("flatten_fn_range", lambda lib, a: lib.flatten(a, start_dim=0, end_dim=1), R3)
op("squeeze", lambda lib, a: a.squeeze(), [((3, 1, 4, 1),)])
op("squeeze_dim", lambda lib, a: a.squeeze(1), [((3, 1, 4, 1),)])
op("squeeze_dim_not_one", lambda lib, a: a.squeeze(0), [((3, 1, 4, 1),)])
op("unsqueeze", lambda lib, a: a.unsqueeze(0), S + [((),)])
op("unsqueeze_neg", lambda lib, a: lib.unsqueeze(a, -1), S)
op("transpose", lambda lib, a: a.transpose(0, 1), S + R3)
op("transpose_neg", lambda lib, a: lib.transpose(a, -1, -3), R3)
op("permute", lambda lib, a: a.permute(2, 0, 1), R3)
op("permute_tuple", lambda lib, a: lib.permute(a, (1, 2, 0)), R3)
op("T", lambda lib, a: a.T, S)
op("mT", lambda lib, a: a.mT, S + R3)
op("expand", lambda lib, a: a.expand(2, 3, 4), [((3, 1),)])
op("expand_keep", lambda lib, a: a.expand(-1, 4), [((3, 1),)])
op("expand_0d", lambda lib, a: a.expand(2, 3), [((),)])
op("repeat", lambda lib, a: a.repeat(2, 3), S)
op("repeat_new_dim", lambda lib, a: a.repeat(2, 1, 1), S)
op("cat", lambda lib, a, b: lib.cat([a, b]), [((2, 3), (4, 3))])
op("cat_dim1", lambda lib, a, b, c: lib.cat((a, b, c), dim=1), [((2, 3), (2, 1), (2, 2))])
op("cat_neg_dim", lambda lib, a, b: lib.cat([a, b], dim=-1), [((2, 3, 1), (2, 3, 2))])
op("stack", lambda lib, a, b: lib.stack([a, b]), [((2, 3), (2, 3)), ((), ())])
op("stack_dim", lambda lib, a, b, c: lib.stack((a, b, c), dim=-1), [((2, 3), (2, 3), (2, 3))])
op("split", lambda lib, a: a.split(2), [((5, 3),)])
op("split_sizes", lambda lib, a: a.split([1, 3], dim=1), S)
op("split_fn", lambda lib, a: lib.split(a, 2, dim=-1), S)
op("chunk", lambda lib, a: a.chunk(3, dim=1), [((2, 7),)])
op("chunk_fn", lambda lib, a: lib.chunk(a, 2), [((5, 3),)])

# ------------------------------------------------------------ indexing ----
INDEXING = {
    "int": lambda lib, a: a[1],
    "neg_int": lambda lib, a: a[-1, 2],
    "slice": lambda lib, a: a[1:3],
    "step": lambda lib, a: a[:, ::2],
    "ellipsis": lambda lib, a: a[..., 1],
    "none": lambda lib, a: a[None, 1:, None],
    "mixed": lambda lib, a: a[1:, 2, ::2],
    "scalar_elem": lambda lib, a: a[1, 2, 0],
    "int_array_repeated": lambda lib, a: a[[0, 2, 0, 0]],
    "tensor_index_repeated": lambda lib, a: a[lib.tensor([[0, 1], [1, 1]])],
    "int_array_pair": lambda lib, a: a[[0, 1, 0], [2, 2, 2]],
    "int_array_dim1": lambda lib, a: a[:, [1, 1, 3]],
    "int_array_separated": lambda lib, a: a[[0, 0], :, [1, 1]],
    "int_array_negative": lambda lib, a: a[[-1, -1, 0]],
    "empty_list": lambda lib, a: a[[]],
    "empty_list_dim1": lambda lib, a: a[:, []],
    "bool_mask_self": lambda lib, a: a[a > 0],
    "bool_mask_dim0": lambda lib, a: a[lib.tensor([True, False, True, True])],
    "bool_mask_dim1": lambda lib, a: a[:, lib.tensor([False, True, True, False, True])],
}
for _name, _fn in INDEXING.items():
    op(f"index_{_name}", _fn, [((4, 5, 3),)], domain="nonzero")

GATHER_IDX = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])
SCATTER_IDX = np.array([[0, 2, 2, 1], [2, 2, 0, 1]])
op("gather", lambda lib, a, idx: a.gather(1, idx), [((3, 4), GATHER_IDX)])
op("gather_fn_dim0", lambda lib, a, idx: lib.gather(a, 0, idx), [((4, 3), GATHER_IDX)])
op("scatter_add", lambda lib, a, idx, src: a.scatter_add(0, idx, src),
   [((3, 4), SCATTER_IDX, (2, 4))])
op("scatter_add_fn_dim1", lambda lib, a, idx, src: lib.scatter_add(a, 1, idx, src),
   [((2, 3), SCATTER_IDX[:, :3], (2, 3))])
op("masked_fill", lambda lib, a, m: a.masked_fill(m, -1.5),
   [((3, 4), Arg((3, 4), dtype="bool")), ((3, 4), Arg((3, 1), dtype="bool"))])
op("masked_fill_self_mask", lambda lib, a: a.masked_fill(a > 0, 0.0), [((3, 4),)],
   domain="nonzero")
op("tril", lambda lib, a: a.tril(), [((4, 4),), ((2, 3, 4),)])
op("tril_neg", lambda lib, a: a.tril(-1), [((3, 5),)])
op("triu", lambda lib, a: a.triu(1), [((4, 4),), ((2, 3, 4),)])
op("triu_fn", lambda lib, a: lib.triu(a, diagonal=-1), [((5, 3),)])

# ----------------------------------------------------- linear algebra ----
MATMUL = [((4,), (4,)), ((3,), (3, 4)), ((3, 4), (4,)), ((3, 4), (4, 5)),
          ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (4,)), ((4,), (2, 4, 5)),
          ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2))]
op("matmul_operator", lambda lib, a, b: a @ b, MATMUL)
op("matmul_fn", lambda lib, a, b: lib.matmul(a, b), MATMUL)
op("dot", lambda lib, a, b: lib.dot(a, b), [((4,), (4,))])
op("dot_method", lambda lib, a, b: a.dot(b), [((3,), (3,))])
op("outer", lambda lib, a, b: lib.outer(a, b), [((3,), (4,))])
op("inner", lambda lib, a, b: lib.inner(a, b),
   [((4,), (4,)), ((3, 4), (2, 4)), ((2, 3, 4), (4,)), ((3,), (2, 1, 3)), ((), (3, 4))])
op("inner_method", lambda lib, a, b: a.inner(b), [((3, 4), (4,))])
EINSUM = {
    "ij,jk->ik": [(3, 4), (4, 5)], "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)],
    "ij->ji": [(3, 4)], "ii->i": [(3, 3)], "ii": [(3, 3)], "i,i->": [(4,), (4,)],
    "ij->": [(3, 4)], "i,j->ij": [(3,), (4,)], "ij,ij->i": [(3, 4), (3, 4)],
    "...ij,...jk->...ik": [(2, 3, 4), (2, 4, 2)], "ij,jk": [(3, 4), (4, 2)],
    "bi,bj->bij": [(2, 3), (2, 4)],
}
for _eq, _shapes in EINSUM.items():
    op(f"einsum[{_eq}]", lambda lib, *ts, eq=_eq: lib.einsum(eq, *ts), [tuple(_shapes)])
op("einsum_list_operands", lambda lib, a, b: lib.einsum("ij,jk->ik", [a, b]),
   [((3, 4), (4, 5))])

# ------------------------------------------------------------- softmax ----
op("softmax", lambda lib, a: a.softmax(dim=-1), R3 + [((4,),)])
op("softmax_dim0", lambda lib, a: a.softmax(0), R3)
op("softmax_fn", lambda lib, a: lib.softmax(a, dim=1), R3)
op("log_softmax", lambda lib, a: a.log_softmax(dim=-1), R3 + [((4,),)])
op("log_softmax_fn", lambda lib, a: lib.log_softmax(a, 1), R3)

OPS_BY_NAME = {o.name: o for o in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"


def cases(predicate=lambda o: True):
    """(id, op, sample) triples for pytest.mark.parametrize."""
    return [(f"{o.name}-{i}", o, s) for o in OPS if predicate(o)
            for i, s in enumerate(o.samples)]

# ---------------------------------------------------- composites (ops/composite.py) ----
op("narrow", lambda lib, a: a.narrow(1, 1, 2), [((3, 4),)])
op("narrow_neg_start", lambda lib, a: lib.narrow(a, 0, -2, 2), [((3, 4),)])
op("select", lambda lib, a: a.select(1, -1), [((3, 4),), ((2, 3, 4),)])
op("select_function", lambda lib, a: lib.select(a, 0, 1), [((3, 4),)])
op("roll", lambda lib, a: a.roll(1, 1), [((3, 4),)])
op("roll_multi", lambda lib, a: lib.roll(a, (2, -1), (0, 1)), [((3, 4),)])
op("roll_flat", lambda lib, a: lib.roll(a, 5), [((3, 4),)])
op("tile", lambda lib, a: a.tile((2, 1, 3)), [((3, 4),)])
op("diagonal", lambda lib, a: a.diagonal(), [((4, 4),), ((3, 5),)])
op("diagonal_offset_dims", lambda lib, a: lib.diagonal(a, 1, 0, 2), [((3, 2, 4),)])
op("diagonal_neg_offset", lambda lib, a: lib.diagonal(a, -1), [((4, 3),)])
op("diag_vector", lambda lib, a: lib.diag(a), [((4,),)])
op("diag_vector_offset", lambda lib, a: lib.diag(a, -2), [((3,),)])
op("diag_matrix", lambda lib, a: lib.diag(a, 1), [((4, 4),)])
op("trace", lambda lib, a: a.trace(), [((4, 4),), ((3, 5),)])
op("repeat_interleave", lambda lib, a: a.repeat_interleave(2, dim=1), [((3, 4),)])
op("repeat_interleave_flat", lambda lib, a: lib.repeat_interleave(a, 3), [((2, 3),)])
op("tensordot", lambda lib, a, b: lib.tensordot(a, b, dims=2), [((2, 3, 4), (3, 4, 5))])
op("tensordot_pairs", lambda lib, a, b: lib.tensordot(a, b, dims=([1, 0], [0, 2])), [((3, 4, 2), (4, 5, 3))])
op("addmm", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0), [((3, 5), (3, 4), (4, 5)), ((5,), (3, 4), (4, 5))])
# the optimisers' pointwise combinations
op("addcmul", lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5), [((3, 4), (3, 4), (3, 4)), ((4,), (3, 1), (3, 4))])
op("addcmul_method", lambda lib, a, b, c: a.addcmul(b, c), [((3, 4), (3, 4), (4,))])
op("addcdiv", lambda lib, a, b, c: lib.addcdiv(a, b, c, value=-2.0), [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), ())],
   domain=("real", "real", "nonzero"))
op("addcdiv_method", lambda lib, a, b, c: a.addcdiv(b, c), [((3, 4), (3, 4), (3, 4))], domain=("real", "real", "nonzero"))
op("lerp", lambda lib, a, b: lib.lerp(a, b, 0.3), [((3, 4), (3, 4)), ((3, 1), (4,))])
op("lerp_tensor_weight", lambda lib, a, b, w: a.lerp(b, w), [((3, 4), (3, 4), (3, 4)), ((3, 4), (3, 4), ())])
op("kron", lambda lib, a, b: lib.kron(a, b), [((2, 3), (3, 2)), ((2,), (2, 3))])
op("fmod", lambda lib, a, b: lib.fmod(a, b), [((3, 4), (3, 4)), ((3, 4), 0.7)], domain=("real", "nonzero"))
op("fmod_method", lambda lib, a, b: a.fmod(b), [((2, 3), (3,))], domain=("real", "nonzero"))
op("atan2", lambda lib, a, b: lib.atan2(a, b), BINARY, domain=("nonzero", "nonzero"))
op("atan2_method", lambda lib, a, b: a.atan2(b), [((3, 4), (4,))], domain=("nonzero", "nonzero"))

# ------------------------------------------- the rest of the declared ops ----
# (tests/test_declarations.py checks that every op declared with @public is called here)
op("floor", lambda lib, a: a.floor(), [((3, 4),)])
op("ceil", lambda lib, a: lib.ceil(a), [((3, 4),)])
op("trunc", lambda lib, a: a.trunc(), [((3, 4),)])
op("round", lambda lib, a: lib.round(a), [((3, 4),)])
op("round_decimals", lambda lib, a: a.round(decimals=1), [((3, 4),)])
op("erf", lambda lib, a: a.erf(), [((3, 4),), ((),)])
op("remainder", lambda lib, a, b: lib.remainder(a, b), [((3, 4), (3, 4)), ((3, 4), 0.7)], domain=("real", "nonzero"))
op("clone", lambda lib, a: a.clone() * 2, [((3, 4),), ((),)])
op("clone_fn", lambda lib, a: lib.clone(a), [((3, 4),)])
op("t", lambda lib, a: a.t(), [((3, 4),), ((4,),)])
op("movedim", lambda lib, a: a.movedim(0, -1), [((2, 3, 4),)])
op("unflatten", lambda lib, a: a.unflatten(1, (2, 3)), [((4, 6),)])
op("flip", lambda lib, a: a.flip(0), [((3, 4),)])
op("flip_dims", lambda lib, a: lib.flip(a, (0, 2)), [((2, 3, 4),)])
op("broadcast_to", lambda lib, a: a.broadcast_to((2, 3, 4)), [((3, 1),)])
op("unbind", lambda lib, a: a.unbind(1), [((3, 4),)])
op("hstack", lambda lib, a, b: lib.hstack([a, b]), [((3, 2), (3, 4)), ((2,), (3,))])
op("vstack", lambda lib, a, b: lib.vstack([a, b]), [((2, 4), (3, 4)), ((4,), (4,))])
op("index_select", lambda lib, a: a.index_select(1, lib.tensor([2, 0, 2])), [((3, 4),)])
op("take_along_dim", lambda lib, a: lib.take_along_dim(a, lib.tensor([[0, 2], [1, 1], [3, 0]]), 1), [((3, 4),)])
op("take_along_dim_flat", lambda lib, a: a.take_along_dim(lib.tensor([5, 0, 11])), [((3, 4),)])
op("mm", lambda lib, a, b: a.mm(b), [((3, 4), (4, 5))])
op("mv", lambda lib, a, b: lib.mv(a, b), [((3, 4), (4,))])
op("bmm", lambda lib, a, b: a.bmm(b), [((2, 3, 4), (2, 4, 5))])
op("var_mean", lambda lib, a: lib.var_mean(a, dim=1), [((3, 4),)])
op("std_mean", lambda lib, a: lib.std_mean(a, dim=0, correction=0), [((3, 4),)])
op("sort", lambda lib, a: a.sort(dim=1), [((3, 4),)])
op("sort_descending", lambda lib, a: lib.sort(a, descending=True)[0], [((5,),)])
op("topk", lambda lib, a: a.topk(2, dim=1), [((3, 4),)])
op("argsort", lambda lib, a: a.argsort(dim=0), [((3, 4),)], fd=False)
op("nonzero", lambda lib, a: (a > 0).nonzero(), [((3, 4),)], fd=False, grad=False)
op("all", lambda lib, a: (a > -1).all(dim=1), [((3, 4),)], fd=False, grad=False)
op("any", lambda lib, a: lib.any(a > 1), [((3, 4),)], fd=False, grad=False)
op("isnan", lambda lib, a: (a / a).isnan(), [(np.array([0.0, 1.0, -2.0]),)], fd=False, grad=False)
op("isinf", lambda lib, a: lib.isinf(1 / a), [(np.array([0.0, 1.0, -2.0]),)], fd=False, grad=False)
op("isfinite", lambda lib, a: lib.isfinite(1 / a), [(np.array([0.0, 1.0, -2.0]),)], fd=False, grad=False)
op("logical_and", lambda lib, a, b: lib.logical_and(a > 0, b > 0), [((3, 4), (4,))], fd=False, grad=False)
op("logical_or", lambda lib, a, b: (a > 0).logical_or(b), [((3, 4), (3, 4))], fd=False, grad=False)
op("logical_xor", lambda lib, a, b: lib.logical_xor(a > 0, b > 0), [((3, 4), (3, 4))], fd=False, grad=False)
op("logical_not", lambda lib, a: (a > 0).logical_not(), [((3, 4),)], fd=False, grad=False)
INTS = (Arg((3, 4), dtype="int64"), Arg((4,), dtype="int64"))
op("bitwise_and", lambda lib, a, b: a & b, [INTS], fd=False, grad=False)
op("bitwise_or", lambda lib, a, b: lib.bitwise_or(a, b), [INTS], fd=False, grad=False)
op("bitwise_xor", lambda lib, a, b: a ^ b, [INTS], fd=False, grad=False)
op("bitwise_not", lambda lib, a: ~a, [(Arg((3, 4), dtype="int64"),), (Arg((3, 4), dtype="bool"),)],
   fd=False, grad=False)
# ------------------------------------------------ nn.functional (issue #10) ----
# the training stack's functions: forward mode, batched rules and second order, generically
# (their torch, finite-difference and error tests are in tests/test_nn_functional.py and test_nn_fused.py)
_NNF_MASK = np.array([[True, False, True, True], [True, True, False, False], [True, True, True, False]])
op("F.leaky_relu", lambda lib, a: lib.nn.functional.leaky_relu(a, 0.1), [(Arg((3, 4), domain="grid"),)])
op("F.elu", lambda lib, a: lib.nn.functional.elu(a), [(Arg((3, 4), domain="grid"),)])
op("F.glu", lambda lib, a: lib.nn.functional.glu(a, 1), [((3, 4),)])
# twice=False: forward over forward through the fused LayerNormFunction misses the second-order term (a
# Function's jvp sees forward's detached inputs: the xfail in test_nn_fused.py); hessian, hvp and
# create_graph are tested there
op("F.layer_norm", lambda lib, a, w, b: lib.nn.functional.layer_norm(a, (4,), w, b), [((3, 4), (4,), (4,))],
   twice=False)
op("F.rms_norm", lambda lib, a, w: lib.nn.functional.rms_norm(a, (4,), w), [((3, 4), (4,))])
op("F.batch_norm_train", lambda lib, a, w, b: lib.nn.functional.batch_norm(a, None, None, w, b, training=True),
   [((4, 3), (3,), (3,))])
op("F.normalize", lambda lib, a: lib.nn.functional.normalize(a, dim=-1), [((3, 4),)])
op("F.cosine_similarity", lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), [((3, 4), (3, 4))])
op("F.pairwise_distance", lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b), [((3, 4), (3, 4))])
op("F.bilinear", lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w), [((2, 3), (2, 2), (4, 3, 2))])
op("F.embedding", lambda lib, w: lib.nn.functional.embedding(lib.tensor([[0, 2], [3, 0]]), w), [((4, 3),)])
op("F.pad_reflect", lambda lib, a: lib.nn.functional.pad(a, (2, 1), mode="reflect"), [((2, 4),)])
op("F.pad_constant", lambda lib, a: lib.nn.functional.pad(a, (1, 2, 0, 1), value=0.5), [((2, 3),)])
op("F.sdpa", lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v),
   [((2, 3, 4), (2, 4, 4), (2, 4, 2))])
op("F.sdpa_bool_mask", lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
    q, k, v, attn_mask=lib.tensor(_NNF_MASK)), [((2, 3, 4), (2, 4, 4), (2, 4, 2))])
op("F.smooth_l1_loss", lambda lib, a, b: lib.nn.functional.smooth_l1_loss(a, b, reduction="none"),
   [(Arg((3, 4), domain="grid"), Arg((3, 4), domain="grid_shift"))])
op("F.huber_loss", lambda lib, a, b: lib.nn.functional.huber_loss(a, b, delta=0.5),
   [(Arg((3, 4), domain="grid"), Arg((3, 4), domain="grid_shift"))])
op("F.gaussian_nll_loss", lambda lib, a, b, v: lib.nn.functional.gaussian_nll_loss(a, b, v, reduction="sum"),
   [((3, 4), (3, 4), (3, 4))], domain=("real", "real", "positive"))
op("F.poisson_nll_loss", lambda lib, a, b: lib.nn.functional.poisson_nll_loss(a, b, reduction="none"),
   [((3, 4), (3, 4))], domain=("real", "positive"))
op("F.cosine_embedding_loss", lambda lib, a, b: lib.nn.functional.cosine_embedding_loss(
    a, b, lib.tensor([1.0, -1.0, 1.0], dtype=a.dtype), reduction="none"), [((3, 4), (3, 4))])

# ----------------------------------- elementary and special functions (issue #14) ----
ELEMENTARY = {  # name -> domain (each also as a method and under torch's arc- aliases where it has them)
    "tan": "unit", "asin": "unit", "acos": "unit", "atan": "real", "sinh": "real", "cosh": "real",
    "asinh": "real", "atanh": "unit", "log2": "positive", "log10": "positive", "exp2": "real",
    "erfc": "real", "erfinv": "unit", "lgamma": "positive", "digamma": "positive",
}
for _name, _domain in ELEMENTARY.items():
    op(_name, lambda lib, a, n=_name: getattr(a, n)(), UNARY_SHAPES, domain=_domain)
    op(f"{_name}_fn", lambda lib, a, n=_name: getattr(lib, n)(a), [((3, 4),)], domain=_domain)
for _alias in ("arcsin", "arccos", "arctan", "arcsinh", "arctanh"):
    op(_alias, lambda lib, a, n=_alias: getattr(lib, n)(a), [((3, 4),)], domain="unit")
op("acosh", lambda lib, a: lib.acosh(a + 1), [((3, 4),), ((),)], domain="positive")
op("arccosh", lambda lib, a: lib.arccosh(a + 1), [((3, 4),)], domain="positive")
op("polygamma_1", lambda lib, a: lib.polygamma(1, a), [((3, 4),)], domain="positive")
op("polygamma_2", lambda lib, a: lib.polygamma(2, a), [((3, 4),)], domain="positive")
op("hypot", lambda lib, a, b: lib.hypot(a, b), BINARY, domain=("nonzero", "nonzero"))
op("hypot_method", lambda lib, a, b: a.hypot(b), [((3, 4), (4,))], domain=("nonzero", "nonzero"))
op("logaddexp", lambda lib, a, b: lib.logaddexp(a, b), BINARY)
op("logaddexp_method", lambda lib, a, b: a.logaddexp(b), [((3, 4), (4,))])

# ------------------- order statistics, counting, arrangement (issue #14) ----
op("cumprod", lambda lib, a: lib.cumprod(a, 1), [((3, 4),), ((2, 3, 2),)])
op("cumprod_with_zeros", lambda lib, a: a.cumprod(0),
   [(np.array([2.0, 0.0, 3.0, 0.0, 1.5]),), (np.array([[0.5, 2.0], [0.0, 1.0], [3.0, 0.0]]),)], fd=True)
op("cummax", lambda lib, a: lib.cummax(a, 1).values, [((3, 4),)], domain="grid")
op("cummin_indices", lambda lib, a: a.cummin(0).indices, [((5, 3),)], domain="grid", grad=False, fd=False)
op("median_all", lambda lib, a: lib.median(a), [((3, 5),), ((4,),)], domain="grid")
op("median_dim", lambda lib, a: a.median(1, keepdim=True).values, [((3, 5),), ((2, 4),)], domain="grid")
op("median_indices", lambda lib, a: a.median(0).indices, [((5, 3),)], domain="grid", grad=False, fd=False)
op("nanmedian_all", lambda lib, a: lib.nanmedian(a), [((3, 5),), ((4,),)], domain="grid")
op("nanmedian_dim", lambda lib, a: a.nanmedian(1, keepdim=True).values, [((3, 5),), ((2, 4),)], domain="grid")
op("mode", lambda lib, a: lib.mode(a.round(), 1).values,
   [(np.array([[1.0, 2.0, 2.0, 3.0], [4.0, 4.0, 1.0, 1.0]]),)], grad=False, fd=False)
op("quantile_linear", lambda lib, a: lib.quantile(a, 0.3, dim=1), [((3, 5),)], domain="grid")
op("quantile_many", lambda lib, a: a.quantile(lib.tensor([0.1, 0.5, 0.95], dtype=a.dtype)), [((4, 5),)],
   domain="grid")
for _mode in ("lower", "higher", "midpoint", "nearest"):
    op(f"quantile_{_mode}", lambda lib, a, m=_mode: lib.quantile(a, 0.35, dim=0, keepdim=True, interpolation=m),
       [((6, 3),)], domain="grid")
op("unique_counts", lambda lib, a: lib.unique(a.round(), return_inverse=True, return_counts=True)[2],
   [((4, 5),)], grad=False, fd=False)
op("unique_inverse", lambda lib, a: lib.unique(a.round(), return_inverse=True)[1], [((4, 5),)],
   grad=False, fd=False)
op("bincount", lambda lib, a: lib.bincount((a.abs() * 3).long().reshape(-1), minlength=12),
   [((4, 5),)], grad=False, fd=False)
op("bincount_weights", lambda lib, a, w: lib.bincount((a.abs() * 3).long(), weights=w), [((8,), (8,))],
   grad=False, fd=False)
op("histc", lambda lib, a: lib.histc(a, bins=7), [((20,),)], grad=False, fd=False)
op("histc_range", lambda lib, a: a.histc(bins=5, min=-1, max=1), [((4, 6),)], grad=False, fd=False)
op("searchsorted", lambda lib, s, v: lib.searchsorted(s.sort().values, v), [((3, 6), (3, 4))],
   grad=False, fd=False)
op("searchsorted_right", lambda lib, s, v: lib.searchsorted(s.sort().values, v, right=True), [((6,), (2, 3))],
   grad=False, fd=False)
op("bucketize", lambda lib, v, b: lib.bucketize(v, b.sort().values), [((3, 4), (5,))], grad=False, fd=False)
op("count_nonzero", lambda lib, a: lib.count_nonzero(a.round(), dim=1), [((4, 5),)], grad=False, fd=False)
op("meshgrid_ij", lambda lib, a, b: sum(g.sum() * (k + 1) for k, g in enumerate(lib.meshgrid(a, b, indexing="ij"))),
   [((3,), (4,))])
op("meshgrid_xy", lambda lib, a, b, c: lib.stack(lib.meshgrid(a, b, c, indexing="xy")) * lib.arange(1.0, 4.0).reshape(3, 1, 1, 1),
   [((3,), (4,), (2,))])
op("rot90", lambda lib, a: lib.rot90(a), [((3, 4),), ((2, 3, 4),)])
op("rot90_k", lambda lib, a: a.rot90(3, (1, 2)) * a.rot90(-1, (1, 2)), [((2, 3, 3),)])
op("rot90_two", lambda lib, a: lib.rot90(a, 2, (0, 1)), [((3, 4),)])
op("diff", lambda lib, a: lib.diff(a), [((3, 5),), ((6,),)])
op("diff_n2_dim0", lambda lib, a, p: a.diff(n=2, dim=0, prepend=p), [((4, 3), (2, 3))])
op("cdist", lambda lib, a, b: lib.cdist(a, b), [((4, 3), (5, 3)), ((2, 4, 3), (2, 2, 3))])
op("cdist_p1", lambda lib, a, b: lib.cdist(a, b, p=1.0), [((4, 3), (5, 3))], domain="grid", twice=False)
op("nan_to_num", lambda lib, a: lib.nan_to_num(a / (a.abs() > 0.3), nan=0.5, posinf=2.0), [((3, 4),)],
   domain="nonzero")
op("nan_to_num_method", lambda lib, a: (a.log()).nan_to_num(), [((3, 4),)], domain="nonzero", fd=False)

# ---- more everyday functions (issue #14) ----
op("frac", lambda lib, a: lib.frac(a * 3), [((3, 4),), ((),)], domain="grid")
op("frac_method", lambda lib, a: (a * 3).frac(), [((3, 4),)], domain="grid")
op("sgn", lambda lib, a: lib.sgn(a) * a, [((3, 4),)], domain="nonzero")
op("signbit", lambda lib, a: lib.signbit(a), [((3, 4),), (np.array([0.0, -0.0, -1.0, 2.0]),)], grad=False, fd=False)
op("copysign", lambda lib, a, b: lib.copysign(a, b), [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), -1.0)],
   domain=("nonzero", "nonzero"))
op("copysign_method", lambda lib, a, b: a.copysign(b), [((2, 3), (2, 3))], domain=("nonzero", "nonzero"))
op("heaviside", lambda lib, a, b: lib.heaviside(a.round(), b), [((3, 4), (4,))], grad=False, fd=False)
op("xlogy", lambda lib, a, b: lib.xlogy(a, b), [((3, 4), (3, 4)), ((3, 4), (4,)), (2.0, (3, 4)), ((3, 4), 1.5)],
   domain=("real", "positive"))
op("xlogy_zero", lambda lib, a, b: lib.xlogy(a, b),
   [(np.array([0.0, 0.0, 1.5, 2.0]), np.array([-1.0, 2.0, 3.0, 0.5]))], fd=False)
op("xlogy_method", lambda lib, a, b: a.xlogy(b), [((3, 4), (3, 4))], domain=("real", "positive"))
op("sinc", lambda lib, a: lib.sinc(a), [((3, 4),), ((),)])
op("sinc_zero", lambda lib, a: a.sinc(), [(np.array([0.0, 0.5, -1.5]),)], fd=False, twice=False)
op("deg2rad", lambda lib, a: lib.deg2rad(a), [((3, 4),)])
op("rad2deg", lambda lib, a: a.rad2deg(), [((3, 4),)])
op("logit", lambda lib, a: lib.logit((a + 1) / 2), [((3, 4),), ((),)], domain="unit")
op("logit_eps", lambda lib, a: a.logit(eps=0.2), [(np.array([0.1, 0.3, 0.5, 0.7, 0.95]),)])
op("float_power", lambda lib, a, b: lib.float_power(a, b), [((3, 4), (3, 4)), ((3, 4), 2), (2.0, (3, 4))],
   domain=("positive", "real"))
op("float_power_method", lambda lib, a: a.float_power(3), [((3, 4),)])
op("isposinf", lambda lib, a: lib.isposinf(1 / a), [(np.array([0.0, 1.0, -0.0, -2.0]),)], grad=False, fd=False)
op("isneginf", lambda lib, a: (1 / a).isneginf(), [(np.array([0.0, 1.0, -0.0, -2.0]),)], grad=False, fd=False)
op("isreal", lambda lib, a: lib.isreal(a), [((3, 4),)], grad=False, fd=False)
op("clamp_min_fn", lambda lib, a: lib.clamp_min(a, 0.2), [((3, 4),)], domain="grid")
op("clamp_max_tensor", lambda lib, a, b: a.clamp_max(b), [((3, 4), (4,))], domain=("grid", "grid_shift"))
_WITH_NAN = np.array([[0.5, np.nan, -1.25, 2.0], [np.nan, np.nan, 0.75, -0.5], [1.5, -2.0, 0.25, np.nan]])
op("nansum", lambda lib, a: lib.nansum(a), [((3, 4),), (_WITH_NAN,)], fd=False)
op("nansum_dim", lambda lib, a: a.nansum(1, keepdim=True), [((3, 4),), (_WITH_NAN,)], fd=False)
op("nansum_fd", lambda lib, a: lib.nansum(a, dim=0), [((3, 4),)])
op("nanmean", lambda lib, a: lib.nanmean(a, dim=1), [((3, 4),), (_WITH_NAN,)], fd=False)
op("nanmean_all", lambda lib, a: a.nanmean(), [((3, 4),)])
op("logcumsumexp", lambda lib, a: lib.logcumsumexp(a, -1), [((3, 5),), ((2, 3, 4),), ((),)])
op("logcumsumexp_dim0", lambda lib, a: a.logcumsumexp(0), [((7, 2),), ((1, 3),)])
op("logcumsumexp_wide_range", lambda lib, a: lib.logcumsumexp(a * 300, 0), [((9,),)], fd=False)
op("aminmax", lambda lib, a: lib.aminmax(a), [((3, 4),)], domain="grid")
op("aminmax_dim", lambda lib, a: a.aminmax(dim=0, keepdim=True), [((3, 4),)], domain="grid")
_TIES = np.array([[3.0, 1.0, 1.0, 2.0, 1.0], [0.5, 0.5, -1.0, 2.0, 0.5]])
op("kthvalue", lambda lib, a: lib.kthvalue(a, 2, -1), [((3, 5),), ((4,),)], domain="grid")
op("kthvalue_keepdim", lambda lib, a: a.kthvalue(3, dim=0, keepdim=True).values, [((4, 3),)], domain="grid")
op("kthvalue_ties", lambda lib, a: lib.kthvalue(a, 2).indices * 10 + lib.kthvalue(a, 3).indices,
   [(_TIES,)], grad=False, fd=False)
op("argwhere", lambda lib, a: lib.argwhere(a > 0), [((3, 4),), ((5,),)], grad=False, fd=False)
op("argwhere_method", lambda lib, a: a.round().argwhere(), [((2, 3, 2),)], grad=False, fd=False)
op("masked_select", lambda lib, a: lib.masked_select(a, lib.tensor([[True, False, True, True]] * 3)), [((3, 4),)])
op("masked_select_broadcast", lambda lib, a: a.masked_select(lib.tensor([[True], [False], [True]])), [((4,),)])
op("take", lambda lib, a: lib.take(a, lib.tensor([[0, 5], [-1, 5]])), [((3, 4),), ((2, 3, 2),)])
op("take_method", lambda lib, a: a.take(lib.tensor([2, 0])), [((3,),)])
op("index_add", lambda lib, a, s: lib.index_add(a, 1, lib.tensor([0, 2, 0]), s), [((3, 4), (3, 3))])
op("index_add_alpha", lambda lib, a, s: a.index_add(0, lib.tensor([1, 1]), s, alpha=-2.5), [((3, 4), (2, 4))])
op("index_add_", lambda lib, a, s: (a * 1).index_add_(0, lib.tensor([2, 0]), s), [((3, 4), (2, 4))])
op("index_copy", lambda lib, a, s: lib.index_copy(a, 1, lib.tensor([3, 0]), s), [((3, 4), (3, 2))])
op("index_copy_", lambda lib, a, s: (a * 1).index_copy_(0, lib.tensor([1]), s), [((3, 4), (1, 4))])
op("index_fill", lambda lib, a: lib.index_fill(a, 1, lib.tensor([0, -1]), 2.5), [((3, 4),)])
op("index_fill_tensor", lambda lib, a, v: a.index_fill(0, lib.tensor([1]), v), [((3, 4), ())])
op("index_fill_", lambda lib, a: (a * 1).index_fill_(1, lib.tensor([2]), -1.0), [((3, 4),)])
op("scatter", lambda lib, a, s: lib.scatter(a, 1, lib.tensor([[0, 2], [3, 1], [1, 0]]), s), [((3, 4), (3, 2))])
op("scatter_dim0", lambda lib, a, s: a.scatter(0, lib.tensor([[2, 0, 1, 0]]), s), [((3, 4), (1, 4))])
op("scatter_value", lambda lib, a: lib.scatter(a, 1, lib.tensor([[0], [3], [1]]), 0.5), [((3, 4),)])
op("scatter_", lambda lib, a, s: (a * 1).scatter_(1, lib.tensor([[1, 2]]), s), [((3, 4), (1, 2))])
op("scatter_value_", lambda lib, a: (a * 1).scatter_(0, lib.tensor([[2, 0, 1, 0]]), value=-1.0), [((3, 4),)])
op("fliplr", lambda lib, a: lib.fliplr(a), [((3, 4),), ((2, 3, 2),)])
op("flipud", lambda lib, a: a.flipud(), [((3, 4),), ((4,),)])
op("moveaxis", lambda lib, a: lib.moveaxis(a, (0, 1), (2, 0)), [((2, 3, 4),)])
op("ravel", lambda lib, a: a.t().ravel(), [((3, 4),)])
op("tensor_split", lambda lib, a: lib.tensor_split(a, 3, dim=1), [((2, 7),)])
op("tensor_split_indices", lambda lib, a: a.tensor_split([1, 5, 9]), [((7, 2),)])
op("hsplit", lambda lib, a: lib.hsplit(a, [1, 3]), [((2, 4),), ((5,),)])
op("vsplit", lambda lib, a: a.vsplit(2), [((4, 3),)])
op("dsplit", lambda lib, a: lib.dsplit(a, 2), [((2, 1, 4),)])
op("column_stack", lambda lib, a, b, c: lib.column_stack([a, b, c]), [((3,), (3, 2), (3,))])
op("dstack", lambda lib, a, b: lib.dstack([a, b]), [((2, 3), (2, 3)), ((3,), (3,))])
op("atleast_nd", lambda lib, a, b, c: lib.atleast_1d(a).sum() + lib.atleast_2d(b).sum(0) + lib.atleast_3d(c)[0, :, 0],
   [((), (3,), (3,))])
op("block_diag", lambda lib, a, b, c: lib.block_diag(a, b, c), [((2, 3), (), (2,))])
op("cartesian_prod", lambda lib, a, b: lib.cartesian_prod(a, b), [((3,), (2,))])
op("combinations", lambda lib, a: lib.combinations(a, 2), [((4,),)])
op("combinations_replacement", lambda lib, a: lib.combinations(a, 3, with_replacement=True), [((3,),)])
op("tril_indices", lambda lib, a: lib.tril_indices(3, 4, 1) + lib.triu_indices(4, 3, -1, dtype=lib.int32).sum(),
   [((1,),)], grad=False, fd=False)
op("cross", lambda lib, a, b: lib.cross(a, b, dim=1), [((4, 3), (4, 3)), ((2, 3, 2), (1, 3, 1))])
op("cross_method", lambda lib, a, b: a.cross(b, dim=-1), [((1, 3), (2, 3))])
op("trapezoid", lambda lib, y: lib.trapezoid(y), [((3, 4),)])
op("trapezoid_x", lambda lib, y, x: lib.trapezoid(y, x, dim=0), [((4, 3), (4,)), ((4, 3), (4, 3))])
op("trapezoid_dx", lambda lib, y: lib.trapezoid(y, dx=0.5), [((5,),)])
op("cumulative_trapezoid", lambda lib, y, x: lib.cumulative_trapezoid(y, x), [((3, 4), (4,))])
op("cumulative_trapezoid_dx", lambda lib, y: lib.cumulative_trapezoid(y, dx=2.0, dim=0), [((4, 2),)])
# --- issue #14's everyday surface: products with an added term, index_put, unfold ---
op("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0.5, alpha=2.0),
   [((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((5,), (2, 3, 4), (2, 4, 5)), ((3, 1), (2, 3, 4), (2, 4, 5))])
op("baddbmm_method", lambda lib, c, a, b: c.baddbmm(a, b), [((2, 3, 5), (2, 3, 4), (2, 4, 5))])
op("baddbmm_beta0", lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0), [((2, 3, 5), (2, 3, 4), (2, 4, 5))])
op("baddbmm_", lambda lib, c, a, b: (c * 1).baddbmm_(a, b, alpha=-1.5), [((2, 3, 5), (2, 3, 4), (2, 4, 5))])
op("addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b, beta=-1.0, alpha=0.5),
   [((3, 5), (2, 3, 4), (2, 4, 5)), ((1, 5), (2, 3, 4), (2, 4, 5))])
op("addbmm_", lambda lib, c, a, b: (c * 1).addbmm_(a, b), [((3, 5), (2, 3, 4), (2, 4, 5))])
op("addmv", lambda lib, c, a, b: lib.addmv(c, a, b, beta=2.0, alpha=-0.5), [((3,), (3, 4), (4,)), ((1,), (3, 4), (4,)),
                                                                          ((), (3, 4), (4,))])
op("addmv_", lambda lib, c, a, b: (c * 1).addmv_(a, b, beta=0.5), [((3,), (3, 4), (4,))])
op("addr", lambda lib, c, a, b: lib.addr(c, a, b, beta=0.5, alpha=3.0), [((3, 4), (3,), (4,)), ((4,), (3,), (4,))])
op("addr_", lambda lib, c, a, b: (c * 1).addr_(a, b), [((3, 4), (3,), (4,))])
op("addmm_", lambda lib, c, a, b: (c * 1).addmm_(a, b, beta=0.5), [((3, 5), (3, 4), (4, 5))])
op("index_put", lambda lib, a, v: lib.index_put(a, (lib.tensor([2, 0]),), v), [((3, 4), (2, 4)), ((3, 4), (4,))])
op("index_put_2d", lambda lib, a, v: a.index_put((lib.tensor([2, 0, 1]), lib.tensor([1, 3, 1])), v),
   [((3, 4), (3,)), ((3, 4), ())])
op("index_put_accumulate", lambda lib, a, v: lib.index_put(a, (lib.tensor([2, 0, 2]),), v, accumulate=True),
   [((3, 4), (3, 4)), ((3, 4), (1, 4))])
op("index_put_mask", lambda lib, a, v: a.index_put((lib.tensor([True, False, True]),), v, True), [((3, 2), (2, 2))])
op("index_put_", lambda lib, a, v: (a * 1).index_put_((lib.tensor([1, 1]), lib.tensor([0, 2])), v, accumulate=True),
   [((3, 4), (2,))])
op("unfold", lambda lib, a: a.unfold(1, 2, 1), [((3, 4),), ((2, 5, 3),)])
op("unfold_step", lambda lib, a: a.unfold(0, 2, 3), [((7, 2),), ((7,),)])
op("unfold_twice", lambda lib, a: a.unfold(0, 3, 2).unfold(1, 2, 1), [((5, 4),)])
