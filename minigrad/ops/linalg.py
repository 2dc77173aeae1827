"""Matrix products: matmul (with NumPy's batched and 1-D rules), mm, bmm, outer, einsum, and
the distances dist and cdist."""
from minigrad.autograd import Function
from minigrad.dtypes import check_same_dtype
from minigrad.registry import Case, register
from minigrad.ops._util import as_operand
from minigrad.tensor import Tensor


class MatMul(Function):
    """C = A @ B with NumPy's rules: 1-D operands are promoted to matrices and the
    added axis removed afterwards; leading (batch) axes broadcast.
    dA = dC @ Bᵀ,  dB = Aᵀ @ dC  (batch axes that were broadcast are summed by the engine)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        try:
            y = a @ b
        except ValueError:              # the backend's message, said in minigrad's words
            _check_matmul_shapes(a, b)
            raise
        ctx.save_for_backward(a, b)
        return y

    @staticmethod
    def backward(ctx, gc):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = gc.reshape(xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
                        + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g2 @ xp.swapaxes(b2, -1, -2)
            ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],)) if a.ndim == 1 else ga
        if ctx.needs_input_grad[1]:
            gb = xp.swapaxes(a2, -1, -2) @ g2
            gb = gb.reshape(gb.shape[:-2] + (gb.shape[-2],)) if b.ndim == 1 else gb
        return ga, gb


def _check_matmul_shapes(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: both operands need at least one dimension "
                         f"(got shapes {a.shape} and {b.shape}); use * for scalars") from None
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                         f"({a.shape[-1]} ≠ {b.shape[-2 if b.ndim > 1 else 0]})") from None


class Einsum(Function):
    """y = einsum(spec, *operands) for an explicit spec ``'ij,jk->ik'``.
    The gradient of operand k is einsum of the output gradient with the other
    operands, written to operand k's subscripts; a letter that appears in operand k
    only (summed away in the forward) gets broadcast back."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, spec, *operands):
        ctx.save_for_backward(*operands)
        ctx.spec = spec
        return ctx.xp.einsum(spec, *operands)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        ops = ctx.saved_tensors
        inputs, output = ctx.spec.split("->")
        subs = inputs.split(",")
        grads = [None]
        for k, sub in enumerate(subs):
            if not ctx.needs_input_grad[k + 1]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(subs) if j != k]
            present = set(output).union(*others) if others else set(output)
            kept = "".join(c for c in dict.fromkeys(sub) if c in present)
            spec = ",".join([output] + others) + "->" + kept
            g = xp.einsum(spec, gy, *[o for j, o in enumerate(ops) if j != k])
            if kept != sub:  # letters summed only inside operand k, or repeated (diagonal)
                g = _scatter_subscripts(xp, g, kept, sub, ops[k].shape)
            grads.append(g)
        return tuple(grads)


def _scatter_subscripts(xp, g, kept, sub, shape):
    """Place a gradient over subscripts ``kept`` back onto operand subscripts ``sub``
    (broadcast over letters it lacks; repeated letters put it on the diagonal)."""
    sizes = dict(zip(sub, shape))
    letters = "".join(dict.fromkeys(sub))
    expanded = g
    for c in letters:
        if c not in kept:
            expanded = xp.expand_dims(expanded, -1)
            kept += c
    expanded = xp.broadcast_to(expanded, tuple(sizes[c] for c in kept))
    spread = xp.transpose(expanded, [kept.index(c) for c in letters])
    if letters == sub:                    # no repeated letter: broadcasting is all it takes
        return spread
    # a repeated letter (a diagonal, 'ii'): one fresh letter per position of ``sub``, tied
    # to the first position with that letter by an identity matrix
    fresh = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in sub][:len(sub)]
    first = {c: fresh[sub.index(c)] for c in letters}
    operands, specs = [spread], ["".join(first[c] for c in letters)]
    for p, c in enumerate(sub):
        if sub.index(c) != p:
            operands.append(xp.asarray(xp.eye(sizes[c], dtype=g.dtype)))
            specs.append(first[c] + fresh[p])
    return xp.einsum(",".join(specs) + "->" + "".join(fresh), *operands)


