"""Low-memory activations with an approximate backward: ReGELU2 and ReSiLU2 (catalog A040,
A041), from Yang et al. 2024, "Reducing Fine-Tuning Memory Overhead by Approximate and
Memory-Sharing Backpropagation" (yyyyychen/LowMemoryBP, lomem/csrc/regelu2_cuda.cu and
resilu2_cuda.cu).

The forward is the exact GELU / SiLU. Instead of the input (4 or 8 bytes per element), the
forward saves a 2-bit region code per element, packed four to a byte (uint8), and the
backward multiplies the upstream gradient by a step function of that code: a 16x (float32)
or 32x (float64) smaller saved activation. ``benchmarks/activation_memory.py`` measures it.
"""
from minigrad.autograd import Function
from minigrad.layers.module import Module
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register

__all__ = ["regelu2", "resilu2", "ReGELU2", "ReSiLU2"]

# lomem/csrc/regelu2_cuda.cu ReGELU2_a / ReGELU2_c and resilu2_cuda.cu ReSiLU2_a / ReSiLU2_c
REGELU2_A = (-0.04922261145617846, 1.0979632065417297, -0.048740595085551286)
REGELU2_C = (-3.1858810036855245, -0.001178821281161997, 3.190832613414926)
RESILU2_A = (-0.04060357190528599, 1.080925428529668, -0.040321856624382146)
RESILU2_C = (-6.3050461001646445, -0.0008684942046214787, 6.325815242089708)


def region_code(xp, x, c):
    """The 2-bit code f = 1[x > c₀] + 1[x > c₁] + 1[x > c₂] ∈ {0, 1, 2, 3} (uint8)."""
    return ((x > c[0]).astype(xp.uint8) + (x > c[1]).astype(xp.uint8)
            + (x > c[2]).astype(xp.uint8))


def pack_codes(xp, code):
    """Four 2-bit codes per byte, element 4i + j in bits 2j..2j+1 of byte i (the layout of
    LowMemoryBP's kernels: ``flag << 2·(k & 3)``); the flat code is zero-padded to 4."""
    flat = code.reshape(-1)
    pad = (-flat.size) % 4
    if pad:
        flat = xp.concatenate([flat, xp.zeros(pad, dtype=xp.uint8)])
    q = flat.reshape(-1, 4)
    return (q[:, 0] | (q[:, 1] << 2) | (q[:, 2] << 4) | (q[:, 3] << 6)).astype(xp.uint8)


def unpack_codes(xp, packed, shape):
    """Inverse of ``pack_codes``: the (…) uint8 codes of ``shape``."""
    n = 1
    for s in shape:
        n *= s
    shifts = xp.asarray([0, 2, 4, 6], dtype=xp.uint8)
    codes = (packed[:, None] >> shifts[None, :]) & 3
    return codes.reshape(-1)[:n].reshape(shape)


class _TwoBitFn(Function):
    """Shared forward/backward: subclasses set ``A``, ``C`` and ``_exact``."""
    A = C = None

    @classmethod
    def _slopes(cls, xp, dtype):
        a = cls.A
        return xp.asarray([0.0, a[0], a[0] + a[1], a[0] + a[1] + a[2]], dtype=dtype)

    @classmethod
    def forward(cls, ctx, x):
        xp = ctx.xp
        ctx.save_for_backward(pack_codes(xp, region_code(xp, x, cls.C)))
        ctx.shape = x.shape
        return cls._exact(ctx, x)

    @classmethod
    def backward(cls, ctx, gy):
        xp = ctx.xp
        packed, = ctx.saved_tensors
        code = unpack_codes(xp, packed, ctx.shape)
        return gy * cls._slopes(xp, gy.dtype)[code]


class ReGELU2Fn(_TwoBitFn):
    """ReGELU2 (Yang et al. 2024; lomem ``regelu2``): y = GELU(x) = x·Φ(x) exactly; the
    backward is NOT the derivative Φ(x) + xφ(x) but the documented step approximation

        f′(x) ≈ a₀·1[x > c₀] + a₁·1[x > c₁] + a₂·1[x > c₂],
        a = (−0.04922261145617846, 1.0979632065417297, −0.048740595085551286),
        c = (−3.1858810036855245, −0.001178821281161997, 3.190832613414926)

    (lomem/csrc/regelu2_cuda.cu), read from the 2-bit count f = Σ_j 1[x > c_j] saved in
    the forward, packed 4 per byte: dx = dy·Σ_{j<f} a_j. Σa = 1, so the slope is 1 for
    x > c₂ and 0 for x ≤ c₀, as GELU's. Ties at a threshold follow the strict '>'.
    No second derivative (the codes cannot be differentiated): create_graph raises.
    """
    A, C = REGELU2_A, REGELU2_C

    @staticmethod
    def _exact(ctx, x):
        return ctx.backend.kernels("activation").gelu_forward(x)


