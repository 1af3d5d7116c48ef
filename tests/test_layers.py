"""The package's layers, checked from its source: nothing imports upward at module level.

    _dtype, _grad_mode, random -> tensor -> autograd -> ops (and creation) ->
    methods and in-place -> linalg, func, distributions, nn, optim, ... -> the command line

A module may import from its own layer or any layer below when it is loaded. An
import that goes up a layer is allowed only inside a function (run later, when the
whole package exists), and the module-level imports must form no cycle, so each
module can be read, and loaded, after the ones it builds on.
"""
import ast
import os
import re

import pytest

from helpers import dlmath_only

SRC = os.path.join(os.path.dirname(__file__), os.pardir, "src", "dlmath")

# each module's layer, from its dotted name under dlmath (the longest matching prefix wins)
LAYERS = [
    ("_dtype", "_grad_mode", "_alloc", "_random", "_print", "cuda", "accelerator", "backends", "_dir",
     "_threads", "_compile"),
    ("tensor",),
    ("autograd",),
    ("ops", "creation", "comparison", "_legacy"),
    ("_methods", "inplace", "_random_fills", "_foreach"),
    ("linalg", "func", "distributions", "nn", "optim", "utils", "datasets", "special", "sampling",
     "explain", "serialization"),
    ("tour", "__main__", "cli"),
]


def layer_of(module):
    """The layer of 'dlmath.x.y' (None for the package itself, which gathers everything)."""
    parts = module.split(".")[1:]
    if not parts:
        return None
    if parts == ["random"]:  # the name the package gives _random.py in sys.modules (torch.random's)
        parts = ["_random"]
    for level, names in enumerate(LAYERS):
        if parts[0] in names:
            return level
    raise AssertionError(f"{module}: no layer assigned; add it to LAYERS in {__file__}")


def modules():
    found = {}
    for folder, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                rel = os.path.relpath(path, os.path.dirname(SRC))[:-3].replace(os.sep, ".")
                found[rel[:-9] if rel.endswith(".__init__") else rel] = path
    return found


def module_level_imports(name, path, known):
    """dlmath modules imported when ``name`` is loaded (not those imported inside functions)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    found = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        else:
            stack.extend(ast.iter_child_nodes(node))
    out = set()
    for target in found:
        while target and target not in known:   # 'dlmath.ops.x.attr' -> the module holding it
            target = target.rpartition(".")[0]
        if target.startswith("dlmath") and target != name:
            out.add(target)
        # loading a.b.c loads its packages a.b and a first
        parts = target.split(".")
        for k in range(2, len(parts)):
            pkg = ".".join(parts[:k])
            if pkg in known and pkg != name and not name.startswith(pkg + "."):
                out.add(pkg)
    return out


def import_graph():
    known = modules()
    return {name: module_level_imports(name, path, known) for name, path in known.items()}


@dlmath_only
def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


@dlmath_only
def test_no_module_level_import_goes_up_a_layer():
    upward = []
    for name, targets in sorted(import_graph().items()):
        mine = layer_of(name)
        if mine is None:
            continue
        for t in sorted(targets):
            theirs = layer_of(t)
            if theirs is not None and theirs > mine:
                upward.append(f"{name} (layer {mine}) imports {t} (layer {theirs})")
    assert not upward, "module-level imports that go up a layer:\n  " + "\n  ".join(upward)


@dlmath_only
def test_module_level_imports_form_no_cycle():
    graph = import_graph()
    state, cycle = {}, []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
                return True
            if nxt not in state and visit(nxt, path + [nxt]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if node not in state and visit(node, [node]):
            break
    assert not cycle, "module-level import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("layer", range(len(LAYERS)))
@dlmath_only
def test_each_layer_loads_without_the_layers_above(layer):
    """Loading any module of a layer in a fresh interpreter loads nothing from the layers above."""
    import subprocess
    import sys
    names = [n for n in modules() if layer_of(n) == layer and not n.endswith("__main__")]
    if not names:
        pytest.skip("no module in this layer yet")
    # The top layer (the tour, the command line) is written against the public API, i.e. the
    # package's __init__, so it loads with the package; there is nothing above it to catch.
    stub = ("sys.modules.setdefault('dlmath', type(sys)('dlmath'))\n"
            f"sys.modules['dlmath'].__path__ = [{os.path.abspath(SRC)!r}]\n") if layer < len(LAYERS) - 1 else ""
    code = (
        "import sys, importlib\n"
        f"import importlib.util\n"
        + stub +
        f"for n in {names!r}: importlib.import_module(n)\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('dlmath.'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    above = [m for m in out.split() if (layer_of(m) or 0) > layer]
    assert not above, f"loading layer {layer} loaded {above}"


@dlmath_only
def test_nn_and_optim_use_the_public_api_only():
    """Code outside the core reaches tensors as a user would: no ``._data``, no graph nodes."""
    offences = []
    for name, path in modules().items():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in ("nn", "optim", "utils", "datasets", "tour"):
            continue
        for k, line in enumerate(open(path, encoding="utf-8"), 1):
            if re.search(r"\._data\b", line) or "autograd.node" in line or "autograd import node" in line:
                offences.append(f"{path}:{k}: {line.strip()}")
    assert not offences, "\n".join(offences)
