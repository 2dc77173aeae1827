"""Embedding lookup (catalog B008)."""
from minigrad.autograd import Function
from minigrad.backends import backend_of_array, current
from minigrad.layers import init
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_index_range
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["Embedding"]  # Modules; functions: minigrad.functional


class EmbeddingFunction(Function):
    """y = E[idx]: row idx[...] of the table E (V, d), shape idx.shape + (d,).

    Backward: dE = Σ over positions p of dy_p placed in row idx_p (a scatter-add: repeated
    indices accumulate; the Numba/CuPy ``indexing`` kernel); the ``padding_idx`` row gets no
    gradient; the integer indices get none.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, weight, idx, padding_idx):
        ctx.save_for_backward(idx)
        ctx.shape, ctx.padding_idx = weight.shape, padding_idx
        return weight[idx]

    @staticmethod
    def backward(ctx, gy):
        idx, = ctx.saved_tensors
        g = ctx.backend.kernels("indexing").scatter_add(ctx.shape, gy.dtype, idx, gy)
        if ctx.padding_idx is not None:
            g[ctx.padding_idx] = 0
        return g, None, None


def embedding(input, weight, padding_idx=None):  # noqa: A002  (PyTorch's argument name)
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer tensor
    ``input`` (``torch.nn.functional.embedding``); the ``padding_idx`` row gets no gradient.
    Indices must lie in [0, num_embeddings): a negative index is an IndexError, as in
    PyTorch, not a row counted from the end.

    y[..., :] = W[i[...], :];  dW[r] = Σ_{positions with i = r} dy (scatter-add; 0 for the
    ``padding_idx`` row). Backward: ``EmbeddingFunction``
    (help(minigrad.layers.embedding.EmbeddingFunction)).
    Paper: Bengio, Ducharme, Vincent & Jauvin 2003, "A Neural Probabilistic Language Model".
    """
    idx = input.data if isinstance(input, Tensor) else input
    idx = backend_of_array(weight.data).asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {idx.dtype}")
    v = weight.shape[0]
    check_index_range("embedding", idx, v, "the table (num_embeddings)")
    if padding_idx is not None:
        padding_idx = padding_idx % v
    return EmbeddingFunction.apply(weight, idx, padding_idx)


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``: a learnable table,
    initialised N(0, 1) as in PyTorch, with the ``padding_idx`` row set to 0 (and kept there:
    it gets no gradient).

    y = W[i]; backward ``EmbeddingFunction`` (see ``F.embedding``).
    Paper: Bengio, Ducharme, Vincent & Jauvin 2003, "A Neural Probabilistic Language Model".
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype="float32",
                 generator=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = Parameter(current().xp.empty((num_embeddings, embedding_dim), dtype=dtype))
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):  # noqa: A002
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


def _embedding_rule(arrays, kwargs, gy):
    """The padding row's gradient is 0 by definition (it is not the derivative), the rest
    is the scatter-add of dy."""
    import numpy
    idx, weight = arrays
    g = numpy.zeros(weight.shape)
    numpy.add.at(g, idx, gy)
    if kwargs.get("padding_idx") is not None:
        g[kwargs["padding_idx"]] = 0
    return [g]


register(embedding, kind="layer", catalog_id="B008", module=Embedding, check="fd+custom",
         backward_rule=_embedding_rule,
         papers=["Malware Detection by Eating a Whole EXE", "Trellis Networks for Sequence Modeling"],
         inputs=lambda r: [Case(r.integers(0, 6, (3, 4)), r.standard_normal((6, 3))),
                           Case(r.integers(0, 5, 7), r.standard_normal((5, 2)), padding_idx=0,
                                custom=True),
                           Case(r.integers(0, 4, (2, 5)), r.standard_normal((4, 3)), padding_idx=-1,
                                custom=True)])
