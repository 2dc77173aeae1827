"""DataLoader: batches of a dataset as minigrad tensors on the current backend."""
import numpy

from minigrad.backends import current, get_backend
from minigrad.data.dataset import TensorDataset
from minigrad.tensor import Tensor


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle=True`` draws a new order every epoch: from minigrad's NumPy generator (seeded
    by ``minigrad.manual_seed``, as PyTorch's loader draws from its global generator), or,
    given ``seed``, from the loader's own generator (so two loaders with the same seed give
    the same batches whatever else draws random numbers); ``drop_last`` drops a
    final short batch. Each batch is a tuple of tensors (one per dataset field) on the
    backend active when the batch is made; floating arrays become ``float_dtype``.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 float_dtype="float32"):
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.float_dtype = float_dtype
        self._rng = None if seed is None else numpy.random.default_rng(seed)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        rng = get_backend("numpy").generator() if self._rng is None else self._rng
        order = rng.permutation(n) if self.shuffle else numpy.arange(n)
        for start in range(0, n, self.batch_size):
            index = order[start:start + self.batch_size]
            if len(index) < self.batch_size and self.drop_last:
                return
            yield tuple(self._to_tensor(field) for field in self._collate(index))

    def _collate(self, index):
        if isinstance(self.dataset, TensorDataset):
            return [a[index] for a in self.dataset.arrays]
        examples = [self.dataset[int(i)] for i in index]
        if not isinstance(examples[0], tuple):
            examples = [(e,) for e in examples]
        return [numpy.stack([numpy.asarray(e[k]) for e in examples]) for k in range(len(examples[0]))]

    def _to_tensor(self, array):
        if array.dtype.kind == "f":
            array = array.astype(self.float_dtype, copy=False)
        return Tensor._wrap(current().asarray(array))
