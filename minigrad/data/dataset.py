"""Map-style datasets: ``len(ds)`` and ``ds[i]`` -> one example (a tuple of arrays)."""
import numpy


class Dataset:
    """Base class: define ``__len__`` and ``__getitem__(i)`` returning a tuple of arrays."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Examples are the rows of equally long arrays: ``TensorDataset(x, y)[i] == (x[i], y[i])``.

    Arrays (NumPy, or minigrad tensors, which are converted to NumPy) stay on the CPU;
    the ``DataLoader`` moves each batch to the current backend.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = [a.numpy() if hasattr(a, "numpy") and not isinstance(a, numpy.ndarray)
                       else numpy.asarray(a) for a in arrays]
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {[len(a) for a in self.arrays]}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)
