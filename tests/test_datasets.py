"""dm.datasets: the shipped data sets (digits, names) and the synthetic ones (moons, blobs, spirals)."""
import numpy as np
import pytest

import dlmath as dm
from dlmath import datasets

pytestmark = pytest.mark.dlmath_only  # no torch equivalent

FIRST_DIGIT = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0,
               0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0,
               6, 13, 10, 0, 0, 0]   # the first row of scikit-learn's digits.csv.gz; its label is 0
LAST_DIGIT = [0, 0, 10, 14, 8, 1, 0, 0, 0, 2, 16, 14, 6, 1, 0, 0, 0, 0, 15, 15, 8, 15, 0, 0, 0, 0, 5, 16,
              16, 10, 0, 0, 0, 0, 12, 15, 15, 12, 0, 0, 0, 4, 16, 6, 4, 16, 6, 0, 0, 8, 16, 10, 8, 16, 8, 0,
              0, 1, 8, 12, 14, 12, 1, 0]   # the last row; its label is 8


def gen(seed):
    return dm.Generator().manual_seed(seed)


# --- digits ----------------------------------------------------------------------------
def test_digits_shapes_dtypes_and_values():
    images, labels = datasets.load_digits()
    assert isinstance(images, dm.Tensor) and isinstance(labels, dm.Tensor)
    assert tuple(images.shape) == (1797, 8, 8) and images.dtype == dm.float32
    assert tuple(labels.shape) == (1797,) and labels.dtype == dm.int64
    x = images.numpy()
    assert x.min() == 0 and x.max() == 16 and (x == np.round(x)).all()   # raw counts, not normalised
    assert int(x.sum()) == 561718
    assert not images.requires_grad


def test_digits_labels():
    _, labels = datasets.load_digits()
    counts = np.bincount(labels.numpy(), minlength=10)
    assert len(counts) == 10 and counts.sum() == 1797
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert labels[:10].tolist() == list(range(10))


def test_digits_first_and_last_rows_match_the_csv():
    images, labels = datasets.load_digits()
    assert images[0].numpy().ravel().tolist() == FIRST_DIGIT and int(labels[0]) == 0
    assert images[-1].numpy().ravel().tolist() == LAST_DIGIT and int(labels[-1]) == 8


def test_digits_calls_return_independent_tensors():
    a_images, a_labels = datasets.load_digits()
    a_images.mul_(0).add_(-1)
    a_labels.fill_(7)
    b_images, b_labels = datasets.load_digits()
    assert b_images[0].numpy().ravel().tolist() == FIRST_DIGIT
    assert np.bincount(b_labels.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert not np.shares_memory(a_images.numpy(), b_images.numpy())


# --- names -----------------------------------------------------------------------------
def test_names_content_and_order():
    names = datasets.names()
    assert isinstance(names, list) and len(names) == 5163
    assert len(set(names)) == len(names)
    assert all(isinstance(n, str) and n and n.isascii() and n.isalpha() and n.islower() for n in names)
    assert names[:5] == ["james", "john", "robert", "michael", "mary"]   # most common first
    assert {"emma", "olivia", "noah", "zonia"} <= set(names)


def test_names_returns_a_new_list_each_call():
    first = datasets.names()
    first.clear()
    again = datasets.names()
    assert len(again) == 5163 and again == datasets.names()


# --- make_moons ------------------------------------------------------------------------
def check_xy(X, y, n, features, classes):
    assert tuple(X.shape) == (n, features) and X.dtype == dm.float32
    assert tuple(y.shape) == (n,) and y.dtype == dm.int64
    assert set(y.tolist()) <= set(range(classes))


def test_moons_shapes_and_counts():
    X, y = datasets.make_moons(101, generator=gen(0))
    check_xy(X, y, 101, 2, 2)
    assert np.bincount(y.numpy()).tolist() == [50, 51]
    X, y = datasets.make_moons((3, 7), shuffle=False)
    assert y.tolist() == [0] * 3 + [1] * 7


def test_moons_without_noise_lie_on_the_half_circles():
    X, y = datasets.make_moons(200, generator=gen(1))
    x, y = X.numpy().astype(np.float64), y.numpy()
    outer, inner = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1, atol=1e-6)
    assert (outer[:, 1] >= -1e-6).all()                      # upper half of the unit circle
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1, atol=1e-6)
    assert (inner[:, 1] <= 0.5 + 1e-6).all()                 # lower half, centred at (1, 0.5)
    X, y = datasets.make_moons(5, shuffle=False)             # evenly spaced angles from 0 to pi
    np.testing.assert_allclose(X.numpy()[:2], [[1, 0], [-1, 0]], atol=1e-6)
    np.testing.assert_allclose(X.numpy()[2:], [[0, 0.5], [1, -0.5], [2, 0.5]], atol=1e-6)


