"""Instance and style normalizations: AdaIN (catalog N033), Functional Instance
Normalization (N034, CoMoGAN) and the frequency-domain PCNorm / CCNorm / SCNorm (N035).

Each normalizes every channel of every sample over its spatial positions, like
InstanceNorm, and then re-styles it: with another image's statistics (AdaIN), with an
affine map that is a function of a continuous condition φ (FIN), or by putting the
normalized feature's Fourier amplitude under the original feature's phase (PCNorm).
"""
import math

from minigrad.autograd import Function
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import RunningStatsNorm
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register


def _flat(a):
    """(N, C, *spatial) as (N, C, L)."""
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


def _stats(xp, a3, eps, ddof):
    """Per (n, c): centered values and √(var + ε) over the last axis."""
    c = a3 - a3.mean(axis=2, keepdims=True)
    std = xp.sqrt((c * c).sum(axis=2, keepdims=True) / (a3.shape[2] - ddof) + eps)
    return c, std


def _tensor_stats(a3, eps, ddof):
    c = a3 - a3.mean(axis=2, keepdims=True)
    return c, ((c * c).sum(axis=2, keepdims=True) / (a3.shape[2] - ddof) + eps).sqrt()


class AdaINFn(Function):
    """Adaptive Instance Normalization (Huang & Belongie 2017) as in naoto0804/pytorch-AdaIN
    (``function.py``: ``calc_mean_std`` uses the unbiased variance + ε, ε = 1e-5), the
    operation STRDP applies to the latents of the reverse diffusion:

        AdaIN(x, s) = σ(s)·(x − μ(x))/σ(x) + μ(s),  μ, σ² per (sample, channel) over the
        spatial axes, σ = √(var_unbiased + ε).

    Backward, with L (Lₛ) spatial positions of x (s), x̂ = (x − μ(x))/σ(x), G = dy:
        dx = (1/σ(x))·(G' − mean G' − x̂·Σ(G'⊙x̂)/(L − 1)),  G' = σ(s)·G   (the unbiased
        IN backward: ∂σ/∂x_j = (x_j − μ)/((L−1)σ));
        dμ(s) = Σ G,  dσ(s) = Σ G⊙x̂,
        ds = dμ(s)/Lₛ + dσ(s)·(s − μ(s))/((Lₛ − 1)σ(s)),
    summed over the batch when one style image styles every sample.
    """
    @staticmethod
    def forward(ctx, x, s, eps):
        xp = ctx.xp
        x3, s3 = _flat(x), _flat(s)
        c, sx = _stats(xp, x3, eps, 1)
        _, ss = _stats(xp, s3, eps, 1)
        y = ss * (c / sx) + s3.mean(axis=2, keepdims=True)
        ctx.save_for_backward(x, s)
        ctx.eps = eps
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, s = ctx.saved_tensors
        xp = ctx.xp
        x3, s3, g = _flat(x), _flat(s), _flat(gy)
        c, sx = _stats(xp, x3, ctx.eps, 1)
        cs, ss = _stats(xp, s3, ctx.eps, 1)
        xhat = c / sx
        dx = ds = None
        if ctx.needs_input_grad[0]:
            gx = g * ss
            L = x3.shape[2]
            dx = ((gx - gx.mean(axis=2, keepdims=True)
                   - xhat * (gx * xhat).sum(axis=2, keepdims=True) / (L - 1)) / sx).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            dmu = g.sum(axis=2, keepdims=True)
            dsig = (g * xhat).sum(axis=2, keepdims=True)
            if s3.shape[0] == 1 and x3.shape[0] != 1:
                dmu, dsig = dmu.sum(axis=0, keepdims=True), dsig.sum(axis=0, keepdims=True)
            Ls = s3.shape[2]
            ds = (dmu / Ls + dsig * cs / ((Ls - 1) * ss)).reshape(s.shape)
        return dx, ds, None

    @staticmethod
    def composite(x, s, eps):
        x3, s3 = _flat(x), _flat(s)
        c, sx = _tensor_stats(x3, eps, 1)
        _, ss = _tensor_stats(s3, eps, 1)
        return (ss * (c / sx) + s3.mean(axis=2, keepdims=True)).reshape(x.shape)


