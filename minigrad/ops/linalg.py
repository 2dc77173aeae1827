"""Matrix products: matmul (with NumPy's batched and 1-D rules) and einsum."""
from minigrad.autograd import Function
from minigrad.dtypes import check_same_dtype
from minigrad.registry import Case, register
from minigrad.ops._util import as_operand


class MatMul(Function):
    """C = A @ B with NumPy's rules: 1-D operands are promoted to matrices and the
    added axis removed afterwards; leading (batch) axes broadcast.
    dA = dC @ Bᵀ,  dB = Aᵀ @ dC  (batch axes that were broadcast are summed by the engine)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: both operands need at least one dimension "
                             f"(got shapes {a.shape} and {b.shape}); use * for scalars")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                             f"({a.shape[-1]} ≠ {b.shape[-2 if b.ndim > 1 else 0]})")
        ctx.save_for_backward(a, b)
        return a @ b

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
    """a @ b (batched, broadcast, 1-D rules as in NumPy)."""
    from minigrad.tensor import Tensor
    if not isinstance(a, Tensor):
        a = as_operand(a, b)
    b = as_operand(b, a)
    if a.dtype != b.dtype:
        check_same_dtype("matmul", a, b)
    return MatMul.apply(a, b)


def einsum(spec, *operands):
    """Einstein summation with an explicit output (``'bij,bjk->bik'``)."""
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


def _register_all():
    n = lambda rng, *s: rng.standard_normal(s)  # noqa: E731
    register(matmul, inputs=lambda r: [
        Case(n(r, 3, 4), n(r, 4, 5)), Case(n(r, 4), n(r, 4, 2)), Case(n(r, 3, 4), n(r, 4)),
        Case(n(r, 4), n(r, 4)), Case(n(r, 2, 3, 4), n(r, 4, 5)), Case(n(r, 2, 1, 3, 4), n(r, 3, 4, 2))])
    register(einsum, inputs=lambda r: [
        Case("ij,jk->ik", n(r, 3, 4), n(r, 4, 2)), Case("bij,bjk->bik", n(r, 2, 3, 4), n(r, 2, 4, 2)),
        Case("ij->j", n(r, 3, 4)), Case("ii->i", n(r, 3, 3)), Case("i,j->ij", n(r, 3), n(r, 2)),
        Case("ijk,k->ij", n(r, 2, 3, 4), n(r, 4))])


_register_all()