def test_moons_noise_moves_points_off_the_circles():
    X, y = datasets.make_moons(500, noise=0.1, generator=gen(2))
    x = X.numpy()[y.numpy() == 0].astype(np.float64)
    dev = np.hypot(x[:, 0], x[:, 1]) - 1
    assert 0.05 < dev.std() < 0.15


# --- make_blobs ------------------------------------------------------------------------
def test_blobs_defaults():
    X, y, centers = datasets.make_blobs(generator=gen(0), return_centers=True)
    check_xy(X, y, 100, 2, 3)
    assert np.bincount(y.numpy()).tolist() == [34, 33, 33]
    c = centers.numpy()
    assert c.shape == (3, 2) and centers.dtype == dm.float32
    assert (c >= -10).all() and (c <= 10).all()


def test_blobs_cluster_means_near_centers():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, -5.0, 2.0], [-4.0, 8.0, 1.0]])
    X, y = datasets.make_blobs(3000, centers=centers, cluster_std=[0.5, 1.0, 2.0], generator=gen(3))
    check_xy(X, y, 3000, 3, 3)
    x, y = X.numpy(), y.numpy()
    for k, std in enumerate([0.5, 1.0, 2.0]):
        np.testing.assert_allclose(x[y == k].mean(0), centers[k], atol=4 * std / np.sqrt(1000))
        np.testing.assert_allclose(x[y == k].std(0), std, rtol=0.15)


def test_blobs_random_centers_in_the_box_and_counts_per_cluster():
    X, y, c = datasets.make_blobs([5, 0, 12], n_features=4, center_box=(2, 3), cluster_std=0.0,
                                  shuffle=False, generator=gen(4), return_centers=True)
    check_xy(X, y, 17, 4, 3)
    assert y.tolist() == [0] * 5 + [2] * 12
    assert (c.numpy() >= 2).all() and (c.numpy() <= 3).all()
    np.testing.assert_allclose(X.numpy(), c.numpy()[y.numpy()])     # std 0: every point on its centre
    X, y = datasets.make_blobs(10, n_features=5, centers=4, generator=gen(4))
    check_xy(X, y, 10, 5, 4)
    assert np.bincount(y.numpy()).tolist() == [3, 3, 2, 2]


# --- make_spirals ----------------------------------------------------------------------
def test_spirals_balance_and_formula():
    X, y = datasets.make_spirals(300, n_classes=3, generator=gen(0))
    check_xy(X, y, 300, 2, 3)
    assert np.bincount(y.numpy()).tolist() == [100, 100, 100]
    X, y = datasets.make_spirals(7, n_classes=3, turns=1.5, shuffle=False)
    assert np.bincount(y.numpy()).tolist() == [3, 2, 2]
    t = np.array([1, 2, 3, 1, 2, 1, 2]) / np.array([3, 3, 3, 2, 2, 2, 2])
    angle = 2 * np.pi * (1.5 * t + y.numpy() / 3)
    np.testing.assert_allclose(X.numpy(), np.stack([t * np.cos(angle), t * np.sin(angle)], 1), atol=1e-6)


def test_spirals_radius_and_noise():
    X, _ = datasets.make_spirals(400, n_classes=4, generator=gen(5))
    r = np.hypot(*X.numpy().T)
    assert r.min() > 0 and r.max() <= 1 + 1e-6
    X, _ = datasets.make_spirals(400, n_classes=4, noise=0.2, generator=gen(5))
    assert np.hypot(*X.numpy().T).max() > 1


# --- randomness ------------------------------------------------------------------------
MAKERS = [
    lambda g: datasets.make_moons(50, noise=0.1, generator=g),
    lambda g: datasets.make_blobs(50, generator=g),
    lambda g: datasets.make_spirals(50, n_classes=3, noise=0.1, generator=g),
]


