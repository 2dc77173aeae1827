"""Variants of the softmax cross-entropy and of the linear classifier loss: PolyLoss
(Poly-1, Poly-N, Poly-1 focal), squentropy (CE + squared incorrect logits), the spherical
Z-loss, the comp-sum family of Mao et al. 2023, and the batch perceptron loss. Each is a
``Function`` with a hand-derived backward; the softmax ones share the row machinery of
``noisy_labels`` (a row loss of the log-softmax a = log p, and of the raw logits where the
loss reads them, with ∂a_k/∂z_j = δ_kj − p_j)."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, check_same_shape, const,
                                            reduce_array, reduction_grad)
from minigrad.layers.losses._softmax_rows import (finish as _finish, softmax_rows_backward,
                                                  softmax_rows_forward, softmax_targets)
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["poly_loss", "squentropy_loss", "spherical_z_loss", "comp_sum_loss",
           "batch_perceptron_loss",
           "PolyLoss", "SquentropyLoss", "SphericalZLoss", "CompSumLoss", "BatchPerceptronLoss"]

PAPER_POLY = "PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions"
PAPER_SQUENTROPY = "Cut your Losses with Squentropy"
PAPER_Z = ("The Z-loss: a shift and scale invariant classification loss belonging to the "
           "Spherical Family")
PAPER_COMP_SUM = "Cross-Entropy Loss Functions: Theoretical Analysis and Applications"
PAPER_PERCEPTRON = ("From Logistic Regression to the Perceptron Algorithm: Exploring Gradient "
                    "Descent with Large Step Sizes")


# ------------------------------------------------------------------ PolyLoss
class Poly(Function):
    """PolyLoss (Leng et al. 2022). With target rows t (one-hot, or label-smoothed / soft),
    a = log p, 1 − p_k = −expm1(a_k) and m = 1 − p_t = Σ_k t_k (1 − p_k) (Σ t = 1):

        base = −Σ_k t_k (1 − p_k)^γ a_k        (γ = 0: CE; γ > 0: the focal loss),
        ℓ = base + Σ_j ε_j·m^(j+γ)             (Poly-1: ε₁ only; Poly-1 focal: ε₁·m^(1+γ)).

    Backward, G_k = ∂ℓ/∂a_k:
        base: −t_k (γ = 0), or t_k·[γ(1 − p_k)^(γ−1)·p_k·a_k − (1 − p_k)^γ];
        poly: ∂m/∂a_k = −t_k p_k, so −t_k p_k·Σ_j ε_j (j + γ) m^(j+γ−1),
    and ∂ℓ/∂z = G − p·ΣG; for Poly-1 with one-hot t the extra term is −ε₁·p_t·(onehot − p)."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t, epsilons, gamma):
        one_minus = -xp.expm1(a)
        m = (t * one_minus).sum(axis=1)
        if gamma == 0:
            loss, g = -(t * a).sum(axis=1), -t
        else:
            w = one_minus ** gamma
            safe = xp.maximum(one_minus, xp.finfo(a.dtype).tiny)
            loss = -(t * w * a).sum(axis=1)
            g = t * (gamma * safe ** (gamma - 1) * xp.exp(a) * a - w)
        coef = 0
        for j, eps in enumerate(epsilons, start=1):
            power = j + gamma
            loss = loss + eps * m ** power
            coef = coef + (eps * power) * (m ** (power - 1) if power != 1 else 1)
        if epsilons:
            g = g - (coef * xp.ones_like(m))[:, None] * t * xp.exp(a)
        return loss, g, None

    @staticmethod
    def forward(ctx, z, t, keep, epsilons, gamma, reduction):
        return softmax_rows_forward(ctx, Poly.rows, z, t, keep, (epsilons, gamma), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, Poly.rows, gy)


