"""How tensors and graphs look: PyTorch's tensor print, and the tape drawn as Graphviz DOT.

``format_tensor(t)`` is ``repr(t)``: ``tensor([[1., 2.]], requires_grad=True)`` with PyTorch's
default print options (4 decimals, scientific notation when the magnitudes span more than
10³ or leave [1e-4, 1e8], 1000 elements before summarizing with ``...``, 80 columns).

``draw(y)`` walks the recorded ops from ``y`` (``y.grad_fn`` and its ``next_functions``) and
returns the graph as Graphviz DOT text; with a ``path`` it also writes it, and renders an SVG
(or another ``format``) when the Graphviz ``dot`` program is installed. Nothing here is an
op: no forward math, no backward.
"""
import math
import shutil
import subprocess
import sys

import numpy

from minigrad.autograd import grad_fn_of
from minigrad.backends import backend_of_array

_PRECISION = 4
_THRESHOLD = 1000
_EDGEITEMS = 3
_LINEWIDTH = 80
_SHOWN_WITHOUT_DTYPE = ("float32", "int64", "bool", "complex64")


# ------------------------------------------------------------------ the tensor print
class _Formatter:
    """PyTorch's ``torch._tensor_str._Formatter``: one width and one style (integer-valued
    ``1.``, fixed ``1.5000`` or scientific ``1.0000e-05``) for all elements of a tensor."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat:
                self.width = max(self.width, len(str(v)))
            return
        finite = flat[numpy.isfinite(flat) & (flat != 0)].astype(numpy.float64)
        if finite.size == 0:
            return
        big, small = numpy.abs(finite).max(), numpy.abs(finite).min()
        self.int_mode = bool(numpy.all(finite == numpy.ceil(finite)))
        if self.int_mode:
            self.sci_mode = big / small > 1000.0 or big > 1.0e8
        else:
            self.sci_mode = big / small > 1000.0 or big > 1.0e8 or small < 1.0e-4
        for v in finite:
            self.width = max(self.width, len(self._plain(v)))

    def _plain(self, v):
        if self.sci_mode:
            return f"{v:.{_PRECISION}e}"
        if self.int_mode:
            text = f"{v:.0f}"
            return text if math.isinf(v) or math.isnan(v) else text + "."
        return f"{v:.{_PRECISION}f}"

    def __call__(self, v):
        text = self._plain(float(v)) if self.floating else str(v)
        return text.rjust(self.width)


def _complex_formatter(values):
    real, imag = _Formatter(values.real), _Formatter(values.imag)

    def fmt(v):
        im = imag(abs(v.imag)).strip()
        return f"{real(v.real)}{'-' if v.imag < 0 else '+'}{im}j"
    return fmt


def _summarized(values):
    """The elements PyTorch looks at to choose the format of a summarized tensor."""
    if values.size <= _THRESHOLD or values.ndim == 0:
        return values
    for axis in range(values.ndim):
        if values.shape[axis] > 2 * _EDGEITEMS:
            keep = numpy.r_[0:_EDGEITEMS, values.shape[axis] - _EDGEITEMS:values.shape[axis]]
            values = numpy.take(values, keep, axis=axis)
    return values


def _add_suffixes(text, suffixes, indent):
    """PyTorch's layout of ``, requires_grad=True``: on the last line when it fits in 80
    columns, else on a new line indented under the first element."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > _LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _device(tensor):
    backend = backend_of_array(tensor.data)
    if backend.name == "numpy":
        return None
    device = getattr(getattr(tensor.data, "device", None), "id", 0)
    return f"cuda:{device if isinstance(device, int) else 0}"


def format_tensor(tensor):
    """``repr(tensor)`` as PyTorch prints it.

    ``tensor([[1., 2.]], requires_grad=True)``; ``tensor([1, 2])``; ``tensor(3.5000)``;
    ``tensor([2., 4.], grad_fn=<MulBackward>)``; ``tensor([1., 2.], dtype=float64)`` (the
    dtype is shown unless it is float32, int64, bool or complex64; PyTorch writes
    ``torch.float64``); ``device='cuda:0'`` for a tensor on the CuPy backend (nothing for
    NumPy). Empty tensors print ``tensor([], size=(0, 3))`` as PyTorch."""
    values = backend_of_array(tensor.data).to_numpy(tensor.data)
    prefix = "tensor("
    suffixes = []
    device = _device(tensor)
    if device is not None:
        suffixes.append(f"device='{device}'")
    dtype = values.dtype.name
    if values.size == 0:
        body = "[]"
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype != "float32":
            suffixes.append(f"dtype={dtype}")
    else:
        if values.dtype.kind == "c":
            fmt = _complex_formatter(_summarized(values))
        else:
            fmt = _Formatter(_summarized(values))
        body = numpy.array2string(
            values, max_line_width=_LINEWIDTH, precision=_PRECISION, separator=", ",
            prefix=prefix, threshold=_THRESHOLD, edgeitems=_EDGEITEMS,
            formatter={"all": fmt}).replace(", ...,", ",  ...,")   # PyTorch's " ..." element
        if dtype not in _SHOWN_WITHOUT_DTYPE:
            suffixes.append(f"dtype={dtype}")
    if tensor._node is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, len(prefix))


