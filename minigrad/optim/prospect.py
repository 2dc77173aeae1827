"""Prospect: spectral-risk distributionally robust optimization with bias and variance
reduction (O070), and the smoothed spectral weights it recomputes every step."""
import numpy

from minigrad.autograd import enable_grad, no_grad
from minigrad.backends import backend_of_array, to_numpy
from minigrad.ops.random import plain_generator_state
from minigrad.optim.langevin import host_generator
from minigrad.optim.optimizer import Optimizer
from minigrad.registry import register
from minigrad.tensor import Tensor


def _isotonic_increasing(y):
    """Pool-adjacent-violators: the nondecreasing x minimizing ‖x − y‖² (float64, host)."""
    means, counts = [], []
    for value in y:
        means.append(float(value))
        counts.append(1)
        while len(means) > 1 and means[-2] >= means[-1]:
            m, c = means.pop(), counts.pop()
            means[-1] = (counts[-1] * means[-1] + c * m) / (counts[-1] + c)
            counts[-1] += c
    return numpy.repeat(numpy.array(means), counts)


def spectral_smooth_weights(losses, spectrum, smoothing):
    """q(ℓ) = argmax_{q ∈ P(σ)} ⟨q, ℓ⟩ − (c/2)‖q − 1/n‖², P(σ) the permutahedron of the
    spectrum σ (all permutations' convex hull), c = ``smoothing`` (Prospect: n·ν).

    ronakdm/prospect src/optim/smoothing.py ``get_smooth_weights`` ('l2'): with ℓ sorted
    increasingly, s = isotonic regression of ℓ/c + 1/n − σ (pool-adjacent-violators), and
    q = ℓ/c − s + 1/n back in the original order. c < 1e-16: q = σ at ℓ's ranks (the
    unsmoothed spectral risk's weights). Host float64 NumPy arrays in and out.
    Paper: Mehta, Roulet, Pillutla & Harchaoui 2024, "Distributionally Robust Optimization
    with Bias and Variance Reduction"."""
    losses = numpy.asarray(losses, dtype=numpy.float64)
    spectrum = numpy.asarray(spectrum, dtype=numpy.float64)
    n = losses.shape[0]
    perm = numpy.argsort(losses, kind="stable")
    if smoothing < 1e-16:
        out = numpy.empty(n)
        out[perm] = spectrum
        return out
    scaled = losses / smoothing
    solution = numpy.empty(n)
    solution[perm] = _isotonic_increasing(scaled[perm] + 1.0 / n - spectrum)
    return scaled - solution + 1.0 / n


