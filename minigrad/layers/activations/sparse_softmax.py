"""Sparse normalizers: α-entmax and its special cases sparsemax (α = 2) and 1.5-entmax,
with a learnable α per attention head (catalog A050).

α-entmax (Peters, Niculae & Martins 2019, "Sparse Sequence-to-Sequence Models", Eq. 8–10)
maps scores z to the distribution that maximises p·z + H^T_α(p) (Tsallis α-entropy):

    p_i = [(α − 1) z_i − τ]₊^{1/(α−1)},   τ chosen so that Σ_i p_i = 1.

α = 2 is sparsemax, the Euclidean projection onto the simplex (Martins & Astudillo 2016,
"From Softmax to Sparsemax", Alg. 1: sort, cumulative sums, support size); α = 1.5 has an
exact sort-based algorithm too (Peters et al. 2019, Alg. 2: on the support the condition
Σ (z_i/2 − τ)² = 1 is a quadratic in τ); any other α > 1 finds τ by bisection
(deep-spin/entmax, entmax/root_finding.py); α → 1 is softmax.

Backward (all α, one rule). On the support S = {p > 0}, p_i = u_i^{1/(α−1)} with
u_i = (α−1) z_i − τ(z), so ∂p_i/∂z_j = p_i^{2−α}(δ_ij − τ_j'/(α−1)); Σ_i ∂p_i/∂z_j = 0
fixes τ_j'/(α−1) = g_j / Σ g with g = p^{2−α} on S (0 elsewhere). Hence the Jacobian is
diag(g) − g gᵀ/Σg and the vector product is  dz = g⊙dp − g·(Σ g⊙dp)/Σ g
(deep-spin/entmax's formula; sparsemax: g = 1[S], dz = 1[S]⊙(dp − mean_S(dp))).

Gradient w.r.t. α (Correia, Niculae & Martins 2019, "Adaptively Sparse Transformers",
App. B; deep-spin/entmax root_finding.py): differentiating log p_i = log(u_i)/(α−1) and
using Σ ∂p_i/∂α = 0 to eliminate τ'(α) gives, with ĝ = g/Σg and H = Σ_S p log p,

    ∂p_i/∂α = (p_i − ĝ_i)/(α−1)² − (p_i log p_i − ĝ_i H)/(α−1),

so dα = Σ_i dp_i ∂p_i/∂α over the normalised axis.

Not differentiable where the support changes (an entry with (α−1) z_i exactly at τ):
the checks use inputs away from those points. The forward returns exact zeros off the
support, so 0 log 0 is taken as 0 and p^{2−α} is only evaluated on the support.
"""
from minigrad.autograd import Function
from minigrad.layers.activations._util import pick_axis
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.ops._util import normalize_axis
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["entmax", "sparsemax", "entmax15", "entmax_bisect",
           "Entmax", "Sparsemax", "Entmax15", "EntmaxBisect", "EntmaxAlpha"]


def _ranks(xp, shape, axis, dtype):
    """1, 2, …, d laid along ``axis`` (broadcasts against an array of ``shape``)."""
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return xp.arange(1, shape[axis] + 1, dtype=dtype).reshape(view)


def _entmax_vjp(xp, p, support, gy, axis, alpha):
    """dz = g⊙dp − g·(Σ g⊙dp)/Σ g, g = p^{2−α} on the support (see the module docstring);
    also returns g, Σg for the α-gradient. Written with operators and ``xp`` functions
    only, so the same code runs on tensors for second derivatives."""
    if isinstance(alpha, float) and alpha == 2.0:
        g = xp.where(support, xp.ones_like(p), 0.0)        # sparsemax: g = 1[S]
    else:
        safe = xp.where(support, p, 1.0)                   # p^{2−α} only on the support
        g = xp.where(support, xp.exp((2 - alpha) * xp.log(safe)), 0.0)
    gsum = g.sum(axis=axis, keepdims=True)
    gdp = g * gy
    return gdp - g * (gdp.sum(axis=axis, keepdims=True) / gsum), g, gsum


