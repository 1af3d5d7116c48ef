"""The data sets read from files shipped in ``dlmath/datasets/data`` (see its README).

Each file is decoded once per process and kept as read-only NumPy arrays; every call
hands out fresh tensors (or a fresh list), so changing a result in place never changes
what the next call returns.
"""
import functools
import gzip
import io
from importlib import resources

import numpy as np

from ..creation import tensor

__all__ = ["load_digits", "names"]


def _read(filename):
    """The bytes of a shipped data file (found through importlib.resources, so it works
    from an installed wheel, an editable install or a source checkout alike)."""
    try:
        return (resources.files(__package__) / "data" / filename).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"dlmath.datasets: the data file data/{filename} is missing from the "
                                f"installed package (was it built without its package data?)") from None


@functools.cache
def _digits():
    with np.load(io.BytesIO(_read("digits.npz")), allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    if images.shape != (1797, 8, 8) or labels.shape != (1797,):
        raise RuntimeError(f"dlmath.datasets.load_digits: data/digits.npz is damaged "
                           f"(images {images.shape}, labels {labels.shape})")
    images, labels = images.astype(np.float32), labels.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_digits():
    """The UCI handwritten digits: ``(images, labels)``.

    ``images`` is a float32 tensor of shape (1797, 8, 8) holding the original integer
    counts 0..16 (each pixel counts the ink in a 4x4 block of a 32x32 bitmap; divide by 16
    to scale to [0, 1]); ``labels`` is an int64 tensor (1797,) of digits 0..9, about 180
    of each. This is the test set of the UCI "Optical Recognition of Handwritten Digits"
    data (E. Alpaydin, C. Kaynak, 1998, CC BY 4.0), the copy scikit-learn's
    ``load_digits`` returns, in the same order. Used to train a first image classifier.

    >>> images, labels = load_digits()
    >>> tuple(images.shape), str(images.dtype), tuple(labels.shape), str(labels.dtype)
    ((1797, 8, 8), 'dlmath.float32', (1797,), 'dlmath.int64')
    """
    images, labels = _digits()
    return tensor(images), tensor(labels)


@functools.cache
def _names():
    text = gzip.decompress(_read("names.txt.gz")).decode("ascii")
    return tuple(text.split())


def names():
    """5163 distinct lower-case first names (letters a-z only), most common first.

    The US Census Bureau's 1990 male and female first-name lists (public domain), via
    the ``names`` package (MIT licence). The order is by descending frequency, a name on
    both lists counting the sum of its two percentages, ties broken alphabetically, so
    ``names()[:1000]`` is the thousand most common. The text to train a character-level
    model on (bigrams, an MLP over a context of letters, an RNN). A new list each call.

    >>> names()[:5]
    ['james', 'john', 'robert', 'michael', 'mary']
    """
    return list(_names())
