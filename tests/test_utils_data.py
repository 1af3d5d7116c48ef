"""dm.utils.data against torch.utils.data: datasets, samplers, DataLoader and default_collate.

Where the behaviour is deterministic (sequential order, lengths, split sizes, the structure
and dtypes of collated batches, errors) the two libraries run side by side. The random
stream is dlmath's own, so for shuffles and splits the tests check the properties instead:
a seed reproduces, epochs differ, every index comes once per epoch.
"""
import collections
import warnings

import numpy as np
import pytest

from helpers import dm, dlmath_only, dtype_name

Point = collections.namedtuple("Point", ["x", "y"])


def gen(lib, seed):
    return lib.Generator().manual_seed(seed)


def structure(obj):
    """A comparable, library-free picture of a batch: tensors as (dtype, shape, values)."""
    if type(obj).__name__ in ("Tensor", "Parameter"):
        return ("tensor", dtype_name(obj.dtype), tuple(obj.shape), obj.tolist())
    if isinstance(obj, dict):
        return ("dict", {k: structure(v) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [structure(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [structure(v) for v in obj])
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.tolist())
    return (type(obj).__name__, obj)


def same_error(run, lib_a, lib_b, prefix_only=False):
    """Run ``run(lib)`` on both; both must raise the same exception type and message (with
    ``prefix_only``, the first's message starts with the second's: dlmath adds the sizes)."""
    errors = []
    for lib in (lib_a, lib_b):
        with pytest.raises(Exception) as info:
            run(lib)
        errors.append(info.value)
    a, b = errors
    assert type(a) is type(b), (a, b)
    if prefix_only:
        assert str(a).startswith(str(b)), (str(a), str(b))
    else:
        assert str(a) == str(b)
    return a


def xy(lib, n=10):
    x = lib.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = lib.tensor(np.arange(n) % 3)
    return lib.utils.data.TensorDataset(x, y)


class Squares(dm.utils.data.Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


def stream_class(lib):
    class Stream(lib.utils.data.IterableDataset):
        def __init__(self, n, length=None):
            self.n, self.length = n, length

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n if self.length is None else self.length
    return Stream


# --- DataLoader: batches and lengths against torch ----------------------------------------
@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (4, False), (4, True),
                                                   (10, False), (10, True), (11, False), (11, True)])
def test_sequential_batches_match_torch(torch, batch_size, drop_last):
    got = [structure(b) for b in dm.utils.data.DataLoader(xy(dm), batch_size=batch_size, drop_last=drop_last)]
    want = [structure(b) for b in torch.utils.data.DataLoader(xy(torch), batch_size=batch_size,
                                                               drop_last=drop_last)]
    assert got == want
    assert len(dm.utils.data.DataLoader(xy(dm), batch_size=batch_size, drop_last=drop_last)) == len(want)


@pytest.mark.parametrize("n", [0, 1, 7, 10, 64, 65])
@pytest.mark.parametrize("batch_size", [1, 3, 8, 64])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_matches_torch(torch, n, batch_size, drop_last):
    for shuffle in (False, True):
        kw = dict(batch_size=batch_size, drop_last=drop_last, shuffle=shuffle)
        if n == 0 and shuffle:
            continue   # RandomSampler refuses an empty dataset (num_samples=0), in both
        mine = dm.utils.data.DataLoader(list(range(n)), **kw)
        theirs = torch.utils.data.DataLoader(list(range(n)), **kw)
        assert len(mine) == len(theirs) == len(list(theirs)) == len(list(mine))


def test_len_with_a_sampler_and_batch_size_none_matches_torch(torch):
    for lib in (dm, torch):
        data = lib.utils.data
        assert len(data.DataLoader(range(10), batch_size=None)) == 10
        assert len(data.DataLoader(range(10), sampler=[1, 2, 3], batch_size=2)) == 2
        assert len(data.DataLoader(range(10), batch_sampler=[[1, 2], [3], [4, 5, 6]])) == 3


def test_batch_size_none_converts_each_example_like_torch(torch):
    data = [(np.array([1.0, 2.0]), 3, "a"), (np.array([4.0, 5.0]), 6, "b")]
    got = [structure(b) for b in dm.utils.data.DataLoader(data, batch_size=None)]
    want = [structure(b) for b in torch.utils.data.DataLoader(data, batch_size=None)]
    assert got == want
    assert got[0] == ("list", [("tensor", "float64", (2,), [1.0, 2.0]), ("int", 3), ("str", "a")])


def test_dict_examples_numpy_rows_and_strings_match_torch(torch):
    rows = [{"x": np.full((2, 2), i, dtype=np.float32), "label": i % 2, "w": 0.5 * i, "id": f"s{i}"}
            for i in range(5)]
    got = [structure(b) for b in dm.utils.data.DataLoader(rows, batch_size=2)]
    want = [structure(b) for b in torch.utils.data.DataLoader(rows, batch_size=2)]
    assert got == want


def test_sampler_batch_sampler_and_collate_fn_match_torch(torch):
    def run(lib):
        data = lib.utils.data
        ds = xy(lib, 9)
        seq = data.SequentialSampler(ds)
        out = [structure(b) for b in data.DataLoader(ds, sampler=[8, 0, 3, 3], batch_size=3)]
        out += [structure(b) for b in data.DataLoader(ds, batch_sampler=data.BatchSampler(seq, 4, True))]
        out += [structure(b) for b in data.DataLoader(ds, batch_sampler=[[2, 1], [0]])]
        out += [structure(b) for b in data.DataLoader(range(5), batch_size=2, collate_fn=lambda b: sum(b))]
        out += [structure(b) for b in data.DataLoader(ds, batch_size=None, sampler=[4, 2])]
        return out
    assert run(dm) == run(torch)


def test_iterable_dataset_batches_and_len_match_torch(torch):
    def run(lib):
        data, Stream = lib.utils.data, stream_class(lib)
        out = []
        for kw in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
                   dict(batch_size=5)):
            loader = data.DataLoader(Stream(7), **kw)
            out.append((len(loader), [structure(b) for b in loader]))
        chained = Stream(2) + Stream(3)
        out.append((type(chained).__name__, len(chained), list(chained)))
        return out
    assert run(dm) == run(torch)


