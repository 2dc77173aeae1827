"""Dense-retrieval losses: the decoupled softmax and soft top-k losses of dual-encoder
extreme multi-label classification (DEXML) and the multivariate (Gaussian) representation
similarity of MRL, trained with a softmax over in-batch and hard negatives. Each is a
``Function`` with a hand-derived backward."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import (LossModule, check_reduction, int_labels,
                                            log_softmax_array, reduce_array, reduction_grad,
                                            sigmoid_array, softplus_array, xp_of)
from minigrad.layers.losses.multilabel import _multilabel_target, case_target
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["decoupled_softmax_loss", "soft_topk_loss", "multivariate_kl_similarity_loss",
           "DecoupledSoftmaxLoss", "SoftTopKLoss", "MultivariateKLSimilarityLoss"]


# ------------------------------------------------------------------ decoupled softmax
class DecoupledSoftmax(Function):
    """Decoupled softmax (DEXML). z = s/τ; for query i with positives P_i and negatives
    N_i = L ∖ P_i, each positive j competes only with the negatives:
        D_ij = log(e^{z_ij} + Σ_{n∈N_i} e^{z_in}),   ℓ_i = −(1/|P_i|)·Σ_{j∈P_i} (z_ij − D_ij).
    Computed with M_ij = max(z_ij, max_n z_in) so that every exponent is ≤ 0.
    Backward, with p_ij = e^{z_ij − D_ij} and the softmax over the negatives alone
    q_in = e^{z_in}/Σ_{n'∈N_i} e^{z_in'} (so e^{z_in − D_ij} = (1 − p_ij)·q_in), and
    w_ij = g_i/|P_i| on positives:
        ∂ℓ/∂z_ij = −w_ij(1 − p_ij)   (j ∈ P_i),
        ∂ℓ/∂z_in = q_in·Σ_{j∈P_i} w_ij(1 − p_ij)   (n ∈ N_i);   ∂/∂s = ∂/∂z / τ."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, s, pos, tau, reduction):
        xp = ctx.xp
        z = s / tau
        neg = 1 - pos
        floor = z.min(axis=1, keepdims=True)
        mn = xp.where(neg > 0, z, floor).max(axis=1, keepdims=True)       # max over negatives
        en = neg * xp.exp(xp.minimum(z - mn, 0))
        sn = en.sum(axis=1, keepdims=True)
        m = xp.maximum(z, mn)
        dlog = m + xp.log(xp.exp(z - m) + sn * xp.exp(mn - m))
        npos = pos.sum(axis=1)
        loss = -(pos * (z - dlog)).sum(axis=1) / xp.maximum(npos, 1)
        ctx.save_for_backward(z, dlog, pos, en, sn, npos)
        ctx.tau, ctx.reduction, ctx.shape = tau, reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        z, dlog, pos, en, sn, npos = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        w = pos * (g / xp.maximum(npos, 1))[:, None]
        r = w * -xp.expm1(z - dlog)                                      # w(1 − p)
        q = en / xp.where(sn > 0, sn, 1)
        return (q * r.sum(axis=1, keepdims=True) - r) / ctx.tau, None


def decoupled_softmax_loss(input, target, temperature=0.05, reduction="mean"):
    """Decoupled softmax loss for (extreme) multi-label retrieval:

        ℓ_q = −(1/|P|)·Σ_{p∈P} log(e^{s_qp/τ} / (e^{s_qp/τ} + Σ_{n∈L∖P} e^{s_qn/τ}))

    ``input`` (N, L) query–label scores, ``target`` (N, L) 0/1 relevance; the other
    positives are removed from each positive's denominator (the "decoupling"). Each query is
    normalised by its number of positives and 'mean' divides by the batch size, as
    nilesh2797/DEXML losses.py ('decoupled-softmax') does; a query without positives gives
    0, a positive without any negative gives log 1 = 0. ``temperature`` τ = 0.05 (DEXML
    configs/dual-encoder.yaml ``tau``; pass 1.0 for scores already scaled). The official
    ``loss_sample`` (one positive drawn per query, the others masked) is a data step left
    to the caller. Backward: ``DecoupledSoftmax``
    (help(minigrad.layers.losses.retrieval.DecoupledSoftmax)).

    Paper: Gupta et al. 2024, "Dual-Encoders for Extreme Multi-Label Classification".
    """
    op = "decoupled_softmax_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: input must be (N, L) scores, got shape {tuple(input.shape)}")
    if not temperature > 0:
        raise ValueError(f"{op}: temperature must be > 0, got {temperature}")
    y = _multilabel_target(op, input, target)
    return DecoupledSoftmax.apply(input, Tensor._wrap(y), float(temperature), reduction)


