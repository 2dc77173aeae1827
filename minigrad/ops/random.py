"""Random ops: dropout, and the seeding of every backend's generator."""
from minigrad.autograd import Function
from minigrad.backends import BACKEND_NAMES, _loaded, current
from minigrad.registry import Case, register


def manual_seed(seed):
    """Seed the random generator of every backend in use (reproducible runs)."""
    current()
    for name in BACKEND_NAMES:
        if name in _loaded:
            _loaded[name].seed(seed)


class Dropout(Function):
    """Inverted dropout (Srivastava et al. 2014): y = x · m / (1 - p) with m ~ Bernoulli(1 - p);
    dy/dx = m / (1 - p), the same mask (so the backward is exact for the drawn mask)."""
    @staticmethod
    def forward(ctx, x, p, generator):
        keep = generator.random(x.shape) >= p
        scale = (keep / (1.0 - p)).astype(x.dtype)
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, gy):
        scale, = ctx.saved_tensors
        return gy * scale


def dropout(x, p=0.5, training=True, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only).
    ``generator`` is a NumPy/CuPy ``Generator`` to draw the mask from (default: the backend's,
    seeded by ``minigrad.manual_seed``)."""
    if not 0.0 <= p < 1.0:
        if p == 1.0:
            return x * 0.0
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    from minigrad.backends import backend_of_array
    gen = generator if generator is not None else backend_of_array(x.data).generator()
    return Dropout.apply(x, p, gen)


def _dropout_with_fixed_mask(x, p):
    """Dropout whose mask is the same on every call, so finite differences see one function."""
    from minigrad.backends import backend_of_array
    return dropout(x, p, generator=backend_of_array(x.data).xp.random.default_rng(7))


register(dropout, papers=["Dropout: A Simple Way to Prevent Neural Networks from Overfitting"],
         inputs=lambda r: Case(r.standard_normal((4, 6)), 0.3), checked_as=_dropout_with_fixed_mask)