def test_iterable_dataset_longer_than_its_len_warns_like_torch(torch):
    for lib in (dm, torch):
        loader = lib.utils.data.DataLoader(stream_class(lib)(5, length=2), batch_size=None)
        assert len(loader) == 2
        with pytest.warns(UserWarning, match="was reported to be 2"):
            assert len(list(loader)) == 5


# --- DataLoader: argument errors against torch --------------------------------------------
LOADER_ERRORS = {
    "shuffle+sampler": lambda L: L.utils.data.DataLoader(range(4), shuffle=True, sampler=[0, 1]),
    "batch_sampler+batch_size": lambda L: L.utils.data.DataLoader(range(4), batch_sampler=[[0]], batch_size=2),
    "batch_sampler+shuffle": lambda L: L.utils.data.DataLoader(range(4), batch_sampler=[[0]], shuffle=True),
    "batch_sampler+sampler": lambda L: L.utils.data.DataLoader(range(4), batch_sampler=[[0]], sampler=[0]),
    "batch_sampler+drop_last": lambda L: L.utils.data.DataLoader(range(4), batch_sampler=[[0]], drop_last=True),
    "batch_size=None+drop_last": lambda L: L.utils.data.DataLoader(range(4), batch_size=None, drop_last=True),
    "batch_size=0": lambda L: L.utils.data.DataLoader(range(4), batch_size=0),
    "batch_size=2.0": lambda L: L.utils.data.DataLoader(range(4), batch_size=2.0),
    "drop_last='yes'": lambda L: L.utils.data.DataLoader(range(4), drop_last="yes"),
    "num_workers=-1": lambda L: L.utils.data.DataLoader(range(4), num_workers=-1),
    "timeout=-1": lambda L: L.utils.data.DataLoader(range(4), timeout=-1),
    "prefetch_factor": lambda L: L.utils.data.DataLoader(range(4), prefetch_factor=2),
    "persistent_workers": lambda L: L.utils.data.DataLoader(range(4), persistent_workers=True),
    "multiprocessing_context": lambda L: L.utils.data.DataLoader(range(4), multiprocessing_context="spawn"),
    "iterable+shuffle": lambda L: L.utils.data.DataLoader(stream_class(L)(3), shuffle=True),
    "empty shuffle": lambda L: L.utils.data.DataLoader([], shuffle=True),
    "set batch_size": lambda L: setattr(L.utils.data.DataLoader(range(4)), "batch_size", 2),
    "set sampler": lambda L: setattr(L.utils.data.DataLoader(range(4)), "sampler", [0]),
}


