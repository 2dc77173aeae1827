"""Datasets and the DataLoader, including the IDX reader on small files the test writes."""
import gzip
import struct

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import DataLoader, Dataset, TensorDataset, load_digits, load_mnist, read_idx


def write_idx(path, array, type_code=0x08):
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    payload = header + array.astype(dtype).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trips_bytes_ints_and_floats(tmp_path, suffix, rng):
    for code, array in ((0x08, rng.integers(0, 256, (3, 4, 5))), (0x0C, rng.integers(-9, 9, (7,))),
                        (0x0D, rng.standard_normal((2, 3)).astype(np.float32))):
        path = tmp_path / f"a{code}{suffix}"
        write_idx(path, array, code)
        np.testing.assert_array_equal(read_idx(path), array)


def test_load_mnist_reads_a_small_fake_mnist_folder(tmp_path, rng):
    images = rng.integers(0, 256, (10, 28, 28))
    labels = rng.integers(0, 10, 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    x, y = load_mnist(tmp_path, split="test")
    assert x.shape == (10, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert load_mnist(tmp_path, split="test", flatten=True)[0].shape == (10, 784)


def test_missing_mnist_files_say_where_we_looked_and_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"train-images-idx3-ubyte.*in {tmp_path}.*Download"):
        load_mnist(tmp_path)


def test_a_file_that_is_not_idx_is_refused(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((4, 4)))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="header says shape \\(4, 4\\)"):
        read_idx(tmp_path / "short")


def test_loader_batches_shuffles_reproducibly_and_drops_last(backend):
    x = np.arange(10, dtype=np.float64)[:, None]
    y = np.arange(10)
    ds = TensorDataset(x, y)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert batches[0][0].dtype == np.float64 and batches[0][1].dtype == np.int64   # dataset's dtypes, as PyTorch
    assert next(iter(DataLoader(ds, batch_size=4, float_dtype="float32")))[0].dtype == np.float32
    assert batches[0][0].backend == backend
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [b[0].shape[0] for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    order = lambda seed: np.concatenate([b[1].numpy() for b in DataLoader(ds, 3, shuffle=True, seed=seed)])  # noqa: E731
    assert sorted(order(1)) == list(range(10))
    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))


def test_loader_collates_a_map_style_dataset():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i

    (x, y), = list(DataLoader(Squares(), batch_size=5))
    np.testing.assert_array_equal(x.numpy()[:, 1], [0, 1, 4, 9, 16])
    np.testing.assert_array_equal(y.numpy(), np.arange(5))


def test_tensor_dataset_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="different lengths \\[3, 4\\]"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=0)


def test_digits_are_the_bundled_1797_images():
    x, y, xt, yt = load_digits()
    assert len(x) + len(xt) == 1797 and x.shape[1] == 64 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(10))
    assert load_digits(image_shape=True)[0].shape[1:] == (1, 8, 8)


def test_mnist1d_has_the_paper_sizes_and_leaves_numpy_seed_alone():
    from minigrad.data import load_mnist1d
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    x, y, xt, yt = load_mnist1d()
    assert np.random.random() == before
    assert x.shape == (4000, 40) and xt.shape == (1000, 40) and set(np.unique(y)) == set(range(10))
    assert mg.tensor(x).dtype == np.float32