class DecoupledSoftmaxLoss(LossModule):
    """``DecoupledSoftmaxLoss(temperature=0.05, reduction='mean')``; see ``F.decoupled_softmax_loss``.

    ℓ = −(1/|P|)Σ_p log(e^{s_p/τ}/(e^{s_p/τ} + Σ_{n∉P} e^{s_n/τ})).
    Paper: Gupta et al. 2024, "Dual-Encoders for Extreme Multi-Label Classification".
    """

    def __init__(self, temperature=0.05, reduction="mean"):
        super().__init__(reduction)
        self.temperature = temperature

    def forward(self, input, target):
        return decoupled_softmax_loss(input, target, self.temperature, self.reduction)


# ------------------------------------------------------------------ soft top-k
def _topk_threshold(xp, x, k, alpha, n_iter):
    """The bisection of nilesh2797/DEXML utils/topk_utils.py ``_find_ts``: t per row with
    Σ_j σ(α(x_j + t)) = k, searched in [−max x − 10/α, −min x + 10/α] (a constant: no graph)."""
    lo = -x.max(axis=1, keepdims=True) - 10.0 / alpha
    hi = -x.min(axis=1, keepdims=True) + 10.0 / alpha
    for _ in range(n_iter):
        mid = (lo + hi) / 2
        below = sigmoid_array(xp, alpha * (x + mid)).sum(axis=1, keepdims=True) < k
        lo = xp.where(below, mid, lo)
        hi = xp.where(below, hi, mid)
    return (lo + hi) / 2


