"""``dm.save`` / ``dm.load``: state dicts in the safetensors format, which PyTorch reads too.

A checkpoint is the weights a model leaves training with. safetensors stores them as an
8-byte header length, a JSON header (each tensor's dtype, shape and byte range) and the
raw little-endian bytes; nothing in it is code, so loading a file can never run anything
(unlike pickle, which ``torch.save`` uses by default).

- A flat mapping of names to tensors (``model.state_dict()``) is written as a plain
  safetensors file: ``safetensors.torch.load_file`` reads it straight into PyTorch, and a
  file ``safetensors.torch.save_file`` wrote loads here.
- A nested state dict (``optimizer.state_dict()``: per-parameter state and param groups)
  keeps its tensors in the body under path-like names (``state/0/exp_avg``) and everything
  else (hyperparameters, step counts, the parameter order) as JSON in the file's metadata,
  under ``dlmath.structure``; ``dm.load`` rebuilds the same nested dict.
- NumPy has no bfloat16: BF16 tensors (common in files from PyTorch) load as float32, which
  holds every bfloat16 value exactly. complex128 has no safetensors dtype and is refused.

The file is checked before anything is built from it (length, header, dtypes, shapes against
byte ranges, ranges inside the file and not overlapping), and then read by the safetensors
package, which checks it again; every fault is a ``ValueError`` naming the file.
"""
from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping

import numpy as np

from .creation import from_numpy
from .tensor import Tensor

# safetensors' dtype codes, and the NumPy dtype each is read as.
_NUMPY_OF = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8),
    "I16": np.dtype(np.int16), "U16": np.dtype(np.uint16), "I32": np.dtype(np.int32),
    "U32": np.dtype(np.uint32), "I64": np.dtype(np.int64), "U64": np.dtype(np.uint64),
    "F16": np.dtype(np.float16), "F32": np.dtype(np.float32), "F64": np.dtype(np.float64),
    "C64": np.dtype(np.complex64),
}
_BYTES_PER_ITEM = {code: dt.itemsize for code, dt in _NUMPY_OF.items()} | {"BF16": 2}
_STRUCTURE_KEY = "dlmath.structure"
_MAX_HEADER = 100_000_000  # safetensors' own limit on the JSON header


