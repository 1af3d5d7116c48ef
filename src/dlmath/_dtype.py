"""Dtypes and PyTorch's type-promotion rules.

Inside the library a dtype is a NumPy dtype object (``np.dtype('float32')``). What
users see (``dm.float32``, ``t.dtype``) is a ``dm.dtype``: one object per NumPy
dtype that prints as ``dlmath.float32`` (as torch's prints ``torch.float32``),
compares and hashes equal to its NumPy dtype, and is accepted by every NumPy
function through its ``.dtype`` attribute, so arrays and tensors interoperate.
Promotion follows PyTorch, not NumPy:
a float32 tensor stays float32 when combined with a Python float, a NumPy
float64 scalar or a 0-d float64 tensor, and integer true division gives the
default float dtype. That keeps float32 training from drifting to float64.
"""
from __future__ import annotations

import builtins

import numpy as np

bool_ = np.dtype(np.bool_)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_NAMES = {bool_: "bool", uint8: "uint8", int8: "int8", int16: "int16", int32: "int32",
          int64: "int64", float16: "float16", float32: "float32", float64: "float64",
          complex64: "complex64", complex128: "complex128"}


class dtype:
    """torch.dtype: the element type of a tensor, ``dm.float32`` and the rest.

    One object per NumPy dtype (so ``t.dtype is dm.float32`` works). It prints as
    ``dlmath.float32``, has torch's ``is_floating_point``, ``is_complex``, ``is_signed``,
    ``itemsize``, ``to_real()`` and ``to_complex()``, and stands in for its NumPy dtype:
    equal to it, the same hash, and NumPy functions take it (``np.zeros(3, dm.float32)``)
    through the ``.dtype`` attribute NumPy reads from any object.
    """
    __slots__ = ("dtype", "kind", "itemsize", "is_floating_point", "is_complex", "is_signed", "_name", "_hash")

    def __init__(self, np_dtype: np.dtype, name: str):
        self.dtype = np_dtype
        self.kind = np_dtype.kind
        self.itemsize = np_dtype.itemsize
        self.is_floating_point = np_dtype.kind == "f"
        self.is_complex = np_dtype.kind == "c"
        self.is_signed = np_dtype.kind in "ifc"
        self._name = name
        self._hash = hash(np_dtype)

    def __repr__(self):
        return "dlmath." + self._name

    __str__ = __repr__

    def __eq__(self, other):
        if other.__class__ is dtype:
            return self is other
        if other is None:      # NumPy reads None as float64; a dtype never equals None
            return False
        try:
            return self.dtype == other
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return self._hash

    def __getattr__(self, name):
        # NumPy's dtype attributes, for code written against NumPy dtypes. Not all of them: a
        # dtype's ``shape`` and ``ndim`` would make it pass for an array in duck-typed checks
        if name in _NUMPY_DTYPE_ATTRIBUTES:
            return getattr(self.dtype, name)
        raise AttributeError(f"'dlmath.dtype' object has no attribute '{name}'")

    def __reduce__(self):
        return _public_from_str, (self.dtype.str,)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def to_real(self) -> "dtype":
        """The real dtype of a complex one (complex64 -> float32); other dtypes unchanged."""
        return _PUBLIC[np.empty(0, self.dtype).real.dtype] if self.is_complex else self

    def to_complex(self) -> "dtype":
        """The complex dtype whose parts are this floating dtype (float32 -> complex64)."""
        if self.is_complex:
            return self
        if not self.is_floating_point or self.dtype == float16:
            raise RuntimeError(f"to_complex: {self} has no complex counterpart")
        return _PUBLIC[np.result_type(self.dtype, complex64)]


_NUMPY_DTYPE_ATTRIBUTES = frozenset(("char", "name", "str", "type", "num", "byteorder", "isnative", "alignment",
                                     "descr", "isbuiltin", "newbyteorder", "flags", "hasobject"))
dtype.__module__ = "dlmath"   # repr(type(dm.float32)) is <class 'dlmath.dtype'>, and pickles find it there


