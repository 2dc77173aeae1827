"""Train one small pre-LN transformer encoder on MNIST-1D with every transformer
normalization minigrad implements (same seed, same budget) and compare final loss, test
accuracy and time.

    python examples/compare_transformer_norms.py            # table on stdout, plot in examples/out/
    python examples/compare_transformer_norms.py --quick    # a few steps each

Each 40-sample signal is cut into 10 tokens of 4 values, embedded to d_model = 32 with a
learned position embedding, passed through 2 encoder blocks (4 heads, FFN 64), averaged over
the tokens and classified. Adam, lr 2e-3, batch 64. ``RECIPES`` maps a name to a function
that builds the model: add a row there (``"my_norm": lambda: encoder(norm=MyNorm)``) and it
is compared too. ``compare_normalizations.py`` points here (its ELSEWHERE table) for the
normalizations that belong to a transformer rather than to a CNN.

How each row is placed: the LayerNorm replacements (LayerNorm, RMSNorm, ScaleNorm with
g₀ = √d, DyT with α₀ = 0.5, ELN/DyISRU with β₀ = C) in every Pre-LN slot and before the
head; QK-Norm = Pre-LN with QKNormAttention (g₀ = log₂(L² − L), L = 10 tokens); RescaleNorm
= DehazeFormer's x + F(RLN(x))·rescale + rebias around each sub-layer (tokens as (N, d, L)),
final LayerNorm; DeepNorm = Post-LN LN(α·x + G(x)) with α, β for a 2-layer encoder and
DeepNet's β-scaled Xavier init; NormFormer = NormFormerLayer; Peri-LN = LN_in and LN_out
around every sub-layer; nGPT = normalized tokens, NGPTResidual updates, per-head normalized
q, k × s_qk with softmax scale √d_k, u·SiLU(v) MLP × s_uv√d, cosine logits × s_z, and the
weight rows/columns renormalized after every Adam step (no weight decay, no warmup).

Measured (``python examples/compare_transformer_norms.py``, 400 steps, seed 0, NumPy
backend on a shared 2-core CPU; the whole run took 6 min 48 s):

    normalization           final loss  test acc  time (s)
    none                        0.7769     69.7%      45.7
    layer_norm                  0.5498     75.5%      27.9
    rms_norm                    0.5844     81.1%      41.1
    scale_norm                  0.5761     80.2%      28.8
    dyt                         1.1498     51.6%      23.2
    elementwise_layer_norm      0.6879     76.0%      27.1
    qk_norm                     0.6332     73.7%      15.1
    rescale_norm                0.5719     81.0%      30.0
    deep_norm                   0.8683     67.7%      27.1
    normformer_block            0.8806     67.7%      27.0
    peri_ln_residual            0.5543     80.1%      25.6
    ngpt_normalize              0.9836     63.7%      29.9
    power_norm                  0.5971     79.2%      25.8
    unified_norm                0.5013     81.7%      25.6

(One seed and a short budget: differences of a few points are noise. Times vary with the
machine's load.)
"""
import argparse
import math
import os

import minigrad as mg
from minigrad import nn
from minigrad import functional as F
from minigrad.layers import normalization as norms

from common import Timer, accuracy, report, train

D_MODEL, HEADS, FFN, LAYERS, TOKENS = 32, 4, 64, 2, 10


class Tokens(nn.Module):
    """(N, 40) signal -> (N, 10, d) tokens: 4 values per token, linear embedding + position."""

    def __init__(self, d=D_MODEL, tokens=TOKENS):
        super().__init__()
        self.tokens = tokens
        self.embed = nn.Linear(40 // tokens, d)
        self.pos = nn.Parameter(mg.randn(tokens, d) * 0.02)

    def forward(self, x):
        return self.embed(x.reshape(x.shape[0], self.tokens, -1)) + self.pos


class MLP(nn.Sequential):
    def __init__(self, d=D_MODEL, hidden=FFN):
        super().__init__(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))