@pytest.mark.parametrize("case", list(LOADER_ERRORS))
def test_loader_argument_errors_match_torch(torch, case):
    exc = same_error(LOADER_ERRORS[case], dm, torch)
    assert isinstance(exc, ValueError)


@pytest.mark.parametrize("option", ["sampler", "batch_sampler"])
def test_iterable_dataset_refuses_samplers_like_torch(torch, option):
    same_error(lambda L: L.utils.data.DataLoader(stream_class(L)(3), **{option: [[0]]}), dm, torch)


def test_batch_size_none_with_batch_sampler_is_fine_and_other_attributes_can_be_set(torch):
    for lib in (dm, torch):
        loader = lib.utils.data.DataLoader(range(4), batch_sampler=[[0, 1]])
        assert loader.batch_size is None and loader.drop_last is False
        loader.collate_fn = list   # not part of the sampling plan: allowed, as in torch
        assert list(loader) == [[0, 1]]


@dlmath_only
@pytest.mark.parametrize("kw", [dict(num_workers=2), dict(num_workers=1), dict(timeout=5)])
def test_workers_and_timeouts_are_refused_with_a_reason(kw):
    with pytest.raises(ValueError, match="main process|worker processes"):
        dm.utils.data.DataLoader(range(4), **kw)


def test_get_worker_info_is_none_in_the_main_process():
    assert dm.utils.data.get_worker_info() is None
    seen = []

    class Spy(dm.utils.data.IterableDataset):
        def __iter__(self):
            seen.append(dm.utils.data.get_worker_info())
            return iter([1, 2])
    assert [b.tolist() for b in dm.utils.data.DataLoader(Spy(), batch_size=2)] == [[1, 2]]
    assert seen == [None]


def test_pin_memory_warns_that_nothing_is_pinned():
    loader = dm.utils.data.DataLoader(range(3), pin_memory=True, batch_size=3)
    with pytest.warns(UserWarning, match="pin_memory"):
        assert [b.tolist() for b in loader] == [[0, 1, 2]]


# --- DataLoader: shuffling -----------------------------------------------------------------
def epochs(loader, k):
    return [[int(i) for batch in loader for i in batch] for _ in range(k)]


def test_a_seed_gives_the_same_sequence_of_shuffles():
    a = dm.utils.data.DataLoader(range(50), batch_size=8, shuffle=True, generator=gen(dm, 3))
    b = dm.utils.data.DataLoader(range(50), batch_size=8, shuffle=True, generator=gen(dm, 3))
    c = dm.utils.data.DataLoader(range(50), batch_size=8, shuffle=True, generator=gen(dm, 4))
    ea, eb, ec = epochs(a, 3), epochs(b, 3), epochs(c, 3)
    assert ea == eb
    assert ea != ec


def test_each_epoch_reshuffles_and_visits_every_index_once():
    loader = dm.utils.data.DataLoader(range(40), batch_size=6, shuffle=True, generator=gen(dm, 0))
    orders = epochs(loader, 4)
    for order in orders:
        assert sorted(order) == list(range(40))
    assert len({tuple(o) for o in orders}) == 4
    assert all(o != list(range(40)) for o in orders)


