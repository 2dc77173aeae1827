"""Small datasets that need no download."""
import numpy


def load_digits(test_fraction=0.2, seed=0, image_shape=False):
    """The 1,797 8×8 handwritten digits bundled with scikit-learn, scaled to [0, 1].

    Returns ``(x_train, y_train, x_test, y_test)`` as NumPy arrays: x of shape (n, 64),
    or (n, 1, 8, 8) with ``image_shape=True``; y integer labels 0–9. The split is
    stratified-by-shuffle with ``seed``.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError("load_digits needs scikit-learn: pip install -e \".[examples]\"") from None
    data = sklearn_digits()
    x = (data.data / 16.0).astype(numpy.float32)
    y = data.target.astype(numpy.int64)
    order = numpy.random.default_rng(seed).permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    if image_shape:
        x = x.reshape(-1, 1, 8, 8)
    return x[train], y[train], x[test], y[test]


def load_mnist1d(seed=None):
    """MNIST-1D (Greydanus 2020, "Scaling down Deep Learning"), generated offline with the
    ``mnist1d`` package's ``make_dataset`` and its default arguments: 4,000 training and
    1,000 test signals of length 40, ten classes.

    Returns ``(x_train, y_train, x_test, y_test)`` (float32 signals, int64 labels).
    ``seed`` overrides the package's default generation seed.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ImportError("load_mnist1d needs the mnist1d package: pip install -e \".[examples]\"") from None
    args = get_dataset_args()
    if seed is not None:
        args.seed = seed
    state = numpy.random.get_state()  # make_dataset reseeds NumPy's global generator
    try:
        data = make_dataset(args)
    finally:
        numpy.random.set_state(state)
    return (data["x"].astype(numpy.float32), data["y"].astype(numpy.int64),
            data["x_test"].astype(numpy.float32), data["y_test"].astype(numpy.int64))