def adain(content, style, eps=1e-5):
    """Adaptive instance normalization: the content's per-channel statistics replaced by
    the style's, y = σ(s)·(x − μ(x))/σ(x) + μ(s).

    y = σ(s)·(x − μ(x))/σ(x) + μ(s), μ, σ per (sample, channel) over the spatial axes
    (unbiased variance + ε, as the reference code); gradients reach both inputs. Backward:
    ``AdaINFn`` (help(minigrad.layers.normalization.style.AdaINFn)).
    ``adain(content, style, eps=1e-5)``: content (N, C, *), style (N or 1, C, *), its
    spatial size may differ. No learnable parameters.
    Paper: Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with Adaptive
    Instance Normalization"; applied training-free in Masui et al. 2024, "Harnessing
    the Latent Diffusion Model for Training-Free Image Style Transfer".
    """
    check_floating("adain", content=content, style=style)
    if content.ndim < 3 or style.ndim != content.ndim or style.shape[1] != content.shape[1] \
            or style.shape[0] not in (1, content.shape[0]):
        raise ValueError(f"adain: expected content (N, C, *spatial) and style (N or 1, C, "
                         f"*spatial), got {tuple(content.shape)} and {tuple(style.shape)}")
    if math.prod(content.shape[2:]) < 2 or math.prod(style.shape[2:]) < 2:
        raise ValueError(f"adain: the unbiased std needs at least 2 spatial positions, got "
                         f"content {tuple(content.shape)} and style {tuple(style.shape)}")
    return AdaINFn.apply(content, style, float(eps))


class AdaIN(Module):
    """Adaptive instance normalization layer (no parameters): ``forward(content, style)``.

    y = σ(s)·(x − μ(x))/σ(x) + μ(s); ``AdaIN(eps=1e-5)``; see ``F.adain``.
    Paper: Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with Adaptive
    Instance Normalization".
    """

    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, content, style):
        return adain(content, style, self.eps)


class FunctionalInstanceNormFn(Function):
    """Functional Instance Normalization, cyclic form (Pizzati et al. 2021, cv-rits/CoMoGAN
    networks/backbones/comomunit.py ``FIN2dCyclic``): InstanceNorm without affine (biased
    variance, ε = 1e-5), then per (n, c)

        γ_nc = a_γ,c·cos φ_n + b_γ,c,   β_nc = a_β,c·sin φ_n + b_β,c,   y = γ_nc·x̂ + β_nc.

    Backward, with r = 1/√(σ² + ε), G = dy, G' = γ_nc·G:
        dx = r·(G' − mean G' − x̂·mean(G'⊙x̂))   (the IN backward),
        dγ_nc = Σ G⊙x̂,  dβ_nc = Σ G  (over the spatial axes), then
        da_γ = Σ_n dγ·cos φ_n,  db_γ = Σ_n dγ,  d(cos φ_n) = Σ_c dγ·a_γ,
        da_β = Σ_n dβ·sin φ_n,  db_β = Σ_n dβ,  d(sin φ_n) = Σ_c dβ·a_β.
    """
    @staticmethod
    def forward(ctx, x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta, b_beta, eps):
        xp = ctx.xp
        x3 = _flat(x)
        c, std = _stats(xp, x3, eps, 0)
        gamma = a_gamma[None, :] * cos_phi[:, None] + b_gamma[None, :]
        beta = a_beta[None, :] * sin_phi[:, None] + b_beta[None, :]
        ctx.save_for_backward(x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta)
        ctx.eps = eps
        return (gamma[:, :, None] * (c / std) + beta[:, :, None]).reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta = ctx.saved_tensors
        xp = ctx.xp
        x3, g = _flat(x), _flat(gy)
        c, std = _stats(xp, x3, ctx.eps, 0)
        xhat = c / std
        gamma = a_gamma[None, :] * cos_phi[:, None] + b_gamma[None, :]
        gx = g * gamma[:, :, None]
        dx = ((gx - gx.mean(axis=2, keepdims=True)
               - xhat * (gx * xhat).mean(axis=2, keepdims=True)) / std).reshape(x.shape)
        dgam = (g * xhat).sum(axis=2)
        dbet = g.sum(axis=2)
        return (dx, (dgam * a_gamma[None, :]).sum(axis=1), (dbet * a_beta[None, :]).sum(axis=1),
                (dgam * cos_phi[:, None]).sum(axis=0), dgam.sum(axis=0),
                (dbet * sin_phi[:, None]).sum(axis=0), dbet.sum(axis=0), None)

    @staticmethod
    def composite(x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta, b_beta, eps):
        N, C = x.shape[:2]
        c, std = _tensor_stats(_flat(x), eps, 0)
        gamma = a_gamma.reshape(1, C) * cos_phi.reshape(N, 1) + b_gamma.reshape(1, C)
        beta = a_beta.reshape(1, C) * sin_phi.reshape(N, 1) + b_beta.reshape(1, C)
        return (gamma.reshape(N, C, 1) * (c / std) + beta.reshape(N, C, 1)).reshape(x.shape)