def test_shuffle_without_a_generator_follows_the_global_seed():
    dm.manual_seed(123)
    first = epochs(dm.utils.data.DataLoader(range(30), batch_size=4, shuffle=True), 2)
    dm.manual_seed(123)
    again = epochs(dm.utils.data.DataLoader(range(30), batch_size=4, shuffle=True), 2)
    assert first == again and first[0] != first[1]


def test_shuffled_batches_keep_inputs_and_targets_together():
    ds = xy(dm, 23)
    seen = []
    for x, y in dm.utils.data.DataLoader(ds, batch_size=5, shuffle=True, generator=gen(dm, 1)):
        rows = (x[:, 0] / 3).long()   # row i of x starts with 3 i
        assert (y == rows % 3).all()
        seen += rows.tolist()
    assert sorted(seen) == list(range(23))


# --- samplers ------------------------------------------------------------------------------
def test_sequential_and_batch_samplers_match_torch(torch):
    def run(lib):
        data = lib.utils.data
        seq = data.SequentialSampler(range(7))
        out = [list(seq), len(seq)]
        for bs in (1, 2, 3, 7, 8):
            for drop in (False, True):
                b = data.BatchSampler(seq, bs, drop)
                out.append((list(b), len(b)))
        out.append(list(data.BatchSampler([5, 3, 1], 2, False)))
        return out
    assert run(dm) == run(torch)


SAMPLER_ERRORS = {
    "BatchSampler batch_size=0": lambda L: L.utils.data.BatchSampler(range(3), 0, False),
    "BatchSampler batch_size=True": lambda L: L.utils.data.BatchSampler(range(3), True, False),
    "BatchSampler drop_last=1": lambda L: L.utils.data.BatchSampler(range(3), 2, 1),
    "RandomSampler replacement=1": lambda L: L.utils.data.RandomSampler(range(3), replacement=1),
    "RandomSampler num_samples=0": lambda L: L.utils.data.RandomSampler(range(3), num_samples=0),
    "RandomSampler num_samples=2.5": lambda L: L.utils.data.RandomSampler(range(3), num_samples=2.5),
    "WeightedRandomSampler num_samples=-1": lambda L: L.utils.data.WeightedRandomSampler([1.0], -1),
    "WeightedRandomSampler 2-d": lambda L: L.utils.data.WeightedRandomSampler([[1.0, 2.0]], 1),
    "Sampler base": lambda L: iter(L.utils.data.Sampler()),
}


@pytest.mark.parametrize("case", list(SAMPLER_ERRORS))
def test_sampler_errors_match_torch(torch, case):
    same_error(SAMPLER_ERRORS[case], dm, torch)


def test_random_sampler_is_a_permutation_per_epoch_and_reproducible():
    s = dm.utils.data.RandomSampler(range(20), generator=gen(dm, 5))
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second and len(s) == 20
    s2 = dm.utils.data.RandomSampler(range(20), generator=gen(dm, 5))
    assert [list(s2), list(s2)] == [first, second]


def test_random_sampler_without_replacement_more_samples_than_data():
    s = dm.utils.data.RandomSampler(range(4), num_samples=11, generator=gen(dm, 0))
    out = list(s)
    assert len(out) == len(s) == 11
    assert sorted(out[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]   # two whole permutations, then three of a third
    assert len(set(out[8:])) == 3


def test_random_sampler_with_replacement():
    s = dm.utils.data.RandomSampler(range(5), replacement=True, num_samples=100, generator=gen(dm, 2))
    out = list(s)
    assert len(out) == len(s) == 100 and set(out) == set(range(5))   # repeats, every value in range
    s.generator = gen(dm, 2)
    assert list(s) == out
    short = dm.utils.data.RandomSampler(range(5), replacement=True, generator=gen(dm, 2))
    assert len(list(short)) == 5 and all(0 <= i < 5 for i in short)


def test_random_sampler_num_samples_follows_the_dataset():
    data = [1, 2, 3]
    s = dm.utils.data.RandomSampler(data)
    data.append(4)
    assert len(s) == 4 and sorted(s) == [0, 1, 2, 3]


def test_subset_random_and_weighted_samplers():
    s = dm.utils.data.SubsetRandomSampler([10, 20, 30, 40], generator=gen(dm, 0))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == [10, 20, 30, 40] and len(s) == 4
    w = dm.utils.data.WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 400, generator=gen(dm, 0))
    out = list(w)
    assert len(out) == len(w) == 400 and set(out) == {1, 2}
    assert 0.6 < out.count(2) / 400 < 0.9
    w = dm.utils.data.WeightedRandomSampler([1.0, 1.0, 5.0], 3, replacement=False, generator=gen(dm, 0))
    assert sorted(w) == [0, 1, 2]


