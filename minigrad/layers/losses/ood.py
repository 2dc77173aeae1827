"""Out-of-distribution training objectives on auxiliary or wild data: Outlier Exposure
(uniform-target CE on outliers), the energy-margin regularizer, and the SCONE / WOODS
constrained objective (logistic energy classifier + augmented-Lagrangian constraints).
Read from the official code: hendrycks/outlier-exposure ``CIFAR/oe_scratch.py``,
wetliu/energy_ood ``CIFAR/train.py`` and deeplearning-wisc/scone ``CIFAR/train.py`` (which
carries all three as its ``OE``, ``energy`` and ``scone``/``woods`` branches). The
multiplier/penalty updates of SCONE live in ``minigrad.optim.constrained.AugmentedLagrangian``."""
from minigrad.autograd import Function
from minigrad.backends import current
from minigrad.layers import init
from minigrad.layers.losses._common import (LossModule, check_reduction, class_targets, const,
                                            log_softmax_array, sigmoid_array)
from minigrad.layers.losses.classification import cross_entropy
from minigrad.layers.module import Parameter
from minigrad.ops._checks import check_floating
from minigrad.ops.shape import concatenate
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["outlier_exposure_loss", "energy_margin_loss", "scone_woods_loss",
           "OutlierExposureLoss", "EnergyMarginLoss", "SconeWoodsLoss"]


def _logits_2d(op, x, name, n_classes=None):
    check_floating(op, **{name: x})
    if x.ndim != 2:
        raise ValueError(f"{op}: {name} must be 2-D logits (batch, classes), got shape "
                         f"{tuple(x.shape)} (dtype {x.dtype})")
    if n_classes is not None and x.shape[1] != n_classes:
        raise ValueError(f"{op}: {name} of shape {tuple(x.shape)} has {x.shape[1]} classes, "
                         f"the in-distribution logits {n_classes}")


def _mean_factor(n):
    """1/n, and 0 for an empty set (its mean term contributes nothing, not NaN)."""
    return 1.0 / n if n > 0 else 0.0


def _scalar_value(x):
    """A Python float of a 0-d array or tensor (the branch of an augmented-Lagrangian term)."""
    return float((x.data if isinstance(x, Tensor) else x).reshape(()))