class ReSiLU2Fn(_TwoBitFn):
    """ReSiLU2 (Yang et al. 2024; lomem ``resilu2``): y = SiLU(x) = x·σ(x) exactly; backward
    the step approximation f′(x) ≈ Σ_j a_j·1[x > c_j] with

        a = (−0.04060357190528599, 1.080925428529668, −0.040321856624382146),
        c = (−6.3050461001646445, −0.0008684942046214787, 6.325815242089708)

    (lomem/csrc/resilu2_cuda.cu), from the packed 2-bit code: dx = dy·Σ_{j<f} a_j, Σa = 1.
    No second derivative (create_graph raises).
    """
    A, C = RESILU2_A, RESILU2_C

    @staticmethod
    def _exact(ctx, x):
        return ctx.backend.kernels("activation").silu_forward(x)


def regelu2(x):
    """GELU forward, 2-bit approximate backward (ReGELU2).

    y = x·Φ(x);  backward dx = dy·Σ_j a_j·1[x > c_j] (a, c in ``ReGELU2Fn``), from a 2-bit
    code per element saved packed (4 per byte) instead of x. Check kind: custom (finite
    differences do not apply: the backward is a documented approximation).
    Backward: ``ReGELU2Fn`` (help(minigrad.layers.activations.low_memory.ReGELU2Fn)).
    Paper: Yang, Shi, Wang, Zhen, Shi & Xu 2024, "Reducing Fine-Tuning Memory Overhead by
    Approximate and Memory-Sharing Backpropagation".
    """
    check_floating("regelu2", x=x)
    return ReGELU2Fn.apply(x)


def resilu2(x):
    """SiLU forward, 2-bit approximate backward (ReSiLU2).

    y = x·σ(x);  backward dx = dy·Σ_j a_j·1[x > c_j] (a, c in ``ReSiLU2Fn``), from a 2-bit
    code per element saved packed (4 per byte) instead of x. Check kind: custom.
    Backward: ``ReSiLU2Fn`` (help(minigrad.layers.activations.low_memory.ReSiLU2Fn)).
    Paper: Yang, Shi, Wang, Zhen, Shi & Xu 2024, "Reducing Fine-Tuning Memory Overhead by
    Approximate and Memory-Sharing Backpropagation".
    """
    check_floating("resilu2", x=x)
    return ReSiLU2Fn.apply(x)


class ReGELU2(Module):
    """``ReGELU2()``: y = GELU(x) = x·Φ(x), backward the 2-bit step rule (see ``F.regelu2``).

    Paper: Yang, Shi, Wang, Zhen, Shi & Xu 2024, "Reducing Fine-Tuning Memory Overhead by
    Approximate and Memory-Sharing Backpropagation".
    """

    def forward(self, x):
        return regelu2(x)


class ReSiLU2(Module):
    """``ReSiLU2()``: y = SiLU(x) = x·σ(x), backward the 2-bit step rule (see ``F.resilu2``).

    Paper: Yang, Shi, Wang, Zhen, Shi & Xu 2024, "Reducing Fine-Tuning Memory Overhead by
    Approximate and Memory-Sharing Backpropagation".
    """

    def forward(self, x):
        return resilu2(x)


# ------------------------------------------------------------------ registry
def _step_rule(a, c):
    def rule(arrays, kwargs, gy):
        import numpy as np
        x, = arrays
        slope = sum(aj * (x > cj) for aj, cj in zip(a, c))
        return [np.asarray(gy) * slope]
    return rule


def _spread(r, *shape):
    """Points in every region, kept ≥ 0.01 away from the thresholds."""
    import numpy as np
    x = r.uniform(-9.0, 9.0, shape)
    for c in REGELU2_C + RESILU2_C:
        x = np.where(np.abs(x - c) < 0.01, x + 0.02, x)
    return x


def _register_all():
    paper = ["Reducing Fine-Tuning Memory Overhead by Approximate and Memory-Sharing "
             "Backpropagation"]
    register(regelu2, kind="activation", catalog_id="A040", module=ReGELU2, papers=paper,
             check="custom", backward_rule=_step_rule(REGELU2_A, REGELU2_C),
             inputs=lambda r: [Case(_spread(r, 3, 5), custom=True),
                               Case(_spread(r, 2, 3, 3), custom=True),
                               Case(_spread(r, 1), custom=True)])
    register(resilu2, kind="activation", catalog_id="A041", module=ReSiLU2, papers=paper,
             check="custom", backward_rule=_step_rule(RESILU2_A, RESILU2_C),
             inputs=lambda r: [Case(_spread(r, 3, 5), custom=True),
                               Case(_spread(r, 2, 3, 3), custom=True),
                               Case(_spread(r, 1), custom=True)])


_register_all()
