"""Attach the primitive ops to ``Tensor`` as operators and methods (``x + y``, ``x.sum()``)."""
from minigrad.ops import elementwise as E, indexing as I, linalg as L, reductions as R, shape as S
from minigrad.ops._util import as_operand
from minigrad.tensor import Tensor


def _compare(op):
    def method(self, other):
        other = as_operand(other, self)
        o = other.data if isinstance(other, Tensor) else other
        if isinstance(other, Tensor) and type(o) is not type(self.data):
            raise RuntimeError(f"comparison between tensors on different backends "
                               f"({self.backend} and {other.backend})")
        return Tensor._wrap(op(self.data, o))  # a boolean tensor: not differentiable
    return method


def _reflected(fn):
    return lambda self, other: fn(other, self)


def _install():
    T = Tensor
    T.__add__, T.__radd__ = E.add, _reflected(E.add)
    T.__sub__, T.__rsub__ = E.sub, _reflected(E.sub)
    T.__mul__, T.__rmul__ = E.mul, _reflected(E.mul)
    T.__truediv__, T.__rtruediv__ = E.div, _reflected(E.div)
    T.__pow__, T.__rpow__ = E.pow, _reflected(E.pow)
    T.__matmul__, T.__rmatmul__ = L.matmul, _reflected(L.matmul)
    T.__neg__ = E.neg
    T.__abs__ = E.abs
    T.__getitem__ = I.getitem
    T.__lt__ = _compare(lambda a, b: a < b)
    T.__le__ = _compare(lambda a, b: a <= b)
    T.__gt__ = _compare(lambda a, b: a > b)
    T.__ge__ = _compare(lambda a, b: a >= b)
    T.__eq__ = _compare(lambda a, b: a == b)
    T.__ne__ = _compare(lambda a, b: a != b)
    for name in ("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "abs", "sin", "cos", "tanh",
                 "sigmoid", "erf", "clip", "clamp", "maximum", "minimum"):
        setattr(T, name, getattr(E, name))
    for name in ("sum", "mean", "var", "std", "max", "min", "logsumexp", "argmax", "argmin",
                 "prod", "norm", "amax", "amin"):
        setattr(T, name, getattr(R, name))
    for name in ("reshape", "transpose", "permute", "expand", "broadcast_to", "squeeze",
                 "unsqueeze", "flatten", "flip", "roll"):
        setattr(T, name, getattr(S, name))
    T.view = S.reshape
    T.matmul = L.matmul
    T.masked_fill = I.masked_fill
    T.index_select = I.index_select
    T.split = S.split
    T.chunk = S.chunk
    T.pow = E.pow
    from minigrad.ops import sorting
    for name in ("sort", "argsort", "topk", "kthvalue", "median", "quantile", "cumsum", "cumprod",
                 "cummax"):
        setattr(T, name, getattr(sorting, name))
    # math, comparison, indexing and in-place methods (x.eq, x // y, x.mm, x.exp_, x.scatter):
    # each module lists its own in _tensor_methods()
    from minigrad.ops import comparison as C
    for module in (C, E, I, L):
        for name, fn in module._tensor_methods().items():
            setattr(T, name, fn)


_install()
