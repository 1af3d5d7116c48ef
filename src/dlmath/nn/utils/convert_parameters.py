"""Parameters as one flat vector and back (torch.nn.utils.convert_parameters): for code that
treats a model's weights as a single point in R^n (line searches, second-order methods,
weight averaging, evolution strategies)."""
from __future__ import annotations

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """Concatenate the flattened ``parameters`` into one 1-D tensor (differentiable, as torch:
    ``cat`` of ``p.view(-1)``).

    >>> import dlmath as dm
    >>> dm.nn.utils.parameters_to_vector([dm.ones(2, 2), dm.zeros(3)]).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    import dlmath as dm
    return dm.cat([param.view(-1) for param in parameters])


def vector_to_parameters(vec, parameters):
    """Give each of ``parameters`` in turn the next ``p.numel()`` entries of ``vec`` as its data.

    As torch (``param.data = vec[i:j].view_as(param).data``): each parameter's data becomes a
    view of ``vec`` (writes to ``vec`` show in the parameters, and they take ``vec``'s dtype);
    ``requires_grad`` and the parameter objects are kept. Entries of ``vec`` past the parameters'
    total are ignored, as torch. Errors, checked before any parameter changes: a ``vec`` shorter
    than the parameters' total is a RuntimeError (torch's type, from its reshape), and so is a
    ``vec`` that is not floating point or complex when a parameter requires grad (torch's rule
    for ``.data``: such a parameter could not hold a gradient).
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected dlmath.Tensor, but got: {type(vec).__module__}.{type(vec).__qualname__}")
    parameters = list(parameters)   # walked twice: checked, then assigned
    total = sum(param.numel() for param in parameters)
    if vec.numel() < total:
        raise RuntimeError(f"vector_to_parameters: vec has {vec.numel()} elements, but the parameters "
                           f"have {total} in all")
    if not (vec.is_floating_point() or vec.is_complex()):
        for i, param in enumerate(parameters):
            if param.requires_grad:
                raise RuntimeError(f"vector_to_parameters: vec has dtype {vec.dtype}, but parameters[{i}] "
                                   "requires grad, so its data must be floating point or complex")
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        param.data = vec[pointer:pointer + num_param].view_as(param).data
        pointer += num_param
