"""Pytrees: nested tuples, lists and dicts with Tensors (or arrays) at the leaves.

The transforms flatten their arguments and outputs to lists of leaves, work on
those, and rebuild the structure (as ``torch.utils._pytree`` / ``jax.tree_util``).
"""
from __future__ import annotations


class TreeSpec:
    """The structure of a pytree: a node type, its keys (dicts) and children specs; None for a leaf."""
    __slots__ = ("kind", "keys", "children", "n_leaves")

    def __init__(self, kind, keys, children):
        self.kind, self.keys, self.children = kind, keys, children
        self.n_leaves = sum(1 if c is None else c.n_leaves for c in children)

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.kind is other.kind and self.keys == other.keys
                and self.children == other.children)

    def __repr__(self):
        return f"TreeSpec({self.kind.__name__}, {self.keys}, {self.children})"


def _is_node(t):
    return isinstance(t, (tuple, list, dict))


# Module-level recursion, not a nested ``def rec`` closing over itself: such a
# closure is a reference cycle (rec -> cell -> rec) that also holds ``leaves``,
# so every leaf -- a whole Jacobian -- would live until the cyclic GC runs.
def _flatten(t, leaves):
    if isinstance(t, dict):
        keys = list(t)
        return TreeSpec(dict, keys, [_flatten(t[k], leaves) for k in keys])
    if isinstance(t, (tuple, list)):
        return TreeSpec(type(t), None, [_flatten(c, leaves) for c in t])
    leaves.append(t)
    return None


def tree_flatten(tree):
    """(leaves, spec); a single leaf gives ([tree], None)."""
    leaves = []
    spec = _flatten(tree, leaves)
    return leaves, spec


def _unflatten(s, it):
    if s is None:
        return next(it)
    children = [_unflatten(c, it) for c in s.children]
    if s.kind is dict:
        return dict(zip(s.keys, children))
    if hasattr(s.kind, "_fields"):       # namedtuple
        return s.kind(*children)
    return s.kind(children)


def tree_unflatten(spec, leaves):
    return _unflatten(spec, iter(leaves))


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten(spec, [fn(x) for x in leaves])
