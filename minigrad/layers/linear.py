"""Fully connected layers: ``linear`` / ``Linear`` (catalog B001) and ``bilinear`` / ``Bilinear``."""
import math

from minigrad.dtypes import check_same_dtype
from minigrad.autograd import Function
from minigrad.backends import current
from minigrad.layers import init
from minigrad.layers.module import Module, Parameter
from minigrad.registry import Case, register

__all__ = ["Linear", "Bilinear"]  # Modules; functions: minigrad.functional


class LinearFunction(Function):
    """Affine map y = x Wᵀ + b with W of shape (out, in), batched over any leading axes of x
    (one fused op instead of transpose + matmul + add).

    Backward, with x and dy flattened to matrices X (n, in) and G (n, out) over the
    leading axes:  dx = dy W,  dW = Gᵀ X,  db = Σ_n G  (y_ij = Σ_k x_ik W_jk + b_j gives
    ∂y_ij/∂x_ik = W_jk, ∂y_ij/∂W_jk = x_ik, ∂y_ij/∂b_j = 1).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, weight, bias):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} does not match a weight of "
                             f"shape {weight.shape} (out_features, in_features)")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias of shape {bias.shape} for a weight of shape "
                             f"{weight.shape}; expected ({weight.shape[0]},)")
        ctx.save_for_backward(x, weight)
        # leading axes flattened: one large GEMM (a stack of small ones is 2-3× slower)
        y = (_matrix(x) @ weight.T).reshape(x.shape[:-1] + (weight.shape[0],))
        if bias is not None:
            y += bias                   # y is this op's own array
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g = _matrix(gy)                 # once: a copy when gy is not contiguous
        gx = (g @ weight).reshape(x.shape) if needs[0] else None
        gw = g.T @ _matrix(x) if needs[1] else None
        gb = g.sum(axis=0) if len(needs) > 2 and needs[2] else None
        return gx, gw, gb


def _matrix(a):
    """a (..., k) as a matrix (n, k), n spelled out: −1 is ambiguous when k or n is 0."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def linear(x, weight, bias=None):
    """y = x Wᵀ + b (``torch.nn.functional.linear``): ``weight`` is (out_features,
    in_features), ``bias`` (out_features,) or None; any leading axes of x are batch axes.

    Primitive (an affine map; no introducing paper).
    """
    check_same_dtype("linear", x, weight, bias)
    return LinearFunction.apply(x, weight, bias)


class Linear(Module):
    """``Linear(in_features, out_features, bias=True)``: y = x Wᵀ + b.

    Initialised like PyTorch: W ~ kaiming_uniform(a=√5), i.e. U(±1/√in_features), and
    b ~ U(±1/√in_features). ``generator`` draws the initial values (default: the backend's).
    """

    def __init__(self, in_features, out_features, bias=True, dtype="float32", generator=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        xp = current().xp
        self.weight = Parameter(xp.empty((out_features, in_features), dtype=dtype))
        self.register_parameter("bias", Parameter(xp.empty((out_features,), dtype=dtype))
                                if bias else None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def bilinear(x1, x2, weight, bias=None):
    """y_o = x1ᵀ A_o x2 + b_o (``torch.nn.functional.bilinear``); ``weight`` is
    (out, in1, in2). Built from einsum, whose backward is the exact derivative."""
    from minigrad.ops.linalg import einsum
    from minigrad.ops.shape import reshape
    lead = x1.shape[:-1]
    a = reshape(x1, (math.prod(lead), x1.shape[-1]))
    b = reshape(x2, (math.prod(lead), x2.shape[-1]))
    y = einsum("ni,oij,nj->no", a, weight, b)
    if bias is not None:
        y = y + bias
    return reshape(y, lead + (weight.shape[0],))


class Bilinear(Module):
    """``Bilinear(in1_features, in2_features, out_features, bias=True)``; init U(±1/√in1) as PyTorch.

    y_k = x₁ᵀ A_k x₂ + b_k (see ``F.bilinear``).
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, dtype="float32",
                 generator=None):
        super().__init__()
        xp = current().xp
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(xp.empty((out_features, in1_features, in2_features), dtype=dtype))
        bound = 1 / math.sqrt(in1_features) if in1_features > 0 else 0
        init.uniform_(self.weight, -bound, bound, generator=generator)
        if bias:
            self.bias = Parameter(xp.empty((out_features,), dtype=dtype))
            init.uniform_(self.bias, -bound, bound, generator=generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, x1, x2):
        return bilinear(x1, x2, self.weight, self.bias)


register(linear, kind="layer", catalog_id="B001", module=Linear,
         papers=["MgNO: Efficient Parameterization of Linear Operators via Multigrid",
                 "Deep Residual Learning for Image Recognition",
                 "Malware Detection by Eating a Whole EXE", "LSNet: See Large, Focus Small"],
         inputs=lambda r: [Case(r.standard_normal((3, 4)), r.standard_normal((5, 4)),
                                r.standard_normal(5)),
                           Case(r.standard_normal((2, 3, 4)), r.standard_normal((2, 4))),
                           Case(r.standard_normal(4), r.standard_normal((3, 4)),
                                bias=r.standard_normal(3))])

