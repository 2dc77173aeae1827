"""TempBalance with FARMS: layer-wise learning rates from the heavy-tailed exponent of each
weight matrix's empirical spectral density, measured without aspect-ratio bias (O049)."""
import math

import numpy

from minigrad.backends import backend_of_array
from minigrad.layers.conv import Conv1d, Conv2d
from minigrad.layers.linear import Linear
from minigrad.layers.normalization.batch import BatchNorm2d
from minigrad.layers.normalization.layer import LayerNorm
from minigrad.registry import register


def hill_alpha(eigs, xmin_pos=2):
    """Power-law exponent of an ESD by the Hill estimator with x_min at the median
    (TempBalance ``pl_fitting='median'`` / FARMS ``fix_fingers='xmin_mid'``): with λ sorted
    increasingly (N values), i = ⌊N / xmin_pos⌋, n = N − i::

        α = 1 + n / Σ_{j ≥ i} ln(λ_j / λ_i)

    ``eigs`` is an array (any backend) of positive eigenvalues; returns a Python float
    (inf when the tail is flat, λ_j = λ_i for all j ≥ i). Used by Zhou, Pang, Liu, Martin,
    Mahoney & Yang 2023, "Temperature Balancing, Layer-wise Weight Analysis, and Neural
    Network Training" and Hu, Goel, Killiakov & Yang 2025, "Eigenspectrum Analysis of Neural
    Networks without Aspect Ratio Bias"."""
    xp = backend_of_array(eigs).xp
    lam = xp.sort(eigs.reshape(-1))
    N = int(lam.shape[0])
    if N < 2:
        raise ValueError(f"hill_alpha: needs at least 2 eigenvalues, got {N}")
    i = int(N // xmin_pos)
    if not 0 <= i < N:
        raise ValueError(f"hill_alpha: xmin_pos={xmin_pos} puts x_min outside the spectrum")
    logs = xp.log(lam[i:])
    n = float(N - i)
    denom = float(logs.sum() - n * logs[0])
    return math.inf if denom <= 0 else 1.0 + n / denom


class TempBalance:
    """TempBalance layer-wise learning rates, with the FARMS spectral estimate.

    Papers: Hu, Goel, Killiakov & Yang 2025, "Eigenspectrum Analysis of Neural Networks without
    Aspect Ratio Bias" (FARMS); the scheduler is TempBalance (Zhou, Pang, Liu, Martin,
    Mahoney & Yang 2023, "Temperature Balancing, Layer-wise Weight Analysis, and Neural
    Network Training"). Transcribed from the FARMS authors' TempBalance fork
    (RpM-Kinshuk/TempBalance ``tempbalance.py`` ``Tempbalance`` with
    ``use_sliding_window=True``, and ``sampling.py`` ``matrix_size_dependent_sampling``).

    For every Linear / Conv layer (in module order) with weight W (a conv kernel reshaped to
    out × (in·k…) and scaled by √conv_norm)::

        FARMS (``farms=True``): slide a window of r × ⌊Q·r⌋ (r = num_row_samples = 100,
            Q = q_ratio = 2) over W with stride ``step_size`` = 10 in both directions
            (⌊(rows − r)/s⌋ + 1 by ⌊(cols − ⌊Qr⌋)/s⌋ + 1 windows, at least one; a window is
            cut at W's edge) and pool the squared singular values of all windows: the ESD of
            sub-matrices of one fixed aspect ratio instead of W's own
        TempBalance (``farms=False``): the squared singular values of W itself
        α_l = Hill estimate with x_min at the median (``hill_alpha``, xmin_pos = 2)

    The first and the last layer are left out (``remove_first_layer``/``remove_last_layer``),
    then layers with fewer than ``eigs_thresh`` = 50 eigenvalues; the others get::

        η_l = η_t·(s₁ + (s₂ − s₁)·(α_l − α_min)/(α_max − α_min))      ("tb_linear_map",
                                                                      numpy.interp)
    with s₁ = lr_min_ratio = 0.5, s₂ = lr_max_ratio = 1.5 and η_t the global (scheduled)
    learning rate; all α equal gives s₂·η_t (numpy.interp's value there). A BatchNorm2d
    follows the learning rate of its convolution (``batchnorm_type='name'``: the module
    whose name has "bn" replaced by "conv"; ``'order'``: the convolution just before it);
    LayerNorm likewise follows the Linear before it when ``layernorm=True``. Every other
    parameter keeps η_t.

    Use: ``tb = TempBalance(model)``; ``opt = SGD(tb.build_param_groups(lr), ...)``; after
    each epoch ``tb.step(opt, lr_t)`` (recomputes every α and rewrites the groups' ``lr``).
    ``esd()`` returns the per-layer measurements. No state beyond the model: α is a function
    of the current weights.

    Deviation: the reference scales each conv window by √conv_norm again, in place, on views
    of overlapping windows (so overlapping entries are scaled several times); here W is
    scaled once. α is invariant to a uniform scale, so for Linear layers and for the
    intended conv scaling the two agree. Only the median x_min fit is implemented (the
    reference's default; not 'goodness-of-fit' / 'fix-finger'), and only the 'variable
    ops' sliding window (``sampling_ops_per_dim=None``, the reference's default).
    """

    def __init__(self, model, lr_min_ratio=0.5, lr_max_ratio=1.5, farms=True,
                 num_row_samples=100, q_ratio=2.0, step_size=10, xmin_pos=2, conv_norm=0.5,
                 filter_zeros=False, evals_thresh=1e-5, eigs_thresh=50,
                 remove_first_layer=True, remove_last_layer=True, batchnorm=True,
                 batchnorm_type="name", layernorm=False):
        if not 0 < lr_min_ratio <= lr_max_ratio:
            raise ValueError(f"TempBalance: need 0 < lr_min_ratio ≤ lr_max_ratio, got "
                             f"{lr_min_ratio}, {lr_max_ratio}")
        if int(num_row_samples) != num_row_samples or num_row_samples < 1 or not q_ratio > 0 \
                or int(step_size) != step_size or step_size < 1:
            raise ValueError("TempBalance: num_row_samples and step_size must be positive "
                             "integers and q_ratio > 0")
        if not xmin_pos > 1 or not conv_norm > 0:
            raise ValueError(f"TempBalance: need xmin_pos > 1 and conv_norm > 0, got "
                             f"{xmin_pos}, {conv_norm}")
        if batchnorm_type not in ("name", "order"):
            raise ValueError(f"TempBalance: batchnorm_type must be 'name' or 'order', got "
                             f"{batchnorm_type!r}")
        self.model = model
        self.lr_min_ratio, self.lr_max_ratio = float(lr_min_ratio), float(lr_max_ratio)
        self.farms = bool(farms)
        self.num_row_samples, self.q_ratio = int(num_row_samples), float(q_ratio)
        self.step_size, self.xmin_pos, self.conv_norm = int(step_size), xmin_pos, conv_norm
        self.filter_zeros, self.evals_thresh = bool(filter_zeros), float(evals_thresh)
        self.eigs_thresh = int(eigs_thresh)
        self.remove_first_layer, self.remove_last_layer = remove_first_layer, remove_last_layer
        self.norm_to_layer = {}
        modules = list(model.named_modules())
        if batchnorm and batchnorm_type == "name":
            layers = {n for n, m in modules if isinstance(m, (Conv1d, Conv2d, Linear))}
            self.norm_to_layer.update({n: n.replace("bn", "conv") for n, m in modules
                                       if isinstance(m, BatchNorm2d)
                                       and n.replace("bn", "conv") in layers})
        last_conv_kind = last_linear_kind = None     # the reference's two type lists
        last_conv = last_linear = None
        for n, m in modules:
            if isinstance(m, Conv2d):
                last_conv_kind, last_conv = "conv", n
            elif isinstance(m, BatchNorm2d) and batchnorm and batchnorm_type == "order":
                if last_conv_kind == "conv":
                    self.norm_to_layer[n] = last_conv
                last_conv_kind = "norm"
            if isinstance(m, Linear):
                last_linear_kind, last_linear = "linear", n
            elif isinstance(m, LayerNorm) and layernorm:
                if last_linear_kind == "linear":
                    self.norm_to_layer[n] = last_linear
                last_linear_kind = "norm"

    # ------------------------------------------------------------------ spectra
    def _matrix(self, module):
        w = module.weight.data
        if isinstance(module, (Conv1d, Conv2d)):
            w = w.reshape(w.shape[0], -1) * math.sqrt(self.conv_norm)
        return w

    def _eigs(self, w):
        xp = backend_of_array(w).xp
        if not self.farms:
            return xp.sort(xp.linalg.svd(w, compute_uv=False) ** 2)
        rows, cols = w.shape
        r, c, s = self.num_row_samples, int(self.num_row_samples * self.q_ratio), self.step_size
        pieces = []
        for i in range(max(1, (rows - r) // s + 1)):
            for j in range(max(1, (cols - c) // s + 1)):
                window = w[i * s:i * s + r, j * s:j * s + c]
                pieces.append(xp.linalg.svd(window, compute_uv=False) ** 2)
        return xp.sort(xp.concatenate(pieces))

    def esd(self):
        """[{'name', 'alpha', 'spectral_norm', 'eigs_num'}] for every Linear/Conv layer."""
        out = []
        for name, m in self.model.named_modules():
            if not isinstance(m, (Conv1d, Conv2d, Linear)):
                continue
            eigs = self._eigs(self._matrix(m))
            if self.filter_zeros:
                kept = eigs[eigs > self.evals_thresh]
                eigs = kept if kept.shape[0] > 0 else eigs
            out.append({"name": name, "alpha": hill_alpha(eigs, self.xmin_pos),
                        "spectral_norm": float(eigs[-1]), "eigs_num": int(eigs.shape[0])})
        return out

    def layer_lrs(self, lr):
        """{layer name: scheduled lr} for the layers TempBalance tunes."""
        stats = self.esd()
        if self.remove_first_layer:
            stats = stats[1:]
        if self.remove_last_layer:
            stats = stats[:-1]
        stats = [s for s in stats if s["eigs_num"] >= self.eigs_thresh]
        if not stats:
            return {}
        alphas = [s["alpha"] for s in stats]
        lrs = numpy.interp(alphas, [min(alphas), max(alphas)],
                           [self.lr_min_ratio * lr, self.lr_max_ratio * lr])
        return {s["name"]: float(v) for s, v in zip(stats, lrs)}

    def build_param_groups(self, lr):
        """Parameter groups for an optimizer: one per tuned layer (its norm layer joins it as
        a group of its own, in module order, like the reference), then the rest at ``lr``."""
        lrs = self.layer_lrs(lr)
        groups, taken = [], set()
        for name, m in self.model.named_modules():
            owner = name if name in lrs else self.norm_to_layer.get(name)
            if owner in lrs and (name == owner or name in self.norm_to_layer):
                params = list(m.parameters())
                taken.update(id(p) for p in params)
                groups.append({"params": params, "lr": lrs[owner], "tempbalance": owner})
        rest = [p for p in self.model.parameters() if id(p) not in taken]
        groups.append({"params": rest, "lr": lr, "tempbalance": None})
        return groups

    def step(self, optimizer, lr):
        """Recompute α for every layer and set each TempBalance group's lr (groups made by
        ``build_param_groups``); the others get ``lr``. Returns {layer: lr}."""
        lrs = self.layer_lrs(lr)
        for group in optimizer.param_groups:
            owner = group.get("tempbalance")
            group["lr"] = lrs.get(owner, lr) if owner is not None else lr
        return lrs


register(TempBalance, name="tempbalance_farms", kind="optimizer", check="state",
         catalog_id="O049",
         papers=["Eigenspectrum Analysis of Neural Networks without Aspect Ratio Bias"])
