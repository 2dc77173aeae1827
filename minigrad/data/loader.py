"""DataLoader: batches of a dataset as minigrad tensors on the current backend, with
PyTorch's arguments, samplers and ``default_collate``.

Loading happens in the main process: ``num_workers`` must be 0 (minigrad has no worker
processes; a value above 0 is a clear error rather than a silent single process).
"""
import collections.abc
import numbers

import numpy

from minigrad.backends import backend_of_array, current
from minigrad.data.dataset import TensorDataset, host_rng
from minigrad.tensor import Tensor


class Sampler:
    """Base class: an iterable of dataset indices (``torch.utils.data.Sampler``)."""

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) − 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order every epoch (a permutation), or ``num_samples`` draws with
    replacement when ``replacement=True``, from ``generator`` (a NumPy ``Generator`` or a
    ``minigrad.HostGenerator``; default minigrad's NumPy generator, seeded by
    ``minigrad.manual_seed``)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if num_samples is not None and (not isinstance(num_samples, numbers.Integral)
                                        or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, "
                             f"got {num_samples!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), host_rng(self.generator, "RandomSampler")
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        order = []
        while len(order) < self.num_samples:
            order.extend(rng.permutation(n).tolist())
        return iter(order[:self.num_samples])

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last one shorter unless
    ``drop_last``."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size must be at least 1, got {batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _array_to_tensor(array):
    if isinstance(array, Tensor):
        return array
    if type(array).__module__.startswith("cupy"):
        return Tensor._wrap(array)
    return Tensor._wrap(current().asarray(array))


def default_collate(batch):
    """Stack a list of examples into a batch, as ``torch.utils.data.default_collate``:
    Tensors are stacked (on their backend), NumPy arrays and NumPy scalars stacked into a
    tensor on the current backend keeping their dtype, Python floats give a float64 tensor,
    ints an int64 tensor, bools a bool tensor (PyTorch's dtypes), strings stay a list;
    dicts, tuples and lists are collated field by field (a tuple of fields gives a tuple,
    where PyTorch gives a list; unpacking is the same)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        from minigrad.functional import stack
        return stack(list(batch))
    if isinstance(elem, (numpy.ndarray, numpy.generic)) or type(elem).__module__.startswith("cupy"):
        if type(elem).__module__.startswith("cupy"):
            return Tensor._wrap(backend_of_array(elem).xp.stack(batch))
        if getattr(elem, "dtype", None) is not None and elem.dtype.kind in "OSUV":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {elem.dtype}")
        return _array_to_tensor(numpy.stack([numpy.asarray(e) for e in batch]))
    if isinstance(elem, bool):
        return _array_to_tensor(numpy.asarray(batch, dtype=bool))
    if isinstance(elem, numbers.Integral):
        return _array_to_tensor(numpy.asarray(batch, dtype=numpy.int64))
    if isinstance(elem, numbers.Real):
        return _array_to_tensor(numpy.asarray(batch, dtype=numpy.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):             # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"default_collate: batch must contain tensors, NumPy arrays, numbers, "
                    f"dicts or lists; found {type(elem).__name__}")


def default_convert(sample):
    """One example (``batch_size=None``) as tensors, without stacking: arrays become
    tensors on the current backend, containers are converted field by field, numbers
    and strings stay as they are (as ``torch.utils.data.default_convert``)."""
    if isinstance(sample, numpy.ndarray) and sample.dtype.kind not in "OSUV":
        return _array_to_tensor(sample)
    if isinstance(sample, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in sample.items()}
    if isinstance(sample, tuple):
        return tuple(default_convert(v) for v in sample)
    if isinstance(sample, list):
        return [default_convert(v) for v in sample]
    return sample


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``:

    ``DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
    num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
    worker_init_fn=None, *, generator=None, seed=None, float_dtype=None)``

    - ``shuffle=True`` draws a new order every epoch (a ``RandomSampler``) from ``generator``
      (a NumPy ``Generator`` or ``minigrad.HostGenerator``), else from the loader's own
      generator when ``seed`` is given (minigrad's extension: two loaders with the same seed
      give the same batches whatever else draws random numbers), else from minigrad's NumPy
      generator (seeded by ``minigrad.manual_seed``, as PyTorch draws from its global one).
    - ``sampler`` (an iterable of indices) or ``batch_sampler`` (an iterable of index lists)
      replace the order, with PyTorch's exclusions (``sampler`` with ``shuffle``; ``batch_sampler``
      with ``batch_size``/``shuffle``/``sampler``/``drop_last``). ``batch_size=None`` gives one
      example at a time, converted to tensors but not stacked.
    - ``collate_fn(list_of_examples)`` makes a batch; default ``default_collate`` (stacks
      tensors, arrays and numbers; recurses into tuples, lists and dicts).
    - Batches keep the dataset's dtype (float64 data gives float64 batches, as PyTorch);
      ``float_dtype='float32'`` (minigrad's opt-in) converts floating fields.
    - ``drop_last`` drops a final short batch. ``pin_memory`` is accepted and ignored.
    - ``num_workers`` must be 0: minigrad loads in the main process (an error otherwise).

    Batches are made on the backend active when each batch is made. A ``TensorDataset``
    with the default collate is batched by fancy indexing (one copy per field, no
    per-example loop).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, *, generator=None,
                 prefetch_factor=None, persistent_workers=False, seed=None, float_dtype=None):
        if num_workers != 0:
            raise ValueError(f"DataLoader: num_workers={num_workers} is not supported: minigrad "
                             f"loads batches in the main process; use num_workers=0")
        if timeout or worker_init_fn is not None or multiprocessing_context is not None \
                or prefetch_factor is not None or persistent_workers:
            raise ValueError("DataLoader: timeout, worker_init_fn, multiprocessing_context, "
                             "prefetch_factor and persistent_workers need worker processes, "
                             "which minigrad does not use (num_workers=0)")
        if batch_size is not None and (isinstance(batch_size, bool) or
                                       not isinstance(batch_size, numbers.Integral) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give generator= or seed=, not both")
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.shuffle = bool(shuffle)
        self.num_workers, self.pin_memory = 0, pin_memory
        self.generator = numpy.random.default_rng(seed) if seed is not None else generator
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=self.generator) if self.shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn
        self.float_dtype = None if float_dtype is None else numpy.dtype(float_dtype)

    def __len__(self):
        return len(self.sampler) if self.batch_sampler is None else len(self.batch_sampler)

    def __iter__(self):
        if self.batch_sampler is None:                      # batch_size=None: one example at a time
            convert = self.collate_fn or default_convert
            for i in self.sampler:
                yield self._cast(convert(self.dataset[i]))
            return
        fast = self.collate_fn is None and isinstance(self.dataset, TensorDataset)
        for index in self.batch_sampler:
            if fast:
                index = numpy.asarray(index, dtype=numpy.int64)
                batch = tuple(_array_to_tensor(a[index]) for a in self.dataset.arrays)
            else:
                examples = [self.dataset[int(i)] for i in index]
                batch = (self.collate_fn or default_collate)(examples)
            yield self._cast(batch)

    def _cast(self, batch):
        if self.float_dtype is None:
            return batch
        if isinstance(batch, Tensor):
            return batch.to(self.float_dtype) if batch.dtype.kind == "f" else batch
        if isinstance(batch, dict):
            return {k: self._cast(v) for k, v in batch.items()}
        if isinstance(batch, (tuple, list)) and not hasattr(batch, "_fields"):
            return type(batch)(self._cast(v) for v in batch)
        return batch
