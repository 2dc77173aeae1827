"""Losses of generative models: diagonal-Gaussian KL, the VAE ELBO, denoising score
matching (ε-prediction) and the GAN objectives (non-saturating logistic, hinge,
Wasserstein). Compositions of registered ops; sampled noise is an argument (or drawn by
the helpers ``reparameterize`` / ``noisy_sample``), never drawn inside a loss, so each
loss is a deterministic function its finite-difference check can hold fixed."""
from minigrad.autograd import enable_grad, grad, no_grad
from minigrad.backends import backend_of_array
from minigrad.layers.losses._common import (LossModule, check_reduction, check_same_shape, const,
                                            reduce, relu, softplus, xp_of)
from minigrad.ops._checks import check_floating
from minigrad.layers.losses.classification import bce_with_logits
from minigrad.ops.elementwise import exp
from minigrad.ops.random import generator_on
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["gaussian_kl_loss", "vae_elbo_loss", "reparameterize", "denoising_score_matching_loss",
           "noisy_sample", "gan_ns_loss", "gan_hinge_loss", "wgan_loss", "clip_weights_",
           "gradient_penalty", "r1_penalty",
           "GaussianKLLoss", "VAELoss", "DenoisingScoreMatchingLoss", "GANNonSaturatingLoss",
           "GANHingeLoss", "WGANLoss"]


def _per_sample_sum(x):
    """Sum over every axis but the batch axis 0: (N, ...) → (N,)."""
    return x.sum(axis=tuple(range(1, x.ndim))) if x.ndim > 1 else x


def gaussian_kl_loss(mu, logvar, mu2=None, logvar2=None, reduction="mean"):
    """KL(N(μ, σ²) ‖ N(0, I)) = ½Σ(μ² + σ² − 1 − log σ²) with ``logvar`` = log σ², summed over
    every axis but the batch axis; with ``mu2``/``logvar2`` the general diagonal
        KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) = ½Σ[log σ₂² − log σ₁² + (σ₁² + (μ₁ − μ₂)²)/σ₂² − 1].
    Standard-normal gradients: ∂/∂μ = μ, ∂/∂log σ² = ½(σ² − 1). (NoProp's KL(q(z₀|y) ‖ N(0, I))
    term; the VAE regulariser.) 'none' gives one KL per sample.

    Paper: Kingma & Welling 2014, "Auto-Encoding Variational Bayes".
    """
    op = "gaussian_kl_loss"
    check_reduction(op, reduction)
    check_floating(op, mu=mu, logvar=logvar, mu2=mu2, logvar2=logvar2)
    check_same_shape(op, mu, logvar, ("mu", "logvar"))
    for name, other in (("mu2", mu2), ("logvar2", logvar2)):
        if other is not None:
            check_same_shape(op, mu, other, ("mu", name))
    if mu2 is None and logvar2 is None:
        kl = (mu * mu + exp(logvar) - 1.0 - logvar) * 0.5
    else:
        m2 = const(0.0, mu, mu.dtype) if mu2 is None else mu2
        lv2 = const(0.0, mu, mu.dtype) if logvar2 is None else logvar2
        d = mu - m2
        kl = (lv2 - logvar + (exp(logvar) + d * d) / exp(lv2) - 1.0) * 0.5
    return reduce(_per_sample_sum(kl), reduction, op)


def reparameterize(mu, logvar, generator=None):
    """z = μ + σ⊙ε, σ = e^(½ log σ²), ε ~ N(0, I) from ``generator`` (default: the backend's
    seeded generator). The noise is a constant: gradients flow to μ and log σ².

    Paper: Kingma & Welling 2014, "Auto-Encoding Variational Bayes".
    """
    from minigrad.backends import backend_of_array
    gen = generator if generator is not None else backend_of_array(mu.data).generator()
    eps = const(gen.standard_normal(tuple(mu.shape)), mu, mu.dtype)
    return mu + exp(logvar * 0.5) * eps


