"""A bank of past embeddings used as negatives (or neighbours): MoCo's FIFO queue and NPID's
per-example momentum bank."""
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array, current
from minigrad.layers.module import Module
from minigrad.ops.random import generator_on
from minigrad.registry import register
from minigrad.tensor import Tensor


class MemoryBank(Module):
    """``MemoryBank(size, dim)``: ``size`` stored embeddings of dimension ``dim``, constants
    of the loss (no gradient reaches them; only the current batch's embeddings get one).

    - MoCo queue (He et al. 2020; Sy-CON, Conan-embedding's cross-batch negatives):
      ``enqueue(keys)`` writes the batch over the oldest rows, first in first out, wrapping
      around (any batch size; MoCo's K = 65536 with keys from the momentum encoder).
    - NPID bank (Wu et al. 2018; InvariancePropagation): row i belongs to training example i;
      ``update(indices, features)`` sets v_i ← normalize(m·v_i + (1 − m)·f_i), m = ``momentum``
      (0.5).

    ``bank()`` (or ``bank.memory``) is the (size, dim) tensor of stored rows, detached. The
    rows start as random unit vectors (drawn from ``generator`` or the current backend's);
    they are buffers, so the bank is saved in ``state_dict()`` and moves with ``.to()``.

    Paper: Wu, Xiong, Yu & Lin 2018, "Unsupervised Feature Learning via Non-Parametric
    Instance Discrimination".
    """

    def __init__(self, size, dim, momentum=0.5, dtype="float32", generator=None):
        super().__init__()
        backend = current()
        gen = generator_on(backend, generator)
        rows = gen.standard_normal((size, dim)).astype(dtype)
        rows /= backend.xp.sqrt((rows * rows).sum(axis=1, keepdims=True))
        self.momentum = momentum
        self.register_buffer("memory", Tensor._wrap(rows))
        self.register_buffer("ptr", Tensor._wrap(backend.xp.zeros(1, dtype="int64")))

    def extra_repr(self):
        return f"size={self.memory.shape[0]}, dim={self.memory.shape[1]}, momentum={self.momentum}"

    def forward(self):
        return self.memory.detach()

    def enqueue(self, keys):
        """Replace the ``len(keys)`` oldest rows with ``keys`` (detached), oldest first."""
        k = _rows(keys, self.memory)
        size = self.memory.shape[0]
        if k.shape[0] > size:
            raise ValueError(f"MemoryBank.enqueue: {k.shape[0]} keys do not fit a bank of {size}")
        xp = backend_of_array(self.memory.data).xp
        start = int(self.ptr.data[0])
        index = (start + xp.arange(k.shape[0])) % size
        with no_grad():
            self.memory.data[index] = k
            self.ptr.data[0] = (start + k.shape[0]) % size
            self.memory._version += 1

    def update(self, indices, features):
        """NPID's update of the rows ``indices``: v_i ← normalize(m·v_i + (1 − m)·f_i)."""
        f = _rows(features, self.memory)
        idx = indices.data if isinstance(indices, Tensor) else indices
        xp = backend_of_array(self.memory.data).xp
        mixed = self.momentum * self.memory.data[idx] + (1 - self.momentum) * f
        with no_grad():
            self.memory.data[idx] = mixed / xp.sqrt((mixed * mixed).sum(axis=1, keepdims=True))
            self.memory._version += 1


def _rows(values, memory):
    array = values.data if isinstance(values, Tensor) else values
    if array.ndim != 2 or array.shape[1] != memory.shape[1]:
        raise ValueError(f"MemoryBank: expected embeddings of shape (n, {memory.shape[1]}), got "
                         f"{tuple(array.shape)}")
    return backend_of_array(memory.data).asarray(array).astype(memory.dtype, copy=False)


register(MemoryBank, name="memory_bank", kind="layer", check="state", catalog_id="B030",
         module=MemoryBank,
         papers=["Unsupervised Feature Learning via Non-Parametric Instance-level Discrimination",
                 "Unsupervised Representation Learning by InvariancePropagation",
                 "Sy-CON: Symmetric Contrastive Loss for Continual Self-Supervised Representation "
                 "Learning",
                 "Conan-embedding: General Text Embedding with More and Better Negative Samples"])
