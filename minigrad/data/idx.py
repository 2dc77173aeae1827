"""Reader for the IDX files of MNIST and Fashion-MNIST (LeCun et al.), gzipped or not.

IDX format: a big-endian header — two zero bytes, a type code (0x08 unsigned byte,
0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
dimensions — then one big-endian int32 per dimension, then the data in C order.
"""
import gzip
import os
import struct

import numpy

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path):
    """Read one IDX file (``.gz`` or plain) into a NumPy array of its stored type."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    dtype = numpy.dtype(_TYPES[raw[2]])
    expected = int(numpy.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise ValueError(f"{path}: header says shape {shape} ({expected} bytes) but the file "
                         f"holds {len(body)} bytes of data")
    return numpy.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder, name):
    for candidate in (name, name + ".gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(
        f"no {name}[.gz] in {os.path.abspath(folder)}. Download the four IDX files of MNIST "
        "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz; Fashion-MNIST uses the same names) from the dataset's "
        "home page or a mirror, put them in that folder, and point load_mnist at it.")


def load_mnist(folder, split="train", flatten=False):
    """MNIST or Fashion-MNIST from the IDX files in ``folder``.

    Returns ``(images, labels)``: float32 images in [0, 1] of shape (n, 1, 28, 28)
    (or (n, 784) with ``flatten=True``) and int64 labels.
    """
    if split not in _FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    image_name, label_name = _FILES[split]
    images = read_idx(_find(folder, image_name)).astype(numpy.float32) / 255.0
    labels = read_idx(_find(folder, label_name)).astype(numpy.int64)
    if len(images) != len(labels):
        raise ValueError(f"load_mnist: {len(images)} images but {len(labels)} labels in {folder}")
    images = images.reshape(len(images), -1) if flatten else images[:, None]
    return images, labels