class SparsemaxFn(Function):
    """Sparsemax (Martins & Astudillo 2016, Alg. 1): p = [z − τ]₊, the Euclidean projection
    onto the simplex. Sort z descending (z₍₁₎ ≥ …), k* = max{k : 1 + k z₍ₖ₎ > Σ_{j≤k} z₍ⱼ₎},
    τ = (Σ_{j≤k*} z₍ⱼ₎ − 1)/k*. The max is subtracted first (τ shifts with it).

    Backward: dz = 1[S]⊙(dp − mean_S(dp)), S = {p > 0} (Martins & Astudillo 2016, Eq. 14;
    the α = 2 case of the entmax rule, g = 1[S]).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        z = x - x.max(axis=axis, keepdims=True)
        zs = xp.flip(xp.sort(z, axis=axis), axis=axis)
        k = _ranks(xp, z.shape, axis, z.dtype)
        cs = xp.cumsum(zs, axis=axis) - 1
        size = (k * zs > cs).sum(axis=axis, keepdims=True)          # ≥ 1 always
        tau = xp.take_along_axis(cs, size - 1, axis=axis) / size.astype(z.dtype)
        p = xp.maximum(z - tau, 0).astype(x.dtype, copy=False)
        support = p > 0
        ctx.save_for_backward(p, support)
        ctx.axis = axis
        return p

    @staticmethod
    def backward(ctx, gy):
        p, support = ctx.saved_tensors
        dz, _, _ = _entmax_vjp(ctx.xp, p, support, gy, ctx.axis, 2.0)
        return dz, None


class Entmax15Fn(Function):
    """1.5-entmax by sorting (Peters et al. 2019, Alg. 2): with z ← (z − max z)/2 and z
    sorted descending, for each k the mean μₖ, the sum of squared deviations sₖ =
    k(mean of squares − μₖ²) and τₖ = μₖ − √((1 − sₖ)/k) (clamped at 0 under the root);
    the support size is k* = #{k : τₖ ≤ z₍ₖ₎}; p = [z − τ_{k*}]₊².

    Backward: the entmax rule with g = p^{1/2} on the support: dz = g⊙dp − g·(Σ g⊙dp)/Σ g.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        z = (x - x.max(axis=axis, keepdims=True)) / 2
        zs = xp.flip(xp.sort(z, axis=axis), axis=axis)
        k = _ranks(xp, z.shape, axis, z.dtype)
        mean = xp.cumsum(zs, axis=axis) / k
        mean_sq = xp.cumsum(zs * zs, axis=axis) / k
        ss = k * (mean_sq - mean * mean)
        tau = mean - xp.sqrt(xp.maximum((1 - ss) / k, 0))
        size = (tau <= zs).sum(axis=axis, keepdims=True)             # ≥ 1 always
        tau_star = xp.take_along_axis(tau, size - 1, axis=axis)
        p = (xp.maximum(z - tau_star, 0) ** 2).astype(x.dtype, copy=False)
        support = p > 0
        ctx.save_for_backward(p, support)
        ctx.axis = axis
        return p

    @staticmethod
    def backward(ctx, gy):
        p, support = ctx.saved_tensors
        dz, _, _ = _entmax_vjp(ctx.xp, p, support, gy, ctx.axis, 1.5)
        return dz, None


