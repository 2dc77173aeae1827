"""Multi-label losses: the Macro-AUC surrogates (pairwise and reweighted univariate, Wu
et al. 2023) and the capsule margin loss (CapsNet, ML-CapsNet, weighted CapsuleNet). Each
is a ``Function`` with a hand-derived backward."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, const, int_labels,
                                            reduce_array, reduction_grad, sigmoid_array,
                                            softplus_array, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["macro_auc_pairwise_loss", "macro_auc_univariate_loss", "capsule_margin_loss",
           "MacroAUCPairwiseLoss", "MacroAUCUnivariateLoss", "CapsuleMarginLoss"]

SURROGATES = ("square", "hinge", "logistic")


def _multilabel_target(op, input, target):
    """A {0, 1} target of the scores' shape (bool, int or float), as a float array."""
    y = const(target, input).data
    if tuple(y.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {tuple(y.shape)} must have the shape of the "
                         f"scores {tuple(input.shape)} (a 0/1 multi-label matrix)")
    if y.size and bool(((y != 0) & (y != 1)).any()):
        raise ValueError(f"{op}: target must hold 0/1 labels only (dtype {y.dtype})")
    return y.astype(input.dtype)


def _surrogate(xp, kind, t):
    """ℓ(t) for the margin t: square (1 − t)², hinge max(0, 1 − t), logistic log(1 + e^(−t))."""
    if kind == "square":
        return (1 - t) * (1 - t)
    if kind == "hinge":
        return xp.maximum(1 - t, 0)
    return softplus_array(xp, -t)


def _surrogate_grad(xp, kind, t):
    """ℓ'(t): −2(1 − t), −1[t < 1], −σ(−t)."""
    if kind == "square":
        return -2 * (1 - t)
    if kind == "hinge":
        return -1.0 * (t < 1)
    return -sigmoid_array(xp, -t)


def _check_surrogate(op, loss):
    if loss not in SURROGATES:
        raise ValueError(f"{op}: loss must be one of {SURROGATES}, got {loss!r}")


def _label_reduce(xp, per_label, valid, reduction):
    """Macro average over the labels that have both positives and negatives."""
    if reduction == "none":
        return per_label
    total = per_label.sum()
    if reduction == "sum":
        return total
    return total / max(int(valid.sum()), 1)


def _label_reduce_grad(xp, gy, valid, reduction, dtype):
    if reduction == "none":
        return gy
    scale = 1.0 if reduction == "sum" else 1.0 / max(int(valid.sum()), 1)
    return xp.broadcast_to(gy * scale, valid.shape) * valid.astype(dtype)