def matmul(a, b):
    """y = a @ b, yᵢₖ = Σⱼ aᵢⱼ·bⱼₖ (batched, broadcast, 1-D rules as in NumPy and PyTorch).
    Backward: the Function ``MatMul`` (da = dy·bᵀ, db = aᵀ·dy)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype == b.data.dtype:
        return MatMul.apply(a, b)
    if not isinstance(a, Tensor):
        a = as_operand(a, b)
    b = as_operand(b, a)
    if a.dtype != b.dtype:
        check_same_dtype("matmul", a, b)
    return MatMul.apply(a, b)


def einsum(spec, *operands):
    """y = einsum(spec, *operands), e.g. 'ij,jk->ik': yᵢₖ = Σⱼ aᵢⱼ·bⱼₖ (an explicit output is
    required, no '...'). Backward: the Function ``Einsum`` (each operand's gradient is an
    einsum of dy with the other operands)."""
    spec = spec.replace(" ", "")
    if "->" not in spec:
        raise ValueError(f"einsum: give the output subscripts explicitly, e.g. "
                         f"'{spec}->...', got {spec!r}")
    if "..." in spec:
        raise ValueError("einsum: '...' is not supported; name every axis")
    if len(spec.split("->")[0].split(",")) != len(operands):
        raise ValueError(f"einsum: {spec!r} names {len(spec.split('->')[0].split(','))} "
                         f"operands but {len(operands)} were given")
    check_same_dtype("einsum", *operands)
    return Einsum.apply(spec, *operands)


def mm(input, mat2):  # noqa: A002
    """Matrix product of two 2-D tensors (``torch.mm``): C = A·B, (n, m)·(m, p) → (n, p);
    no broadcasting and no 1-D rules (use ``matmul`` for those). Backward: the Function
    ``MatMul`` (dA = dC·Bᵀ, dB = Aᵀ·dC)."""
    if input.ndim != 2 or getattr(mat2, "ndim", None) != 2:
        raise ValueError(f"mm: both operands must be 2-D matrices, got shapes "
                         f"{tuple(input.shape)} and {tuple(getattr(mat2, 'shape', ()))}")
    if input.shape[1] != mat2.shape[0]:
        raise ValueError(f"mm: shapes {tuple(input.shape)} and {tuple(mat2.shape)} cannot be "
                         f"multiplied ({input.shape[1]} ≠ {mat2.shape[0]})")
    return matmul(input, mat2)


def bmm(input, mat2):  # noqa: A002
    """Batched matrix product of two 3-D tensors (``torch.bmm``): C[b] = A[b]·B[b],
    (B, n, m)·(B, m, p) → (B, n, p), with equal batch sizes (no broadcasting). Backward:
    the Function ``MatMul``."""
    if input.ndim != 3 or getattr(mat2, "ndim", None) != 3:
        raise ValueError(f"bmm: both operands must be 3-D (batch, rows, columns), got shapes "
                         f"{tuple(input.shape)} and {tuple(getattr(mat2, 'shape', ()))}")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise ValueError(f"bmm: shapes {tuple(input.shape)} and {tuple(mat2.shape)} do not "
                         "match (equal batch sizes and inner dimensions needed)")
    return matmul(input, mat2)


def t(input):  # noqa: A002
    """The transpose of a tensor with at most 2 dimensions (``torch.t``): 0-d and 1-D tensors
    are returned as they are, a matrix transposed (yᵢⱼ = xⱼᵢ). Backward: the transpose of
    the gradient (the shape op ``transpose``)."""
    if input.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape "
                         f"{tuple(input.shape)}; use transpose(dim0, dim1) or permute")
    if input.ndim < 2:
        return input
    from minigrad.ops.shape import permute
    return permute(input, 1, 0)


def outer(input, vec2):  # noqa: A002
    """Outer product of two 1-D tensors (``torch.outer``, alias ``ger``): yᵢⱼ = aᵢ·bⱼ, shape
    (n, m); PyTorch's type promotion. Composite a[:, None] * b[None, :] (backward: ``Mul``:
    da = dy·b, db = dyᵀ·a)."""
    if input.ndim != 1 or getattr(vec2, "ndim", None) != 1:
        raise ValueError(f"outer: both operands must be 1-D, got shapes {tuple(input.shape)} "
                         f"and {tuple(getattr(vec2, 'shape', ()))}")
    from minigrad.ops.elementwise import mul
    from minigrad.ops.shape import reshape
    return mul(reshape(input, (-1, 1)), reshape(vec2, (1, -1)))


def _pnorm(xp, d, p, axis):
    """‖d‖_p along ``axis`` (None: all elements), on arrays or tensors."""
    a = xp.abs(d)
    if p == float("inf"):
        return a.max(axis=axis)
    if p == 2:
        return xp.sqrt((d * d).sum(axis=axis))
    if p == 1:
        return a.sum(axis=axis)
    return (a ** p).sum(axis=axis) ** (1.0 / p)


def _pnorm_grad(xp, d, n, p, g, axis):
    """d‖d‖_p/dd times the gradient ``g`` of the norm ``n`` (both with ``axis`` kept):
    p finite: sign(d)·|d|^(p−1) / n^(p−1) (0 where n = 0, PyTorch's choice at the kink);
    p = ∞: sign(d) at the entries where |d| = n, split evenly among ties."""
    zero = n == 0
    if p == float("inf"):
        at_max = (xp.abs(d) == n) & ~zero
        count = at_max.sum(axis=axis, keepdims=True)
        return g * xp.sign(d) * at_max / xp.maximum(count, 1)
    safe = xp.where(zero, 1.0, n)
    if p == 2:
        return xp.where(zero, 0.0, g * d / safe)
    if p == 1:
        return g * xp.sign(d)
    return xp.where(zero, 0.0, g * xp.sign(d) * xp.abs(d) ** (p - 1) / safe ** (p - 1))


def _check_p(op, p):
    p = float(p)
    if not (p > 0 or p == 0) or p != p:
        raise ValueError(f"{op}: p must be a non-negative number or inf, got {p}")
    return p


class Dist(Function):
    """y = ‖a − b‖_p over all elements (a and b broadcast): (Σ|dᵢ|^p)^(1/p) with d = a − b;
    p = ∞: max |dᵢ|; p = 0: the number of nonzero dᵢ.
    dy/dd = sign(d)·|d|^(p−1) / y^(p−1) (p = 2: d/y), 0 at y = 0 as PyTorch;
    p = ∞: sign(d) on the entries with |dᵢ| = y, split evenly among ties; p = 0: 0;
    dy/da = dy/dd, dy/db = −dy/dd (summed over broadcast axes by the engine)."""

    @staticmethod
    def forward(ctx, a, b, p):
        xp = ctx.xp
        d = a - b
        if p == 0:
            y = (d != 0).sum().astype(d.dtype)
        else:
            y = _pnorm(xp, d, p, None)
        ctx.p = p
        ctx.save_for_backward(d, xp.asarray(y))
        return xp.asarray(y)

    @staticmethod
    def backward(ctx, gy):
        d, y = ctx.saved_tensors
        if ctx.p == 0:
            g = ctx.xp.zeros_like(d)
        else:
            g = _pnorm_grad(ctx.xp, d, y, ctx.p, gy, None)
        return (g if ctx.needs_input_grad[0] else None,
                -g if ctx.needs_input_grad[1] else None, None)

    @staticmethod
    def composite(a, b, p):
        from minigrad.ops.tensor_xp import TensorXP
        from minigrad.backends import backend_of_array
        d = a - b if p != 0 else None
        if p == 0:
            return dist(a.detach(), b.detach(), 0)
        return _pnorm(TensorXP(backend_of_array(a.data)), d, p, None)


def dist(input, other, p=2):  # noqa: A002
    """‖input − other‖_p over all elements, broadcasting (``torch.dist``, default p=2): a 0-d
    tensor. p = inf is the largest |difference|, p = 0 the count of nonzero differences.
    Backward: the Function ``Dist`` (gradient 0 where input == other everywhere, as PyTorch)."""
    other = as_operand(other, input)
    check_same_dtype("dist", input, other)
    if input.dtype.kind != "f":
        raise TypeError(f"dist: expects floating-point tensors, got {input.dtype}")
    return Dist.apply(input, other, _check_p("dist", p))


class Cdist(Function):
    """y[b, i, j] = ‖x1[b, i] − x2[b, j]‖_p over the last axis (pairwise distances).
    With d = x1[b, i] − x2[b, j] (per pair), dy/dd is the p-norm gradient of ``Dist``
    (d/y for p = 2, 0 where y = 0 as PyTorch); dx1[b, i] = Σⱼ g[b, i, j]·dy/dd and
    dx2[b, j] = −Σᵢ g[b, i, j]·dy/dd."""

    @staticmethod
    def forward(ctx, x1, x2, p):
        xp = ctx.xp
        d = x1[..., :, None, :] - x2[..., None, :, :]
        if p == 0:
            y = (d != 0).sum(axis=-1).astype(d.dtype)
        else:
            y = _pnorm(xp, d, p, -1)
        ctx.p = p
        ctx.save_for_backward(x1, x2, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x1, x2, y = ctx.saved_tensors
        xp = ctx.xp
        if ctx.p == 0:
            return xp.zeros_like(x1), xp.zeros_like(x2), None
        d = x1[..., :, None, :] - x2[..., None, :, :]
        gd = _pnorm_grad(xp, d, y[..., None], ctx.p, gy[..., None], -1)
        return (gd.sum(axis=-2) if ctx.needs_input_grad[0] else None,
                -gd.sum(axis=-3) if ctx.needs_input_grad[1] else None, None)

    @staticmethod
    def composite(x1, x2, p):
        from minigrad.ops.tensor_xp import TensorXP
        from minigrad.backends import backend_of_array
        from minigrad.ops.shape import unsqueeze
        if p == 0:
            return cdist(x1.detach(), x2.detach(), 0)
        d = unsqueeze(x1, -2) - unsqueeze(x2, -3)
        return _pnorm(TensorXP(backend_of_array(x1.data)), d, p, -1)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances (``torch.cdist``): y[..., i, j] = ‖x1[..., i, :] − x2[..., j, :]‖_p
    for x1 of shape (B, P, M) and x2 of shape (B, R, M) → (B, P, R), or 2-D (P, M), (R, M) →
    (P, R); batch axes broadcast. p=2.0 default; p = inf and p = 0 as ``dist``. Backward: the
    Function ``Cdist`` (gradient 0 at zero distance, as PyTorch). ``compute_mode`` is accepted
    and ignored (minigrad always computes the differences directly, PyTorch's exact mode)."""
    if x1.ndim < 2 or getattr(x2, "ndim", 0) < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: x1 and x2 must have at least 2 dimensions and the same last "
                         f"dimension, got shapes {tuple(x1.shape)} and "
                         f"{tuple(getattr(x2, 'shape', ()))}")
    check_same_dtype("cdist", x1, x2)
    if x1.dtype.kind != "f":
        raise TypeError(f"cdist: expects floating-point tensors, got {x1.dtype}")
    return Cdist.apply(x1, x2, _check_p("cdist", p))