class EntmaxBisectFn(Function):
    """α-entmax for any α > 1 by bisection on τ (deep-spin/entmax, entmax/root_finding.py):
    with X = (α−1)z and m = max X, τ lies in [m − 1, m − d^{1−α}] (the largest entry alone
    reaches 1 at τ = m − 1; the uniform distribution is reached at τ = m − d^{1−α});
    f(τ) = Σ [X − τ]₊^{1/(α−1)} − 1 decreases in τ; ``n_iter`` halvings of the interval,
    then p is divided by its sum. ``alpha`` is a float or an array that broadcasts against
    x with size 1 along ``axis`` (one α per row: per head).

    Backward: dz = g⊙dp − g·(Σ g⊙dp)/Σ g with g = p^{2−α} on the support; w.r.t. α
    (when α is a tensor): dα = Σ dp⊙[(p − ĝ)/(α−1)² − (p log p − ĝ·Σ p log p)/(α−1)],
    ĝ = g/Σg (Correia et al. 2019, App. B; derivation in the module docstring).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, alpha, axis, n_iter):
        xp = ctx.xp
        am1 = alpha - 1
        X = x * am1
        m = X.max(axis=axis, keepdims=True)
        d = x.shape[axis]
        lo = m - 1
        dm = (m - (1.0 / d) ** am1) - lo
        inv = 1 / am1
        for _ in range(n_iter):                  # n_iter >= 1 (checked by the wrapper)
            dm = dm / 2
            mid = lo + dm
            p = xp.maximum(X - mid, 0) ** inv
            lo = xp.where(p.sum(axis=axis, keepdims=True) >= 1, mid, lo)
        p = (p / p.sum(axis=axis, keepdims=True)).astype(x.dtype, copy=False)
        support = p > 0
        if isinstance(alpha, float):
            ctx.save_for_backward(p, support)
        else:
            ctx.save_for_backward(p, support, alpha)
        ctx.alpha_const = alpha if isinstance(alpha, float) else None
        ctx.axis = axis
        return p

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        saved = ctx.saved_tensors
        p, support = saved[0], saved[1]
        alpha = ctx.alpha_const if ctx.alpha_const is not None else saved[2]
        dz, g, gsum = _entmax_vjp(xp, p, support, gy, ctx.axis, alpha)
        dalpha = None
        if ctx.alpha_const is None and ctx.needs_input_grad[1]:
            plogp = xp.where(support, p * xp.log(xp.where(support, p, 1.0)), 0.0)
            ghat = g / gsum
            am1 = alpha - 1
            dp_dalpha = ((p - ghat) / (am1 * am1)
                         - (plogp - ghat * plogp.sum(axis=ctx.axis, keepdims=True)) / am1)
            dalpha = (gy * dp_dalpha).sum(axis=ctx.axis, keepdims=True)
        return dz, dalpha, None, None


# ------------------------------------------------------------------ functional
def _prepare(op, x, axis, dim):
    check_floating(op, x=x)
    if x.ndim == 0:
        raise ValueError(f"{op}: needs at least one axis to normalise over, got a 0-d input")
    axis = normalize_axis(pick_axis(axis, dim, op), x.ndim)[0]
    if x.shape[axis] == 0:
        raise ValueError(f"{op}: the normalised axis {axis} of an input of shape "
                         f"{tuple(x.shape)} is empty")
    return axis


def sparsemax(x, axis=None, dim=None):
    """Sparsemax along ``axis`` (PyTorch-style ``dim``; default -1): p = [z − τ]₊ with
    Σp = 1, the Euclidean projection of z onto the simplex, computed exactly by sorting.

    Backward: ``SparsemaxFn`` (help(minigrad.layers.activations.sparse_softmax.SparsemaxFn)):
    dz = 1[p > 0]⊙(dp − mean over the support of dp).
    Paper: Martins & Astudillo 2016, "From Softmax to Sparsemax: A Sparse Model of Attention
    and Multi-Label Classification" (Alg. 1). Equals ``entmax(x, alpha=2.0)``.
    Not differentiable where an entry sits exactly on the support boundary.
    """
    axis = _prepare("sparsemax", x, axis, dim)
    return SparsemaxFn.apply(x, axis)


def entmax15(x, axis=None, dim=None):
    """1.5-entmax along ``axis`` (``dim``; default -1): p = [z/2 − τ]₊² with Σp = 1, τ found
    exactly by sorting.

    Backward: ``Entmax15Fn`` (help(minigrad.layers.activations.sparse_softmax.Entmax15Fn)):
    dz = g⊙dp − g·(Σ g⊙dp)/Σg, g = √p.
    Paper: Peters, Niculae & Martins 2019, "Sparse Sequence-to-Sequence Models" (Alg. 2).
    Equals ``entmax(x, alpha=1.5)``.
    """
    axis = _prepare("entmax15", x, axis, dim)
    return Entmax15Fn.apply(x, axis)


def _check_alpha(op, alpha, x, axis):
    from minigrad.backends import to_numpy
    if isinstance(alpha, Tensor):
        check_floating(op, alpha=alpha)
        shape = tuple(alpha.shape)
        if len(shape) > x.ndim:
            raise ValueError(f"{op}: alpha of shape {shape} has more axes than the input "
                             f"of shape {tuple(x.shape)}")
        full = (1,) * (x.ndim - len(shape)) + shape
        for i, (a, n) in enumerate(zip(full, x.shape)):
            if (i == axis and a != 1) or a not in (1, n):
                raise ValueError(f"{op}: alpha of shape {shape} must broadcast against the "
                                 f"input of shape {tuple(x.shape)} with size 1 along axis "
                                 f"{axis} (one α per normalised row)")
        if (to_numpy(alpha.data) <= 1).any():
            raise ValueError(f"{op}: every alpha must be > 1 (alpha = 1 is softmax: use "
                             "F.softmax)")
        return alpha
    alpha = float(alpha)
    if not alpha > 1:
        raise ValueError(f"{op}: alpha must be > 1, got {alpha} (alpha = 1 is softmax: "
                         "use F.softmax)")
    return alpha


def entmax_bisect(x, alpha=1.5, axis=None, n_iter=50, dim=None):
    """α-entmax along ``axis`` (``dim``; default -1) by bisection on τ:
    p = [(α − 1)z − τ]₊^{1/(α−1)} with Σp = 1.

    ``alpha``: a float > 1 or a tensor (> 1) that broadcasts against x with size 1 along
    ``axis`` (one α per row, e.g. per head); a tensor α gets a gradient.
    ``n_iter`` = 50 halvings (float64 precision; deep-spin/entmax's default), then the
    output is divided by its sum.
    Backward: ``EntmaxBisectFn`` (help(minigrad.layers.activations.sparse_softmax.EntmaxBisectFn)).
    Paper: Peters, Niculae & Martins 2019, "Sparse Sequence-to-Sequence Models"; α-gradient:
    Correia, Niculae & Martins 2019, "Adaptively Sparse Transformers".
    """
    axis = _prepare("entmax_bisect", x, axis, dim)
    alpha = _check_alpha("entmax_bisect", alpha, x, axis)
    if int(n_iter) < 1:
        raise ValueError(f"entmax_bisect: n_iter must be >= 1, got {n_iter}")
    return EntmaxBisectFn.apply(x, alpha, axis, int(n_iter))


def entmax(x, alpha=1.5, axis=None, n_iter=50, dim=None):
    """α-entmax along ``axis`` (PyTorch-style ``dim``; default -1):
    p = [(α − 1)z − τ]₊^{1/(α−1)}, τ such that Σp = 1 (α = 2: sparsemax; α → 1: softmax).

    α = 2 and α = 1.5 use the exact sort-based algorithms (``sparsemax``, ``entmax15``),
    any other float α > 1 and any tensor α bisection (``entmax_bisect``, ``n_iter`` = 50);
    a tensor α (broadcasting against x with size 1 along ``axis``) gets a gradient:
    learned sparsity per head as in ``EntmaxAlpha``.
    Backward: dz = g⊙dp − g·(Σ g⊙dp)/Σg, g = p^{2−α} on the support; ``SparsemaxFn``,
    ``Entmax15Fn``, ``EntmaxBisectFn`` (help(minigrad.layers.activations.sparse_softmax)).
    Paper: Peters, Niculae & Martins 2019, "Sparse Sequence-to-Sequence Models"; learned α:
    Correia, Niculae & Martins 2019, "Adaptively Sparse Transformers"; used by "Adaptive
    Sparse and Monotonic Attention for Transformer-based Automatic Speech Recognition".
    Not differentiable where an entry sits exactly on the support boundary.
    """
    check_floating("entmax", x=x)
    if not isinstance(alpha, Tensor):
        a = _check_alpha("entmax", alpha, x, 0)
        if a == 2.0:
            return sparsemax(x, axis, dim)
        if a == 1.5:
            return entmax15(x, axis, dim)
    return entmax_bisect(x, alpha, axis, n_iter, dim)


# ------------------------------------------------------------------ modules
class Sparsemax(Module):
    """y = sparsemax(x) along ``dim`` (default -1). Backward: ``SparsemaxFn`` (see
    ``F.sparsemax``). Paper: Martins & Astudillo 2016, "From Softmax to Sparsemax: A Sparse
    Model of Attention and Multi-Label Classification"."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return sparsemax(x, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Entmax15(Module):
    """y = 1.5-entmax(x) along ``dim`` (default -1). Backward: ``Entmax15Fn`` (see
    ``F.entmax15``). Paper: Peters, Niculae & Martins 2019, "Sparse Sequence-to-Sequence
    Models"."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return entmax15(x, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Entmax(Module):
    """y = α-entmax(x) along ``dim`` (default -1) with a fixed ``alpha`` (default 1.5).
    Backward: see ``F.entmax``. Paper: Peters, Niculae & Martins 2019, "Sparse
    Sequence-to-Sequence Models"."""

    def __init__(self, alpha=1.5, dim=-1, n_iter=50):
        super().__init__()
        self.alpha, self.dim, self.n_iter = alpha, dim, n_iter

    def forward(self, x):
        return entmax(x, self.alpha, n_iter=self.n_iter, dim=self.dim)

    def extra_repr(self):
        return f"alpha={self.alpha}, dim={self.dim}"


class EntmaxBisect(Entmax):
    """y = α-entmax(x) by bisection for any α (deep-spin/entmax's ``EntmaxBisect``).
    Backward: ``EntmaxBisectFn`` (see ``F.entmax_bisect``). Paper: Peters, Niculae &
    Martins 2019, "Sparse Sequence-to-Sequence Models"."""

    def forward(self, x):
        return entmax_bisect(x, self.alpha, n_iter=self.n_iter, dim=self.dim)


class EntmaxAlpha(Module):
    """α-entmax attention normaliser with a learnable α per head (Correia, Niculae &
    Martins 2019, "Adaptively Sparse Transformers", §3.2): α_h = 1 + sigmoid(a_h) ∈ (1, 2),
    a_h initialised to ``init`` = 0 (α = 1.5). Input (N, H, L, S) scores (or any shape with
    the head axis at ``head_dim`` = 1); normalised along ``dim`` (default -1).

    Backward: ``EntmaxBisectFn`` for x and α, then sigmoid's chain rule for a.
    Deviation: deep-spin initialises a ~ N(0, 1); the default here is a = 0 (α = 1.5).
    """

    def __init__(self, head_count, dim=-1, n_iter=50, init=0.0, head_dim=1):
        super().__init__()
        from minigrad.layers.activations._util import filled
        self.head_count, self.dim, self.n_iter, self.head_dim = head_count, dim, n_iter, head_dim
        self.pre_alpha = Parameter(filled(head_count, init))

    @property
    def alpha(self):
        from minigrad.ops.elementwise import sigmoid
        return 1 + sigmoid(self.pre_alpha)

    def forward(self, x):
        hd = self.head_dim % x.ndim
        if x.shape[hd] != self.head_count:
            raise ValueError(f"EntmaxAlpha: expected {self.head_count} heads on axis {hd}, "
                             f"got an input of shape {tuple(x.shape)}")
        shape = [1] * x.ndim
        shape[hd] = self.head_count
        alpha = self.alpha.astype(x.dtype).reshape(tuple(shape))
        return entmax_bisect(x, alpha, n_iter=self.n_iter, dim=self.dim)

    def extra_repr(self):
        return f"head_count={self.head_count}, dim={self.dim}"


# ------------------------------------------------------------------ registry
def _scores(r, *shape):
    """Well-separated scores: a random permutation of an evenly spaced grid plus small
    noise, so no entry lies near a support boundary or a tie."""
    n = 1
    for s in shape:
        n *= s
    grid = r.permutation(n).reshape(shape) * 0.37
    return grid + r.uniform(-0.01, 0.01, shape)


def _register_all():
    register(entmax, kind="activation", catalog_id="A050", module=Entmax,
             papers=["Adaptive Sparse and Monotonic Attention for Transformer-based "
                     "Automatic Speech Recognition"],
             inputs=lambda r: [Case(_scores(r, 3, 5)),
                               Case(_scores(r, 3, 5), alpha=2.0),
                               Case(_scores(r, 2, 4, 3), alpha=2.0, dim=1),
                               Case(_scores(r, 2, 4, 3), dim=1),
                               Case(_scores(r, 3, 5), alpha=1.25),
                               Case(_scores(r, 2, 5), alpha=3.0, dim=-1),
                               Case(_scores(r, 2, 3, 4), r.uniform(1.2, 1.8, (3, 1))),
                               Case(_scores(r, 4, 2), r.uniform(1.3, 1.7, (1, 2)), dim=0)])


_register_all()