class _PublicTable(dict):
    """NumPy dtype -> its dm.dtype, made on first sight for dtypes beyond the named ones."""
    __slots__ = ()

    def __missing__(self, np_dtype):
        np_dtype = np.dtype(np_dtype)
        made = self[np_dtype] = dtype(np_dtype, _NAMES.get(np_dtype, np_dtype.name))
        return made


_PUBLIC = _PublicTable()
for _d in _NAMES:
    _PUBLIC[_d]


def public(d) -> dtype:
    """The ``dm.dtype`` users see for a NumPy dtype (or any dtype spec)."""
    return _PUBLIC[d]


def _public_from_str(s: str) -> dtype:
    return _PUBLIC[np.dtype(s)]


class _DefaultDtype:
    __slots__ = ("value",)

    def __init__(self):
        self.value = float32


_default = _DefaultDtype()


def default_dtype() -> np.dtype:
    """The dtype Python floats become, as the NumPy dtype the library computes with."""
    return _default.value


def get_default_dtype() -> "dtype":
    """The dtype Python floats become (float32 unless changed)."""
    return _PUBLIC[_default.value]


def set_default_dtype(d) -> None:
    """Set the dtype of Python floats in new tensors (float32 or float64), as torch does."""
    d = to_dtype(d)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point dtypes are supported as default, got {dtype_name(d)}")
    _default.value = d


def to_dtype(d) -> np.dtype:
    """Normalise a dtype spec (dm.float32, np.float32, 'float32', float, ...)."""
    if d is None:
        return None
    if isinstance(d, np.dtype):
        return d
    if d.__class__ is dtype:
        return d.dtype
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"not a dtype: {d!r}") from None


def dtype_name(d) -> str:
    """'dlmath.float32': a dtype as errors and reprs name it."""
    return "dlmath." + (_NAMES.get(d) or np.dtype(d).name)


# torch's ScalarType names ('Float'), by dtype: how its error messages name dtypes
_SCALAR_NAMES = {bool_: "Bool", uint8: "Byte", int8: "Char", int16: "Short", int32: "Int", int64: "Long",
                 float16: "Half", float32: "Float", float64: "Double", complex64: "ComplexFloat",
                 complex128: "ComplexDouble"}
# ... and the C++ type names some of its checks print instead ('float': at::mm, bilinear)
_C_NAMES = {bool_: "bool", uint8: "unsigned char", int8: "signed char", int16: "short int", int32: "int",
            int64: "long int", float16: "c10::Half", float32: "float", float64: "double",
            complex64: "c10::complex<float>", complex128: "c10::complex<double>"}


def scalar_name(d) -> str:
    """'Float' for float32: torch's name of a dtype in its error messages."""
    d = np.dtype(d)
    return _SCALAR_NAMES.get(d, d.name)


def c_name(d) -> str:
    """'float' for float32: the C++ type name some of torch's checks print."""
    d = np.dtype(d)
    return _C_NAMES.get(d, d.name)


# torch's legacy tensor types (torch.FloatTensor, ...), by dtype: what ``t.type()`` names
LEGACY = {d: name + "Tensor" for d, name in _SCALAR_NAMES.items()}
_BY_LEGACY = {v: k for k, v in LEGACY.items()}


def legacy_name(d) -> str:
    """'FloatTensor' for float32 (torch's legacy type name, without the module)."""
    name = LEGACY.get(d)
    if name is None:
        raise TypeError(f"type(): dtype {dtype_name(d)} has no legacy tensor type")
    return name


def legacy_dtype(spec) -> np.dtype:
    """The dtype of a ``Tensor.type(...)`` argument: a dtype, a legacy type (dm.FloatTensor) or its
    name ('torch.FloatTensor', 'dlmath.FloatTensor', 'FloatTensor')."""
    d = getattr(spec, "_legacy_dtype", None)
    if d is not None:
        return d
    if isinstance(spec, str):
        module, _, name = spec.rpartition(".")
        if name in _BY_LEGACY and module in ("", "torch", "dlmath"):
            return _BY_LEGACY[name]
        raise ValueError(f"type(): invalid type: {spec!r} (expected a dtype or a name such as "
                         f"'torch.FloatTensor')")
    return to_dtype(spec)


def category(d: np.dtype) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return _CATEGORY[d.kind]


def is_floating_point(d: np.dtype) -> bool:
    return d.kind == "f"


