"""``minigrad.save(obj, path)`` / ``minigrad.load(path)``: a portable ``.npz`` file, no pickle.

What can be saved: a (nested) structure of dicts (str or int keys; ``OrderedDict`` order is
kept), lists, tuples, tensors, NumPy/CuPy arrays, and Python numbers, strings, booleans and
None: a module's ``state_dict()``, an optimizer's ``state_dict()``, a checkpoint dict that
holds both and the epoch number.

The format (version 1), readable with nothing but NumPy::

    archive = numpy.load(path, allow_pickle=False)
    header = json.loads(archive["__minigrad__"].tobytes())   # the JSON header, as uint8 bytes
    archive["state.0.exp_avg"]                               # every array, under a dotted key

- every tensor/array is one entry of the ``.npz`` (a zip of ``.npy`` files) named by the dotted
  path of its place in the structure (``"layer1.0.weight"``, ``"state.0.exp_avg"``); a name
  already taken gets a ``#n`` suffix;
- the entry ``__minigrad__`` holds the UTF-8 JSON header: ``{"format": "minigrad",
  "version": 1, "tree": ...}``, where the tree mirrors the structure: a JSON number, string,
  boolean or null is itself; a list is ``{"list": [...]}``, a tuple ``{"tuple": [...]}``, a dict
  ``{"dict": [[key, value], ...]}`` (so int keys and order survive), a tensor ``{"tensor":
  "<entry>", "requires_grad": bool}``, an array ``{"array": "<entry>"}``; non-finite floats are
  ``{"float": "nan" | "inf" | "-inf"}``.

Tensors are written from NumPy copies, so a file saved on CuPy loads on NumPy and back:
``load(path)`` makes its tensors on the current backend (or on ``backend=``).
"""
import io
import json
import math
import os
import zipfile
import zlib
from collections import OrderedDict

import numpy

HEADER_KEY = "__minigrad__"
FORMAT_VERSION = 1


class _Writer:
    def __init__(self):
        self.arrays = {}

    def _name(self, path):
        base = ".".join(path) if path else "value"
        name, k = base, 1
        while name in self.arrays or name == HEADER_KEY:
            name, k = f"{base}#{k}", k + 1
        return name

    def encode(self, obj, path):
        from minigrad.backends import backend_of_array
        from minigrad.layers.module import Module
        from minigrad.tensor import Tensor
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return obj
            return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, numpy.generic):
            return self.encode(obj.item(), path)
        if isinstance(obj, Tensor):
            name = self._name(path)
            self.arrays[name] = obj.numpy()
            return {"tensor": name, "requires_grad": bool(obj.requires_grad)}
        if hasattr(obj, "__array_interface__") or hasattr(obj, "__cuda_array_interface__"):
            name = self._name(path)
            self.arrays[name] = backend_of_array(obj).to_numpy(obj)
            return {"array": name}
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise TypeError(f"minigrad.save: dict keys must be str or int, got "
                                    f"{type(key).__name__} {key!r} at {'.'.join(path) or 'top level'}")
                items.append([key, self.encode(value, path + [str(key)])])
            return {"dict": items}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {kind: [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        if isinstance(obj, Module):
            raise TypeError("minigrad.save: save a module's state_dict() (model.state_dict()), "
                            "then model.load_state_dict(minigrad.load(path)); modules themselves "
                            "are code, not data, and are never pickled")
        raise TypeError(f"minigrad.save: cannot save a {type(obj).__name__} at "
                        f"{'.'.join(path) or 'top level'}; only tensors, arrays, numbers, strings, "
                        "booleans, None, and dicts/lists/tuples of them")


def save(obj, path):
    """Write ``obj`` (a state dict, an optimizer state, a checkpoint dict...) to ``path`` in
    minigrad's ``.npz`` format (see this module's docstring). ``path`` is used as given (no
    ``.npz`` is appended) and is replaced atomically; a binary file object works too."""
    writer = _Writer()
    tree = writer.encode(obj, [])
    header = json.dumps({"format": "minigrad", "version": FORMAT_VERSION, "tree": tree},
                        allow_nan=False).encode("utf-8")
    arrays = dict(writer.arrays)
    arrays[HEADER_KEY] = numpy.frombuffer(header, dtype=numpy.uint8)
    if hasattr(path, "write"):
        numpy.savez(path, **arrays)
        return
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            numpy.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _decode(node, archive, backend, where):
    from minigrad.tensor import Tensor
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) >= 1:
        if "dict" in node:
            return OrderedDict((k if isinstance(k, int) else str(k),
                                _decode(v, archive, backend, f"{where}.{k}"))
                               for k, v in node["dict"])
        if "list" in node:
            return [_decode(v, archive, backend, where) for v in node["list"]]
        if "tuple" in node:
            return tuple(_decode(v, archive, backend, where) for v in node["tuple"])
        if "tensor" in node:
            t = Tensor._wrap(backend.asarray(_entry(archive, node["tensor"], where)))
            if node.get("requires_grad"):
                t.requires_grad_(True)
            return t
        if "array" in node:
            return _entry(archive, node["array"], where)
        if "float" in node:
            return float(node["float"])
    raise ValueError(f"unrecognised header node {node!r} at {where or 'top level'}")


def _entry(archive, name, where):
    if not isinstance(name, str) or name not in archive.files:
        raise ValueError(f"the header names an array {name!r} (at {where or 'top level'}) "
                         "that the file does not contain")
    return archive[name]


# What a truncated or damaged archive raises while it is read (the zip, the .npy inside
# it, the JSON header), and what a header of the wrong shape raises in ``_decode``.
_CORRUPT = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, TypeError,
            AttributeError, UnicodeDecodeError)