def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    register(matmul, inputs=lambda r: [
        Case(n(r, 3, 4), n(r, 4, 5)), Case(n(r, 4), n(r, 4, 2)), Case(n(r, 3, 4), n(r, 4)),
        Case(n(r, 4), n(r, 4)), Case(n(r, 2, 3, 4), n(r, 4, 5)), Case(n(r, 2, 1, 3, 4), n(r, 3, 4, 2))])
    register(einsum, inputs=lambda r: [
        Case("ij,jk->ik", n(r, 3, 4), n(r, 4, 2)), Case("bij,bjk->bik", n(r, 2, 3, 4), n(r, 2, 4, 2)),
        Case("ij->j", n(r, 3, 4)), Case("ii->i", n(r, 3, 3)), Case("i,j->ij", n(r, 3), n(r, 2)),
        Case("ijk,k->ij", n(r, 2, 3, 4), n(r, 4))])
    register(dist, inputs=lambda r: [Case(n(r, 3, 4), n(r, 4)), Case(n(r, 5), n(r, 5), p=1),
                                     Case(n(r, 2, 3), n(r, 2, 3), p=3),
                                     Case(n(r, 6), n(r, 6), p=float("inf"))])
    register(cdist, inputs=lambda r: [Case(n(r, 4, 3), n(r, 5, 3)),
                                      Case(n(r, 2, 3, 2), n(r, 2, 4, 2), p=1.0),
                                      Case(n(r, 3, 3), n(r, 2, 3), p=3.0)])


_register_all()


def _tensor_methods():
    """The Tensor methods of this module (installed by ``ops/tensor_methods.py``)."""
    return {"mm": mm, "bmm": bmm, "t": t, "outer": outer, "ger": outer, "dist": dist}