def functional_instance_norm(x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta, b_beta, eps=1e-5):
    """Functional Instance Normalization (CoMoGAN's cyclic FIN): InstanceNorm whose affine
    parameters are functions of the continuous target position φ of each sample,
    γ = a_γ·cos φ + b_γ and β = a_β·sin φ + b_β (one (cos φ, sin φ) point per sample).

    y = (a_γ cos φ + b_γ)·(x − μ_hw)/σ_hw + (a_β sin φ + b_β) per (n, c); gradients reach
    x, cos φ, sin φ and the four per-channel parameters. Backward:
    ``FunctionalInstanceNormFn`` (help(minigrad.layers.normalization.style.FunctionalInstanceNormFn)).
    ``functional_instance_norm(x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta, b_beta,
    eps=1e-5)``: x (N, C, *), cos_phi and sin_phi (N,), the parameters (C,).
    Paper: Pizzati, Cerri & de Charette 2021, "CoMoGAN: continuous model-guided
    image-to-image translation".
    """
    check_floating("functional_instance_norm", x=x, cos_phi=cos_phi, sin_phi=sin_phi,
                   a_gamma=a_gamma, b_gamma=b_gamma, a_beta=a_beta, b_beta=b_beta)
    if x.ndim < 3 or math.prod(x.shape[2:]) < 2:
        raise ValueError(f"functional_instance_norm: expected x of shape (N, C, *spatial) with "
                         f"more than one spatial position, got {tuple(x.shape)}")
    N, C = x.shape[:2]
    for name, t, n in (("cos_phi", cos_phi, N), ("sin_phi", sin_phi, N), ("a_gamma", a_gamma, C),
                       ("b_gamma", b_gamma, C), ("a_beta", a_beta, C), ("b_beta", b_beta, C)):
        if tuple(t.shape) != (n,):
            raise ValueError(f"functional_instance_norm: {name} must have shape ({n},) for x "
                             f"of shape {tuple(x.shape)}, got {tuple(t.shape)}")
    return FunctionalInstanceNormFn.apply(x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta, b_beta,
                                          float(eps))