# ------------------------------------------------------------------ the graph as DOT
def _quote(text):
    """A DOT string: backslashes and quotes escaped, line breaks as DOT's ``\\n``."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def _meta(shape, dtype):
    return f"{tuple(shape)} {numpy.dtype(dtype).name}"


def to_dot(tensors, params=None):
    """The Graphviz DOT text of the graph that made ``tensors`` (a tensor or a list).

    Nodes: one box per recorded op (``MulBackward`` with its output shapes and dtypes), one
    ellipse per leaf that requires grad (its shape and dtype, and its name when it is a value
    of ``params``, e.g. ``dict(model.named_parameters())``), the outputs drawn bold. Edges: the
    tensors, from the op (or leaf) that made them to the op that used them, labelled with
    their shape. Draw before ``backward()`` (or after ``backward(retain_graph=True)``): a
    backward without it frees each op's inputs, and only the last op is left to draw."""
    from minigrad.tensor import Tensor
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    names = {id(p): name for name, p in (params or {}).items()}
    lines = ["digraph minigrad {", '  graph [rankdir=BT, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];']
    ids = {}

    def node_id(key):
        if key not in ids:
            ids[key] = f"n{len(ids)}"
        return ids[key]

    def leaf(t):
        key = ("leaf", id(t))
        if key not in ids:
            label = _meta(t.shape, t.dtype)
            if id(t) in names:
                label = f"{names[id(t)]}\n{label}"
            lines.append(f"  {node_id(key)} [label={_quote(label)}, shape=ellipse, "
                         f"style=filled, fillcolor=lightblue];")
        return ids[key]

    seen, stack = set(), []
    for r in roots:
        if r._node is None:
            lid = leaf(r)
            lines.append(f"  {lid} [penwidth=2];")
        else:
            stack.append(r._node)
    root_nodes = {id(r._node) for r in roots if r._node is not None}
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nid = node_id(("op", id(node)))
        metas = "\n".join(_meta(s, d) for s, d in node.out_meta)
        color = "darkolivegreen1, penwidth=2" if id(node) in root_nodes else "lightgrey"
        label = grad_fn_of(node).name() + "\n" + metas
        lines.append(f"  {nid} [label={_quote(label)}, shape=box, style=filled, "
                     f"fillcolor={color}];")
        for t in node.inputs:
            if t is None:
                continue
            if t._node is None:
                src = leaf(t)
            else:
                src = node_id(("op", id(t._node)))
                stack.append(t._node)
            lines.append(f"  {src} -> {nid} [label={_quote(tuple(t.shape))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(tensor, path=None, format="svg", params=None):  # noqa: A002  (graphviz's name)
    """Draw the graph that made ``tensor`` (a loss, say); returns the Graphviz DOT text.

    ``path`` (default None: only return the text): a file name. ``foo.dot`` gets the DOT
    text; any other name (``graph.svg``) gets the DOT text beside it (``graph.dot``) and the
    picture rendered by the Graphviz ``dot`` program in ``format`` (default ``'svg'``; any
    ``dot -T`` format) when ``dot`` is installed; when it is not, only the ``.dot`` file is
    written and a note says so on stderr (no error; render it later with
    ``dot -Tsvg graph.dot -o graph.svg``). ``params``: ``dict(model.named_parameters())`` to
    name the leaves that are parameters. See ``to_dot`` for what is drawn. Uses no Python
    graphviz package. (PyTorch has no built-in twin; ``torchviz.make_dot`` is the closest.)
    """
    text = to_dot(tensor, params)
    if path is None:
        return text
    path = str(path)
    if path.endswith(".dot"):
        with open(path, "w") as f:
            f.write(text)
        return text
    stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    dot_path = stem + ".dot"
    with open(dot_path, "w") as f:
        f.write(text)
    program = shutil.which("dot")
    if program is None:
        print(f"minigrad.viz.draw: Graphviz 'dot' is not installed; wrote {dot_path} only "
              f"(render it with: dot -T{format} {dot_path} -o {path})", file=sys.stderr)
        return text
    subprocess.run([program, f"-T{format}", dot_path, "-o", path], check=True,
                   capture_output=True)
    return text
