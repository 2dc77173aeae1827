"""Random ops: dropout, the seeding of every backend's generator, and ``HostGenerator``,
random draws made on the CPU and copied to the tensor's backend, so that NumPy and CuPy
runs draw the very same masks and noise (catalog B055)."""
import numpy

from minigrad.autograd import Function
from minigrad.backends import (BACKEND_NAMES, _loaded, backend_of_array, current, get_backend,
                               to_numpy)


def manual_seed(seed):
    """Seed the random generator of every backend in use (reproducible runs): dropout masks,
    initial weights, ``DataLoader`` shuffling, mixup/CutMix choices, random attack starts.
    NumPy's generator is always seeded: host-side choices draw from it on every backend."""
    current()
    get_backend("numpy")
    for name in BACKEND_NAMES:
        if name in _loaded:
            _loaded[name].seed(seed)


class Dropout(Function):
    """Inverted dropout (Srivastava et al. 2014): y = x · m / (1 - p) with m ~ Bernoulli(1 - p);
    dy/dx = m / (1 - p), the same mask (so the backward is exact for the drawn mask)."""
    differentiable_backward = True
    saves_constants = True       # the scaled mask m / (1 − p) does not depend on x
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
    seeded by ``minigrad.manual_seed``).

    y = x ⊙ m/(1 − p), m ~ Bernoulli(1 − p) (``training=True``), y = x otherwise;
    dx = dy ⊙ m/(1 − p) with the same mask (backward: ``Dropout``,
    help(minigrad.ops.random.Dropout)). No ``inplace``; ``generator`` is an addition.
    Paper: Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: A Simple
    Way to Prevent Neural Networks from Overfitting".
    """
    if not 0.0 <= p < 1.0:
        if p == 1.0:
            return x * 0.0
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p, generator_for(x, generator))


class HostGenerator:
    """A random generator that draws with NumPy (``numpy.random.default_rng(seed)``) and
    returns arrays on ``backend`` (default: the backend of the tensor a random op uses it
    with, or else the current backend). Pass it as ``generator=`` to any random op: the same
    seed gives the same draws on both backends, at the cost of a host-to-device copy."""

    def __init__(self, seed=None, backend=None):
        self.rng = numpy.random.default_rng(seed)
        self.backend = backend

    @classmethod
    def wrap(cls, rng, backend=None):
        """Draw from an existing NumPy (or CuPy) ``Generator``, delivering on ``backend``."""
        g = cls.__new__(cls)
        g.rng, g.backend = rng, backend
        return g

    def _out(self, a):
        from minigrad.backends import current, get_backend
        return (current() if self.backend is None else get_backend(self.backend)).asarray(a)

    def on(self, backend):
        """This generator's draws, delivered on ``backend`` (shares the NumPy state)."""
        return HostGenerator.wrap(self.rng, backend)

    def random(self, size=None, dtype=numpy.float64):
        return self._out(self.rng.random(size, dtype=dtype))

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._out(self.rng.uniform(low, high, size))

    def standard_normal(self, size=None, dtype=numpy.float64):
        return self._out(self.rng.standard_normal(size, dtype=dtype))

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self._out(self.rng.normal(loc, scale, size))

    def integers(self, low, high=None, size=None):
        return self._out(self.rng.integers(low, high, size))

    def permutation(self, x):
        return self._out(self.rng.permutation(x))


class Generator(HostGenerator):
    """PyTorch's ``torch.Generator``: ``minigrad.Generator().manual_seed(0)`` gives a generator
    to pass as ``generator=`` to random ops, ``randperm``, ``random_split``, ``DataLoader``.

    It draws with NumPy (``numpy.random.default_rng(seed)``; a ``HostGenerator``), so the
    same seed gives the same draws on both backends; the streams differ from PyTorch's.
    ``device`` ('cpu' or 'cuda') is where the draws are delivered (default: the backend of
    the tensor they are used with)."""

    def __init__(self, device=None):
        backend = None
        if device is not None:
            from minigrad.ops.conversion import backend_for_device
            backend = backend_for_device(device, "Generator").name
        super().__init__(None, backend)
        self._initial_seed = None

    def manual_seed(self, seed):
        """Reseed with ``seed`` (an int) and return the generator, as PyTorch."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"Generator.manual_seed: seed must be an int, got {seed!r}")
        self.rng = numpy.random.default_rng(seed)
        self._initial_seed = seed
        return self

    def initial_seed(self):
        """The seed given to ``manual_seed`` (None until one is given)."""
        return self._initial_seed


def plain_generator_state(tree):
    """A NumPy bit generator's state as ``bit_generator.state`` takes it back, from what
    ``minigrad.load`` returns: nested ``OrderedDict``s as plain dicts, and the integers that
    came back as arrays or tensors as Python ints."""
    from minigrad.tensor import Tensor
    if isinstance(tree, dict):
        return {k: plain_generator_state(v) for k, v in tree.items()}
    if isinstance(tree, Tensor):
        tree = tree.data
    return int(to_numpy(tree)) if hasattr(tree, "shape") else tree


def generator_on(backend, generator=None):
    """The generator to draw arrays for ``backend`` (a backend module) with.

    ``None`` means the backend's own seeded generator; a ``HostGenerator`` is pointed at
    ``backend``; a NumPy ``Generator`` used for CuPy arrays (or a CuPy one for NumPy
    arrays) keeps its stream and has its draws copied to ``backend``, so that a script
    written with ``numpy.random.default_rng(seed)`` runs unchanged on the GPU."""
    if generator is None:
        return backend.generator()
    if isinstance(generator, HostGenerator):
        return generator.on(backend.name)
    generator_backend = "cupy" if type(generator).__module__.startswith("cupy") else "numpy"
    if generator_backend != backend.name:
        return HostGenerator.wrap(generator, backend.name)
    return generator


def generator_for(x, generator):
    """The generator to draw with for tensor ``x`` (``generator_on`` x's backend)."""
    return generator_on(backend_of_array(x.data), generator)