# ---------------------------------------------------------------------------- saving
def save(obj, f, *, metadata: Mapping[str, str] | None = None) -> None:
    """Write a state dict to ``f`` (a path or a binary file object) as safetensors.

    ``obj`` is a mapping of names to tensors, or a nested state dict whose leaves are tensors,
    numbers, strings, booleans or None (an optimiser's). ``metadata`` (str to str) goes into
    the file's header.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"dm.save: expected a state dict (a mapping of names to tensors), got "
                        f"{type(obj).__name__}; save model.state_dict() or optimizer.state_dict()")
    import safetensors.numpy

    header_metadata = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"dm.save: metadata must map str to str; got {key!r}: {type(value).__name__}")
        header_metadata[key] = value
    arrays: dict[str, np.ndarray] = {}
    if all(isinstance(k, str) for k in obj) and all(isinstance(v, (Tensor, np.ndarray)) for v in obj.values()):
        for key, value in obj.items():
            arrays[key] = _array_to_write(value, key)
        header_metadata.setdefault("format", "pt")  # what PyTorch's own writer puts there
    else:
        if _STRUCTURE_KEY in header_metadata:
            raise ValueError(f"dm.save: the metadata key {_STRUCTURE_KEY!r} is dlmath's own")
        header_metadata[_STRUCTURE_KEY] = json.dumps(_encode(obj, "", arrays))
    data = safetensors.numpy.save(arrays, metadata=header_metadata)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:
            handle.write(data)
    else:
        f.write(data)


def _array_to_write(value, name: str) -> np.ndarray:
    array = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype == np.complex128:
        raise TypeError(f"dm.save: {name!r} is complex128, which safetensors has no dtype for; "
                        "convert it (e.g. to complex64) first")
    if array.dtype not in _NUMPY_OF.values():
        raise TypeError(f"dm.save: {name!r} has dtype {array.dtype}, which safetensors cannot hold")
    # not np.ascontiguousarray: it turns a 0-d array (num_batches_tracked) into shape (1,)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _encode(value, path: str, arrays: dict):
    """The JSON form of a nested state dict; tensors go to ``arrays`` under their path."""
    if isinstance(value, (Tensor, np.ndarray)):
        name = path or "tensor"
        arrays[name] = _array_to_write(value, name)
        return {"tensor": name}
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"dm.save: key {key!r} at {path or 'the top'} is a {type(key).__name__}; "
                                "state dict keys are str or int")
            items.append([key, _encode(item, f"{path}/{key}" if path else str(key), arrays)])
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        encoded = [_encode(item, f"{path}/{i}", arrays) for i, item in enumerate(value)]
        return {"tuple": encoded} if isinstance(value, tuple) else {"list": encoded}
    if value is None or isinstance(value, (bool, int, str)):
        return {"value": value}
    if isinstance(value, float):
        return {"value": value} if math.isfinite(value) else {"float": repr(value)}
    raise TypeError(f"dm.save: cannot store {type(value).__name__} at {path or 'the top'}; a state dict "
                    "holds tensors, numbers, strings, booleans, None, and lists, tuples and dicts of them")


# ---------------------------------------------------------------------------- loading
def load(f, map_location=None, *, weights_only: bool = True, mmap=None) -> dict:
    """Read a safetensors file written by ``dm.save`` or by PyTorch's safetensors writer.

    Returns a dict of tensors (a nested state dict when ``dm.save`` wrote one). ``map_location``
    may only name the CPU, where dlmath runs; ``weights_only`` is always true (no file runs
    code here).
    """
    if map_location is not None and str(map_location) != "cpu":
        raise ValueError(f"dm.load: map_location={map_location!r}: dlmath runs on the CPU only")
    if weights_only is not True:
        raise ValueError("dm.load: weights_only=False would allow code in a file to run; dlmath loads "
                         "safetensors files, which hold weights only")
    name, data = _read_bytes(f)
    header = _check(name, data)
    import safetensors

    try:
        views = dict(safetensors.deserialize(data))
    except Exception as exc:  # safetensors' own validation: trust it over ours
        raise ValueError(f"dm.load: {name} is not a valid safetensors file: {exc}") from None
    tensors = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        tensors[key] = from_numpy(_decode_array(entry, views[key]["data"]))
    structure = (header.get("__metadata__") or {}).get(_STRUCTURE_KEY)
    if structure is None:
        return tensors
    try:
        return _decode(json.loads(structure), tensors, name)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"dm.load: {name}: its {_STRUCTURE_KEY!r} metadata is damaged ({exc})") from None


def _read_bytes(f) -> tuple[str, bytes]:
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"dm.load: no such file: {path!r}")
        with open(path, "rb") as handle:
            return repr(path), handle.read()
    if isinstance(f, (bytes, bytearray)):
        return "the given bytes", bytes(f)
    if isinstance(f, io.IOBase) or hasattr(f, "read"):
        return repr(getattr(f, "name", "the file object")), f.read()
    raise TypeError(f"dm.load: expected a path or a binary file object, got {type(f).__name__}")


def _check(name: str, data: bytes) -> dict:
    """Validate the header against the file before anything is built from it; return it."""
    def fault(message):
        return ValueError(f"dm.load: {name} is not a valid safetensors file: {message}")

    if len(data) < 8:
        raise fault(f"it has {len(data)} bytes, fewer than the 8-byte header length")
    length = int.from_bytes(data[:8], "little")
    if length > _MAX_HEADER or length > len(data) - 8:
        raise fault(f"the header claims {length} bytes but only {len(data) - 8} follow the length field "
                    "(truncated, or not safetensors)")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise fault("its header is not JSON") from None
    if not isinstance(header, dict):
        raise fault("its header is not a JSON object")
    body = len(data) - 8 - length
    ranges = []
    for key, entry in header.items():
        if key == "__metadata__":
            if entry is not None and not (isinstance(entry, dict)
                                          and all(isinstance(v, str) for v in entry.values())):
                raise fault("__metadata__ must map strings to strings")
            continue
        if not isinstance(entry, dict) or {"dtype", "shape", "data_offsets"} - set(entry):
            raise fault(f"tensor {key!r} lacks dtype, shape or data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _BYTES_PER_ITEM:
            raise fault(f"tensor {key!r} has unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise fault(f"tensor {key!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise fault(f"tensor {key!r} has invalid data_offsets {offsets!r}")
        if offsets[1] > body:
            raise fault(f"tensor {key!r} ends at byte {offsets[1]} of the data, which has only {body} "
                        "(truncated file or out-of-range offsets)")
        needed = math.prod(shape) * _BYTES_PER_ITEM[dtype]
        if offsets[1] - offsets[0] != needed:
            raise fault(f"tensor {key!r} of shape {shape} and dtype {dtype} needs {needed} bytes, "
                        f"its offsets give {offsets[1] - offsets[0]}")
        ranges.append((offsets[0], offsets[1], key))
    ranges.sort()
    for (start_a, end_a, a), (start_b, end_b, b) in zip(ranges, ranges[1:]):
        if start_b < end_a:
            raise fault(f"tensors {a!r} and {b!r} overlap (bytes {start_a}-{end_a} and {start_b}-{end_b})")
    return header


def _decode_array(entry: dict, raw: bytes) -> np.ndarray:
    dtype, shape = entry["dtype"], entry["shape"]
    if dtype == "BF16":
        # bfloat16 is the top half of a float32: shift the 16 bits up and reinterpret.
        halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return halves.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=_NUMPY_OF[dtype].newbyteorder("<")).astype(_NUMPY_OF[dtype]).reshape(shape)


def _decode(node, tensors: dict, name: str):
    kind, = node.keys()
    value = node[kind]
    if kind == "tensor":
        return tensors[value]
    if kind == "dict":
        return {key: _decode(item, tensors, name) for key, item in value}
    if kind == "list":
        return [_decode(item, tensors, name) for item in value]
    if kind == "tuple":
        return tuple(_decode(item, tensors, name) for item in value)
    if kind == "float":
        return float(value)
    if kind == "value":
        return value
    raise ValueError(f"unknown entry kind {kind!r}")