class FunctionalInstanceNorm2d(Module):
    """CoMoGAN's FIN layer (``FIN2dCyclic``): InstanceNorm2d without affine, re-scaled by
    γ = a_γ·cos φ + b_γ and shifted by β = a_β·sin φ + b_β, with a_γ = a_β = b_β = 0 and
    b_γ = 1 at init (an identity-affine InstanceNorm). ``forward(x, cos_phi, sin_phi)``.

    y = (a_γ cos φ + b_γ)·x̂ + (a_β sin φ + b_β); ``FunctionalInstanceNorm2d(num_features,
    eps=1e-5)``; see ``F.functional_instance_norm``.
    Paper: Pizzati, Cerri & de Charette 2021, "CoMoGAN: continuous model-guided
    image-to-image translation".
    """

    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.num_features, self.eps = num_features, eps
        self.a_gamma = Parameter(zeros(num_features).data)
        self.b_gamma = Parameter(ones(num_features).data)
        self.a_beta = Parameter(zeros(num_features).data)
        self.b_beta = Parameter(zeros(num_features).data)

    def forward(self, x, cos_phi, sin_phi):
        return functional_instance_norm(x, cos_phi, sin_phi, self.a_gamma, self.b_gamma,
                                        self.a_beta, self.b_beta, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}"


# ------------------------------------------------------------------ frequency domain
DENORMAL = 1e-5      # the DAC code's ``replace_denormals`` threshold
PC_MODES = ("pc", "cc", "sc")


def _amplitude(xp, a):
    """F(a), the amplitude √max'(|F(a)|², 1e-5) (values below the threshold replaced by it)
    and the mask where it was not replaced."""
    X = xp.fft.fft2(a, axes=(-2, -1))
    q = X.real * X.real + X.imag * X.imag
    live = q >= DENORMAL
    return X, xp.sqrt(xp.where(live, q, DENORMAL)), live


def _unit_phase(xp, p):
    """e^{iφ}, φ = atan2(Im F(p), Re' F(p)) with Re' = Re where |Re| ≥ 1e-5, else 1e-5."""
    P = xp.fft.fft2(p, axes=(-2, -1))
    live = xp.abs(P.real) >= DENORMAL
    re = xp.where(live, P.real, DENORMAL)
    rho2 = re * re + P.imag * P.imag
    return P, re, rho2, live