def poly_loss(input, target, epsilon=1.0, gamma=0.0, label_smoothing=0.0, ignore_index=-100,
              reduction="mean"):
    """PolyLoss: Poly-1 = CE + ε(1 − p_t) (the paper's Poly-1 formulation, its "one line of
    code"), with p_t = Σ_k t_k p_k the probability of the (possibly label-smoothed or soft)
    target, as the paper's code computes it (``pt = sum(labels * softmax(logits))``).
    ``epsilon`` is ε₁ (default 1, the paper's first try; ε₁ = 2 is its ImageNet choice) or a
    sequence (ε₁, …, ε_N) for Poly-N = CE + Σ_j ε_j (1 − p_t)^j. ``gamma`` > 0 makes the
    base the focal loss and the terms ε_j (1 − p_t)^(j+γ) (Poly-1 focal: FL + ε₁(1 − p_t)^(γ+1);
    the paper's detection runs use this form, with a task-dependent, possibly negative ε₁).
    ``label_smoothing`` mixes the target with the uniform distribution before both terms,
    as the paper's ImageNet recipe (α = 0.1).
    Backward: see ``Poly`` (help(minigrad.layers.losses.classification_variants.Poly)).

    Paper: Leng, Tan, Liu, Cubuk, Shi, Cheng & Anguelov 2022, "PolyLoss: A Polynomial
    Expansion Perspective of Classification Loss Functions".
    """
    op = "poly_loss"
    check_reduction(op, reduction)
    if gamma < 0:
        raise ValueError(f"{op}: gamma must be >= 0, got {gamma}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    epsilons = tuple(float(e) for e in epsilon) if hasattr(epsilon, "__len__") else (float(epsilon),)
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index)
    if label_smoothing:
        n_classes = input.shape[1]
        t = Tensor._wrap((1 - label_smoothing) * t.data + label_smoothing / n_classes)
    out = Poly.apply(input, t, keep, epsilons, float(gamma), reduction)
    return _finish(out, unbatched, reduction)


# ------------------------------------------------------------------ squentropy
class Squentropy(Function):
    """Squentropy (Hui, Belkin & Wright 2023): for a row of C logits z with class y,

        ℓ = −log p_y + (1/(C − 1))·Σ_{j≠y} z_j²   (CE plus the average square loss of the
                                                  incorrect classes' raw logits, target 0).

    Backward: the CE part gives G_a = −onehot(y) (∂/∂z = p − onehot(y)); the square part
    reads z directly: ∂/∂z_j = 2z_j/(C − 1) for j ≠ y, 0 for j = y. Hence
        ∂ℓ/∂z_j = p_j − 1[j = y] + 2·z_j·1[j ≠ y]/(C − 1)."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t):
        c = zr.shape[1]
        off = 1 - t
        loss = -(t * a).sum(axis=1) + (off * zr * zr).sum(axis=1) / (c - 1)
        return loss, -t, (2.0 / (c - 1)) * off * zr

    @staticmethod
    def forward(ctx, z, t, keep, reduction):
        return softmax_rows_forward(ctx, Squentropy.rows, z, t, keep, (), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, Squentropy.rows, gy)


def squentropy_loss(input, target, ignore_index=-100, reduction="mean"):
    """Squentropy: ℓ = −log p_y + (1/(C − 1))·Σ_{j≠y} z_j², the cross-entropy plus the
    average square loss over the incorrect classes (their raw logits pushed to 0); no
    hyperparameters. Class-index targets (the paper defines it for hard labels), with
    ``ignore_index`` as ``F.cross_entropy``. Backward: see ``Squentropy``
    (help(minigrad.layers.losses.classification_variants.Squentropy)). Formula: the paper's
    definition, "the sum of the cross-entropy loss and the average square loss over the
    incorrect classes" (the square loss of a logit toward target 0, averaged over C − 1).

    Paper: Hui, Belkin & Wright 2023, "Cut your Losses with Squentropy".
    """
    op = "squentropy_loss"
    check_reduction(op, reduction)
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index, soft=False)
    return _finish(Squentropy.apply(input, t, keep, reduction), unbatched, reduction)


# ------------------------------------------------------------------ Z-loss
class SphericalZ(Function):
    """Z-loss (de Brébisson & Vincent 2016): for a row of C logits z,

        μ = (1/C)Σ_j z_j,  σ = √((1/C)Σ_j (z_j − μ)² + ε),  z̃ = (z − μ)/σ,
        ℓ = (1/a)·softplus(a·(b − z̃_y)).

    Backward: ∂σ/∂z_j = (z_j − μ)/(Cσ), so ∂z̃_y/∂z_j = (δ_yj − 1/C − z̃_y z̃_j/C)/σ (the
    same with ε > 0), and dℓ/dz̃_y = −sigmoid(a·(b − z̃_y)) =: −s:
        ∂ℓ/∂z_j = −s·(δ_yj − 1/C − z̃_y z̃_j/C)/σ.
    softplus(x) = max(x, 0) + log1p(exp(−|x|)) and s = exp(x − softplus(x)) (stable)."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a_unused, t, a, b, eps):
        c = zr.shape[1]
        d = zr - zr.mean(axis=1, keepdims=True)
        sigma = xp.sqrt((d * d).mean(axis=1) + eps)
        zt = d / sigma[:, None]
        zy = (t * zt).sum(axis=1)
        x = a * (b - zy)
        sp = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        s = xp.exp(x - sp)
        gz = -(s / sigma)[:, None] * (t - 1.0 / c - zy[:, None] * zt / c)
        return sp / a, None, gz

    @staticmethod
    def forward(ctx, z, t, keep, a, b, eps, reduction):
        return softmax_rows_forward(ctx, SphericalZ.rows, z, t, keep, (a, b, eps), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, SphericalZ.rows, gy)