def scalar_dtype(v) -> np.dtype:
    """The dtype a Python scalar gets when it makes a tensor on its own."""
    if isinstance(v, builtins.bool):
        return bool_
    if isinstance(v, builtins.int):
        return int64
    if isinstance(v, builtins.float):
        return _default.value
    if isinstance(v, builtins.complex):
        return complex64 if _default.value == float32 else complex128
    raise TypeError(f"expected a number, got {type(v).__name__}")


def promote(dims, zero_dims, scalars) -> np.dtype:
    """PyTorch's result type.

    The highest category (bool < int < float < complex) among all operands
    wins; within it, dimensioned tensors outrank 0-d tensors, which outrank
    Python scalars, and only the highest-ranked group that reaches the
    category is promoted. So float32 tensor + float64 0-d tensor is float32.
    """
    top = -1
    for group in (dims, zero_dims):
        for d in group:
            c = _CATEGORY[d.kind]
            if c > top:
                top = c
    for v in scalars:
        c = _CATEGORY[scalar_dtype(v).kind]
        if c > top:
            top = c
    for group in (dims, zero_dims):
        found = None
        for d in group:
            if _CATEGORY[d.kind] == top:
                found = d if found is None else np.promote_types(found, d)
        if found is not None:
            return found
    if top == 3:
        return complex64 if _default.value == float32 else complex128
    return (bool_, int64, _default.value)[top]


# --- what a tensor can hold, and whether a value fits ---------------------------
# The NumPy dtypes torch can make a tensor of (torch.from_numpy's list). Anything else
# (object, str, bytes, datetime64, timedelta64, void, longdouble) would fail much later,
# deep inside an op (promote's _CATEGORY lookup: KeyError 'O'), so creation refuses it.
NUMPY_OK = frozenset(np.dtype(n) for n in (
    "bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128"))

_INT64_MIN, _INT64_MAX = -2 ** 63, 2 ** 63 - 1
_IRANGE = {np.dtype(n): (builtins.int(np.iinfo(n).min), builtins.int(np.iinfo(n).max))
           for n in ("uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64")}
_FMAX = {np.dtype(n): builtins.float(np.finfo(n).max) for n in ("float16", "float32", "float64")}
_FMAX[complex64], _FMAX[complex128] = _FMAX[float32], _FMAX[float64]


def int_range(d: np.dtype):
    """(smallest, largest) value of an integer dtype, as Python ints."""
    return _IRANGE[np.dtype(d)]


def check_numpy_dtype(d: np.dtype, opname: str) -> None:
    """Raise torch's error for an array dtype no tensor can hold (as torch.from_numpy)."""
    if d in NUMPY_OK:
        return
    if not d.isnative and d.newbyteorder("=") in NUMPY_OK:
        raise ValueError(f"{opname}: given numpy array has byte order different from the native byte order "
                         f"({d.str}); convert it first, e.g. arr.astype(arr.dtype.newbyteorder('='))")
    raise TypeError(f"{opname}: can't convert np.ndarray of type numpy.{d.type.__name__} (dtype {d}); the only "
                    f"supported types are: float64, float32, float16, complex64, complex128, int64, int32, int16, "
                    f"int8, uint64, uint32, uint16, uint8, and bool")


def int64_overflow(value, opname: str) -> ValueError:
    """torch's error for a Python int that does not fit in int64 ("Overflow when unpacking long long")."""
    return ValueError(f"{opname}: Overflow when unpacking long long: {value} is outside the int64 range "
                      f"[-2**63, 2**63 - 1]")


def overflow_error(value, d: np.dtype, opname: str) -> RuntimeError:
    if isinstance(value, np.generic):
        value = value.item()
    return RuntimeError(f"{opname}: value {value!r} cannot be converted to type {_NAMES.get(d, str(d))} "
                        f"without overflow")