class FrequencyComposeFn(Function):
    """The decompose–compose step of DAC (Lee, Bae & Kim 2023; the ``decompose`` /
    ``compose`` functions of the DAC-SC layer code): the Fourier amplitude of ``a`` (mixed
    with that of ``b`` for SCNorm) under the Fourier phase of ``p``,

        A = w_a·|F(a)| + w_b·|F(b)|,  φ = ∠F(p),  y = Re F⁻¹(A·e^{iφ}),

    F the 2-D DFT over (H, W). The code's ``irfft2`` of the full spectrum equals Re F⁻¹ here,
    since A is even and φ odd in the frequency (the spectrum is Hermitian). As in the code,
    |F|² below 1e-5 is replaced by 1e-5 and Re F(p) with |Re| < 1e-5 by 1e-5 (constants there).

    Backward (cotangents of complex values as g = ∂L/∂Re + i·∂L/∂Im; the adjoint of F is
    HW·F⁻¹, that of F⁻¹ is F/HW):
        g_Z = F(dy)/HW,  u = e^{iφ};
        dA = Re(conj(g_Z)·u),   dφ = −A·Im(conj(g_Z)·u);
        φ = atan2(im, re): d re = −im·dφ/ρ², d im = re·dφ/ρ² (ρ² = re² + im²), dp = Re(HW·F⁻¹(d re + i·d im));
        |F(a)|: g_F(a) = (w_a·dA/|F(a)|)·F(a), da = Re(HW·F⁻¹(g_F(a)));  dw_a = Σ dA·|F(a)|.
    """
    @staticmethod
    def forward(ctx, a, b, p, wa, wb):
        xp = ctx.xp
        _, amp, _ = _amplitude(xp, a)
        if wa is not None:
            amp = wa * amp
        if b is not None:
            amp = amp + wb * _amplitude(xp, b)[1]
        P, re, rho2, _ = _unit_phase(xp, p)
        u = (re + 1j * P.imag) / xp.sqrt(rho2)
        ctx.save_for_backward(a, b, p, wa, wb)
        return xp.fft.ifft2(amp * u, axes=(-2, -1)).real.astype(p.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        a, b, p, wa, wb = ctx.saved_tensors
        xp = ctx.xp
        needs = ctx.needs_input_grad
        hw = p.shape[-1] * p.shape[-2]
        Xa, amp_a, live_a = _amplitude(xp, a)
        amp = amp_a if wa is None else wa * amp_a
        if b is not None:
            Xb, amp_b, live_b = _amplitude(xp, b)
            amp = amp + wb * amp_b
        P, re, rho2, live_p = _unit_phase(xp, p)
        u = (re + 1j * P.imag) / xp.sqrt(rho2)
        gz = xp.fft.fft2(gy, axes=(-2, -1)) / hw
        cu = xp.conj(gz) * u
        d_amp = cu.real
        dphi = -amp * cu.imag
        gP = xp.where(live_p, -P.imag * dphi / rho2, 0.0) + 1j * (re * dphi / rho2)

        def back(g):   # the adjoint of the real-input 2-D DFT
            return (hw * xp.fft.ifft2(g, axes=(-2, -1))).real.astype(p.dtype, copy=False)
        da = db = dp = dwa = dwb = None
        if needs[0]:
            ka = 1.0 if wa is None else wa
            da = back(xp.where(live_a, ka * d_amp / amp_a, 0.0) * Xa)
        if b is not None and needs[1]:
            db = back(xp.where(live_b, wb * d_amp / amp_b, 0.0) * Xb)
        if needs[2]:
            dp = back(gP)
        if wa is not None and needs[3]:
            dwa = (d_amp * amp_a).sum().astype(p.dtype).reshape(wa.shape)
        if b is not None and needs[4]:
            dwb = (d_amp * amp_b).sum().astype(p.dtype).reshape(wb.shape)
        return da, db, dp, dwa, dwb

    @staticmethod
    def composite(a, b, p, wa, wb):
        from minigrad import fft
        from minigrad.ops.complex import complex as make_complex, imag, real
        from minigrad.ops.elementwise import where

        def amplitude(t):
            X = fft.fft2(t)
            q = real(X) * real(X) + imag(X) * imag(X)
            return where(q.detach() >= DENORMAL, q, DENORMAL).sqrt()
        amp = amplitude(a) if wa is None else wa * amplitude(a)
        if b is not None:
            amp = amp + wb * amplitude(b)
        P = fft.fft2(p)
        re, im = real(P), imag(P)
        re = where(re.detach().abs() >= DENORMAL, re, DENORMAL)
        rho = (re * re + im * im).sqrt()
        return real(fft.ifft2(make_complex(amp * re / rho, amp * im / rho)))


def pc_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
            momentum=0.1, eps=1e-5, mode="pc", lam=None):
    """DAC's frequency-domain normalizations of x (N, C, H, W): the style (Fourier
    amplitude) of the normalized feature under the content (Fourier phase) of x, then a
    per-channel affine map.

    PCNorm: y = γ·F⁻¹(|F(BN(x))|·e^{i∠F(x)}) + β;
    CCNorm: y = γ·F⁻¹(|F(BN(x))|·e^{i∠F(x − λ·μ)}) + β, μ the batch (eval: running) mean;
    SCNorm: y = γ·F⁻¹((λ·|F(IN(x))| + (1 − λ)·|F(x)|)·e^{i∠F(x)}) + β.
    BN is ``batch_norm`` without affine (its running statistics, train/eval, momentum),
    IN ``instance_norm`` without affine; the spectral step is ``FrequencyComposeFn``
    (help(minigrad.layers.normalization.style.FrequencyComposeFn)), whose backward is
    hand-derived; the rest is the tape's.
    ``pc_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
    training=False, momentum=0.1, eps=1e-5, mode='pc', lam=None)``: ``lam`` (a scalar, or a
    0-d tensor: the softmax weight of the DAC-SC layers) for 'cc' and 'sc'. Follows the
    DAC-SC layer code (``pcnorm``, ``ccnorm``, ``SCNorm``): CCNorm removes λ·μ from x before
    taking the phase (the catalog row's phase mixture differs; the code is followed).
    Paper: Lee, Bae & Kim 2023, "Decompose, Adjust, Compose: Effective Normalization by
    Playing with Frequency for Domain Generalization".
    """
    from minigrad.layers.normalization.batch import batch_norm
    from minigrad.layers.normalization.group import instance_norm
    from minigrad.tensor import Tensor
    check_floating("pc_norm", x=x, lam=lam)
    if mode not in PC_MODES:
        raise ValueError(f"pc_norm: mode must be one of {PC_MODES}, got {mode!r}")
    if x.ndim != 4 or x.shape[2] * x.shape[3] < 2:
        raise ValueError(f"pc_norm: expected x of shape (N, C, H, W) with H·W > 1, got "
                         f"{tuple(x.shape)}")
    if mode != "pc" and lam is None:
        raise ValueError(f"pc_norm: mode {mode!r} needs lam, the weight of the mixture")
    if lam is not None and not isinstance(lam, Tensor):
        lam = Tensor(float(lam), dtype=x.dtype)
    C = x.shape[1]
    if mode == "sc":
        y = FrequencyComposeFn.apply(instance_norm(x, eps=eps), x, x, lam.reshape(()),
                                     1 - lam.reshape(()))
    else:
        n = batch_norm(x, running_mean, running_var, None, None, training, momentum, eps)
        phase = x
        if mode == "cc":
            mu = (x.mean(axis=(0, 2, 3), keepdims=True) if training or running_mean is None
                  else running_mean.detach().reshape(1, C, 1, 1))
            phase = x - lam.reshape(()) * mu
        y = FrequencyComposeFn.apply(n, None, phase, None, None)
    if weight is not None:
        y = y * weight.reshape(1, C, 1, 1)
    if bias is not None:
        y = y + bias.reshape(1, C, 1, 1)
    return y


