"""Small data sets for learning and testing, shipped inside the package (they work offline).

No PyTorch equivalent: ``torchvision.datasets`` downloads; these are on disk already.

Real data (``_files``):

- ``load_digits()``: 1797 handwritten digits as 8x8 images with values 0..16, the test
  set of the UCI "Optical Recognition of Handwritten Digits" data (E. Alpaydin, C. Kaynak,
  1998; the copy scikit-learn ships), licensed CC BY 4.0,
  https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits .
  A ten-class image classifier (an MLP or a small CNN) trains on it in seconds.
- ``names()``: 5163 lower-case first names from the US Census Bureau's 1990 first-name
  lists (public domain), as packaged in the ``names`` project (MIT licence,
  https://github.com/treyhunner/names). The training text of a character-level
  language model (bigram counts, an MLP or an RNN that invents new names).

Synthetic data (``_synthetic``), drawn from dlmath's generators so a seed reproduces it:

- ``make_moons``, ``make_blobs``: scikit-learn's two interleaved half circles and
  Gaussian clusters; the 2-d toy problems for watching a classifier's decision boundary.
- ``make_spirals``: ``n_classes`` interleaved spiral arms; a problem no linear model
  separates, the classic demonstration of what a hidden layer buys.

The provenance and licences of the shipped files are also in ``datasets/data/README``.
"""
from ._files import load_digits, names
from ._synthetic import make_blobs, make_moons, make_spirals

__all__ = ["load_digits", "names", "make_moons", "make_blobs", "make_spirals"]


def __getattr__(name):
    # An unknown data set (dm.datasets.load_mnist, a scikit-learn habit) gets a list of what ships,
    # not a bare AttributeError: nothing is downloaded, so only these exist.
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"dlmath.datasets has no data set {name!r}; it ships {', '.join(__all__)} "
                         "(offline, inside the package: nothing is downloaded)")
