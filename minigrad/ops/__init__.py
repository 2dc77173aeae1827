"""Primitive differentiable ops, one module per family. Everything else in
minigrad (activations, normalizations, losses, layers) is built from these or
written as its own ``Function`` beside its family."""
from minigrad.ops import elementwise, reductions, linalg, shape, indexing, random  # noqa: F401
