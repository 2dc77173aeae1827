"""Datasets and batching, with PyTorch's names (``torch.utils.data``): ``Dataset``,
``TensorDataset``, ``Subset``, ``ConcatDataset``, ``random_split``, ``DataLoader`` with its
samplers and ``default_collate``. Nothing here touches the network: the scikit-learn digits
are bundled with scikit-learn, MNIST-1D is generated offline, and real MNIST/Fashion-MNIST
are read from IDX files the user already has."""
from minigrad.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split  # noqa: F401
from minigrad.data.loader import (BatchSampler, DataLoader, RandomSampler, Sampler,  # noqa: F401
                                  SequentialSampler, default_collate, default_convert)
from minigrad.data.datasets import load_digits, load_mnist1d  # noqa: F401
from minigrad.data.idx import load_mnist, read_idx  # noqa: F401
