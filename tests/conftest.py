"""Shared fixtures: every test that takes ``backend`` runs once per backend, and the
CuPy run is skipped (with the reason) on machines without CuPy or a GPU."""
import numpy
import pytest

import minigrad
from minigrad.backends import BACKEND_NAMES, backend_unavailable_reason


def backend_params():
    return [pytest.param(name, marks=pytest.mark.skipif(
        backend_unavailable_reason(name) is not None,
        reason=str(backend_unavailable_reason(name)))) for name in BACKEND_NAMES]


@pytest.fixture(params=backend_params())
def backend(request):
    """The backend name; tensors created inside the test are made on it."""
    with minigrad.use_backend(request.param):
        minigrad.manual_seed(0)
        yield request.param


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state on every backend."""
    minigrad.manual_seed(0)


@pytest.fixture
def rng():
    return numpy.random.default_rng(0)