def test_batch_sampler_over_a_random_sampler():
    b = dm.utils.data.BatchSampler(dm.utils.data.RandomSampler(range(10), generator=gen(dm, 0)), 4, False)
    batches = list(b)
    assert [len(x) for x in batches] == [4, 4, 2] and len(b) == 3
    assert sorted(i for x in batches for i in x) == list(range(10))
    b = dm.utils.data.BatchSampler(dm.utils.data.RandomSampler(range(10), generator=gen(dm, 0)), 4, True)
    assert [len(x) for x in b] == [4, 4] and len(b) == 2


# --- datasets ------------------------------------------------------------------------------
def test_tensor_dataset_matches_torch(torch):
    for lib in (dm, torch):
        ds = xy(lib, 4)
        assert len(ds) == 4
        assert structure(ds[1]) == ("tuple", [("tensor", "float32", (3,), [3.0, 4.0, 5.0]),
                                              ("tensor", "int64", (), 1)])
        assert structure(ds[[0, 2]])[1][1] == ("tensor", "int64", (2,), [0, 2])
    exc = same_error(lambda L: L.utils.data.TensorDataset(L.zeros(3), L.zeros(4)), dm, torch, prefix_only=True)
    assert isinstance(exc, AssertionError)


@dlmath_only
def test_tensor_dataset_errors_name_the_sizes_and_it_takes_numpy_arrays():
    with pytest.raises(AssertionError, match=r"\[3, 4\]"):
        dm.utils.data.TensorDataset(dm.zeros(3), dm.zeros(4, 2))
    with pytest.raises(ValueError, match="no first dimension"):
        dm.utils.data.TensorDataset(dm.tensor(1.0))
    ds = dm.utils.data.TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 1]))
    (x, y), = dm.utils.data.DataLoader(ds, batch_size=3)
    assert isinstance(x, dm.Tensor) and x.dtype == dm.float64 and y.tolist() == [0, 1, 1]


def test_dataset_base_class_and_add_match_torch(torch):
    def run(lib):
        out = []
        with pytest.raises(NotImplementedError) as info:
            lib.utils.data.Dataset()[0]
        out.append(str(info.value))
        ds = xy(lib, 3) + xy(lib, 2)
        out.append((type(ds).__name__, len(ds), ds.cumulative_sizes, structure(ds[3])))
        return out
    assert run(dm) == run(torch)


def test_concat_dataset_indexing_matches_torch(torch):
    def run(lib):
        data = lib.utils.data
        ds = data.ConcatDataset([range(3), [], range(10, 14), range(20, 21)])
        out = [len(ds), ds.cumulative_sizes, [ds[i] for i in range(-len(ds), len(ds))], list(ds)]
        for bad in (-9, 8, 100):
            with pytest.raises((ValueError, IndexError)) as info:
                ds[bad]
            out.append(type(info.value).__name__)
        out.append(str(pytest.raises(ValueError, ds.__getitem__, -9).value))
        return out
    assert run(dm) == run(torch)
    same_error(lambda L: L.utils.data.ConcatDataset([]), dm, torch)
    same_error(lambda L: L.utils.data.ConcatDataset([range(2), stream_class(L)(2)]), dm, torch)