class _PCBase(RunningStatsNorm):
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"
    mode = "pc"

    def _lam(self):
        return None

    def forward(self, x):
        self._check_input(x)
        factor = self._running_average_factor()
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return pc_norm(x, self.running_mean if track else None,
                       self.running_var if track else None, self.weight, self.bias,
                       use_batch_stats, factor, self.eps, self.mode, self._lam())


class PCNorm2d(_PCBase):
    """Phase-Consistent Normalization (DAC): BatchNorm2d's statistics, running buffers and
    affine map, with the normalized feature's Fourier amplitude put under the input's phase.

    y = γ·F⁻¹(|F(BN(x))|·e^{i∠F(x)}) + β; ``PCNorm2d(num_features, eps=1e-5, momentum=0.1,
    affine=True, track_running_stats=True)`` (BatchNorm's contract); see ``F.pc_norm``.
    Paper: Lee, Bae & Kim 2023, "Decompose, Adjust, Compose: Effective Normalization by
    Playing with Frequency for Domain Generalization".
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)


class CCNorm2d(PCNorm2d):
    """Content-Controlling Normalization (DAC): PCNorm whose phase is taken from
    x − λ·μ, λ = softmax(w/1e-4)[0] of a learnable 2-vector w (init 0: λ = 1/2).

    y = γ·F⁻¹(|F(BN(x))|·e^{i∠F(x − λμ)}) + β; ``CCNorm2d(num_features, eps=1e-5,
    momentum=0.1, affine=True, track_running_stats=True)``; see ``F.pc_norm``.
    Paper: Lee, Bae & Kim 2023, "Decompose, Adjust, Compose: Effective Normalization by
    Playing with Frequency for Domain Generalization".
    """
    mode = "cc"
    temperature = 1e-4

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.lam_logits = Parameter(zeros(2).data)

    def _lam(self):
        from minigrad.layers.activations import softmax
        return softmax(self.lam_logits / self.temperature, axis=0)[0]


class SCNorm2d(Module):
    """Style-Controlling Normalization (DAC-SC): the amplitude a mixture
    λ·|F(IN(x))| + (1 − λ)·|F(x)| with λ = softmax(h/0.1)[0] of a learnable 2-vector h
    (init 0: λ = 1/2), the phase of x, then a per-channel affine map (no running statistics).

    y = γ·F⁻¹((λ|F(IN(x))| + (1−λ)|F(x)|)·e^{i∠F(x)}) + β; ``SCNorm2d(num_features,
    eps=1e-5)``; see ``F.pc_norm``.
    Paper: Lee, Bae & Kim 2023, "Decompose, Adjust, Compose: Effective Normalization by
    Playing with Frequency for Domain Generalization".
    """
    temperature = 0.1

    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.num_features, self.eps = num_features, eps
        self.weight = Parameter(ones(num_features).data)
        self.bias = Parameter(zeros(num_features).data)
        self.h = Parameter(zeros(2).data)

    def forward(self, x):
        from minigrad.layers.activations import softmax
        lam = softmax(self.h / self.temperature, axis=0)[0]
        return pc_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps, "sc", lam)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}"


__all__ = ["adain", "functional_instance_norm", "pc_norm", "AdaIN", "FunctionalInstanceNorm2d",
           "PCNorm2d", "CCNorm2d", "SCNorm2d"]


# ------------------------------------------------------------------ registry
def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(adain, kind="normalization", catalog_id="N033", module=AdaIN,
             papers=["Harnessing the Latent Diffusion Model for Training-Free Image Style "
                     "Transfer"],
             inputs=lambda r: [Case(n(r, 2, 3, 4), n(r, 2, 3, 5)),
                               Case(n(r, 2, 2, 2, 2), n(r, 1, 2, 3, 2)),    # one style for all
                               Case(n(r, 1, 2, 3), n(r, 1, 2, 3) * 3 + 1)])
    import numpy      # the registry's inputs are NumPy arrays

    def cos_sin(r, k):
        phi = r.uniform(0, 2 * math.pi, k)
        return numpy.cos(phi), numpy.sin(phi)
    register(functional_instance_norm, kind="normalization", catalog_id="N034",
             module=FunctionalInstanceNorm2d,
             papers=["CoMoGAN: continuous model-guided image-to-image translation"],
             inputs=lambda r: [Case(n(r, 2, 3, 4), *cos_sin(r, 2), n(r, 3), pos(r, 3), n(r, 3),
                                    n(r, 3)),
                               Case(n(r, 1, 2, 2, 2), *cos_sin(r, 1), n(r, 2), pos(r, 2),
                                    n(r, 2), n(r, 2))])
    register(pc_norm, kind="normalization", catalog_id="N035", module=PCNorm2d,
             papers=["Decompose, Adjust, Compose: Effective Normalization by Playing with "
                     "Frequency for Domain Generalization"],
             inputs=lambda r: [Case(n(r, 2, 2, 3, 4), None, None, pos(r, 2), n(r, 2), True),
                               Case(n(r, 2, 2, 3, 3), n(r, 2) * 0.1, pos(r, 2), pos(r, 2),
                                    n(r, 2), False, wrt=(0, 3, 4)),
                               Case(n(r, 2, 2, 4, 3), None, None, pos(r, 2), n(r, 2), True, 0.1,
                                    1e-5, "cc", numpy.array(0.3)),
                               Case(n(r, 1, 2, 3, 4), None, None, pos(r, 2), n(r, 2), True, 0.1,
                                    1e-5, "sc", numpy.array(0.7))])


_register()