class SoftTopK(Function):
    """Soft top-k loss (DEXML). z = s/τ; per row the threshold t solves
        F(t) = Σ_j σ(α(z_j + t)) − k = 0,     p_j = σ(α(z_j + t))  (soft top-k membership),
        ℓ = −(1/|P|)·Σ_{j∈P} log p_j   (log p = −softplus(−α(z + t))).
    t is found by bisection (``n_iter`` steps, as the official code) and then polished by
    two Newton steps t ← t − F/F' written in differentiable ops, so that the forward is its
    own composite form: with the bisection value held constant, two Newton steps reproduce
    t(z) to fourth order, hence its first and second derivatives.
    Backward (implicit function theorem, as topk_utils.DistLogTopK): with v_j = σ'(α(z_j + t)),
    ∂t/∂z_m = −v_m/Σ_j v_j, and with G_j = ∂ℓ/∂log p_j = −g/|P| on positives,
        u_j = α(1 − p_j)·G_j,     ∂ℓ/∂z_m = u_m − (Σ_j u_j)·v_m/Σ_j v_j,     ∂/∂s = ∂/∂z / τ."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, s, pos, k, alpha, tau, n_iter, reduction):
        xp = ctx.xp
        z = s / tau
        zc = z.data if isinstance(z, Tensor) else z
        kc = k.data if isinstance(k, Tensor) else k
        t = _topk_threshold(ctx.backend.xp, zc, kc, alpha, n_iter)
        for _ in range(2):
            p = sigmoid_array(xp, alpha * (z + t))
            f = p.sum(axis=1, keepdims=True) - k
            fp = alpha * (p * (1 - p)).sum(axis=1, keepdims=True)
            ok = fp > 1e-300
            t = t - xp.where(ok, f / xp.where(ok, fp, 1.0), 0.0)
        a = alpha * (z + t)
        logp = -softplus_array(xp, -a)
        npos = pos.sum(axis=1)
        loss = -(pos * logp).sum(axis=1) / xp.maximum(npos, 1)
        ctx.save_for_backward(a, pos, npos)
        ctx.alpha, ctx.tau, ctx.reduction, ctx.shape = alpha, tau, reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        a, pos, npos = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        p = sigmoid_array(xp, a)
        v = p * (1 - p)
        u = ctx.alpha * (1 - p) * pos * (-g / xp.maximum(npos, 1))[:, None]
        sv = v.sum(axis=1, keepdims=True)
        dz = u - u.sum(axis=1, keepdims=True) * v / xp.where(sv > 0, sv, 1)
        return dz / ctx.tau, None, None


def soft_topk_loss(input, target, k=5, alpha=2.0, temperature=0.05, n_iter=32, reduction="mean"):
    """Soft top-k loss of DEXML for multi-label retrieval:

        p = σ(α(s/τ + t)) with t such that Σ_j p_j = k,   ℓ = −(1/|P|)·Σ_{j∈P} log p_j

    — a differentiable top-k membership of every label (the sigmoid relaxation of top-k) and
    the log-likelihood that the positives are in the top k. ``input`` (N, L) scores,
    ``target`` (N, L) 0/1; ``k`` an int or per-query ints (N,), 0 < k < L; defaults from
    nilesh2797/DEXML configs/dual-encoder.yaml: k = 5 (``topk_K``), α = 2 (``topk_alpha``),
    τ = 0.05 (``tau``: scores are divided by it), ``n_iter`` = 32 bisection steps
    (``topk_n_iter``), followed here by two Newton steps on t (the official code stops at the
    bisection; its backward assumes the exact root, which the Newton steps give). A query
    without positives gives 0; 'mean' divides by the batch size (losses.py 'topk').
    Not covered: the official positive sampling (``loss_sample``: at most k positives drawn,
    the others masked to −100) — pass the target you sampled. Backward: ``SoftTopK``
    (help(minigrad.layers.losses.retrieval.SoftTopK)).

    Paper: Gupta et al. 2024, "Dual-Encoders for Extreme Multi-Label Classification".
    """
    op = "soft_topk_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: input must be (N, L) scores, got shape {tuple(input.shape)}")
    if not (alpha > 0 and temperature > 0):
        raise ValueError(f"{op}: alpha and temperature must be > 0, got {alpha} and {temperature}")
    y = _multilabel_target(op, input, target)
    n, L = input.shape
    xp = xp_of(input)
    kk = xp.asarray(k.data if isinstance(k, Tensor) else k)
    if kk.dtype.kind not in "iu" or kk.shape not in ((), (n,)):
        raise ValueError(f"{op}: k must be an int or integer array of shape ({n},), got "
                         f"dtype {kk.dtype} and shape {tuple(kk.shape)}")
    if kk.size and bool(((kk <= 0) | (kk >= L)).any()):
        raise ValueError(f"{op}: k must satisfy 0 < k < {L} (the number of labels), got {k}")
    kk = xp.broadcast_to(kk.astype(input.dtype), (n,))[:, None]
    return SoftTopK.apply(input, Tensor._wrap(y), Tensor._wrap(xp.ascontiguousarray(kk)),
                          float(alpha), float(temperature), int(n_iter), reduction)


class SoftTopKLoss(LossModule):
    """``SoftTopKLoss(k=5, alpha=2.0, temperature=0.05, n_iter=32, reduction='mean')``; see
    ``F.soft_topk_loss``.

    ℓ = −(1/|P|)Σ_{p∈P} log σ(α(s_p/τ + t)),  Σ_j σ(α(s_j/τ + t)) = k.
    Paper: Gupta et al. 2024, "Dual-Encoders for Extreme Multi-Label Classification".
    """

    def __init__(self, k=5, alpha=2.0, temperature=0.05, n_iter=32, reduction="mean"):
        super().__init__(reduction)
        self.k, self.alpha, self.temperature, self.n_iter = k, alpha, temperature, n_iter

    def forward(self, input, target):
        return soft_topk_loss(input, target, self.k, self.alpha, self.temperature, self.n_iter,
                              self.reduction)




class MultivariateKLSimilarity(Function):
    """Scores S_ij = −KL(N(μ_i, diag σ²_i) ‖ N(ν_j, diag ρ²_j)) between query i and
    document j, with a = 1/ρ² (elementwise):
        S_ij = −½·Σ_k [log ρ²_jk − log σ²_ik + (σ²_ik + (μ_ik − ν_jk)²)·a_jk − 1]
    written as matmuls (σ² + μ²)·aᵀ − 2μ·(ν a)ᵀ + …; then ℓ_i = −log softmax_j(S_i)[y_i].
    Backward: G = g·(softmax(S) − onehot(y)) (N, M), then
        ∂S_ij/∂μ_i = −(μ_i − ν_j)a_j      → ∂μ = −(μ ⊙ (G a) − G(ν a)),
        ∂S_ij/∂ν_j = (μ_i − ν_j)a_j       → ∂ν = a ⊙ (Gᵀμ − ν ⊙ colsum G),
        ∂S_ij/∂σ²_i = ½(1/σ²_i − a_j)     → ∂σ² = ½(rowsum G / σ² − G a),
        ∂S_ij/∂ρ²_j = ½(−a_j + (σ²_i + (μ_i − ν_j)²)a_j²)
                                          → ∂ρ² = ½(a² ⊙ (Gᵀ(σ² + μ²) − 2ν ⊙ Gᵀμ + ν² ⊙ colsum G)
                                                  − a ⊙ colsum G)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, mu, var, nu, rho, y, reduction):
        xp = ctx.xp
        a = 1.0 / rho
        k = mu.shape[1]
        s = -0.5 * (xp.log(rho).sum(axis=1)[None, :] - xp.log(var).sum(axis=1)[:, None]
                    + (var + mu * mu) @ a.T - 2 * mu @ (nu * a).T
                    + (nu * nu * a).sum(axis=1)[None, :] - k)
        logp = log_softmax_array(xp, s, -1)
        onehot = y[:, None] == xp.arange(s.shape[1])[None, :]
        loss = -(logp * onehot).sum(axis=1)
        ctx.save_for_backward(mu, var, nu, a, logp, onehot)
        ctx.reduction, ctx.shape = reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        mu, var, nu, a, logp, onehot = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        G = g[:, None] * (xp.exp(logp) - onehot)
        col = G.sum(axis=0)[:, None]                       # (M, 1)
        gtmu = G.T @ mu
        dmu = -(mu * (G @ a) - G @ (nu * a))
        dnu = a * (gtmu - nu * col)
        dvar = 0.5 * (G.sum(axis=1)[:, None] / var - G @ a)
        drho = 0.5 * (a * a * (G.T @ (var + mu * mu) - 2 * nu * gtmu + nu * nu * col) - a * col)
        return dmu, dvar, dnu, drho, None


