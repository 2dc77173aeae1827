"""Primitive differentiable ops, one module per family. Everything else in
minigrad (activations, normalizations, losses, layers) is built from these or
written as its own ``Function`` beside its family."""
from minigrad.ops import (conv, elementwise, indexing, linalg, pooling, random,  # noqa: F401
                          reductions, shape)