def load(path, backend=None):
    """Read a file written by ``minigrad.save``: the same structure back, dicts as
    ``OrderedDict``, tensors on ``backend`` (default: the current backend), arrays as NumPy
    arrays. Never unpickles anything. Raises ``FileNotFoundError`` for a missing file and
    ``ValueError`` naming the file for one that is not a minigrad save, or is truncated or
    corrupt."""
    from minigrad.backends import current, get_backend
    target = current() if backend is None else get_backend(backend)
    name = path if isinstance(path, (str, bytes, os.PathLike)) else getattr(path, "name", "<file>")
    if isinstance(path, (str, bytes, os.PathLike)) and not os.path.exists(path):
        raise FileNotFoundError(f"minigrad.load: no such file: {os.fsdecode(path)!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"minigrad.load: {name!r} is not a minigrad save file (not a .npz "
                         "archive, or one truncated)")
    if not isinstance(path, (str, bytes, os.PathLike)):
        path.seek(0)
    try:
        archive = numpy.load(path, allow_pickle=False)
    except _CORRUPT as err:
        raise ValueError(f"minigrad.load: {name!r} is not a minigrad save file (not a readable "
                         f".npz archive: {err})") from None
    if not isinstance(archive, numpy.lib.npyio.NpzFile) or HEADER_KEY not in archive.files:
        raise ValueError(f"minigrad.load: {name!r} is not a minigrad save file (no "
                         f"'{HEADER_KEY}' header entry; it was not written by minigrad.save)")
    with archive:
        try:
            header = json.loads(archive[HEADER_KEY].tobytes().decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != "minigrad" \
                    or "tree" not in header:
                raise ValueError("its header is not minigrad's")
            version = header.get("version", 0)
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise ValueError(f"it uses format version {version!r}; this minigrad reads up "
                                 f"to version {FORMAT_VERSION}")
            return _decode(header["tree"], archive, target, "")
        except _CORRUPT as err:
            raise ValueError(f"minigrad.load: {name!r} is not a minigrad save file, or is "
                             f"truncated or corrupt: {err}") from None


def dumps(obj):
    """The bytes ``save`` would write (for tests and in-memory checkpoints)."""
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()