def vae_elbo_loss(recon, x, mu, logvar, likelihood="bernoulli", sigma_x=1.0, beta=1.0,
                  reduction="mean"):
    """Negative ELBO of a VAE ("Manifold Learning by Mixture Models of VAEs for Inverse
    Problems"; Kingma & Welling): per sample
        L = recon(x, dec(z)) + β·KL(N(μ, σ²) ‖ N(0, I)),   z = μ + σ⊙ε (``reparameterize``),
    recon = Σ BCE-with-logits(dec(z), x) (``likelihood='bernoulli'``, ``recon`` are decoder
    logits) or Σ(x − dec(z))²/(2σ_x²) (``'gaussian'``, decoder means; the constant
    ½log 2πσ_x² per element is left out). 'mean' averages over the batch, 'sum' is
    pytorch/examples' VAE loss. Gradients reach the decoder output and (μ, log σ²) both
    directly (KL) and through z (reparameterisation).

    Paper: Kingma & Welling 2014, "Auto-Encoding Variational Bayes".
    """
    op = "vae_elbo_loss"
    check_reduction(op, reduction)
    check_floating(op, recon=recon, mu=mu, logvar=logvar)
    target = x if isinstance(x, Tensor) else const(x, recon, recon.dtype)
    check_same_shape(op, recon, target, ("recon", "x"))
    if mu.shape[0] != recon.shape[0]:
        raise ValueError(f"{op}: recon {tuple(recon.shape)}, x {tuple(target.shape)} and mu "
                         f"{tuple(mu.shape)} must share the batch axis")
    if likelihood == "bernoulli":
        rec = _per_sample_sum(bce_with_logits(recon, target, reduction="none"))
    elif likelihood == "gaussian":
        d = recon - target
        rec = _per_sample_sum(d * d) * (1.0 / (2.0 * sigma_x * sigma_x))
    else:
        raise ValueError(f"{op}: likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
    return reduce(rec + gaussian_kl_loss(mu, logvar, reduction="none") * beta, reduction, op)


def noisy_sample(x0, noise, alpha, sigma):
    """x_t = α_t·x₀ + σ_t·ε with per-sample (N,) or scalar α_t, σ_t (diffusion forward process).

    ε is a constant; the gradient reaches x₀ (times α_t). Paper: Ho, Jain & Abbeel 2020,
    "Denoising Diffusion Probabilistic Models".
    """
    def per_sample(c):
        c = c if isinstance(c, Tensor) else const(c, x0, x0.dtype)
        return c.reshape(tuple(c.shape) + (1,) * (x0.ndim - c.ndim)) if c.ndim else c
    eps = noise if isinstance(noise, Tensor) else const(noise, x0, x0.dtype)
    return per_sample(alpha) * x0 + per_sample(sigma) * eps


def denoising_score_matching_loss(prediction, noise, sigma=None, parameterization="epsilon",
                                  reduction="mean"):
    """Denoising score matching ("Neural Network-Based Score Estimation in Diffusion Models:
    Optimization and Generalization"): with x_t = α_t x₀ + σ_t ε (``noisy_sample``),
        'epsilon':  ‖ε̂_θ(x_t, t) − ε‖²            (DDPM's ε-prediction MSE),
        'score':    σ_t²·‖s_θ(x_t, t) + ε/σ_t‖² = ‖σ_t·s_θ + ε‖²   (λ(t) = σ_t²),
    the two being the same objective under ε̂ = −σ_t·s_θ. Elementwise, reduced like
    ``mse_loss``; ``sigma`` is per sample (N,) or a scalar. ε and t are constants.

    Paper: Vincent 2011, "A Connection Between Score Matching and Denoising Autoencoders".
    """
    op = "denoising_score_matching_loss"
    check_reduction(op, reduction)
    check_floating(op, prediction=prediction)
    eps = noise.detach() if isinstance(noise, Tensor) else const(noise, prediction, prediction.dtype)
    check_same_shape(op, prediction, eps, ("prediction", "noise"))
    if parameterization == "epsilon":
        r = prediction - eps
    elif parameterization == "score":
        if sigma is None:
            raise ValueError(f"{op}: parameterization='score' needs sigma")
        s = sigma if isinstance(sigma, Tensor) else const(sigma, prediction, prediction.dtype)
        if s.ndim:
            s = s.reshape(tuple(s.shape) + (1,) * (prediction.ndim - s.ndim))
        r = prediction * s + eps
    else:
        raise ValueError(f"{op}: parameterization must be 'epsilon' or 'score', got "
                         f"{parameterization!r}")
    return reduce(r * r, reduction, op)


def _gan(op, real_logits, fake_logits, mode, reduction, d_real, d_fake, g_fake):
    check_reduction(op, reduction)
    check_floating(op, real_logits=real_logits, fake_logits=fake_logits)
    if mode == "generator":
        return reduce(g_fake(fake_logits), reduction, op)
    if mode != "discriminator":
        raise ValueError(f"{op}: mode must be 'discriminator' or 'generator', got {mode!r}")
    if real_logits is None:
        raise ValueError(f"{op}: the discriminator loss needs real_logits")
    real, fake = d_real(real_logits), d_fake(fake_logits)
    if reduction == "none":
        return real, fake
    return reduce(real, reduction, op) + reduce(fake, reduction, op)


def gan_ns_loss(real_logits, fake_logits, mode="discriminator", reduction="mean"):
    """Non-saturating logistic GAN loss on discriminator logits (Goodfellow et al.;
    StyleGAN2-ADA's loss; SRGAN's l_Gen with weight 10⁻³):
        discriminator: softplus(−D(x)) + softplus(D(G(z)))  (= BCE with logits, labels 1/0),
        generator:     softplus(−D(G(z)))                   (−log D(G(z)), non-saturating).
    ∂softplus(u)/∂u = σ(u). In the discriminator step pass ``fake_logits`` of a detached G(z).
    'mean'/'sum' add the reductions of the two terms (batches may differ in size); 'none'
    returns (real term, fake term) for the discriminator. The generator ignores real_logits.

    Paper: Goodfellow et al. 2014, "Generative Adversarial Nets".
    """
    return _gan("gan_ns_loss", real_logits, fake_logits, mode, reduction,
                lambda r: softplus(-r), softplus, lambda f: softplus(-f))


def gan_hinge_loss(real_logits, fake_logits, mode="discriminator", reduction="mean"):
    """Hinge GAN loss (SNGAN / BigGAN; "The GAN is dead; long live the GAN!"):
    discriminator mean[1 − D(x)]₊ + mean[1 + D(G(z))]₊, generator −mean D(G(z)).
    Subgradients −1[D(x) < 1] and 1[D(G(z)) > −1]; kinks at ±1.

    L_D = mean max(0, 1 − D(x)) + mean max(0, 1 + D(G(z))),  L_G = −mean D(G(z)).
    Paper: Lim & Ye 2017, "Geometric GAN".
    """
    return _gan("gan_hinge_loss", real_logits, fake_logits, mode, reduction,
                lambda r: relu(1.0 - r), lambda f: relu(1.0 + f), lambda f: -f)


def wgan_loss(real_logits, fake_logits, mode="discriminator", reduction="mean"):
    """Wasserstein GAN critic loss: critic mean D(G(z)) − mean D(x), generator −mean D(G(z));
    linear in the critic outputs. The Lipschitz constraint is separate: weight clipping
    (``clip_weights_``, c = 0.01) or the gradient penalty λ(‖∇D(x̂)‖ − 1)² of
    ``gradient_penalty`` (WGAN-GP).

    Paper: Arjovsky, Chintala & Bottou 2017, "Wasserstein Generative Adversarial Networks".
    """
    return _gan("wgan_loss", real_logits, fake_logits, mode, reduction,
                lambda r: -r, lambda f: f * 1.0, lambda f: -f)


def gradient_penalty(critic, real, fake, lam=10.0, generator=None):
    """WGAN-GP's penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"):
    λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²] at x̂ = ε·x + (1 − ε)·G(z), ε ~ U(0, 1) per example (drawn
    from ``generator``, default the backend's seeded one). Real and fake samples are
    constants here (as in the reference code: the penalty trains the critic only); the
    input gradient is taken with ``create_graph=True`` so the penalty's own gradient reaches
    the critic's weights through it (double backward). ‖·‖ is √(Σ g² + 10⁻¹²): finite
    where the input gradient vanishes."""
    real, fake = real.detach(), fake.detach()
    if tuple(real.shape) != tuple(fake.shape):
        raise ValueError(f"gradient_penalty: real samples of shape {tuple(real.shape)} and "
                         f"fake samples of shape {tuple(fake.shape)} must have one shape")
    n = real.shape[0]
    gen = generator_on(backend_of_array(real.data), generator)
    eps = Tensor._wrap(gen.random((n,) + (1,) * (real.ndim - 1)).astype(real.dtype))
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    with enable_grad():
        g = grad(critic(x_hat).sum(), x_hat, create_graph=True)
        norm = ((g * g).reshape(n, -1).sum(axis=1) + 1e-12).sqrt()
        return lam * ((norm - 1.0) ** 2).mean()


def r1_penalty(critic, x, gamma=10.0):
    """R1 (Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?";
    StyleGAN2-ADA's ``loss_Dr1``): (γ/2)·E_x ‖∇_x D(x)‖² at real samples x. Called on
    generated samples it is R2 (R3GAN uses both). The input gradient is taken with
    ``create_graph=True``: the penalty's gradient reaches D's weights (double backward)."""
    x = x.detach().requires_grad_()
    with enable_grad():
        g = grad(critic(x).sum(), x, create_graph=True)
        return (0.5 * gamma) * (g * g).reshape(x.shape[0], -1).sum(axis=1).mean()


def clip_weights_(module, c=0.01):
    """WGAN weight clipping: every parameter of ``module`` clamped to [−c, c] in place.

    w ← clip(w, −c, c) (no gradient: outside the tape).
    Paper: Arjovsky, Chintala & Bottou 2017, "Wasserstein Generative Adversarial Networks".
    """
    with no_grad():
        for p in module.parameters():
            xp_of(p).clip(p.data, -c, c, out=p.data)
            p._version += 1
    return module


class GaussianKLLoss(LossModule):
    """KL(N(μ, σ²) ‖ N(0, I)) per sample; ``forward(mu, logvar, mu2=None, logvar2=None)``.

    KL = ½Σ(μ² + σ² − 1 − log σ²) (see ``F.gaussian_kl_loss``).
    Paper: Kingma & Welling 2014, "Auto-Encoding Variational Bayes".
    """

    def forward(self, mu, logvar, mu2=None, logvar2=None):
        return gaussian_kl_loss(mu, logvar, mu2, logvar2, self.reduction)


class VAELoss(LossModule):
    """Negative ELBO; ``forward(recon, x, mu, logvar)``.

    −ELBO = reconstruction(recon, x) + KL(N(μ, σ²) ‖ N(0, I)) (see ``F.vae_elbo_loss``).
    Paper: Kingma & Welling 2014, "Auto-Encoding Variational Bayes".
    """

    def __init__(self, likelihood="bernoulli", sigma_x=1.0, beta=1.0, reduction="mean"):
        super().__init__(reduction)
        self.likelihood, self.sigma_x, self.beta = likelihood, sigma_x, beta

    def forward(self, recon, x, mu, logvar):
        return vae_elbo_loss(recon, x, mu, logvar, self.likelihood, self.sigma_x, self.beta,
                             self.reduction)


class DenoisingScoreMatchingLoss(LossModule):
    """DSM / ε-prediction loss; ``forward(prediction, noise, sigma=None)``.

    ℓ = mean ‖ε̂ − ε‖² (see ``F.denoising_score_matching_loss``).
    Paper: Vincent 2011, "A Connection Between Score Matching and Denoising Autoencoders".
    """

    def __init__(self, parameterization="epsilon", reduction="mean"):
        super().__init__(reduction)
        self.parameterization = parameterization

    def forward(self, prediction, noise, sigma=None):
        return denoising_score_matching_loss(prediction, noise, sigma, self.parameterization,
                                             self.reduction)


class _GANLoss(LossModule):
    _fn = None

    def __init__(self, mode="discriminator", reduction="mean"):
        super().__init__(reduction)
        self.mode = mode

    def forward(self, real_logits, fake_logits):
        return type(self)._fn(real_logits, fake_logits, self.mode, self.reduction)


class GANNonSaturatingLoss(_GANLoss):
    """Non-saturating GAN loss; ``mode`` 'discriminator' or 'generator'.

    L_D = softplus(−D(x)) + softplus(D(G(z))),  L_G = softplus(−D(G(z))) (see ``F.gan_ns_loss``).
    Paper: Goodfellow et al. 2014, "Generative Adversarial Nets".
    """
    _fn = staticmethod(gan_ns_loss)


class GANHingeLoss(_GANLoss):
    """Hinge GAN loss; ``mode`` 'discriminator' or 'generator'.

    L_D = mean max(0, 1 − D(x)) + mean max(0, 1 + D(G(z))),  L_G = −mean D(G(z)).
    Paper: Lim & Ye 2017, "Geometric GAN".
    """
    _fn = staticmethod(gan_hinge_loss)


class WGANLoss(_GANLoss):
    """Wasserstein GAN loss; ``mode`` 'discriminator' (critic) or 'generator'.

    L_D = mean D(G(z)) − mean D(x),  L_G = −mean D(G(z)) (see ``F.wgan_loss``).
    Paper: Arjovsky, Chintala & Bottou 2017, "Wasserstein Generative Adversarial Networks".
    """
    _fn = staticmethod(wgan_loss)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    lfm = "Loss Functions and Metrics in Deep Learning"
    gan_papers = ["The GAN is dead; long live the GAN! A Modern GAN Baseline", lfm]
    register(gaussian_kl_loss, kind="loss", catalog_id="L050", module=GaussianKLLoss,
             papers=["NoProp: Training Neural Networks without Back-propagation or "
                     "Forward-propagation", lfm],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4)),
                               Case(n(r, 3, 2), n(r, 3, 2), n(r, 3, 2), n(r, 3, 2), reduction="none"),
                               Case(n(r, 2, 2, 2), n(r, 2, 2, 2), reduction="sum")])
    register(vae_elbo_loss, kind="loss", catalog_id="L051", module=VAELoss,
             papers=["Manifold Learning by Mixture Models of VAEs for Inverse Problems", lfm],
             inputs=lambda r: [Case(n(r, 3, 4), r.random((3, 4)), n(r, 3, 2), n(r, 3, 2), wrt=(0, 2, 3)),
                               Case(n(r, 2, 5), n(r, 2, 5), n(r, 2, 3), n(r, 2, 3), likelihood="gaussian",
                                    sigma_x=0.5, beta=2.0, reduction="none")])
    register(denoising_score_matching_loss, kind="loss", catalog_id="L052",
             module=DenoisingScoreMatchingLoss,
             papers=["Neural Network-Based Score Estimation in Diffusion Models: Optimization and "
                     "Generalization"],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4), wrt=(0,)),
                               Case(n(r, 3, 2, 2), n(r, 3, 2, 2), r.uniform(0.2, 1, 3), wrt=(0,),
                                    parameterization="score", reduction="sum"),
                               Case(n(r, 2, 3), n(r, 2, 3), wrt=(0,), reduction="none")])
    register(gan_ns_loss, kind="loss", catalog_id="L053", module=GANNonSaturatingLoss,
             papers=["Synthesis of Batik Motifs using a Diffusion -- Generative Adversarial Network",
                     "The GAN is dead; long live the GAN! A Modern GAN Baseline",
                     "Benchmarking Ultra-High-Definition Image Reflection Removal", lfm,
                     "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                     "Network"],
             inputs=lambda r: [Case(2 * n(r, 4), 2 * n(r, 3)), Case(None, 2 * n(r, 4), mode="generator"),
                               Case(n(r, 3, 1), n(r, 3, 1), reduction="none")])

    def hinge_logits(r, shape):
        v = r.uniform(0.2, 0.8, shape) * r.choice([-1, 1], shape)
        return v + r.choice([-1, 1], shape)                    # kept 0.2 away from ±1

    register(gan_hinge_loss, kind="loss", catalog_id="L054", module=GANHingeLoss, papers=gan_papers,
             inputs=lambda r: [Case(hinge_logits(r, 5), hinge_logits(r, 4)),
                               Case(None, n(r, 4), mode="generator", reduction="sum"),
                               Case(hinge_logits(r, 3), hinge_logits(r, 3), reduction="none")])
    register(wgan_loss, kind="loss", catalog_id="L055", module=WGANLoss, papers=gan_papers,
             inputs=lambda r: [Case(n(r, 5), n(r, 4)), Case(None, n(r, 4), mode="generator"),
                               Case(n(r, 3), n(r, 3), reduction="none")])


_register_all()