# ------------------------------------------------------------------ Macro-AUC surrogates
class MacroAUCPairwise(Function):
    """Pairwise Macro-AUC surrogate. For label k with positives P_k and negatives N_k
    (both non-empty, else the label is skipped):
        L_k = (1/(|P_k||N_k|))·Σ_{i∈P_k, j∈N_k} ℓ(f_ik − f_jk),   loss = mean_k L_k.
    With W_ijk = y_ik(1 − y_jk)/(|P_k||N_k|) and D_ijk = f_ik − f_jk:
        ∂L/∂f_ik = Σ_j W_ijk ℓ'(D_ijk) − Σ_j W_jik ℓ'(D_jik)
    (the score is the first term of its positive pairs and the second of its negative ones)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, f, y, loss, reduction):
        xp = ctx.xp
        npos = y.sum(axis=0)
        nneg = y.shape[0] - npos
        valid = (npos > 0) & (nneg > 0)
        denom = xp.where(valid, npos * nneg, 1)
        w = y[:, None, :] * (1 - y[None, :, :]) / denom                  # (N, N, K)
        d = f[:, None, :] - f[None, :, :]
        per_label = (w * _surrogate(xp, loss, d)).sum(axis=(0, 1))
        ctx.save_for_backward(w, d, valid)
        ctx.loss, ctx.reduction = loss, reduction
        return _label_reduce(xp, per_label, valid, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        w, d, valid = ctx.saved_tensors
        g = _label_reduce_grad(xp, gy, valid, ctx.reduction, d.dtype)     # (K,)
        m = w * _surrogate_grad(xp, ctx.loss, d) * g
        return m.sum(axis=1) - m.sum(axis=0), None


def macro_auc_pairwise_loss(input, target, loss="square", reduction="mean"):
    """Pairwise surrogate of Macro-AUC for multi-label scores (N, K) and 0/1 targets (N, K):

        L = (1/K')·Σ_k (1/(|P_k|·|N_k|))·Σ_{i∈P_k, j∈N_k} ℓ(f_k(x_i) − f_k(x_j))

    with ℓ ∈ {'square' (1 − t)² (default), 'hinge' max(0, 1 − t), 'logistic' log(1 + e^(−t))}.
    Labels whose batch has no positive or no negative are skipped (AUC is undefined there);
    K' counts the others ('mean'); 'sum' adds the label terms, 'none' returns them (K,),
    0 for skipped labels. O(N²K) memory (broadcast differences). Backward:
    ``MacroAUCPairwise`` (help(minigrad.layers.losses.multilabel.MacroAUCPairwise)).
    Formula: the catalog row and the paper's abstract (pairwise and reweighted-univariate
    surrogates of Macro-AUC); the paper's body was not readable here, so the surrogate
    choices and the 'square' default follow the catalog row.

    Paper: Wu, Li & Yin 2023, "Towards Understanding Generalization of Macro-AUC in
    Multi-label Learning".
    """
    y = _macro_auc_target("macro_auc_pairwise_loss", input, target, loss, reduction)
    return MacroAUCPairwise.apply(input, Tensor._wrap(y), loss, reduction)


def _macro_auc_target(op, input, target, loss, reduction):
    """The checks both Macro-AUC losses run; the 0/1 target array."""
    check_reduction(op, reduction)
    _check_surrogate(op, loss)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: input must be (N, K) scores, got shape {tuple(input.shape)}")
    return _multilabel_target(op, input, target)


class MacroAUCUnivariate(Function):
    """Reweighted univariate Macro-AUC surrogate: for label k (skipped unless both sets are
    non-empty)
        L_k = (1/|P_k|)·Σ_{i∈P_k} ℓ(f_ik) + (1/|N_k|)·Σ_{j∈N_k} ℓ(−f_jk).
    Elementwise: ∂L_k/∂f_ik = y_ik ℓ'(f_ik)/|P_k| − (1 − y_ik) ℓ'(−f_ik)/|N_k|."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, f, y, loss, reduction):
        xp = ctx.xp
        npos = y.sum(axis=0)
        nneg = y.shape[0] - npos
        valid = (npos > 0) & (nneg > 0)
        a = y / xp.where(valid, npos, 1)
        b = (1 - y) / xp.where(valid, nneg, 1)
        per = a * _surrogate(xp, loss, f) + b * _surrogate(xp, loss, -f)
        per_label = per.sum(axis=0) * valid
        ctx.save_for_backward(f, a, b, valid)
        ctx.loss, ctx.reduction = loss, reduction
        return _label_reduce(xp, per_label, valid, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        f, a, b, valid = ctx.saved_tensors
        g = _label_reduce_grad(xp, gy, valid, ctx.reduction, f.dtype)
        d = a * _surrogate_grad(xp, ctx.loss, f) - b * _surrogate_grad(xp, ctx.loss, -f)
        return d * g, None


def macro_auc_univariate_loss(input, target, loss="square", reduction="mean"):
    """Reweighted univariate surrogate of Macro-AUC, scores (N, K), 0/1 targets (N, K):

        L = (1/K')·Σ_k [(1/|P_k|)·Σ_{i∈P_k} ℓ(f_k(x_i)) + (1/|N_k|)·Σ_{j∈N_k} ℓ(−f_k(x_j))]

    (each label's positives and negatives reweighted by their counts, which the paper shows
    is less sensitive to label-wise imbalance than the plain univariate loss). Same ℓ
    choices, skipping and reductions as ``macro_auc_pairwise_loss``. Backward:
    ``MacroAUCUnivariate`` (help(minigrad.layers.losses.multilabel.MacroAUCUnivariate)).

    Paper: Wu, Li & Yin 2023, "Towards Understanding Generalization of Macro-AUC in
    Multi-label Learning".
    """
    y = _macro_auc_target("macro_auc_univariate_loss", input, target, loss, reduction)
    return MacroAUCUnivariate.apply(input, Tensor._wrap(y), loss, reduction)


class _MacroAUCModule(LossModule):
    """The two Macro-AUC Modules: a surrogate name and a reduction, then the functional."""
    functional = None

    def __init__(self, loss="square", reduction="mean"):
        super().__init__(reduction)
        _check_surrogate(type(self).__name__, loss)
        self.loss = loss

    def forward(self, input, target):
        return type(self).functional(input, target, self.loss, self.reduction)


class MacroAUCPairwiseLoss(_MacroAUCModule):
    """``MacroAUCPairwiseLoss(loss='square', reduction='mean')``; see ``F.macro_auc_pairwise_loss``.

    L = mean_k (1/(|P_k||N_k|))Σ ℓ(f_ik − f_jk).
    Paper: Wu, Li & Yin 2023, "Towards Understanding Generalization of Macro-AUC in
    Multi-label Learning".
    """
    functional = staticmethod(macro_auc_pairwise_loss)


class MacroAUCUnivariateLoss(_MacroAUCModule):
    """``MacroAUCUnivariateLoss(loss='square', reduction='mean')``; see
    ``F.macro_auc_univariate_loss``.

    L = mean_k [mean_{P_k} ℓ(f) + mean_{N_k} ℓ(−f)].
    Paper: Wu, Li & Yin 2023, "Towards Understanding Generalization of Macro-AUC in
    Multi-label Learning".
    """
    functional = staticmethod(macro_auc_univariate_loss)


# ------------------------------------------------------------------ capsule margin loss
class CapsuleMargin(Function):
    """Capsule margin loss (Sabour et al. 2017). Length ℓ_k = √(Σ_d v_kd² + ε);
        L = Σ_k w_k·[T_k·max(0, m⁺ − ℓ_k)² + λ(1 − T_k)·max(0, ℓ_k − m⁻)²].
    Backward: ∂L/∂ℓ_k = w_k·[−2T_k·max(0, m⁺ − ℓ_k) + 2λ(1 − T_k)·max(0, ℓ_k − m⁻)] and
    ∂ℓ_k/∂v_kd = v_kd/ℓ_k (finite at v = 0 thanks to ε)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, v, t, w, m_pos, m_neg, lamb, eps, reduction):
        xp = ctx.xp
        length = xp.sqrt((v * v).sum(axis=-1) + eps)
        up = xp.maximum(m_pos - length, 0)
        down = xp.maximum(length - m_neg, 0)
        per = t * up * up + lamb * (1 - t) * down * down
        if w is not None:
            per = per * w
        loss = per.sum(axis=-1)
        ctx.save_for_backward(v, t, length, up, down)
        ctx.args = w, lamb
        ctx.reduction, ctx.shape = reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        v, t, length, up, down = ctx.saved_tensors
        w, lamb = ctx.args
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        dl = -2 * t * up + 2 * lamb * (1 - t) * down
        if w is not None:
            dl = dl * w
        return (g[:, None, None] * dl[..., None]) * v / length[..., None], None


def capsule_margin_loss(input, target, m_pos=0.9, m_neg=0.1, lamb=0.5, weight=None, eps=1e-8,
                        reduction="mean"):
    """Capsule margin loss on the class capsules ``input`` (N, C, D):

        L = Σ_k w_k·[T_k·max(0, m⁺ − ‖v_k‖)² + λ·(1 − T_k)·max(0, ‖v_k‖ − m⁻)²]

    with ‖v_k‖ = √(Σv² + ε) (ε = ``eps`` = 1e-8, so v = 0 has a finite gradient), summed
    over classes; 'mean' averages over samples. ``target``: class indices (N,) (single label,
    as CapsNet) or a 0/1 multi-label matrix (N, C) (ML-CapsNet, Persian weighted CapsuleNet).
    Defaults m⁺ = 0.9, m⁻ = 0.1, λ = 0.5 (Sabour et al. 2017). ``weight`` (C,): the
    cost-sensitive class weights of the weighted CapsuleNet (Persian multi-domain sentiment
    paper; None: all 1). The hierarchical ML-CapsNet loss is this loss summed over the
    hierarchy levels, coarse to fine (``CapsuleMarginLoss`` takes a list of levels, with
    level weights 1 unless given: the ML-CapsNet paper's own level weighting could not be
    read here); its reconstruction term is a separate regression loss. Formula: Eq. 4 of
    Sabour et al. 2017 ("Dynamic Routing Between Capsules"), used per level by ML-CapsNet.
    Backward: ``CapsuleMargin`` (help(minigrad.layers.losses.multilabel.CapsuleMargin)).

    Paper: Noor, Robles-Kelly & Kusy 2022, "A Capsule Network for Hierarchical Multi-Label
    Image Classification".
    """
    op = "capsule_margin_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 3:
        raise ValueError(f"{op}: input must be class capsules (N, C, D), got shape "
                         f"{tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    raw_t = const(target, input).data
    if raw_t.ndim == 1:
        y = int_labels(op, raw_t, input, n, "target")
        if y.size and (int(y.min()) < 0 or int(y.max()) >= c):
            raise IndexError(f"{op}: target values must be class indices in [0, {c}), got values "
                             f"from {int(y.min())} to {int(y.max())}")
        xp = xp_of(input)
        t = (y[:, None] == xp.arange(c)[None, :]).astype(input.dtype)
    else:
        t = _multilabel_target(op, input[..., 0], raw_t)
    w = None
    if weight is not None:
        w = const(weight, input).data.astype(input.dtype)
        if tuple(w.shape) != (c,):
            raise ValueError(f"{op}: weight of shape {tuple(w.shape)} must hold one weight per "
                             f"class ({c},)")
    return CapsuleMargin.apply(input, Tensor._wrap(t), w, float(m_pos), float(m_neg), float(lamb),
                               float(eps), reduction)


class CapsuleMarginLoss(LossModule):
    """``CapsuleMarginLoss(m_pos=0.9, m_neg=0.1, lamb=0.5, weight=None, level_weights=None,
    reduction='mean')``. ``forward(input, target)`` with one level, or lists of capsules and
    targets (coarse to fine) for the hierarchical ML-CapsNet loss Σ_l a_l·L_l (a_l =
    ``level_weights``, all 1 by default: the plain sum over levels).

    L = Σ_k T_k max(0, m⁺ − ‖v_k‖)² + λ(1 − T_k) max(0, ‖v_k‖ − m⁻)²; see ``F.capsule_margin_loss``.
    Paper: Noor, Robles-Kelly & Kusy 2022, "A Capsule Network for Hierarchical Multi-Label Image
    Classification".
    """

    def __init__(self, m_pos=0.9, m_neg=0.1, lamb=0.5, weight=None, level_weights=None,
                 reduction="mean"):
        super().__init__(reduction)
        self.m_pos, self.m_neg, self.lamb = m_pos, m_neg, lamb
        self.weight, self.level_weights = weight, level_weights

    def forward(self, input, target):
        if not isinstance(input, (list, tuple)):
            return capsule_margin_loss(input, target, self.m_pos, self.m_neg, self.lamb,
                                       self.weight, reduction=self.reduction)
        if len(input) != len(target):
            raise ValueError(f"CapsuleMarginLoss: {len(input)} capsule levels but {len(target)} "
                             "targets")
        a = self.level_weights or [1.0] * len(input)
        total = None
        for a_l, v, t in zip(a, input, target):
            term = capsule_margin_loss(v, t, self.m_pos, self.m_neg, self.lamb,
                                       reduction=self.reduction) * a_l
            total = term if total is None else total + term
        return total


def case_target(r, rows, cols):
    """A random 0/1 multi-label target for the registry's cases: every label (column) has a
    positive (row 0) and a negative (row 1)."""
    y = r.integers(0, 2, (rows, cols))
    y[0], y[1] = 1, 0
    return y


def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def auc_cases(r):
        y3 = case_target(r, 4, 3)
        y3[:, 2] = 1                           # a label without negatives: skipped
        return [Case(n(r, 5, 3), case_target(r, 5, 3)),
                Case(n(r, 4, 3), y3, loss="hinge", reduction="sum"),
                Case(n(r, 4, 2), case_target(r, 4, 2), loss="logistic", reduction="none")]

    register(macro_auc_pairwise_loss, kind="loss", catalog_id="L092", module=MacroAUCPairwiseLoss,
             papers=["Towards Understanding Generalization of Macro-AUC in Multi-label Learning"],
             inputs=auc_cases)
    register(macro_auc_univariate_loss, kind="loss", catalog_id="L093",
             module=MacroAUCUnivariateLoss,
             papers=["Towards Understanding Generalization of Macro-AUC in Multi-label Learning"],
             inputs=auc_cases)

    def caps_cases(r):
        v = n(r, 3, 4, 2) * 0.4
        return [Case(v, r.integers(0, 4, 3)),
                Case(n(r, 2, 3, 4) * 0.3, case_target(r, 2, 3), weight=r.random(3) + 0.5,
                     reduction="sum"),
                Case(n(r, 2, 3, 2) * 0.5, np.array([2, 0]), lamb=1.0, reduction="none")]

    register(capsule_margin_loss, kind="loss", catalog_id="L097", module=CapsuleMarginLoss,
             papers=["A Capsule Network for Hierarchical Multi-Label Image Classification",
                     "weighted CapsuleNet networks for Persian multi-domain sentiment analysis"],
             inputs=caps_cases)


_register_all()