def spherical_z_loss(input, target, a, b, eps=1e-12, ignore_index=-100, reduction="mean"):
    """Z-loss (spherical family; shift- and scale-invariant): with z̃ = (z − mean(z))/std(z)
    over the C classes (population std), ℓ = (1/a)·softplus(a·(b − z̃_y)). ``a`` (sharpness)
    and ``b`` (location) have no universal default: the paper tunes them per task (they
    trade top-1 against top-k), so both are required here. ``eps`` inside the square root
    keeps a constant row (std 0, where the paper's formula is 0/0) finite; it breaks the
    scale invariance only for logits of spread ~√eps. Only Σz, Σz² and z_y enter (O(1) in
    C with the factored-output trick of Vincent et al. 2015; this op computes them
    directly). Not the logit-magnitude "z-loss" of LLM training. Class-index targets.
    Backward: see ``SphericalZ`` (help(minigrad.layers.losses.classification_variants.SphericalZ)).

    Paper: de Brébisson & Vincent 2016, "The Z-loss: a shift and scale invariant
    classification loss belonging to the Spherical Family".
    """
    op = "spherical_z_loss"
    check_reduction(op, reduction)
    if not a > 0:
        raise ValueError(f"{op}: a must be > 0, got {a}")
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index, soft=False)
    out = SphericalZ.apply(input, t, keep, float(a), float(b), float(eps), reduction)
    return _finish(out, unbatched, reduction)


# ------------------------------------------------------------------ comp-sum
class CompSum(Function):
    """Comp-sum losses (Mao, Mohri & Zhong 2023): with u = Σ_{j≠y} e^(z_j − z_y) = 1/p_y − 1
    and a_y = log p_y,

        ℓ_τ = Φ_τ(u) = ((1 + u)^(1−τ) − 1)/(1 − τ) = (exp((τ − 1)·a_y) − 1)/(1 − τ),  τ ≠ 1;
        ℓ_1 = log(1 + u) = −a_y (cross-entropy).

    Backward: ∂ℓ_τ/∂a_y = −exp((τ − 1)·a_y) = −p_y^(τ−1) for every τ, so
        ∂ℓ/∂z = −p_y^(τ−1)·(onehot(y) − p)."""
    differentiable_backward = True

    @staticmethod
    def rows(xp, zr, a, t, tau):
        ay = (t * a).sum(axis=1)
        if tau == 1:
            return -ay, -t, None
        power = xp.exp((tau - 1) * ay)
        return (power - 1) / (1 - tau), -power[:, None] * t, None

    @staticmethod
    def forward(ctx, z, t, keep, tau, reduction):
        return softmax_rows_forward(ctx, CompSum.rows, z, t, keep, (tau,), reduction)

    @staticmethod
    def backward(ctx, gy):
        return softmax_rows_backward(ctx, CompSum.rows, gy)


def comp_sum_loss(input, target, tau, ignore_index=-100, reduction="mean"):
    """Comp-sum loss ℓ_τ = Φ_τ(Σ_{j≠y} e^(z_j − z_y)), Φ_τ(u) = ((1 + u)^(1−τ) − 1)/(1 − τ)
    (Φ_1 = log(1 + u)), computed as (p_y^(τ−1) − 1)/(1 − τ) from the log-softmax:
    τ = 0 sum-exponential, τ = 1 cross-entropy, τ ∈ (1, 2] generalized CE: with q = τ − 1,
    ℓ_τ = (1 − p_y^q)/q exactly (``F.gce_loss`` without its clamp), τ = 2 MAE (1 − p_y). ``tau`` ≥ 0 is required (the paper studies the whole family). Class-index
    targets. For τ < 1 the loss grows like p_y^(τ−1): a wrong prediction by logits of
    ±1e4 overflows to inf (the sum-exponential u itself is e^(2e4)) — forced by the math.
    Backward: see ``CompSum`` (help(minigrad.layers.losses.classification_variants.CompSum)).

    Paper: Mao, Mohri & Zhong 2023, "Cross-Entropy Loss Functions: Theoretical Analysis
    and Applications".
    """
    op = "comp_sum_loss"
    check_reduction(op, reduction)
    if not tau >= 0:
        raise ValueError(f"{op}: tau must be >= 0, got {tau}")
    input, t, keep, unbatched = softmax_targets(op, input, target, ignore_index, soft=False)
    return _finish(CompSum.apply(input, t, keep, float(tau), reduction), unbatched, reduction)