class Prospect(Optimizer):
    """Prospect (Mehta, Roulet, Pillutla & Harchaoui 2024), the spectral-risk DRO solver
    with one learning rate and linear convergence for smooth regularized losses.

    Paper: Mehta, Roulet, Pillutla & Harchaoui 2024, "Distributionally Robust Optimization
    with Bias and Variance Reduction" (Algorithm 1). Transcribed from ronakdm/prospect
    src/optim/prospect.py (``Prospect``, ``penalty='l2'``, ``oracle_reg='prox'``) and
    src/optim/smoothing.py. The objective, over n training examples with losses ℓ_i(w)::

        F(w) = max_{q ∈ P(σ)} Σ_i q_i ℓ_i(w) − (ν n/2)·‖q − 1/n‖²  +  (μ/2)‖w‖²

    with σ the spectrum (nondecreasing, Σσ = 1: superquantile, extremile, ESRM weights),
    P(σ) its permutahedron and ν the shift cost. State: the loss table l, the weights λ =
    q(l) (``spectral_smooth_weights`` with c = nν), the stored weights ρ, the per-example
    gradient table G and ḡ = Σ_j ρ_j G_j. Initially l_j = ℓ_j(w₀), G_j = ∇ℓ_j(w₀), ρ = λ.
    One step::

        i ~ Uniform{0..n−1};  g = ∇ℓ_i(w),  l' = ℓ_i(w)
        v = n·λ_i·g − n·ρ_i·G_i + ḡ                          (bias- and variance-reduced)
        w ← (w − η·v) / (1 + η·μ)                              (prox of (μ/2)‖w‖²)
        l_i ← l';  λ_old = λ_i;  λ ← q(l);  ρ_old = ρ_i;  ρ_i ← λ_old
        ḡ ← ḡ + λ_old·g − ρ_old·G_i;  G_i ← g

    ``Prospect(sample_loss, params, num_samples, spectrum, lr=0.01, shift_cost=1.0,
    weight_decay=0.0, generator=None)``: ``sample_loss(i)`` returns example i's loss (a
    scalar tensor with its graph; ``step`` runs its backward); ``weight_decay`` is μ (the
    reference's ``l2_reg / n``); ``lr`` η (reference default 0.01); ``shift_cost`` ν
    (reference default 1.0; the smoothing coefficient is n·ν). The first ``step`` fills the
    tables with n forward/backward passes; each step after costs one. Meant for linear and
    last-layer models (the table holds n gradients). ``step()`` returns the sampled loss.

    The index i comes from a host NumPy generator (``generator``: None for one seeded from
    minigrad's generator, an int, a ``minigrad.Generator`` or a NumPy ``Generator``) whose
    state is saved; the tables l, λ, ρ are host float64 arrays (the pool-adjacent-violators
    pass is sequential), G and ḡ are per-parameter state in the parameter's dtype/backend.
    Not implemented: the reference's ``neg_entropy`` penalty and ``oracle_reg='grad'``.
    It is not an ``Optimizer`` over a minibatch closure (first argument ``sample_loss``):
    it needs example-indexed losses.
    """

    def __init__(self, sample_loss, params, num_samples, spectrum, lr=0.01, shift_cost=1.0,
                 weight_decay=0.0, generator=None):
        if not callable(sample_loss):
            raise TypeError("Prospect: sample_loss must be a callable i -> loss of example i")
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f"Prospect: num_samples must be a positive integer, got "
                             f"{num_samples}")
        if not lr > 0:
            raise ValueError(f"Prospect: lr must be > 0, got {lr}")
        if not shift_cost >= 0:
            raise ValueError(f"Prospect: shift_cost must be ≥ 0, got {shift_cost}")
        if not weight_decay >= 0:
            raise ValueError(f"Prospect: weight_decay must be ≥ 0, got {weight_decay}")
        sigma = to_numpy(spectrum.data if isinstance(spectrum, Tensor) else
                         numpy.asarray(spectrum)).astype(numpy.float64).reshape(-1)
        if sigma.shape != (int(num_samples),):
            raise ValueError(f"Prospect: spectrum must have num_samples={num_samples} entries, "
                             f"got shape {sigma.shape}")
        if (numpy.diff(sigma) < -1e-12).any() or (sigma < 0).any() or abs(sigma.sum() - 1) > 1e-8:
            raise ValueError("Prospect: spectrum must be nonnegative, nondecreasing and sum to 1")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))
        self.sample_loss = sample_loss
        self.num_samples = int(num_samples)
        self.spectrum = sigma
        self.shift_cost = float(shift_cost)
        self._rng = host_generator(generator, "Prospect")
        self.tables = None     # {"losses", "lam", "rho"}: host float64 arrays, after step 1

    def _loss_and_grads(self, i):
        self.zero_grad()
        with enable_grad():
            loss = self.sample_loss(int(i))
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                raise ValueError("Prospect: sample_loss(i) must return a scalar tensor")
            loss.backward()
        grads = []
        for p in self._params():
            g = p.grad.data if p.grad is not None else backend_of_array(p.data).xp.zeros_like(
                p.data)
            grads.append(g.astype(p.data.dtype, copy=True))
        return loss, grads

    def _smooth(self, losses):
        return spectral_smooth_weights(losses, self.spectrum, self.num_samples * self.shift_cost)

    def _initialize(self):
        n, params = self.num_samples, self._params()
        losses = numpy.zeros(n)
        for p in params:
            xp = backend_of_array(p.data).xp
            self.state.setdefault(p, {})["grad_table"] = xp.zeros((n,) + p.data.shape,
                                                                   p.data.dtype)
        for j in range(n):
            loss, grads = self._loss_and_grads(j)
            losses[j] = float(loss.item())
            for p, g in zip(params, grads):
                self.state[p]["grad_table"][j] = g
        lam = self._smooth(losses)
        self.tables = {"losses": losses, "lam": lam, "rho": lam.copy()}
        for p in params:
            table = self.state[p]["grad_table"]
            xp = backend_of_array(table).xp
            rho = xp.asarray(lam).astype(table.dtype)
            self.state[p]["running_subgrad"] = xp.tensordot(rho, table, axes=1)

    def _step(self, closure=None):
        if closure is not None:
            raise ValueError("Prospect.step takes no closure: it calls sample_loss(i) itself")
        if self.tables is None:
            self._initialize()
        n, t = self.num_samples, self.tables
        i = int(self._rng.integers(0, n))
        loss, grads = self._loss_and_grads(i)
        lam_i, rho_i = float(t["lam"][i]), float(t["rho"][i])
        with no_grad():
            params = [(group, p) for group in self.param_groups for p in group["params"]]
            for (group, p), g in zip(params, grads):
                lr, mu = group["lr"], group["weight_decay"]
                st = self.state[p]
                old = st["grad_table"][i]
                v = (n * lam_i) * g - (n * rho_i) * old + st["running_subgrad"]
                p.data[...] = (p.data - lr * v) / (1.0 + lr * mu)
                p._version += 1
            t["losses"][i] = float(loss.item())
            t["lam"] = self._smooth(t["losses"])
            t["rho"][i] = lam_i
            for (_, p), g in zip(params, grads):
                st = self.state[p]
                st["running_subgrad"] += lam_i * g - rho_i * st["grad_table"][i]
                st["grad_table"][i] = g
        return loss

    def state_dict(self):
        state = super().state_dict()
        state["tables"] = None if self.tables is None else {
            k: v.copy() for k, v in self.tables.items()}
        state["generator"] = plain_generator_state(dict(self._rng.bit_generator.state))
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        tables = state_dict.get("tables")
        if tables is None:
            self.tables = None
        else:
            self.tables = {}
            for k in ("losses", "lam", "rho"):
                a = tables[k]
                a = to_numpy(a.data if isinstance(a, Tensor) else a).astype(numpy.float64)
                if a.shape != (self.num_samples,):
                    raise ValueError(f"Prospect.load_state_dict: table {k!r} has shape "
                                     f"{a.shape}, expected ({self.num_samples},)")
                self.tables[k] = a.copy()
        if "generator" in state_dict:
            self._rng.bit_generator.state = plain_generator_state(state_dict["generator"])


register(Prospect, name="prospect", kind="optimizer", check="state", catalog_id="O070",
         papers=["Distributionally Robust Optimization with Bias and Variance Reduction"])