# ------------------------------------------------------------------ Outlier Exposure
class UniformTargetCE(Function):
    """The Outlier Exposure term on outlier logits z_j (M, C): cross-entropy to the uniform
    distribution,
        u_j = −(1/C)·Σ_k log softmax(z_j)_k = LSE(z_j) − (1/C)·Σ_k z_jk.
    Backward: ∂LSE/∂z_jk = softmax(z_j)_k and ∂(mean_k z_jk)/∂z_jk = 1/C, so
        ∂u_j/∂z_jk = softmax(z_j)_k − 1/C,
    times g_j = gy·λ/M ('mean'; 0 for M = 0), gy·λ ('sum') or gy_j·λ ('none').
    Forward written for any array module (its own composite form, second derivatives)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z, lam, reduction):
        xp = ctx.xp
        logp = log_softmax_array(xp, z, -1)
        u = logp.sum(axis=1) * (-lam / z.shape[1])
        ctx.save_for_backward(logp)
        ctx.lam, ctx.reduction = lam, reduction
        if reduction == "none":
            return u
        return u.sum() * (_mean_factor(z.shape[0]) if reduction == "mean" else 1.0)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        logp, = ctx.saved_tensors
        m, c = logp.shape
        if ctx.reduction == "none":
            g = gy[:, None]
        else:
            g = xp.broadcast_to(gy * (_mean_factor(m) if ctx.reduction == "mean" else 1.0), (m, 1))
        return g * ctx.lam * (xp.exp(logp) - 1.0 / c)


def outlier_exposure_loss(input, target, outlier_input, lam=0.5, reduction="mean"):
    """Outlier Exposure: cross-entropy on the in-distribution batch plus λ times the
    cross-entropy from the outliers' softmax to the uniform distribution:

        L = CE(z_in, y) + λ·mean_j [LSE(z_out_j) − (1/C)·Σ_k z_out_jk]

    ``input`` in-distribution logits (N, C), ``target`` their class indices (N,) or soft
    targets (N, C) (``cross_entropy``'s), ``outlier_input`` auxiliary-outlier logits (M, C);
    ``lam`` λ = 0.5 (hendrycks/outlier-exposure ``CIFAR/oe_scratch.py`` and
    deeplearning-wisc/scone ``CIFAR/train.py``, ``--oe_lambda``). ``reduction``: 'mean' (the
    papers' objective: mean CE + λ·mean outlier term), 'sum' (sums of both), 'none' (the
    N + M per-example terms [CE_i; λ·u_j] concatenated, inliers first, as the official code
    concatenates the batch). An empty outlier set (M = 0) or an empty inlier set contributes
    0 (PyTorch's mean of nothing would be NaN). This row is literally a combination: the
    registered ``cross_entropy`` plus the Function ``UniformTargetCE`` (the outlier term).
    Backward: ``UniformTargetCE`` (help(minigrad.layers.losses.ood.UniformTargetCE)):
    λ·(softmax(z_out) − 1/C)/M per outlier; the CE part is ``cross_entropy``'s.

    Paper: Hendrycks, Mazeika & Dietterich 2019, "Deep Anomaly Detection with Outlier
    Exposure"; used as a baseline in Bai, Canal, Du, Kwon, Nowak & Li 2023, "Feed Two Birds
    with One Scone: Exploiting Wild Data for Both Out-of-Distribution Generalization and
    Detection".
    """
    op = "outlier_exposure_loss"
    check_reduction(op, reduction)
    _logits_2d(op, input, "input")
    _logits_2d(op, outlier_input, "outlier_input", input.shape[1])
    lam = float(lam)
    out = UniformTargetCE.apply(outlier_input, lam, reduction)
    if input.shape[0] == 0:
        ce = input.sum(axis=1) * 0.0
        if reduction != "none":
            ce = ce.sum()
    else:
        ce = cross_entropy(input, target, reduction=reduction)
    if reduction == "none":
        return concatenate([ce, out], axis=0)
    return ce + out


# ------------------------------------------------------------------ energy margin
class EnergyMargin(Function):
    """Energy-bounded regularizer (Liu et al. 2020), with E(z) = −LSE(z):
        a_i = [E(z_in_i) − m_in]₊²,   b_j = [m_out − E(z_out_j)]₊²,
        L = w·(mean_i a_i + mean_j b_j)         ('mean'; 'sum' sums, 'none' keeps w·a, w·b).
    Backward: ∂E/∂z = −softmax(z), so
        ∂a_i/∂z_in_i  = 2[E_i − m_in]₊·(−softmax(z_in_i)),
        ∂b_j/∂z_out_j = 2[m_out − E_j]₊·(+softmax(z_out_j));
    the squared hinge is C¹ (its derivative 2[·]₊ is 0 at the kink). Written for any array
    module (its own composite form)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z_in, z_out, m_in, m_out, w, reduction):
        xp = ctx.xp
        lp_in = log_softmax_array(xp, z_in, -1)
        lp_out = log_softmax_array(xp, z_out, -1)
        h_in = xp.maximum(lp_in[:, 0] - z_in[:, 0] - m_in, 0.0)      # [E_in − m_in]₊
        h_out = xp.maximum(m_out + z_out[:, 0] - lp_out[:, 0], 0.0)  # [m_out − E_out]₊
        ctx.save_for_backward(lp_in, lp_out, h_in, h_out)
        ctx.w, ctx.reduction = w, reduction
        a, b = h_in * h_in * w, h_out * h_out * w
        if reduction == "none":
            return xp.concatenate([a, b], 0)
        if reduction == "sum":
            return a.sum() + b.sum()
        return a.sum() * _mean_factor(z_in.shape[0]) + b.sum() * _mean_factor(z_out.shape[0])

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        lp_in, lp_out, h_in, h_out = ctx.saved_tensors
        n, m = lp_in.shape[0], lp_out.shape[0]
        if ctx.reduction == "none":
            g_in, g_out = gy[:n], gy[n:]
        else:
            f_in = _mean_factor(n) if ctx.reduction == "mean" else 1.0
            f_out = _mean_factor(m) if ctx.reduction == "mean" else 1.0
            g_in, g_out = xp.broadcast_to(gy * f_in, (n,)), xp.broadcast_to(gy * f_out, (m,))
        d_in = (g_in * h_in * (-2.0 * ctx.w))[:, None] * xp.exp(lp_in)
        d_out = (g_out * h_out * (2.0 * ctx.w))[:, None] * xp.exp(lp_out)
        return d_in, d_out


def energy_margin_loss(input, outlier_input, m_in=-25.0, m_out=-7.0, weight=0.1,
                       reduction="mean"):
    """Energy-margin OOD regularizer (squared hinges on the free energy E(z) = −LSE(z)):

        L = w·(mean_i [E(z_in_i) − m_in]₊² + mean_j [m_out − E(z_out_j)]₊²)

    ``input`` in-distribution logits (N, C), ``outlier_input`` auxiliary-outlier logits
    (M, C); ``m_in`` = −25, ``m_out`` = −7, ``weight`` w = 0.1 (wetliu/energy_ood
    ``CIFAR/train.py``; deeplearning-wisc/scone ``CIFAR/train.py`` uses m_out = −5). The
    training objective of the paper adds ``cross_entropy(input, target)``. ``reduction``:
    'mean' (the paper: each set averaged separately), 'sum', or 'none' (the N + M terms
    w·a_i, w·b_j concatenated, inliers first). An empty set contributes 0. Energies use
    temperature T = 1, as the official training code does.
    Backward: ``EnergyMargin`` (help(minigrad.layers.losses.ood.EnergyMargin)).

    Paper: Liu, Wang, Owens & Li 2020, "Energy-based Out-of-distribution Detection"; used as
    a baseline in Bai, Canal, Du, Kwon, Nowak & Li 2023, "Feed Two Birds with One Scone:
    Exploiting Wild Data for Both Out-of-Distribution Generalization and Detection".
    """
    op = "energy_margin_loss"
    check_reduction(op, reduction)
    _logits_2d(op, input, "input")
    _logits_2d(op, outlier_input, "outlier_input", input.shape[1])
    return EnergyMargin.apply(input, outlier_input, float(m_in), float(m_out), float(weight),
                              reduction)


# ------------------------------------------------------------------ SCONE / WOODS
def _alm(xp, c, lam, rho):
    """ψ(c; λ, ρ) and ψ'(c): λc + (ρ/2)c² with slope λ + ρc where ρc + λ ≥ 0, else −λ²/(2ρ)
    (a constant: slope 0)."""
    if rho * _scalar_value(c) + lam >= 0:
        return c * lam + (c * c) * (rho / 2.0), True
    return c * 0.0 - lam * lam / (2.0 * rho), False


class SconeWoods(Function):
    """SCONE / WOODS minibatch objective (deeplearning-wisc/scone ``CIFAR/train.py``,
    ``scone`` branch). With s = LSE(z) per row and the learnable 1-D logistic
    g(s) = w·s + b:
        F_in  = mean_i σ(g(s_in_i))                 (in-distribution "false alarm" rate)
        F_out = mean_j σ(−g(s_wild_j − η))          (wild data not yet flagged as OOD)
        CE    = mean_i (LSE(z_in_i) − z_in_i,y_i)
        c₁ = F_in − α,  c₂ = CE − τ·CE_ref
        L = ψ(c₂; λ₂, ρ₂) + w_out·F_out + ψ(c₁; λ₁, ρ₁),
        ψ(c; λ, ρ) = λc + (ρ/2)c²  if ρc + λ ≥ 0,  else −λ²/(2ρ).
    Backward (λ, ρ, α, τ, CE_ref, η constants of the step): ψ'(c) = λ + ρc on the active
    branch, 0 otherwise. With σ' (u) = σ(u)(1 − σ(u)), u_i = g(s_in_i), v_j = −g(s_wild_j − η),
    p = softmax, and ∂s/∂z = p:
        ∂L/∂z_in_i   = ψ'(c₁)·σ'(u_i)·w·p_i/N + ψ'(c₂)·(p_i − e_{y_i})/N,
        ∂L/∂z_wild_j = −w_out·σ'(v_j)·w·p_j/M,
        ∂L/∂w = ψ'(c₁)·mean_i σ'(u_i)·s_in_i − w_out·mean_j σ'(v_j)·(s_wild_j − η),
        ∂L/∂b = ψ'(c₁)·mean_i σ'(u_i)         − w_out·mean_j σ'(v_j).
    An empty set's mean is 0. The forward is written for any array module (its own
    composite form); the ψ branch is chosen from the value, as the reference code does."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, z_in, y, z_wild, w, b, lam_in, rho_in, lam_ce, rho_ce, alpha, ce_bound,
                eta, out_weight):
        xp = ctx.xp
        n, m = z_in.shape[0], z_wild.shape[0]
        lp_in = log_softmax_array(xp, z_in, -1)
        lp_w = log_softmax_array(xp, z_wild, -1)
        s_in = z_in[:, 0] - lp_in[:, 0]
        s_w = z_wild[:, 0] - lp_w[:, 0]
        w0, b0 = w.reshape(()), b.reshape(())
        u = s_in * w0 + b0
        v = -((s_w - eta) * w0 + b0)
        sg_u, sg_v = sigmoid_array(xp, u), sigmoid_array(xp, v)
        f_in = sg_u.sum() * _mean_factor(n)
        f_out = sg_v.sum() * _mean_factor(m)
        ce = -(lp_in[xp.arange(n), y]).sum() * _mean_factor(n)
        psi_in, act_in = _alm(xp, f_in - alpha, lam_in, rho_in)
        psi_ce, act_ce = _alm(xp, ce - ce_bound, lam_ce, rho_ce)
        ctx.save_for_backward(lp_in, lp_w, s_in, s_w, sg_u, sg_v, w, f_in, ce)
        ctx.args = y, lam_in, rho_in, lam_ce, rho_ce, alpha, ce_bound, eta, out_weight
        ctx.active, ctx.shapes = (act_in, act_ce), (w.shape, b.shape)
        return psi_ce + f_out * out_weight + psi_in

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        lp_in, lp_w, s_in, s_w, sg_u, sg_v, w, f_in, ce = ctx.saved_tensors
        y, lam_in, rho_in, lam_ce, rho_ce, alpha, ce_bound, eta, out_weight = ctx.args
        n, m = lp_in.shape[0], lp_w.shape[0]
        w0 = w.reshape(())
        a1 = lam_in + (f_in - alpha) * rho_in if ctx.active[0] else 0.0
        a2 = lam_ce + (ce - ce_bound) * rho_ce if ctx.active[1] else 0.0
        du = sg_u * (1 - sg_u) * _mean_factor(n)          # σ'(u_i)/N
        dv = sg_v * (1 - sg_v) * _mean_factor(m)          # σ'(v_j)/M
        p_in, p_w = xp.exp(lp_in), xp.exp(lp_w)
        onehot = (y[:, None] == xp.arange(p_in.shape[1])[None, :]) * 1.0
        d_in = (du * w0 * a1)[:, None] * p_in + (p_in - onehot) * (a2 * _mean_factor(n))
        d_wild = (dv * w0 * (-out_weight))[:, None] * p_w
        d_w = (du * s_in).sum() * a1 - (dv * (s_w - eta)).sum() * out_weight
        d_b = du.sum() * a1 - dv.sum() * out_weight
        w_shape, b_shape = ctx.shapes
        return d_in * gy, None, d_wild * gy, (d_w * gy).reshape(w_shape), (d_b * gy).reshape(b_shape)


def scone_woods_loss(input, target, wild_input, weight, bias, ce_ref, multipliers=(0.0, 0.0),
                     penalties=(1.0, 1.0), false_alarm_cutoff=0.05, ce_tol=2.0, eta=1.0,
                     out_weight=1.0, reduction="mean"):
    """SCONE / WOODS constrained wild-data objective (one minibatch of the augmented
    Lagrangian), with s = LSE(z) and the learnable logistic g(s) = w·s + b:

        L = ψ(CE − τ·CE_ref; λ₂, ρ₂) + w_out·mean_j σ(−g(s_wild_j − η)) + ψ(mean_i σ(g(s_in_i)) − α; λ₁, ρ₁)
        ψ(c; λ, ρ) = λc + (ρ/2)c² if ρc + λ ≥ 0, else −λ²/(2ρ)

    ``input`` labelled in-distribution logits (N, C) with class indices ``target`` (N,);
    ``wild_input`` logits of the unlabelled wild mixture (M, C); ``weight``, ``bias`` the
    logistic g (one element each: ``nn.Linear(1, 1)``'s in the reference; learnable);
    ``ce_ref`` CE_ref, the training CE of the pretrained model (``full_train_loss``);
    ``multipliers`` (λ₁, λ₂) and ``penalties`` (ρ₁, ρ₂) for the false-alarm and the CE
    constraints: optimizer state, e.g. ``AugmentedLagrangian(2).multipliers`` /
    ``.penalty_coefficients`` (``minigrad.optim.constrained``), which also does the
    end-of-epoch updates; ``false_alarm_cutoff`` α = 0.05, ``ce_tol`` τ = 2, ``eta`` η = 1
    (the energy margin; η = 0 is WOODS), ``out_weight`` w_out = 1 (deeplearning-wisc/scone
    ``CIFAR/train.py`` defaults). ``reduction``: only 'mean' (the constraints are on batch
    means; a sum or per-example form of ψ is not the method). An empty wild set gives
    F_out = 0. In the reference the in-batch CE is the only classification term; SCONE and
    WOODS share this code (WOODS: ``eta=0``).
    Backward: ``SconeWoods`` (help(minigrad.layers.losses.ood.SconeWoods)).

    Paper: Bai, Canal, Du, Kwon, Nowak & Li 2023, "Feed Two Birds with One Scone: Exploiting
    Wild Data for Both Out-of-Distribution Generalization and Detection" (WOODS: Katz-Samuels,
    Nakhleh, Nowak & Li 2022, "Training OOD Detectors in their Natural Habitats").
    """
    op = "scone_woods_loss"
    check_reduction(op, reduction, ("mean",))
    _logits_2d(op, input, "input")
    _logits_2d(op, wild_input, "wild_input", input.shape[1])
    y = class_targets(op, input, target)
    w = weight if isinstance(weight, Tensor) else const(weight, input, input.dtype)
    b = bias if isinstance(bias, Tensor) else const(bias, input, input.dtype)
    for name, t in (("weight", w), ("bias", b)):
        check_floating(op, **{name: t})
        if t.numel() != 1:
            raise ValueError(f"{op}: {name} of the 1-D logistic must have one element, got shape "
                             f"{tuple(t.shape)}")
    lam_in, lam_ce = (float(v) for v in multipliers)
    rho_in, rho_ce = (float(v) for v in penalties)
    if not (rho_in > 0 and rho_ce > 0):
        raise ValueError(f"{op}: penalties must be > 0, got {tuple(penalties)}")
    ce_ref = float(ce_ref.item() if isinstance(ce_ref, Tensor) else ce_ref)
    return SconeWoods.apply(input, Tensor._wrap(y), wild_input, w, b, lam_in, rho_in, lam_ce,
                             rho_ce, float(false_alarm_cutoff), float(ce_tol) * ce_ref,
                             float(eta), float(out_weight))


# ------------------------------------------------------------------ Modules
class OutlierExposureLoss(LossModule):
    """Outlier Exposure Module (λ = 0.5): ``forward(input, target, outlier_input)``.

    L = CE(z_in, y) + λ·mean_j [LSE(z_out_j) − mean_k z_out_jk]; see ``F.outlier_exposure_loss``.
    Paper: Hendrycks, Mazeika & Dietterich 2019, "Deep Anomaly Detection with Outlier Exposure".
    """

    def __init__(self, lam=0.5, reduction="mean"):
        super().__init__(reduction)
        self.lam = lam

    def forward(self, input, target, outlier_input):
        return outlier_exposure_loss(input, target, outlier_input, self.lam, self.reduction)


class EnergyMarginLoss(LossModule):
    """Energy-margin regularizer Module (m_in = −25, m_out = −7, weight 0.1):
    ``forward(input, outlier_input)``.

    L = w·(mean [E_in − m_in]₊² + mean [m_out − E_out]₊²), E = −LSE(z); see ``F.energy_margin_loss``.
    Paper: Liu, Wang, Owens & Li 2020, "Energy-based Out-of-distribution Detection".
    """

    def __init__(self, m_in=-25.0, m_out=-7.0, weight=0.1, reduction="mean"):
        super().__init__(reduction)
        self.m_in, self.m_out, self.weight = m_in, m_out, weight

    def forward(self, input, outlier_input):
        return energy_margin_loss(input, outlier_input, self.m_in, self.m_out, self.weight,
                                  self.reduction)


class SconeWoodsLoss(LossModule):
    """SCONE / WOODS objective Module: holds the learnable 1-D logistic g(s) = w·s + b
    (Parameters ``weight`` (1, 1) and ``bias`` (1,), initialised as ``nn.Linear(1, 1)``:
    U(−1, 1)) and the constraint state ``multipliers`` (λ₁, λ₂), ``penalties`` (ρ₁, ρ₂)
    that an ``AugmentedLagrangian`` updates after each epoch (assign them before a step).
    ``forward(input, target, wild_input)``; ``ce_ref`` the pretrained training CE.

    L = ψ(CE − τ·CE_ref) + w_out·mean σ(−g(LSE(z_wild) − η)) + ψ(mean σ(g(LSE(z_in))) − α);
    see ``F.scone_woods_loss``.
    Paper: Bai, Canal, Du, Kwon, Nowak & Li 2023, "Feed Two Birds with One Scone: Exploiting
    Wild Data for Both Out-of-Distribution Generalization and Detection".
    """

    def __init__(self, ce_ref, false_alarm_cutoff=0.05, ce_tol=2.0, eta=1.0, out_weight=1.0,
                 reduction="mean", dtype="float32", generator=None):
        super().__init__(reduction)
        check_reduction("SconeWoodsLoss", reduction, ("mean",))
        xp = current().xp
        self.weight = Parameter(xp.empty((1, 1), dtype=dtype))
        self.bias = Parameter(xp.empty((1,), dtype=dtype))
        init.uniform_(self.weight, -1.0, 1.0, generator=generator)   # nn.Linear(1, 1): U(±1/√1)
        init.uniform_(self.bias, -1.0, 1.0, generator=generator)
        self.ce_ref, self.false_alarm_cutoff, self.ce_tol = ce_ref, false_alarm_cutoff, ce_tol
        self.eta, self.out_weight = eta, out_weight
        self.multipliers, self.penalties = (0.0, 0.0), (1.0, 1.0)

    def forward(self, input, target, wild_input):
        return scone_woods_loss(input, target, wild_input, self.weight, self.bias, self.ce_ref,
                                self.multipliers, self.penalties, self.false_alarm_cutoff,
                                self.ce_tol, self.eta, self.out_weight, self.reduction)


# ------------------------------------------------------------------ registration
SCONE = ("Feed Two Birds with One Scone: Exploiting Wild Data for Both Out-of-Distribution "
         "Generalization and Detection")


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    register(outlier_exposure_loss, kind="loss", catalog_id="L102", module=OutlierExposureLoss,
             papers=[SCONE],
             inputs=lambda r: [Case(n(r, 4, 5), r.integers(0, 5, 4), n(r, 3, 5)),
                               Case(n(r, 3, 4), r.integers(0, 4, 3), 2 * n(r, 5, 4), lam=0.7,
                                    reduction="none"),
                               Case(n(r, 2, 3), r.dirichlet(r.random(3) + 0.5, 2), n(r, 1, 3),
                                    wrt=(0, 2), reduction="sum")])

    def energy_cases(r):
        # logits shifted so that the hinges are active (LSE_in < 25, LSE_out > 7), away from kinks
        return [Case(n(r, 4, 5) + 10.0, n(r, 3, 5) + 9.0, m_in=-12.0, m_out=-10.0),
                Case(n(r, 3, 4), n(r, 2, 4) + 8.0, reduction="none"),
                Case(n(r, 1, 3) + 20.0, n(r, 4, 3) + 5.0, m_in=-22.0, m_out=-9.0, weight=0.3,
                     reduction="sum")]

    register(energy_margin_loss, kind="loss", catalog_id="L103", module=EnergyMarginLoss,
             papers=[SCONE], inputs=energy_cases)

    def scone_cases(r):
        return [Case(n(r, 4, 5), r.integers(0, 5, 4), n(r, 3, 5), 0.5 + 0.1 * n(r, 1, 1),
                     0.1 * n(r, 1), ce_ref=0.6, multipliers=(0.3, 0.2), penalties=(1.0, 1.5)),
                Case(n(r, 3, 4), r.integers(0, 4, 3), n(r, 5, 4), 0.4 + 0.1 * n(r, 1, 1),
                     0.1 * n(r, 1), ce_ref=2.0, multipliers=(-3.0, -5.0), penalties=(1.0, 1.0),
                     eta=0.0, out_weight=2.0),
                Case(n(r, 1, 3), r.integers(0, 3, 1), n(r, 2, 3), 0.8 + 0.1 * n(r, 1, 1),
                     0.1 * n(r, 1), ce_ref=0.1, multipliers=(0.5, 1.0), penalties=(2.0, 3.0),
                     false_alarm_cutoff=0.1, ce_tol=1.5, eta=2.0)]

    register(scone_woods_loss, kind="loss", catalog_id="L104", module=SconeWoodsLoss,
             papers=[SCONE], inputs=scone_cases)


_register_all()
