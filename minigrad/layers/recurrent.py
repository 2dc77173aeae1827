"""Recurrent layers with PyTorch's arguments, parameter names and gate order: ``RNN``
(Elman 1990), ``LSTM`` (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
2000) and ``GRU`` (Cho et al. 2014), multi-layer, bidirectional, ``batch_first``, and their
single-step cells ``RNNCell``, ``LSTMCell``, ``GRUCell``.

They are compositions of registered differentiable ops (``linear``, ``sigmoid``, ``tanh``,
``relu``, ``split``, ``stack``, ``cat``), unrolled over time: backpropagation through time
is the chain rule through that graph (each op's own backward), and second derivatives come
for free. The input projection W_ih x + b_ih of the whole sequence is one ``linear`` call
per layer and direction; the recurrence then adds W_hh h + b_hh at every step.
"""
import math
import warnings

from minigrad.backends import backend_of_array, current
from minigrad.layers import init
from minigrad.layers.activations.rectifiers import relu
from minigrad.layers.linear import linear
from minigrad.layers.module import Module, Parameter
from minigrad.ops.elementwise import sigmoid, tanh
from minigrad.ops.random import dropout as _dropout
from minigrad.ops.shape import concatenate, split, stack, transpose
from minigrad.tensor import Tensor

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ------------------------------------------------------------------ one time step
def _rnn_step(gi, h, w_hh, b_hh, act):
    """Elman: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu."""
    return act(gi + linear(h, w_hh, b_hh))


def _lstm_step(gi, h, c, w_hh, b_hh):
    """LSTM, PyTorch's gate order (i, f, g, o) in the rows of the weights:
    i = σ(·), f = σ(·), g = tanh(·), o = σ(·) of W_i* x + b_i* + W_h* h + b_h*;
    c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')."""
    i, f, g, o = split(gi + linear(h, w_hh, b_hh), h.shape[-1], -1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c), c


def _gru_step(gi, h, w_hh, b_hh):
    """GRU, PyTorch's gate order (r, z, n): r = σ(W_ir x + b_ir + W_hr h + b_hr),
    z = σ(W_iz x + b_iz + W_hz h + b_hz), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h' = (1 − z) ⊙ n + z ⊙ h  (the reset gate multiplies W_hn h + b_hn, as in PyTorch and
    cuDNN; Cho et al. apply it to h before W_hn)."""
    i_r, i_z, i_n = split(gi, h.shape[-1], -1)
    h_r, h_z, h_n = split(linear(h, w_hh, b_hh), h.shape[-1], -1)
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    n = tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def _zeros(shape, like):
    """A constant zero tensor of ``shape`` on ``like``'s backend and dtype (the default state)."""
    return Tensor._wrap(backend_of_array(like.data).xp.zeros(shape, dtype=like.dtype))


