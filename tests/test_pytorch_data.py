"""``minigrad.data`` with PyTorch's habits (issue 11): the DataLoader keeps the dataset's
dtype, takes PyTorch's arguments (sampler, batch_sampler, collate_fn, drop_last, generator,
num_workers=0 only), ``default_collate`` recurses into tuples and dicts, and
``random_split`` / ``Subset`` / ``ConcatDataset`` behave as in ``torch.utils.data``."""
from collections import namedtuple

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler,
                           SequentialSampler, Subset, TensorDataset, default_collate, random_split)


class _Range(Dataset):
    def __init__(self, n, kind="tuple"):
        self.n, self.kind = n, kind

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i >= self.n:
            raise IndexError(i)
        x = np.array([i, 10 * i], dtype=np.float64)
        if self.kind == "dict":
            return {"x": x, "y": i, "name": f"s{i}"}
        if self.kind == "array":
            return x
        return x, i


def test_loader_keeps_the_dataset_dtype(backend):
    ds = TensorDataset(np.arange(6.0).reshape(3, 2), np.arange(3, dtype=np.int32),
                       np.ones(3, dtype=np.float32))
    x, y, w = next(iter(DataLoader(ds, batch_size=3)))
    assert (x.dtype, y.dtype, w.dtype) == (np.float64, np.int32, np.float32)
    assert x.backend == backend
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(3, 2))
    (x2, y2), = list(DataLoader(_Range(3), batch_size=3))
    assert x2.dtype == np.float64 and y2.dtype == np.int64
    x3, _, _ = next(iter(DataLoader(ds, batch_size=3, float_dtype="float32")))   # minigrad's opt-in
    assert x3.dtype == np.float32


def test_default_collate_recurses_like_pytorch(backend):
    batch = default_collate([_Range(4, "dict")[i] for i in range(3)])
    assert set(batch) == {"x", "y", "name"} and batch["name"] == ["s0", "s1", "s2"]
    np.testing.assert_array_equal(batch["x"].numpy(), [[0, 0], [1, 10], [2, 20]])
    assert batch["y"].dtype == np.int64 and batch["y"].tolist() == [0, 1, 2]
    floats = default_collate([0.5, 1.5])
    assert floats.dtype == np.float64 and floats.tolist() == [0.5, 1.5]          # PyTorch: float64
    assert default_collate([True, False]).dtype == np.bool_
    tensors = default_collate([mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0])])
    assert tensors.shape == (2, 2) and tensors.dtype == np.float32
    Point = namedtuple("Point", "a b")
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.a.tolist() == [1, 3] and p.b.tolist() == [2.0, 4.0]
    nested = default_collate([(np.zeros(2), [1, 2]), (np.ones(2), [3, 4])])
    assert nested[1][0].tolist() == [1, 3] and nested[1][1].tolist() == [2, 4]
    single = next(iter(DataLoader(_Range(4, "array"), batch_size=2)))
    assert isinstance(single, mg.Tensor) and single.shape == (2, 2)           # not a 1-tuple
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def test_collate_fn_receives_the_list_of_samples():
    seen = []

    def collate(samples):
        seen.append(samples)
        return len(samples)

    assert list(DataLoader(_Range(5), batch_size=2, collate_fn=collate)) == [2, 2, 1]
    assert isinstance(seen[0], list) and seen[0][1][1] == 1
    np.testing.assert_array_equal(seen[2][0][0], [4, 40])
    assert list(DataLoader(TensorDataset(np.arange(3)), batch_size=2, collate_fn=len)) == [2, 1]


def test_drop_last_len_and_batch_size_none():
    ds = _Range(5)
    assert len(DataLoader(ds, batch_size=2)) == 3 and len(DataLoader(ds, 2, drop_last=True)) == 2
    assert [b[1].tolist() for b in DataLoader(ds, 2, drop_last=True)] == [[0, 1], [2, 3]]
    one = list(DataLoader(ds, batch_size=None))
    assert len(one) == 5 and one[2][1] == 2 and one[2][0].shape == (2,)