def test_concat_of_tensor_datasets_through_a_loader(torch):
    def run(lib):
        ds = lib.utils.data.ConcatDataset([xy(lib, 3), xy(lib, 4)])
        return [structure(b) for b in lib.utils.data.DataLoader(ds, batch_size=3)]
    assert run(dm) == run(torch)


def test_subset_and_subset_of_subset_match_torch(torch):
    def run(lib):
        data = lib.utils.data
        base = data.TensorDataset(lib.arange(10) * 10)
        s = data.Subset(base, [9, 1, 4, 7, 2])
        ss = data.Subset(s, [4, 0, 2])
        out = [len(s), len(ss), structure(s[0]), structure(s[-1]), structure(ss[0]), structure(ss[[1, 2]])]
        out.append(structure(s.__getitems__([3, 3])))
        out += [structure(b) for b in data.DataLoader(ss, batch_size=2)]
        return out
    assert run(dm) == run(torch)


def test_subset_subclass_must_override_getitems_like_torch(torch):
    def run(lib):
        class Bad(lib.utils.data.Subset):
            def __getitem__(self, i):
                return 0
        Bad(range(3), [0])
    same_error(run, dm, torch)


def test_stack_dataset_matches_torch(torch):
    def run(lib):
        data = lib.utils.data
        out = [structure(data.StackDataset(range(3), "abc")[1]), structure(data.StackDataset(a=range(3), b="xyz")[2])]
        out += [structure(b) for b in data.DataLoader(data.StackDataset(n=range(3), s="abc"), batch_size=2)]
        return out
    assert run(dm) == run(torch)
    same_error(lambda L: L.utils.data.StackDataset(range(2), b=range(2)), dm, torch)
    same_error(lambda L: L.utils.data.StackDataset(), dm, torch)


def test_a_dataset_subclass_through_the_loader():
    loader = dm.utils.data.DataLoader(Squares(7), batch_size=3)
    batches = [b.tolist() for b in loader]
    assert batches == [[0, 1, 4], [9, 16, 25], [36]]
    assert len(loader) == 3


# --- random_split --------------------------------------------------------------------------
SPLITS = [(10, [0.3, 0.3, 0.4]), (5, [0.5, 0.5]), (7, [0.2] * 5), (101, [0.8, 0.1, 0.1]),
          (2, [1 / 3] * 3), (1797, [0.8, 0.2]), (11, [0.25, 0.25, 0.25, 0.25]), (9, [1.0]), (4, [0.0, 1.0])]


