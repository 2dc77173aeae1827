"""Datasets and batching. Nothing here touches the network: the scikit-learn digits are
bundled with scikit-learn, MNIST-1D is generated offline, and real MNIST/Fashion-MNIST
are read from IDX files the user already has."""
from minigrad.data.dataset import Dataset, TensorDataset  # noqa: F401
from minigrad.data.loader import DataLoader  # noqa: F401
from minigrad.data.datasets import load_digits, load_mnist1d  # noqa: F401
from minigrad.data.idx import load_mnist, read_idx  # noqa: F401