# ------------------------------------------------------------------ batch perceptron
class BatchPerceptron(Function):
    """Batch perceptron loss (Tyurin 2024): for scores f_i = ⟨a_i, w⟩ and labels y_i ∈ {±1},

        ℓ_i = max(0, −y_i·f_i).

    Backward: the subgradient the perceptron uses, boundary included:
        ∂ℓ_i/∂f_i = −y_i·1[y_i·f_i ≤ 0]
    (at y_i f_i = 0 this takes −y_i where the ReLU convention would take 0; the boundary
    convention follows the catalog row; the paper's full text was not at hand), so gradient
    descent on the mean loss with step γ is w ← w + (γ/n)·Σ_{i: y_i⟨a_i,w⟩ ≤ 0} y_i·a_i.
    Piecewise linear: the second derivative is 0 (the forward on tensors is its own
    composite form)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, f, y, reduction):
        xp = ctx.xp
        margin = -y * f
        loss = xp.maximum(margin, 0)
        ctx.save_for_backward(f, y)
        ctx.reduction, ctx.shape = reduction, f.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        f, y = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        return xp.where(y * f <= 0, -y * g, 0), None


def batch_perceptron_loss(input, target, reduction="mean"):
    """Batch perceptron loss L = (1/n)Σ_i max(0, −y_i·f_i) of scores f (any shape) and
    labels y ∈ {−1, +1} of the same shape (integer or floating). Gradient descent on it is
    the γ → ∞ limit of gradient descent on logistic regression: w ← w + (γ/n)·Σ_{i: y_i f_i ≤ 0}
    y_i·a_i for f = Aw. The subgradient includes the boundary y_i f_i = 0, as the
    perceptron does (PyTorch's ReLU would give 0 there). Backward: see ``BatchPerceptron``
    (help(minigrad.layers.losses.classification_variants.BatchPerceptron)).

    Paper: Alexander Tyurin 2024, "From Logistic Regression to the Perceptron Algorithm: Exploring
    Gradient Descent with Large Step Sizes".
    """
    op = "batch_perceptron_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    y = const(target, input).data
    check_same_shape(op, input, y, ("input", "target"))
    if y.size and not bool(((y == 1) | (y == -1)).all()):
        raise ValueError(f"{op}: target (dtype {y.dtype}, shape {tuple(y.shape)}) must hold "
                         f"labels in {{-1, +1}}")
    return BatchPerceptron.apply(input, Tensor._wrap(y.astype(input.dtype)), reduction)


# ------------------------------------------------------------------ Modules
class PolyLoss(LossModule):
    """PolyLoss Module (Poly-1 with ε = 1; a sequence for Poly-N; ``gamma`` > 0 for Poly-1
    focal): CE + ε(1 − p_t); see ``F.poly_loss``. Paper: Leng et al. 2022, "PolyLoss: A
    Polynomial Expansion Perspective of Classification Loss Functions"."""

    def __init__(self, epsilon=1.0, gamma=0.0, label_smoothing=0.0, ignore_index=-100,
                 reduction="mean"):
        super().__init__(reduction)
        self.epsilon, self.gamma, self.label_smoothing = epsilon, gamma, label_smoothing
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return poly_loss(input, target, self.epsilon, self.gamma, self.label_smoothing,
                         self.ignore_index, self.reduction)


class SquentropyLoss(LossModule):
    """Squentropy Module: −log p_y + (1/(C − 1))Σ_{j≠y} z_j²; see ``F.squentropy_loss``.
    Paper: Hui, Belkin & Wright 2023, "Cut your Losses with Squentropy"."""

    def __init__(self, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return squentropy_loss(input, target, self.ignore_index, self.reduction)


class SphericalZLoss(LossModule):
    """Z-loss Module: ℓ = (1/a)·softplus(a(b − z̃_y)), z̃ = (z − mean z)/std z; see
    ``F.spherical_z_loss``. Paper: de
    Brébisson & Vincent 2016, "The Z-loss: a shift and scale invariant classification loss
    belonging to the Spherical Family"."""

    def __init__(self, a, b, eps=1e-12, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.a, self.b, self.eps, self.ignore_index = a, b, eps, ignore_index

    def forward(self, input, target):
        return spherical_z_loss(input, target, self.a, self.b, self.eps, self.ignore_index,
                                self.reduction)


class CompSumLoss(LossModule):
    """Comp-sum loss Module: ℓ_τ = (p_y^(τ−1) − 1)/(1 − τ); see ``F.comp_sum_loss``.
    Paper: Mao, Mohri & Zhong 2023, "Cross-Entropy Loss Functions: Theoretical Analysis and
    Applications"."""

    def __init__(self, tau, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.tau, self.ignore_index = tau, ignore_index

    def forward(self, input, target):
        return comp_sum_loss(input, target, self.tau, self.ignore_index, self.reduction)


class BatchPerceptronLoss(LossModule):
    """Batch perceptron loss Module: L = (1/n)Σ_i max(0, −y_i·f_i); see ``F.batch_perceptron_loss``.
    Paper: Alexander Tyurin 2024, "From Logistic Regression to the Perceptron Algorithm: Exploring
    Gradient Descent with Large Step Sizes"."""

    def forward(self, input, target):
        return batch_perceptron_loss(input, target, self.reduction)


# ------------------------------------------------------------------ registration
def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def soft(r, *s):
        e = r.random(s) + 0.1
        return e / e.sum(axis=1, keepdims=True)

    register(poly_loss, kind="loss", catalog_id="L059", module=PolyLoss, papers=[PAPER_POLY],
             inputs=lambda r: [
                 Case(n(r, 5, 4), r.integers(0, 4, 5)),
                 Case(n(r, 4, 5), r.integers(0, 5, 4), epsilon=2.0, label_smoothing=0.1),
                 Case(n(r, 4, 3), r.integers(0, 3, 4), epsilon=(1.0, 0.5, -0.3), reduction="sum"),
                 Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), epsilon=-1.0, gamma=2.0,
                      reduction="none"),
                 Case(n(r, 3, 4), soft(r, 3, 4), wrt=(0,), epsilon=1.0, gamma=0.5)])
    register(squentropy_loss, kind="loss", catalog_id="L060", module=SquentropyLoss,
             papers=[PAPER_SQUENTROPY],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5)),
                               Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), reduction="none"),
                               Case(n(r, 4, 2), r.integers(0, 2, 4), reduction="sum")])
    register(spherical_z_loss, kind="loss", catalog_id="L061", module=SphericalZLoss,
             papers=[PAPER_Z],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5), a=1.0, b=1.0),
                               Case(n(r, 4, 6), r.integers(0, 6, 4), a=0.5, b=3.0,
                                    reduction="sum"),
                               Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), a=2.0, b=-0.5,
                                    reduction="none")])
    register(comp_sum_loss, kind="loss", catalog_id="L062", module=CompSumLoss,
             papers=[PAPER_COMP_SUM],
             inputs=lambda r: [Case(n(r, 5, 4), r.integers(0, 4, 5), tau=0.0),
                               Case(n(r, 4, 5), r.integers(0, 5, 4), tau=0.5, reduction="sum"),
                               Case(n(r, 4, 5), r.integers(0, 5, 4), tau=1.0),
                               Case(n(r, 2, 3, 2), r.integers(0, 3, (2, 2)), tau=1.5,
                                    reduction="none"),
                               Case(n(r, 4, 5), r.integers(0, 5, 4), tau=2.0)])

    def perceptron_cases(r):
        f = n(r, 8)
        f = f + 0.3 * (r.integers(0, 2, 8) * 2 - 1) * (abs(f) < 0.2)   # margins away from 0
        y = r.integers(0, 2, 8) * 2 - 1
        return [Case(f, y), Case(f.reshape(4, 2), y.reshape(4, 2).astype(float), wrt=(0,),
                                 reduction="sum"),
                Case(f, y, reduction="none")]

    register(batch_perceptron_loss, kind="loss", catalog_id="L058", module=BatchPerceptronLoss,
             papers=[PAPER_PERCEPTRON], inputs=perceptron_cases)


_register_all()