@pytest.mark.parametrize("n, fractions", SPLITS)
def test_random_split_sizes_from_fractions_match_torch(torch, n, fractions):
    sizes = []
    for lib in (dm, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parts = lib.utils.data.random_split(range(n), fractions, generator=gen(lib, 0))
        sizes.append(([len(p) for p in parts], [str(w.message) for w in caught]))
        assert sorted(i for p in parts for i in p) == list(range(n))
    assert sizes[0] == sizes[1]


def test_random_split_remainder_goes_round_robin_from_the_first():
    parts = dm.utils.data.random_split(range(7), [0.2] * 5, generator=gen(dm, 0))   # floors 1 each, 2 left
    assert [len(p) for p in parts] == [2, 2, 1, 1, 1]


SPLIT_ERRORS = {
    "sum too small": lambda L: L.utils.data.random_split(range(10), [3, 4]),
    "sum too large": lambda L: L.utils.data.random_split(range(10), [6, 6]),
    "fractions not summing to 1": lambda L: L.utils.data.random_split(range(10), [0.5, 0.4]),
    "fraction out of range": lambda L: L.utils.data.random_split(range(10), [1.5, -0.5]),
}


@pytest.mark.parametrize("case", list(SPLIT_ERRORS))
def test_random_split_errors_match_torch(torch, case):
    # same type and the same first sentence; dlmath adds the sizes in brackets
    errors = []
    for lib in (dm, torch):
        with pytest.raises(ValueError) as info:
            SPLIT_ERRORS[case](lib)
        errors.append(str(info.value))
    assert errors[0].startswith(errors[1])


@dlmath_only
def test_random_split_error_names_the_sizes():
    with pytest.raises(ValueError, match=r"lengths \[3, 4\] sum to 7, but the dataset has 10 items"):
        dm.utils.data.random_split(range(10), [3, 4])
    with pytest.raises(ValueError, match=r"fractions summing to 1 \(they sum to 0.9"):
        dm.utils.data.random_split(range(10), [0.5, 0.4])
    with pytest.raises(ValueError, match="non-negative integer"):
        dm.utils.data.random_split(range(10), [-1, 11])


def test_random_split_is_reproducible_and_disjoint():
    a = dm.utils.data.random_split(range(30), [10, 15, 5], generator=gen(dm, 7))
    b = dm.utils.data.random_split(range(30), [10, 15, 5], generator=gen(dm, 7))
    c = dm.utils.data.random_split(range(30), [10, 15, 5], generator=gen(dm, 8))
    assert [list(p) for p in a] == [list(p) for p in b] != [list(p) for p in c]
    assert sorted(i for p in a for i in p) == list(range(30))
    assert all(isinstance(p, dm.utils.data.Subset) for p in a)
    dm.manual_seed(0)
    d = dm.utils.data.random_split(range(30), [0.5, 0.5])
    dm.manual_seed(0)
    e = dm.utils.data.random_split(range(30), [0.5, 0.5])
    assert [list(p) for p in d] == [list(p) for p in e]


# --- default_collate / default_convert -----------------------------------------------------
def collate_cases(lib):
    t = lib.tensor
    return {
        "tensors": [t([1.0, 2.0]), t([3.0, 4.0])],
        "int tensors": [t([[1, 2]]), t([[3, 4]])],
        "scalars": [t(1.5), t(2.5)],
        "ints": [0, 1, 2, 3],
        "floats": [0.5, 1.0],
        "int then float": [1, 2.5],
        "bools": [True, False],
        "strings": ["a", "bc"],
        "bytes": [b"a", b"b"],
        "numpy arrays": [np.array([1, 2], dtype=np.int16), np.array([3, 4], dtype=np.int16)],
        "numpy 0-d": [np.array(1.5), np.array(2.0)],
        "numpy scalars": [np.float32(1.5), np.float32(2.0)],
        "numpy int64": [np.int64(3), np.int64(4)],
        "numpy bool": [np.bool_(True), np.bool_(False)],
        "tuples": [(t([1.0]), 0, "a"), (t([2.0]), 1, "b")],
        "lists": [[0, 1], [2, 3]],
        "nested": [((1, 2.0), [t(3), "x"]), ((4, 5.0), [t(6), "y"])],
        "dicts": [{"a": 0, "b": {"c": 0.5, "d": (1, "z")}}, {"a": 1, "b": {"c": 1.5, "d": (2, "w")}}],
        "namedtuples": [Point(0, t([1.0, 2.0])), Point(1, t([3.0, 4.0]))],
        "namedtuple in dict": [{"p": Point(0.5, "a")}, {"p": Point(1.5, "b")}],
        "dict of numpy": [{"img": np.zeros((2, 2), np.uint8)}, {"img": np.ones((2, 2), np.uint8)}],
    }


@pytest.mark.parametrize("case", list(collate_cases(dm)))
def test_default_collate_matches_torch(torch, case):
    got = structure(dm.utils.data.default_collate(collate_cases(dm)[case]))
    want = structure(torch.utils.data.default_collate(collate_cases(torch)[case]))
    assert got == want


def test_default_collate_documented_cases():
    c = dm.utils.data.default_collate
    assert structure(c([0.5, 1.0])) == ("tensor", "float64", (2,), [0.5, 1.0])
    assert structure(c([0, 1])) == ("tensor", "int64", (2,), [0, 1])
    assert c(["a", "b"]) == ["a", "b"]
    x, y = c([(dm.zeros(3), 1), (dm.ones(3), 0)])
    assert tuple(x.shape) == (2, 3) and x.dtype == dm.float32 and y.tolist() == [1, 0]
    p = c([Point(0, 1), Point(2, 3)])
    assert isinstance(p, Point) and p.x.tolist() == [0, 2] and p.y.tolist() == [1, 3]


@pytest.mark.parametrize("case", list(collate_cases(dm)))
def test_default_convert_matches_torch(torch, case):
    got = [structure(dm.utils.data.default_convert(e)) for e in collate_cases(dm)[case]]
    want = [structure(torch.utils.data.default_convert(e)) for e in collate_cases(torch)[case]]
    assert got == want


COLLATE_ERRORS = {
    "unequal lengths": lambda L: L.utils.data.default_collate([(1, 2), (3,)]),
    "object": lambda L: L.utils.data.default_collate([object(), object()]),
    "None": lambda L: L.utils.data.default_collate([None, None]),
    "numpy strings": lambda L: L.utils.data.default_collate([np.array(["a"]), np.array(["b"])]),
    "numpy objects": lambda L: L.utils.data.default_collate([np.array([None]), np.array([None])]),
}


@pytest.mark.parametrize("case", list(COLLATE_ERRORS))
def test_default_collate_errors_match_torch(torch, case):
    same_error(COLLATE_ERRORS[case], dm, torch)


def test_tensors_of_different_shapes_are_an_error_like_torch(torch):
    for lib in (dm, torch):
        with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
            lib.utils.data.default_collate([lib.zeros(3), lib.zeros(4)])
        with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
            list(lib.utils.data.DataLoader([lib.zeros(2, 2), lib.zeros(2, 3)], batch_size=2))


@dlmath_only
def test_tensors_of_different_shapes_error_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"\(5,\): 2, \(7,\): 1.*collate_fn"):
        dm.utils.data.default_collate([dm.zeros(5), dm.zeros(5), dm.zeros(7)])
    with pytest.raises(RuntimeError, match=r"\(2, 2\).*\(2, 3\)"):
        dm.utils.data.default_collate([np.zeros((2, 2)), np.zeros((2, 3))])