def test_shuffle_generator_and_seed_are_reproducible():
    ds = TensorDataset(np.arange(10))
    order = lambda **kw: np.concatenate([b[0].numpy() for b in DataLoader(ds, 4, shuffle=True, **kw)])  # noqa: E731
    a = order(generator=np.random.default_rng(3))
    np.testing.assert_array_equal(a, np.random.default_rng(3).permutation(10))
    np.testing.assert_array_equal(order(generator=mg.HostGenerator(3)), a)
    np.testing.assert_array_equal(order(seed=3), a)
    assert sorted(order().tolist()) == list(range(10))
    loader = DataLoader(ds, 10, shuffle=True, generator=np.random.default_rng(0))
    first, second = next(iter(loader))[0].tolist(), next(iter(loader))[0].tolist()
    assert first != second and sorted(second) == list(range(10))     # a new order every epoch


def test_samplers_and_their_exclusions():
    ds = _Range(6)
    assert list(SequentialSampler(ds)) == list(range(6))
    assert list(BatchSampler(range(5), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    batches = [b[1].tolist() for b in DataLoader(ds, batch_size=2, sampler=[5, 3, 1])]
    assert batches == [[5, 3], [1]]
    batches = [b[1].tolist() for b in DataLoader(ds, batch_sampler=[[0, 2], [4, 5, 1]])]
    assert batches == [[0, 2], [4, 5, 1]]
    r = list(RandomSampler(ds, replacement=True, num_samples=50, generator=np.random.default_rng(0)))
    assert len(r) == 50 and set(r) <= set(range(6))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0]])


def test_num_workers_above_zero_is_a_clear_error():
    with pytest.raises(ValueError, match="num_workers=2 is not supported: minigrad loads batches "
                                         "in the main process"):
        DataLoader(_Range(3), num_workers=2)
    assert len(list(DataLoader(_Range(3), num_workers=0, pin_memory=True))) == 3


def test_subset_and_concat_dataset():
    ds = _Range(10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7 and sub[-1][1] == 5
    assert [s[1] for s in sub[[0, 2]]] == [7, 5]
    cat = ConcatDataset([_Range(3), _Range(2), sub])
    assert len(cat) == 8 and cat.cumulative_sizes == [3, 5, 8]
    assert [cat[i][1] for i in range(8)] == [0, 1, 2, 0, 1, 7, 2, 5]
    assert cat[-1][1] == 5 and cat[-8][1] == 0
    with pytest.raises(IndexError):
        cat[8]
    assert len(_Range(3) + _Range(4)) == 7


def test_random_split_lengths_and_fractions():
    ds = _Range(10)
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(0))
    perm = np.random.default_rng(0).permutation(10).tolist()
    assert a.indices == perm[:7] and b.indices == perm[7:]
    assert sorted(a.indices + b.indices) == list(range(10))
    # fractions: floor(n·f) each, then the remainder dealt round-robin from the first split
    sizes = [len(s) for s in random_split(_Range(11), [0.3, 0.3, 0.4])]
    assert sizes == [4, 3, 4]                     # floors 3, 3, 4 (sum 10); the one left to split 0
    assert [len(s) for s in random_split(_Range(5), [1 / 3] * 3)] == [2, 2, 1]
    mg.manual_seed(4)
    first = random_split(_Range(6), [0.5, 0.5])[0].indices
    mg.manual_seed(4)
    assert random_split(_Range(6), [0.5, 0.5])[0].indices == first     # manual_seed fixes it
    with pytest.raises(ValueError, match="sum of input lengths 9 does not equal the length of the "
                                         "input dataset 10"):
        random_split(ds, [5, 4])
    with pytest.warns(UserWarning, match="length of split at index 1 is 0"):
        random_split(_Range(2), [0.9, 0.1])
