"""Target-based surrogate optimization (SSO, O068): one expensive gradient in the model's
output ("target") space per outer step, then several cheap steps on a surrogate."""
import math

from minigrad.autograd import enable_grad, no_grad
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD
from minigrad.registry import register
from minigrad.tensor import Tensor


class SSO:
    """Stochastic surrogate optimization in target space (Lavington et al. 2023).

    Paper: Lavington, Vaswani, Babanezhad, Schmidt & Le Roux 2023, "Target-based Surrogates
    for Stochastic Optimization" (the target-space surrogate and the SSO algorithm).
    With targets z = f_θ(X) (e.g. the logits of a batch X), at outer step t::

        z_t = f_{θ_t}(X);   g_z = ∇_z ℓ(z_t)          one loss gradient, in target space
        g_t(θ) = ℓ(z_t) + ⟨g_z, f_θ(X) − z_t⟩ + (1/(2η_t))·‖f_θ(X) − z_t‖²
        θ ← m steps of the inner optimizer on g_t        (z_t, g_z constants)

    In expectation over batches this is projected SGD in target space: the inner loop
    regresses f_θ(X) onto z_t − η_t·g_z. At θ_t, ∇g_t = J_fᵀ g_z = ∇_θ ℓ(f_θ(X)), so the first
    inner step is a plain gradient step on ℓ; the next ones need only the model's own
    backward. The official code (``optimizers/sgd_fmdopt.py``, ``SGD_FMDOpt``) minimizes
    mean[(g_z·f_θ(X))/η_c + (f_θ(X) − z_t)²] over all output entries — the same surrogate up
    to the constant factor 2η/(n·k) with η_c = 1/(2η); the paper's form is used here, so the
    inner step size means the same as in a plain gradient step. Like the code, a fresh inner
    optimizer is made every outer step (its state does not carry over); the code's default
    inner optimizer is an Armijo line-search SGD, here any minigrad optimizer (default SGD).

    ``SSO(model, loss_fn, eta, lr, inner_steps=1, inner_optimizer=SGD, eta_schedule=
    'constant', total_steps=None, **inner_options)``: ``loss_fn(z, y)`` the scalar batch loss
    of the targets; η (``eta``) the target-space step; ``lr`` the inner optimizer's step;
    m = ``inner_steps`` (the code's default 1); ``eta_schedule`` (the code's):
    'constant' η_t = η, 'stochastic' η_t = η/√t, 'exponential' η_t = η·T^(−t/T) with
    T = ``total_steps``. ``step(x, y)`` returns ℓ(z_t). It is not an ``Optimizer`` over
    ``params``: it needs the model and the loss of its outputs separately.
    """

    def __init__(self, model, loss_fn, eta, lr, inner_steps=1, inner_optimizer=SGD,
                 eta_schedule="constant", total_steps=None, **inner_options):
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError("SSO: model must be a Module (callable with parameters())")
        if not callable(loss_fn):
            raise TypeError("SSO: loss_fn must be a callable (targets, y) -> scalar loss")
        if not eta > 0:
            raise ValueError(f"SSO: eta must be > 0, got {eta}")
        if not lr > 0:
            raise ValueError(f"SSO: lr (inner step size) must be > 0, got {lr}")
        if int(inner_steps) != inner_steps or inner_steps < 1:
            raise ValueError(f"SSO: inner_steps must be a positive integer, got {inner_steps}")
        if eta_schedule not in ("constant", "stochastic", "exponential"):
            raise ValueError(f"SSO: eta_schedule must be 'constant', 'stochastic' or "
                             f"'exponential', got {eta_schedule!r}")
        if eta_schedule == "exponential" and not (total_steps and total_steps > 0):
            raise ValueError("SSO: eta_schedule='exponential' needs total_steps > 0")
        if not (isinstance(inner_optimizer, type) and issubclass(inner_optimizer, Optimizer)):
            raise TypeError("SSO: inner_optimizer must be a minigrad Optimizer class")
        self.model, self.loss_fn = model, loss_fn
        self.eta, self.lr, self.inner_steps = float(eta), float(lr), int(inner_steps)
        self.inner_optimizer, self.inner_options = inner_optimizer, dict(inner_options)
        self.eta_schedule, self.total_steps = eta_schedule, total_steps
        self.t = 0

    def _eta(self, t):
        if self.eta_schedule == "constant":
            return self.eta
        if self.eta_schedule == "stochastic":
            return self.eta / math.sqrt(t)
        return self.eta * float(self.total_steps) ** (-t / self.total_steps)

    def step(self, x, y):
        """One outer step on the batch (x, y): m inner steps on the surrogate."""
        self.t += 1
        eta = self._eta(self.t)
        with no_grad():
            z_t = self.model(x).data.copy()
        z = Tensor._wrap(z_t.copy())
        z.requires_grad_(True)
        with enable_grad():
            loss = self.loss_fn(z, y)
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                raise ValueError("SSO: loss_fn must return a scalar tensor")
            loss.backward()
        g_z = Tensor._wrap(z.grad.data.astype(z_t.dtype))
        target = Tensor._wrap(z_t)
        inner = self.inner_optimizer(self.model.parameters(), lr=self.lr, **self.inner_options)
        scale = 1.0 / (2.0 * eta)
        for _ in range(self.inner_steps):
            inner.zero_grad()
            with enable_grad():
                f = self.model(x)
                if tuple(f.shape) != tuple(z_t.shape):
                    raise ValueError(f"SSO: the model's output changed shape "
                                     f"{tuple(z_t.shape)} → {tuple(f.shape)}")
                diff = f - target
                surrogate = (f * g_z).sum() + scale * (diff * diff).sum()
                surrogate.backward()
            inner.step()
        return loss.detach()

    def state_dict(self):
        return {"t": self.t}

    def load_state_dict(self, state):
        self.t = int(state["t"])


register(SSO, name="target_surrogate_sso", kind="optimizer", check="state", catalog_id="O068",
         papers=["Target-based Surrogates for Stochastic Optimization"])
