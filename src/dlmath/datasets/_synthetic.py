"""Synthetic 2-d (and n-d) classification data: moons, blobs, spirals.

The geometry of ``make_moons`` and ``make_blobs`` is scikit-learn's; ``make_spirals`` is
dlmath's own. The randomness is dlmath's: ``generator`` is a ``dm.Generator``
(``dm.Generator().manual_seed(0)``) or None for the default one (``dm.manual_seed``), and
every draw goes through ``dm.rand``, ``dm.randn`` and ``dm.randperm``, so a seed
reproduces the data. Each returns ``(X, y)``: X a float32 tensor (n_samples, n_features),
y an int64 tensor (n_samples,) of class indices.
"""
import math
import numbers
import operator

import numpy as np

from ..creation import from_numpy, rand, randn, randperm
from .._random import Generator
from ..tensor import Tensor

__all__ = ["make_moons", "make_blobs", "make_spirals"]


# --- argument checks --------------------------------------------------------------------
def _int(fn, name, value, minimum):
    if isinstance(value, bool):
        raise TypeError(f"{fn}: {name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be an integer, got {type(value).__name__} {value!r}") from None
    if value < minimum:
        raise ValueError(f"{fn}: {name} must be at least {minimum}, got {value}")
    return value


def _real(fn, name, value, minimum=None, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{fn}: {name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{fn}: {name} must be positive, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{fn}: {name} must be at least {minimum}, got {value}")
    return value


def _noise(fn, noise):
    return None if noise is None else _real(fn, "noise", noise, minimum=0.0)


def _generator(fn, generator):
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{fn}: generator must be a dm.Generator or None, got {type(generator).__name__}")
    return generator


def _array(fn, name, value):
    """A float64 array from a number, sequence, array or tensor; finite values only."""
    if isinstance(value, Tensor):
        value = value.detach().numpy()
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be numbers (a sequence, array or tensor), got {value!r}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    return arr


def _split(n, parts):
    """n as evenly as possible into parts, the first ``n % parts`` one larger."""
    return [n // parts + (i < n % parts) for i in range(parts)]


# --- the finish shared by all three: shuffle, noise, tensors --------------------------
def _finish(X, y, shuffle, noise, generator):
    if shuffle:
        perm = randperm(len(y), generator=generator).numpy()
        X, y = X[perm], y[perm]
    if noise is not None:
        X = X + noise * randn(*X.shape, generator=generator, dtype=np.float64).numpy()
    return from_numpy(np.ascontiguousarray(X, dtype=np.float32)), from_numpy(np.ascontiguousarray(y, dtype=np.int64))


def make_moons(n_samples=100, *, shuffle=True, noise=None, generator=None):
    """Two interleaving half circles, scikit-learn's ``make_moons``: ``(X, y)``.

    Class 0 lies on the upper half of the unit circle, ``(cos a, sin a)``, and class 1 on
    the lower half circle moved right and up, ``(1 - cos a, 1 - sin a - 0.5)``, with ``a``
    evenly spaced over [0, pi] in each. ``n_samples`` is a total (class 0 gets
    ``n_samples // 2``, class 1 the rest) or a pair ``(n_class0, n_class1)``. ``noise``,
    if given, is the standard deviation of Gaussian noise added to each coordinate.
    The first non-linear toy problem: a line cannot separate the two moons.

    >>> X, y = make_moons(10, generator=Generator().manual_seed(0))
    >>> tuple(X.shape), int(y.sum())
    ((10, 2), 5)
    """
    fn = "make_moons"
    if isinstance(n_samples, (tuple, list)):
        if len(n_samples) != 2:
            raise ValueError(f"{fn}: n_samples must be an integer or a pair (n_class0, n_class1), got {n_samples!r}")
        n_out, n_in = (_int(fn, "n_samples", v, 0) for v in n_samples)
        if n_out + n_in < 1:
            raise ValueError(f"{fn}: n_samples must add up to at least 1, got {tuple(n_samples)!r}")
    else:
        n = _int(fn, "n_samples", n_samples, 1)
        n_out, n_in = n // 2, n - n // 2
    noise, generator = _noise(fn, noise), _generator(fn, generator)
    a, b = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                        np.stack([1 - np.cos(b), 1 - np.sin(b) - 0.5], 1)])
    y = np.repeat(np.arange(2), [n_out, n_in])
    return _finish(X, y, shuffle, noise, generator)


def make_blobs(n_samples=100, n_features=2, *, centers=None, cluster_std=1.0, center_box=(-10.0, 10.0),
               shuffle=True, generator=None, return_centers=False):
    """Isotropic Gaussian clusters, scikit-learn's ``make_blobs``: ``(X, y)``.

    ``centers`` is a number of clusters (default 3), whose centres are drawn uniformly from
    the box ``center_box`` in each of ``n_features`` dimensions, or the centres themselves,
    an (n_centers, n_features) array (which then sets n_features). ``n_samples`` is a total,
    split as evenly as possible (the first ``n_samples % n_centers`` clusters get one more),
    or a sequence of per-cluster counts (then ``centers`` is None or has as many rows).
    Cluster i is ``centers[i] + cluster_std[i] * N(0, I)``; ``cluster_std`` is one number
    or one per cluster. With ``return_centers=True`` the centres (float32) come third.
    The simplest classification and clustering data (softmax regression, k-means).

    >>> X, y = make_blobs(7, centers=[[0.0, 0.0], [5.0, 5.0]], generator=Generator().manual_seed(0))
    >>> tuple(X.shape), [y.tolist().count(c) for c in (0, 1)]
    ((7, 2), [4, 3])
    """
    fn = "make_blobs"
    generator = _generator(fn, generator)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        centers = _int(fn, "centers", centers, 1)
    if isinstance(n_samples, numbers.Integral):
        n_samples = _int(fn, "n_samples", n_samples, 1)
        counts = None
        if centers is None:
            centers = 3
    else:
        try:
            counts = [_int(fn, "n_samples", v, 0) for v in n_samples]
        except TypeError:
            raise TypeError(f"{fn}: n_samples must be an integer or a sequence of integers, "
                            f"got {n_samples!r}") from None
        if not counts or sum(counts) < 1:
            raise ValueError(f"{fn}: n_samples must add up to at least 1, got {n_samples!r}")
        if isinstance(centers, int):
            raise ValueError(f"{fn}: with per-cluster counts n_samples, centers must be None or an array "
                             f"of centres, got {centers!r}")
        if centers is None:
            centers = len(counts)
    if isinstance(centers, int):
        n_features = _int(fn, "n_features", n_features, 1)
        lo, hi = _box(fn, center_box)
        centers = lo + (hi - lo) * rand(centers, n_features, generator=generator, dtype=np.float64).numpy()
    else:
        centers = _array(fn, "centers", centers)
        if centers.ndim != 2 or centers.shape[0] < 1 or centers.shape[1] < 1:
            raise ValueError(f"{fn}: centers must be a number or an (n_centers, n_features) array, "
                             f"got shape {centers.shape}")
        n_features = centers.shape[1]
    k = len(centers)
    if counts is None:
        counts = _split(n_samples, k)
    elif len(counts) != k:
        raise ValueError(f"{fn}: n_samples gives {len(counts)} cluster sizes but there are {k} centers")
    std = _array(fn, "cluster_std", cluster_std)
    if std.ndim > 1 or (std.ndim == 1 and len(std) != k):
        raise ValueError(f"{fn}: cluster_std must be a number or one per center ({k}), got {cluster_std!r}")
    if (std < 0).any():
        raise ValueError(f"{fn}: cluster_std must be non-negative, got {cluster_std!r}")
    std = np.broadcast_to(std, (k,))
    y = np.repeat(np.arange(k), counts)
    X = centers[y] + std[y, None] * randn(len(y), n_features, generator=generator, dtype=np.float64).numpy()
    X, y = _finish(X, y, shuffle, None, generator)
    return (X, y, from_numpy(centers.astype(np.float32))) if return_centers else (X, y)


def _box(fn, center_box):
    try:
        lo, hi = center_box
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: center_box must be a pair (low, high), got {center_box!r}") from None
    lo, hi = _real(fn, "center_box[0]", lo), _real(fn, "center_box[1]", hi)
    if lo > hi:
        raise ValueError(f"{fn}: center_box must have low <= high, got {center_box!r}")
    return lo, hi


def make_spirals(n_samples=100, *, n_classes=2, noise=None, turns=1.0, shuffle=True, generator=None):
    """``n_classes`` interleaved spiral arms around the origin: ``(X, y)``.

    The n_samples are split among the classes as evenly as possible (the first
    ``n_samples % n_classes`` get one more). Arm k (0 <= k < K = n_classes) with m points
    has, for ``t = 1/m, 2/m, ..., 1``::

        angle  = 2 pi (turns * t + k / K)        radius = t
        x      = (radius cos(angle), radius sin(angle))

    so the radius grows linearly with the angle, from near the origin to 1 after
    ``turns`` full turns, and the K arms are rotated 2 pi / K apart. ``noise``, if given,
    is the standard deviation of Gaussian noise added to each coordinate. The classic
    data a linear model cannot fit and a network with a hidden layer can.

    >>> X, y = make_spirals(9, n_classes=3, generator=Generator().manual_seed(0))
    >>> tuple(X.shape), [y.tolist().count(c) for c in (0, 1, 2)]
    ((9, 2), [3, 3, 3])
    """
    fn = "make_spirals"
    n = _int(fn, "n_samples", n_samples, 1)
    k = _int(fn, "n_classes", n_classes, 1)
    noise, generator = _noise(fn, noise), _generator(fn, generator)
    turns = _real(fn, "turns", turns, positive=True)
    counts = _split(n, k)
    y = np.repeat(np.arange(k), counts)
    t = np.concatenate([np.arange(1, m + 1) / m for m in counts])
    angle = 2 * np.pi * (turns * t + y / k)
    X = np.stack([t * np.cos(angle), t * np.sin(angle)], 1)
    return _finish(X, y, shuffle, noise, generator)