class SelfAttention(nn.Module):
    """nn.MultiheadAttention used as self-attention on (N, L, d)."""

    def __init__(self, d=D_MODEL, heads=HEADS):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class PreNormBlock(nn.Module):
    """x + attn(norm1(x)); x + mlp(norm2(x)) (Pre-LN); ``norm`` builds a norm from d."""

    def __init__(self, norm, d=D_MODEL, attention=None):
        super().__init__()
        self.norm1, self.norm2 = norm(d), norm(d)
        self.attn = attention(d) if attention else SelfAttention(d)
        self.mlp = MLP(d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Encoder(nn.Module):
    """tokens -> blocks -> final norm -> mean over tokens -> linear head."""

    def __init__(self, blocks, final=None, tokens=None, head=None):
        super().__init__()
        self.tokens = tokens or Tokens()
        self.blocks = nn.Sequential(*blocks)
        self.final = final or nn.Identity()
        self.head = head or nn.Linear(D_MODEL, 10)

    def forward(self, x):
        return self.head(self.final(self.blocks(self.tokens(x))).mean(axis=1))


def encoder(norm=None, attention=None, final=True):
    """The pre-norm encoder with ``norm`` (a function of d) in every block and before the head."""
    norm = norm or (lambda d: nn.Identity())
    blocks = [PreNormBlock(norm, attention=attention) for _ in range(LAYERS)]
    return Encoder(blocks, norm(D_MODEL) if final else None)


class SplitAttention(nn.Module):
    """Self-attention with separate q, k, v, out projections (what DeepNet's init addresses)."""

    def __init__(self, d=D_MODEL, heads=HEADS):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def split(self, t):
        n, length, d = t.shape
        return t.reshape(n, length, self.heads, d // self.heads).permute(0, 2, 1, 3)

    def forward(self, x):
        out = F.scaled_dot_product_attention(self.split(self.q_proj(x)), self.split(self.k_proj(x)),
                                             self.split(self.v_proj(x)))
        n, h, length, dh = out.shape
        return self.out_proj(out.permute(0, 2, 1, 3).reshape(n, length, h * dh))


class DeepNormBlock(nn.Module):
    """Post-LN with DeepNorm: x = LN(α·x + attn(x)); x = LN(α·x + mlp(x))."""

    def __init__(self, alpha, d=D_MODEL):
        super().__init__()
        self.attn, self.mlp = SplitAttention(d), MLP(d)
        self.norm1, self.norm2 = nn.DeepNorm(d, alpha), nn.DeepNorm(d, alpha)

    def forward(self, x):
        x = self.norm1(x, self.attn(x))
        return self.norm2(x, self.mlp(x))


def deepnet():
    alpha, beta = norms.deep_norm_constants(LAYERS)      # encoder-only: (2N)^¼, (8N)^-¼
    blocks = [DeepNormBlock(alpha) for _ in range(LAYERS)]
    for b in blocks:
        norms.deep_norm_init_(q_proj=[b.attn.q_proj.weight], k_proj=[b.attn.k_proj.weight],
                              v_proj=[b.attn.v_proj.weight], out_proj=[b.attn.out_proj.weight],
                              ffn=[b.mlp[0].weight, b.mlp[2].weight], beta=beta)
    return Encoder(blocks)


class RescaleNormBlock(nn.Module):
    """DehazeFormer's use of RLN around each sub-layer F, on tokens seen as (N, d, L):
    out, rescale, rebias = RLN(x); x = x + F(out)·rescale + rebias."""

    def __init__(self, d=D_MODEL):
        super().__init__()
        self.norm1, self.norm2 = nn.RescaleNorm(d), nn.RescaleNorm(d)
        self.attn, self.mlp = SelfAttention(d), MLP(d)

    @staticmethod
    def sub(x, norm, body):
        out, rescale, rebias = norm(x.permute(0, 2, 1))
        return x + body(out.permute(0, 2, 1)) * rescale.permute(0, 2, 1) + rebias.permute(0, 2, 1)

    def forward(self, x):
        return self.sub(self.sub(x, self.norm1, self.attn), self.norm2, self.mlp)


class PeriLNBlock(nn.Sequential):
    """x + LN_out(attn(LN_in(x))); x + LN_out(mlp(LN_in(x)))."""

    def __init__(self, norm=nn.LayerNorm, d=D_MODEL):
        super().__init__(nn.PeriLNResidual(SelfAttention(d), norm(d), norm(d)),
                         nn.PeriLNResidual(MLP(d), norm(d), norm(d)))


class Scaled(nn.Module):
    """A vector parameter s stored at scale ``scale`` and used as s·init/scale (nGPT's scalers)."""

    def __init__(self, dim, init=1.0, scale=1.0):
        super().__init__()
        self.ratio = init / scale
        self.s = nn.Parameter(mg.ones(dim) * scale)

    def forward(self):
        return self.s * self.ratio


class NGPTAttention(nn.Module):
    """q, k normalized per head then scaled by s_qk; softmax scale √d_k (nGPT)."""

    def __init__(self, d=D_MODEL, heads=HEADS):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d, bias=False)
                                                                for _ in range(4))
        self.sqk = Scaled(d, 1.0, 1 / math.sqrt(d))

    def split(self, t):
        n, length, d = t.shape
        return t.reshape(n, length, self.heads, d // self.heads).permute(0, 2, 1, 3)

    def forward(self, x):
        sqk = self.split(self.sqk().reshape(1, 1, -1))
        q = sqk * F.ngpt_normalize(self.split(self.q_proj(x)))
        k = sqk * F.ngpt_normalize(self.split(self.k_proj(x)))
        dh = q.shape[-1]
        out = F.scaled_dot_product_attention(q, k, self.split(self.v_proj(x)), scale=math.sqrt(dh))
        n, h, length, _ = out.shape
        return self.out_proj(out.permute(0, 2, 1, 3).reshape(n, length, h * dh))


class NGPTMLP(nn.Module):
    """u, v = c_fc(h) scaled by s_uv·√d; u·SiLU(v); c_proj (nGPT)."""

    def __init__(self, d=D_MODEL, hidden=FFN):
        super().__init__()
        self.c_fc, self.c_proj = nn.Linear(d, 2 * hidden, bias=False), nn.Linear(hidden, d, bias=False)
        self.suv, self.d, self.hidden = Scaled(2 * hidden), d, hidden

    def forward(self, x):
        uv = self.c_fc(x) * (self.suv() * math.sqrt(self.d))
        return self.c_proj(uv[..., :self.hidden] * F.silu(uv[..., self.hidden:]))


class NGPT(nn.Module):
    """The nGPT encoder: normalized tokens, normalized residual updates, cosine logits × s_z."""

    def __init__(self, d=D_MODEL):
        super().__init__()
        self.tokens = Tokens(d)
        self.blocks = nn.Sequential(*[nn.Sequential(nn.NGPTResidual(NGPTAttention(d), d),
                                                    nn.NGPTResidual(NGPTMLP(d), d))
                                      for _ in range(LAYERS)])
        self.head = nn.Linear(d, 10, bias=False)
        self.sz = Scaled(10, 1.0, 1 / math.sqrt(d))

    def forward(self, x):
        h = self.blocks(F.ngpt_normalize(self.tokens(x)))
        return self.head(F.ngpt_normalize(h.mean(axis=1))) * self.sz()


def ngpt_post_step(model):
    """Renormalize every matrix along its embedding axis (read: axis 1, write: axis 0)."""
    pairs = [(model.tokens.embed.weight, 0), (model.tokens.pos, 1), (model.head.weight, 1)]
    for block in model.blocks:
        attn, mlp = block[0].sublayer, block[1].sublayer
        pairs += [(attn.q_proj.weight, 1), (attn.k_proj.weight, 1), (attn.v_proj.weight, 1),
                  (attn.out_proj.weight, 0), (mlp.c_fc.weight, 1), (mlp.c_proj.weight, 0)]
    norms.ngpt_normalize_(pairs)


# How each normalization is placed in the encoder: name -> function building the model.
# "none" is the baseline without any normalization.
RECIPES = {
    "none": lambda: encoder(),
    "layer_norm": lambda: encoder(norm=nn.LayerNorm),
    "rms_norm": lambda: encoder(norm=nn.RMSNorm),
    "scale_norm": lambda: encoder(norm=nn.ScaleNorm),
    "dyt": lambda: encoder(norm=nn.DyT),
    "elementwise_layer_norm": lambda: encoder(norm=nn.ElementwiseLayerNorm),
    "qk_norm": lambda: encoder(norm=nn.LayerNorm,
                               attention=lambda d: nn.QKNormAttention(d, HEADS, seq_len=TOKENS)),
    "rescale_norm": lambda: Encoder([RescaleNormBlock() for _ in range(LAYERS)], nn.LayerNorm(D_MODEL)),
    "deep_norm": deepnet,
    "normformer_block": lambda: Encoder([nn.NormFormerLayer(D_MODEL, HEADS, FFN) for _ in range(LAYERS)],
                                        nn.LayerNorm(D_MODEL)),
    "peri_ln_residual": lambda: Encoder([PeriLNBlock() for _ in range(LAYERS)], nn.LayerNorm(D_MODEL)),
    "ngpt_normalize": NGPT,
    # batch-statistic transformer norms on (N, L, d) tokens; warmups shortened from the
    # papers' 10000 (PN) / 4000 (UN) iterations to fit this run's budget
    "power_norm": lambda: encoder(norm=lambda d: nn.PowerNorm(d, warmup_iters=200)),
    "unified_norm": lambda: encoder(norm=lambda d: nn.UnifiedNorm(d, warmup_iters=200)),
}

# Models that need a step after each optimizer step (nGPT's renormalization of the weights).
POST_STEP = {"ngpt_normalize": ngpt_post_step}


class PostStep:
    """An optimizer whose step also runs ``hook(model)`` (a projection outside autodiff)."""

    def __init__(self, optimizer, hook, model):
        self.optimizer, self.hook, self.model = optimizer, hook, model

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self, closure=None):
        loss = self.optimizer.step(closure)
        self.hook(self.model)
        return loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--only", nargs="*", help="run only these recipes")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--quick", action="store_true", help="5 steps each (used by the tests)")
    args = ap.parse_args(argv)
    steps = 5 if args.quick else args.steps

    x, y, x_test, y_test = mg.data.load_mnist1d()
    results = {}
    for name in (args.only or RECIPES):
        mg.manual_seed(args.seed)
        model = RECIPES[name]()
        optimizer = mg.optim.Adam(model.parameters(), lr=args.lr)
        if name in POST_STEP:
            POST_STEP[name](model)
            optimizer = PostStep(optimizer, POST_STEP[name], model)
        with Timer() as t:
            losses = train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed, desc=name)
        results[name] = dict(losses=losses, acc=accuracy(model, x_test, y_test), seconds=t.seconds)
        if not all(math.isfinite(v) for v in losses):
            print(f"warning: {name} produced a non-finite loss")

    report(results, f"MNIST-1D transformer encoder (d={D_MODEL}, {LAYERS} layers, {HEADS} heads), "
                    f"{steps} Adam steps, lr {args.lr}, batch 64, seed {args.seed}, "
                    f"backend {mg.current_backend().name}", "normalization", args.out,
           "compare_transformer_norms.png")


if __name__ == "__main__":
    main()