@pytest.mark.parametrize("make", MAKERS, ids=["moons", "blobs", "spirals"])
def test_seeded_generator_reproduces_and_other_seeds_differ(make):
    X1, y1 = make(gen(42))
    X2, y2 = make(gen(42))
    assert np.array_equal(X1.numpy(), X2.numpy()) and np.array_equal(y1.numpy(), y2.numpy())
    X3, y3 = make(gen(43))
    assert not np.array_equal(X1.numpy(), X3.numpy())


@pytest.mark.parametrize("make", MAKERS, ids=["moons", "blobs", "spirals"])
def test_default_generator_follows_manual_seed(make):
    state = dm.get_rng_state()
    try:
        dm.manual_seed(7)
        X1, y1 = make(None)
        X2, _ = make(None)
        dm.manual_seed(7)
        X3, y3 = make(None)
    finally:
        dm.set_rng_state(state)
    assert np.array_equal(X1.numpy(), X3.numpy()) and np.array_equal(y1.numpy(), y3.numpy())
    assert not np.array_equal(X1.numpy(), X2.numpy())


def test_synthetic_results_are_fresh_tensors():
    X1, y1 = datasets.make_moons(20, shuffle=False)
    X1.fill_(0.0)
    X2, _ = datasets.make_moons(20, shuffle=False)
    assert X2.numpy()[0].tolist() == [1.0, 0.0]


# --- argument errors -------------------------------------------------------------------
BAD = [
    (datasets.make_moons, dict(n_samples=0), ValueError, r"make_moons: n_samples must be at least 1, got 0"),
    (datasets.make_moons, dict(n_samples=-3), ValueError, r"make_moons: n_samples .* got -3"),
    (datasets.make_moons, dict(n_samples=2.5), TypeError, r"make_moons: n_samples must be an integer"),
    (datasets.make_moons, dict(n_samples=(1, 2, 3)), ValueError, r"make_moons: n_samples .* pair"),
    (datasets.make_moons, dict(noise=-0.1), ValueError, r"make_moons: noise must be at least 0.0, got -0.1"),
    (datasets.make_moons, dict(noise=float("nan")), ValueError, r"make_moons: noise must be finite"),
    (datasets.make_moons, dict(generator=0), TypeError, r"make_moons: generator must be a dm.Generator"),
    (datasets.make_blobs, dict(n_samples=0), ValueError, r"make_blobs: n_samples must be at least 1, got 0"),
    (datasets.make_blobs, dict(n_features=0), ValueError, r"make_blobs: n_features must be at least 1, got 0"),
    (datasets.make_blobs, dict(centers=0), ValueError, r"make_blobs: centers must be at least 1, got 0"),
    (datasets.make_blobs, dict(cluster_std=-1.0), ValueError, r"make_blobs: cluster_std must be non-negative"),
    (datasets.make_blobs, dict(centers=2, cluster_std=[1.0, 2.0, 3.0]), ValueError, r"make_blobs: cluster_std"),
    (datasets.make_blobs, dict(center_box=(5, 1)), ValueError, r"make_blobs: center_box must have low <= high"),
    (datasets.make_blobs, dict(n_samples=[3, 4], centers=[[0, 0]]), ValueError, r"make_blobs: n_samples gives 2"),
    (datasets.make_blobs, dict(centers=[1.0, 2.0]), ValueError, r"make_blobs: centers must be .* array"),
    (datasets.make_spirals, dict(n_samples=0), ValueError, r"make_spirals: n_samples must be at least 1, got 0"),
    (datasets.make_spirals, dict(n_classes=0), ValueError, r"make_spirals: n_classes must be at least 1, got 0"),
    (datasets.make_spirals, dict(noise=-1), ValueError, r"make_spirals: noise must be at least 0.0, got -1"),
    (datasets.make_spirals, dict(turns=0), ValueError, r"make_spirals: turns must be positive, got 0"),
    (datasets.make_spirals, dict(n_classes=True), TypeError, r"make_spirals: n_classes must be an integer"),
]


@pytest.mark.parametrize("fn, kwargs, exc, match", BAD, ids=[f"{f.__name__}-{k}" for f, k, _, _ in BAD])
def test_bad_arguments_raise_clear_errors(fn, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(**kwargs)


def test_an_unknown_data_set_names_what_ships():
    import dlmath as dm
    with pytest.raises(AttributeError, match="no data set 'load_mnist'; it ships load_digits, names"):
        dm.datasets.load_mnist()
