"""Manifolds the paper rows need: ``spd`` (symmetric positive-definite matrices: affine-
invariant, log-Euclidean, Lie-Cholesky and Bures–Wasserstein maps) and ``poincare`` (the
Poincaré ball: Möbius operations, exp/log maps, transport, distance, midpoint). Helpers, not
registered ops: each is either a ``Function`` with a hand-derived backward (tested in
``tests/test_geometry.py``) or a composition of registered ops."""
from minigrad.geometry import spd  # noqa: F401
from minigrad.geometry import poincare  # noqa: F401