def check_scalar(value, d: np.dtype, opname: str, wide: bool = False) -> None:
    """Raise torch's error when the number ``value`` cannot be written into a tensor of dtype ``d``.

    As torch (c10::checked_convert): an integer dtype takes ints in its range (unsigned ones
    also negatives down to -max, which wrap) and floats within its range (no NaN or inf); a
    floating dtype takes any finite value up to its largest one, and inf or NaN; a real dtype
    takes a complex only with a zero imaginary part; bool takes anything. A Python int beyond
    int64 is a ValueError, unless ``wide`` (full, fill_: torch reads an int up to 2**64 there,
    so it may fill a floating tensor; beyond, OverflowError). Other objects are left to NumPy.
    """
    kind = d.kind
    if kind == "b" or isinstance(value, (builtins.bool, np.bool_)):
        return
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, builtins.int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            if not wide:
                raise int64_overflow(value, opname)
            if not -2 ** 63 <= value < 2 ** 64:   # beyond what torch's argument parser reads
                raise OverflowError(f"{opname}: int too big to convert: {value}")
            if kind in "iu":
                raise overflow_error(value, d, opname)
            value = builtins.float(value)   # OverflowError beyond float64, as torch
        elif kind in "iu":
            lo, hi = _IRANGE[d]
            if not (-hi if kind == "u" else lo) <= value <= hi:
                raise overflow_error(value, d, opname)
            return
        else:
            if abs(value) > 65504:   # no float dtype overflows below float16's max
                _check_float(builtins.float(value), d, opname)
            return
    if isinstance(value, builtins.complex):
        if kind != "c":
            if value.imag != 0:
                raise overflow_error(value, d, opname)
            value = value.real
        else:
            _check_float(value.real, d, opname, value)
            _check_float(value.imag, d, opname, value)
            return
    if isinstance(value, builtins.float):
        if kind in "iu":
            lo, hi = _IRANGE[d]
            # Python compares a float with an int exactly: 2.0**63 does not fit int64
            if not (0 if kind == "u" else lo) <= value <= hi:   # NaN fails too
                raise overflow_error(value, d, opname)
        else:
            _check_float(value, d, opname)


def scalar_array(value, d: np.dtype) -> np.ndarray:
    """``np.asarray(value, dtype=d)``, where a negative int wraps into an unsigned dtype, as in torch
    (-1 into uint8 is 255; NumPy 2 raises OverflowError instead)."""
    if d.kind == "u" and isinstance(value, builtins.int) and value < 0:
        return np.asarray(value, dtype=int64).astype(d)
    return np.asarray(value, dtype=d)


def _check_float(v, d, opname, shown=None):
    fmax = _FMAX.get(d)
    if fmax is not None and abs(v) > fmax and abs(v) != builtins.float("inf"):
        raise overflow_error(v if shown is None else shown, d, opname)


def check_int_array(arr: np.ndarray, d: np.dtype, opname: str) -> None:
    """Raise torch's error when an element of ``arr`` (made from Python data) does not fit the
    integer dtype ``d`` (the same rule as check_scalar, element-wise)."""
    k = arr.dtype.kind
    if not arr.size or k == "b" or arr.dtype == d:
        return
    lo, hi = _IRANGE[d]
    if k in "iu":
        if d.kind == "u":
            lo = -hi
        src = _IRANGE.get(arr.dtype)
        if src is not None and lo <= src[0] and src[1] <= hi:
            return   # every value of the source dtype fits
    elif k == "f":
        if d.kind == "u":
            lo = 0
    elif k == "c":
        raise TypeError(f"{opname}: a complex value cannot be interpreted as an integer "
                        f"(converting to {_NAMES.get(d, str(d))})")
    else:
        return
    if arr.size <= 64:   # Python's loop beats two NumPy reductions on what a literal list holds
        for v in arr.ravel().tolist():
            if not lo <= v <= hi:   # NaN fails too
                raise overflow_error(v, d, opname)
        return
    mn, mx = arr.min(), arr.max()   # a NaN propagates to both
    if not (lo <= mn and mx <= hi):
        raise overflow_error(mn if not lo <= mn else mx, d, opname)


# --- dtype queries (torch.finfo, iinfo, promote_types, can_cast, result_type) ---------------
def _as_dtype(d, fname, arg="type"):
    if d.__class__ is dtype:
        return d.dtype
    if not isinstance(d, np.dtype):
        raise TypeError(f"{fname}(): argument '{arg}' must be a dtype (dm.float32, ...), not {type(d).__name__}")
    return d


