"""Map-style datasets: ``len(ds)`` and ``ds[i]`` -> one example (often a tuple of arrays),
with PyTorch's ``TensorDataset``, ``Subset``, ``ConcatDataset`` and ``random_split``."""
import bisect
import math
import numbers
import warnings

import numpy


class Dataset:
    """Base class: define ``__len__`` and ``__getitem__(i)`` returning one example (a tuple of
    arrays, an array, a number, a dict...). ``a + b`` is ``ConcatDataset([a, b])``, as PyTorch."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Examples are the rows of equally long arrays: ``TensorDataset(x, y)[i] == (x[i], y[i])``.

    Arrays (NumPy, or minigrad tensors, which are converted to NumPy) stay on the CPU and
    keep their dtype; the ``DataLoader`` moves each batch to the current backend.
    Deviation from PyTorch: ``ds[i]`` gives NumPy rows, not tensors (the loader's batches
    are tensors).
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = [a.numpy() if hasattr(a, "numpy") and not isinstance(a, numpy.ndarray)
                       else numpy.asarray(a) for a in arrays]
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {[len(a) for a in self.arrays]}")

    @property
    def tensors(self):
        """The stored arrays (PyTorch's attribute name)."""
        return tuple(self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order: ``Subset(ds, idx)[i] ==
    ds[idx[i]]`` (``torch.utils.data.Subset``)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The examples of several datasets one after the other (``torch.utils.data.ConcatDataset``):
    index i falls in the first dataset whose cumulative length exceeds it; negative indices
    count from the end."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def host_rng(generator, op):
    """The NumPy ``Generator`` to draw an order with: ``generator`` (a NumPy ``Generator`` or
    a ``minigrad.HostGenerator``), or minigrad's NumPy generator (seeded by
    ``minigrad.manual_seed``) when None."""
    from minigrad.backends import get_backend
    from minigrad.ops.random import HostGenerator
    if generator is None:
        return get_backend("numpy").generator()
    if isinstance(generator, HostGenerator):
        return generator.rng
    if isinstance(generator, numpy.random.Generator):
        return generator
    raise TypeError(f"{op}: generator must be a numpy.random.Generator or a "
                    f"minigrad.HostGenerator, got {type(generator).__name__}")


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given ``lengths``
    (``torch.utils.data.random_split``). ``lengths`` are ints summing to ``len(dataset)``, or
    fractions summing to 1: each gets floor(n · fraction) examples and the remainder is
    dealt one by one round-robin from the first split (PyTorch's rule). The order is one
    permutation of range(n), drawn from ``generator`` (a NumPy ``Generator`` or a
    ``minigrad.HostGenerator``; default minigrad's NumPy generator, seeded by
    ``minigrad.manual_seed``). The draws differ from PyTorch's (another generator)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                              f"result in an empty dataset", stacklevel=2)
        lengths = sizes
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0 for v in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions "
                         f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths {sum(lengths)} does not equal "
                         f"the length of the input dataset {n}")
    order = host_rng(generator, "random_split").permutation(n).tolist()
    splits, offset = [], 0
    for length in lengths:
        splits.append(Subset(dataset, order[offset:offset + length]))
        offset += length
    return splits