def test_collate_keeps_gradients_flowing():
    w = dm.tensor([1.0, 2.0], requires_grad=True)
    batch = dm.utils.data.default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


# --- a real data set -----------------------------------------------------------------------
@dlmath_only
def test_digits_split_loaded_and_trained_on():
    images, labels = dm.datasets.load_digits()
    ds = dm.utils.data.TensorDataset(images.reshape(-1, 64) / 16, labels)
    train, val = dm.utils.data.random_split(ds, [0.8, 0.2], generator=gen(dm, 0))
    assert (len(train), len(val)) == (1438, 359)   # floors 1437 + 359, the one left over goes first
    assert sorted(train.indices + val.indices) == list(range(1797))

    loader = dm.utils.data.DataLoader(train, batch_size=64, shuffle=True, generator=gen(dm, 1))
    assert len(loader) == 23
    sizes, seen = [], []
    for x, y in loader:
        assert x.dtype == dm.float32 and y.dtype == dm.int64 and tuple(x.shape)[1:] == (64,)
        sizes.append(len(y))
    assert sizes == [64] * 22 + [1438 - 22 * 64]
    assert len(dm.utils.data.DataLoader(train, batch_size=64, drop_last=True)) == 22

    dm.manual_seed(0)
    model = dm.nn.Linear(64, 10)
    opt = dm.optim.SGD(model.parameters(), lr=0.5)
    for epoch in range(5):
        for x, y in loader:
            opt.zero_grad()
            dm.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    correct = 0
    with dm.no_grad():
        for x, y in dm.utils.data.DataLoader(val, batch_size=128):
            correct += int((model(x).argmax(dim=1) == y).sum())
    assert correct / len(val) > 0.9