class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (PyTorch's ``nn.RNNBase``):
    parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``
    (``..._reverse`` for the backward direction), in PyTorch's order, all initialised
    U(−1/√H, 1/√H); the gates of a layer are stacked in the rows of its weights."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 dtype="float32", generator=None):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size),
                           ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {value!r}")
        if not 0.0 <= dropout <= 1.0 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size={proj_size} (LSTM with projections) "
                                      "is not supported; use proj_size=0")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} and num_layers=1: dropout is applied "
                          "between layers only, so it has no effect", stacklevel=3)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        directions = 2 if bidirectional else 1
        gates = _GATES[mode] * hidden_size
        xp = current().xp
        names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gates, layer_input)), ("weight_hh", (gates, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                for stem, shape in shapes:
                    setattr(self, stem + suffix, Parameter(xp.empty(shape, dtype=dtype)))
                    names.append(stem + suffix)
        self._flat_weights_names = names
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Every weight and bias ~ U(−1/√H, 1/√H) (PyTorch's initialisation)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator)

    def flatten_parameters(self):
        """A no-op, kept for PyTorch scripts (cuDNN's weight layout does not apply here)."""

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda stem: getattr(self, stem + suffix, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _check_hidden(self, h, expected, what):
        if tuple(h.shape) != expected:
            raise ValueError(f"{type(self).__name__}: {what} of shape {tuple(h.shape)}, "
                             f"expected {expected} (num_layers * num_directions, batch, "
                             "hidden_size)")

    def forward(self, input, hx=None):
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: input must be 2-D (L, H_in) unbatched or 3-D "
                             f"({'N, L' if self.batch_first else 'L, N'}, H_in), got shape "
                             f"{tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input of shape {tuple(input.shape)} has "
                             f"{input.shape[-1]} features, expected input_size={self.input_size}")
        if input.dtype != self.weight_ih_l0.dtype:
            raise TypeError(f"{name}: input dtype {input.dtype} does not match the parameters' "
                            f"{self.weight_ih_l0.dtype} (call .double() or .float() on one)")
        batched = input.ndim == 3
        x = input
        if not batched:
            x = x.reshape((x.shape[0], 1, x.shape[1]))
        elif self.batch_first:
            x = transpose(x, 0, 1)
        seq_len, n = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, n, self.hidden_size)
        lstm = self.mode == "LSTM"
        h0 = c0 = None
        if hx is not None:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0 = hx
            if not batched:
                h0 = h0.reshape((h0.shape[0], 1, h0.shape[-1]))
                c0 = None if c0 is None else c0.reshape((c0.shape[0], 1, c0.shape[-1]))
            self._check_hidden(h0, expected, "h_0")
            if c0 is not None:
                self._check_hidden(c0, expected, "c_0")
        zero = _zeros((n, self.hidden_size), x)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
                gi = linear(x, w_ih, b_ih)                       # (L, N, gates·H), all steps
                h = zero if h0 is None else h0[k]
                c = zero if c0 is None and lstm else (c0[k] if lstm else None)
                steps = range(seq_len - 1, -1, -1) if direction else range(seq_len)
                seq = []
                for t in steps:
                    if lstm:
                        h, c = _lstm_step(gi[t], h, c, w_hh, b_hh)
                    elif self.mode == "GRU":
                        h = _gru_step(gi[t], h, w_hh, b_hh)
                    else:
                        h = _rnn_step(gi[t], h, w_hh, b_hh,
                                      tanh if self.mode == "RNN_TANH" else relu)
                    seq.append(h)
                if direction:
                    seq.reverse()
                outs.append(stack(seq, 0))
                h_n.append(h)
                if lstm:
                    c_n.append(c)
            x = outs[0] if directions == 1 else concatenate(outs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout)
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if lstm else None
        if not batched:
            x = x.reshape((seq_len, x.shape[-1]))
            h_n = h_n.reshape((h_n.shape[0], h_n.shape[-1]))
            c_n = None if c_n is None else c_n.reshape((c_n.shape[0], c_n.shape[-1]))
        elif self.batch_first:
            x = transpose(x, 0, 1)
        return (x, (h_n, c_n)) if lstm else (x, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for attr, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, attr) != default:
                s += f", {attr}={getattr(self, attr)}"
        return s


class RNN(RNNBase):
    """Elman RNN (Elman 1990, "Finding Structure in Time"), PyTorch's ``nn.RNN(input_size,
    hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``:

        h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),   act = tanh or relu

    ``forward(input, hx=None)``: input (L, N, H_in) ((N, L, H_in) with ``batch_first``, or
    (L, H_in) unbatched), hx (num_layers·D, N, H) (zeros by default), D = 2 if bidirectional.
    Returns (output, h_n): output (L, N, D·H) the last layer's h_t (forward and backward
    directions concatenated), h_n (num_layers·D, N, H) the final states, ordered layer by
    layer, forward before backward. ``dropout`` acts on the outputs of every layer but the
    last, in training mode. Parameters: see ``RNNBase``.
    Backward: backpropagation through time, the exact chain rule through the unrolled graph
    of registered ops (``linear``, ``tanh``/``relu``, ``stack``, ``cat``).
    Extra (not in PyTorch): ``dtype``, ``generator`` for the initial weights.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype="float32",
                 generator=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; accepted: 'tanh', 'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, generator=generator)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory"; the
    forget gate of Gers, Schmidhuber & Cummins 2000), PyTorch's ``nn.LSTM(input_size,
    hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0)``, gates in PyTorch's row order (i, f, g, o):

        i = σ(W_ii x + b_ii + W_hi h + b_hi),  f = σ(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg), o = σ(W_io x + b_io + W_ho h + b_ho)
        c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    ``forward(input, hx=None)`` with hx = (h_0, c_0) (zeros by default); returns
    (output, (h_n, c_n)); shapes and directions as in ``RNN``. Backward: backpropagation
    through time through the registered ops. ``proj_size`` > 0 is not supported (raises).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, dtype="float32", generator=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, dtype, generator)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al. 2014, "Learning Phrase Representations using RNN
    Encoder-Decoder for Statistical Machine Translation"), PyTorch's ``nn.GRU(input_size,
    hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``, gates in PyTorch's row order (r, z, n):

        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    (PyTorch's form: the reset gate multiplies W_hn h + b_hn; the paper resets h before
    W_hn). Returns (output, h_n); shapes as in ``RNN``. Backward: backpropagation through
    time through the registered ops.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype="float32", generator=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype=dtype, generator=generator)


# ------------------------------------------------------------------ cells
class _CellBase(Module):
    def __init__(self, input_size, hidden_size, bias, gates, dtype, generator):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        xp = current().xp
        self.weight_ih = Parameter(xp.empty((gates * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(xp.empty((gates * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(xp.empty((gates * hidden_size,), dtype=dtype))
            self.bias_hh = Parameter(xp.empty((gates * hidden_size,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator)

    def _prepare(self, input, hx):
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input must be (N, {self.input_size}) or "
                             f"({self.input_size},), got shape {tuple(input.shape)}")
        batched = input.ndim == 2
        x = input if batched else input.reshape((1, input.shape[0]))
        return x, batched, _zeros((x.shape[0], self.hidden_size), x)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """One step of ``RNN`` (Elman 1990, "Finding Structure in Time"), PyTorch's
    ``nn.RNNCell(input_size, hidden_size,
    bias=True, nonlinearity='tanh')``: h' = act(W_ih x + b_ih + W_hh h + b_hh).
    ``forward(input, hx=None)`` → h'. Backward: through the registered ops."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh",
                 dtype="float32", generator=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; accepted: 'tanh', 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, batched, zero = self._prepare(input, hx)
        h = zero if hx is None else (hx if batched else hx.reshape((1, hx.shape[0])))
        h = _rnn_step(linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh,
                      tanh if self.nonlinearity == "tanh" else relu)
        return h if batched else h.reshape((h.shape[-1],))


class LSTMCell(_CellBase):
    """One step of ``LSTM`` (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory"),
    PyTorch's ``nn.LSTMCell(
    input_size, hidden_size, bias=True)``: gates (i, f, g, o), c' = f ⊙ c + i ⊙ g,
    h' = o ⊙ tanh(c'). ``forward(input, hx=None)`` with hx = (h, c) → (h', c').
    Backward: through the registered ops."""

    def __init__(self, input_size, hidden_size, bias=True, dtype="float32", generator=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype, generator)

    def forward(self, input, hx=None):
        x, batched, zero = self._prepare(input, hx)
        if hx is None:
            h, c = zero, zero
        else:
            h, c = hx
            if not batched:
                h, c = h.reshape((1, h.shape[0])), c.reshape((1, c.shape[0]))
        h, c = _lstm_step(linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                          self.bias_hh)
        if not batched:
            h, c = h.reshape((h.shape[-1],)), c.reshape((c.shape[-1],))
        return h, c


class GRUCell(_CellBase):
    """One step of ``GRU`` (Cho et al. 2014, "Learning Phrase Representations using RNN
    Encoder-Decoder for Statistical Machine Translation"), PyTorch's ``nn.GRUCell(input_size,
    hidden_size, bias=True)``: gates (r, z, n), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h' = (1 − z) ⊙ n + z ⊙ h. ``forward(input, hx=None)`` → h'. Backward: through the
    registered ops."""

    def __init__(self, input_size, hidden_size, bias=True, dtype="float32", generator=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype, generator)

    def forward(self, input, hx=None):
        x, batched, zero = self._prepare(input, hx)
        h = zero if hx is None else (hx if batched else hx.reshape((1, hx.shape[0])))
        h = _gru_step(linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.reshape((h.shape[-1],))