def multivariate_kl_similarity_loss(query_mean, query_var, doc_mean, doc_var, target,
                                    reduction="mean"):
    """MRL: queries and documents are diagonal Gaussians, scored by negative KL divergence,

        s(q, d) = −KL(N(μ_q, σ²_q) ‖ N(μ_d, σ²_d))
                = −½·Σ_k [log(σ²_d/σ²_q) + (σ²_q + (μ_q − μ_d)²)/σ²_d − 1],
        ℓ_i = −log(e^{s(q_i, d_{y_i})} / Σ_j e^{s(q_i, d_j)})

    — softmax cross-entropy over every document of the batch (in-batch positives of the
    other queries and hard negatives). ``query_mean``, ``query_var`` (N, K); ``doc_mean``,
    ``doc_var`` (M, K); ``target`` (N,) the index of each query's positive document among
    the M. Variances must be positive (produce them with softplus or exp in the encoder).
    'mean' averages over queries. Backward: ``MultivariateKLSimilarity``
    (help(minigrad.layers.losses.retrieval.MultivariateKLSimilarity)).
    Source: the catalog row and the paper's abstract (negative multivariate KL between
    diagonal normals, trained as a dense retriever); the paper's body and code were not
    readable here, so no score scaling or query-term dropping is added.

    Paper: Zamani & Bendersky 2023, "Multivariate Representation Learning for Information
    Retrieval".
    """
    op = "multivariate_kl_similarity_loss"
    check_reduction(op, reduction)
    check_floating(op, query_mean=query_mean, query_var=query_var, doc_mean=doc_mean,
                   doc_var=doc_var)
    shapes = [tuple(x.shape) for x in (query_mean, query_var, doc_mean, doc_var)]
    if (query_mean.ndim != 2 or shapes[1] != shapes[0] or doc_mean.ndim != 2
            or shapes[3] != shapes[2] or shapes[2][1] != shapes[0][1]):
        raise ValueError(f"{op}: expected query_mean, query_var (N, K) and doc_mean, doc_var "
                         f"(M, K), got shapes {shapes}")
    for name, v in (("query_var", query_var), ("doc_var", doc_var)):
        if v.data.size and not bool((v.data > 0).all()):
            raise ValueError(f"{op}: {name} must be positive (variances), got min "
                             f"{float(v.data.min())}")
    y = int_labels(op, target, query_mean, query_mean.shape[0], "target")
    m = doc_mean.shape[0]
    if y.size and (int(y.min()) < 0 or int(y.max()) >= m):
        raise IndexError(f"{op}: target values must index the {m} documents, got values from "
                         f"{int(y.min())} to {int(y.max())}")
    return MultivariateKLSimilarity.apply(query_mean, query_var, doc_mean, doc_var,
                                          Tensor._wrap(y), reduction)