def _num(x):
    """A finfo/iinfo field's repr as torch prints it (6 significant digits)."""
    return f"{x:g}"


class finfo:
    """torch.finfo: the numerical limits of a floating dtype (the default dtype when none is given).

    ``bits``, ``eps`` (the gap from 1 to the next number), ``max``, ``min`` (= -max),
    ``tiny`` and ``smallest_normal`` (the smallest positive normal number), ``resolution``
    (10 ** -precision decimal digits) and ``dtype`` (its name, a string, as torch). A complex
    dtype gives the limits of its real part."""
    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type=None):
        d = _default.value if type is None else _as_dtype(type, "finfo")
        if d.kind not in "fc":
            raise TypeError(f"finfo() requires a floating point input type (got {dtype_name(d)}). "
                            f"Use dm.iinfo to handle '{dtype_name(d)}'")
        info = np.finfo(d)
        self.bits = info.bits
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision   # torch: 0.001 for float16 (NumPy: its float16 value)
        self.dtype = _NAMES[np.dtype(info.dtype)]

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={_num(self.resolution)}, min={_num(self.min)}, max={_num(self.max)}, "
                f"eps={_num(self.eps)}, smallest_normal={_num(self.smallest_normal)}, tiny={_num(self.tiny)}, "
                f"dtype={self.dtype})")


class iinfo:
    """torch.iinfo: ``bits``, ``max``, ``min`` (Python ints) and ``dtype`` (its name) of an integer dtype."""
    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, type):
        d = _as_dtype(type, "iinfo")
        if d.kind == "b":
            raise TypeError(f"{dtype_name(d)} is not supported by dm.iinfo")
        if d.kind not in "iu":
            raise TypeError(f"iinfo() requires an integer input type (got {dtype_name(d)}). "
                            f"Use dm.finfo to handle '{dtype_name(d)}'")
        info = np.iinfo(d)
        self.bits, self.max, self.min = info.bits, builtins.int(info.max), builtins.int(info.min)
        self.dtype = _NAMES.get(d, str(d))

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={_num(self.min)}, max={_num(self.max)}, dtype={self.dtype})"


def promote_types(type1, type2) -> dtype:
    """torch.promote_types: the smallest dtype both convert to without leaving their category's
    order (bool < integer < floating < complex): an integer with a floating dtype gives the
    floating one (int64 with float16 is float16, where NumPy says float64)."""
    a, b = _as_dtype(type1, "promote_types", "type1"), _as_dtype(type2, "promote_types", "type2")
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb and builtins.min(ca, cb) <= 1:
        return _PUBLIC[a if ca > cb else b]
    return _PUBLIC[np.promote_types(a, b)]


def can_cast(from_, to) -> bool:
    """torch.can_cast: whether the type promotion rules allow casting ``from_`` to ``to``, i.e.
    ``to`` is not of a lower category (bool < integer < floating < complex); within a
    category any cast is allowed (float64 to float16 is True)."""
    a, b = _as_dtype(from_, "can_cast", "from_"), _as_dtype(to, "can_cast", "to")
    return _CATEGORY[a.kind] <= _CATEGORY[b.kind]


def result_type(tensor1, tensor2) -> dtype:
    """torch.result_type: the dtype an arithmetic op on the two operands (tensors or Python
    numbers) computes in: the category is the highest of the two; within it, a tensor
    with dims outranks a 0-d tensor, which outranks a Python number."""
    dims, zero_dims, scalars = [], [], []
    for arg, x in (("tensor1", tensor1), ("tensor2", tensor2)):
        d = getattr(x, "dtype", None)
        if d.__class__ is dtype:
            d = d.dtype
        if isinstance(d, np.dtype) and hasattr(x, "ndim") and not isinstance(x, np.generic):
            (dims if x.ndim else zero_dims).append(d)
        elif isinstance(x, (builtins.bool, builtins.int, builtins.float, builtins.complex)):
            scalars.append(x)
        elif isinstance(x, np.generic):
            scalars.append(x.item())
        else:
            raise TypeError(f"result_type(): argument '{arg}' must be a Tensor or a Number, "
                            f"not {type(x).__name__}")
    return _PUBLIC[promote(dims, zero_dims, scalars)]