class MultivariateKLSimilarityLoss(LossModule):
    """``MultivariateKLSimilarityLoss(reduction='mean')``: softmax CE over the scores
    s(q, d) = −KL(N(μ_q, σ²_q) ‖ N(μ_d, σ²_d)); see ``F.multivariate_kl_similarity_loss``.

    Paper: Zamani & Bendersky 2023, "Multivariate Representation Learning for Information
    Retrieval".
    """

    def forward(self, query_mean, query_var, doc_mean, doc_var, target):
        return multivariate_kl_similarity_loss(query_mean, query_var, doc_mean, doc_var, target,
                                               self.reduction)


def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def ds_cases(r):
        y = r.integers(0, 2, (4, 5))
        y[:, 0], y[0] = 1, 0                   # query 0 has no positive
        y[1] = 1                               # query 1 has no negative
        return [Case(n(r, 4, 5), y, temperature=1.0),
                Case(2 * n(r, 3, 4), case_target(r, 3, 4), temperature=0.5, reduction="sum"),
                Case(0.05 * n(r, 2, 3), np.array([[1, 0, 1], [0, 1, 0]]), reduction="none")]

    register(decoupled_softmax_loss, kind="loss", catalog_id="L094", module=DecoupledSoftmaxLoss,
             papers=["Dual-Encoders for Extreme Multi-Label Classification"], inputs=ds_cases)

    register(soft_topk_loss, kind="loss", catalog_id="L095", module=SoftTopKLoss,
             papers=["Dual-Encoders for Extreme Multi-Label Classification"],
             inputs=lambda r: [Case(n(r, 3, 5), case_target(r, 3, 5), k=2, temperature=1.0),
                               Case(0.05 * n(r, 2, 6), case_target(r, 2, 6), k=np.array([1, 3]),
                                    reduction="sum"),
                               Case(n(r, 2, 4), np.array([[0, 0, 0, 0], [1, 0, 1, 0]]), k=2,
                                    alpha=0.5, temperature=1.0, reduction="none")])
    pos = lambda r, *s: 0.5 + r.random(s)  # noqa: E731
    register(multivariate_kl_similarity_loss, kind="loss", catalog_id="L101",
             module=MultivariateKLSimilarityLoss,
             papers=["Multivariate Representation Learning for Information Retrieval"],
             inputs=lambda r: [Case(n(r, 3, 2), pos(r, 3, 2), n(r, 5, 2), pos(r, 5, 2),
                                    r.integers(0, 5, 3)),
                               Case(n(r, 2, 3), pos(r, 2, 3), n(r, 2, 3), pos(r, 2, 3),
                                    r.integers(0, 2, 2), reduction="sum"),
                               Case(n(r, 1, 2), pos(r, 1, 2), n(r, 3, 2), pos(r, 3, 2),
                                    r.integers(0, 3, 1), reduction="none")])


_register_all()
