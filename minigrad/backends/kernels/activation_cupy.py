"""Elementwise activation kernels for the GPU: one CUDA ``ElementwiseKernel`` per
forward and per backward (CuPy's own chain would launch one kernel per NumPy-style
operation). Same functions and signatures as ``activation_ref``."""
import cupy

_PREAMBLE = r"""
template <typename T> __device__ T mg_sigmoid(T x) {
    if (x >= 0) return (T)1 / ((T)1 + exp(-x));
    T e = exp(x);
    return e / ((T)1 + e);
}
template <typename T> __device__ T mg_softplus(T x) {
    return (x > (T)0 ? x : (T)0) + log1p(exp(-fabs(x)));
}
"""


def _kernel(params, out, body, name):
    return cupy.ElementwiseKernel(params, out, body, name, preamble=_PREAMBLE)


_relu_backward = _kernel("T gy, T y", "T dx", "dx = y > (T)0 ? gy : gy * (T)0",
                         "minigrad_relu_backward")
_gelu = _kernel("T x", "T y", "y = (T)0.5 * x * ((T)1 + erf(x * (T)0.7071067811865476))",
                "minigrad_gelu")
_gelu_backward = _kernel(
    "T gy, T x", "T dx",
    "T cdf = (T)0.5 * ((T)1 + erf(x * (T)0.7071067811865476));"
    "dx = gy * (cdf + x * (T)0.3989422804014327 * exp((T)-0.5 * x * x))",
    "minigrad_gelu_backward")
_gelu_tanh = _kernel(
    "T x", "T y",
    "y = (T)0.5 * x * ((T)1 + tanh((T)0.7978845608028654 * (x + (T)0.044715 * x * x * x)))",
    "minigrad_gelu_tanh")
_gelu_tanh_backward = _kernel(
    "T gy, T x", "T dx",
    "T t = tanh((T)0.7978845608028654 * (x + (T)0.044715 * x * x * x));"
    "T du = (T)0.7978845608028654 * ((T)1 + (T)0.134145 * x * x);"
    "dx = gy * ((T)0.5 * ((T)1 + t) + (T)0.5 * x * ((T)1 - t * t) * du)",
    "minigrad_gelu_tanh_backward")
_silu = _kernel("T x", "T y", "y = x * mg_sigmoid(x)", "minigrad_silu")
_silu_backward = _kernel("T gy, T x", "T dx",
                         "T s = mg_sigmoid(x); dx = gy * s * ((T)1 + x * ((T)1 - s))",
                         "minigrad_silu_backward")
_mish = _kernel("T x", "T y", "y = x * tanh(mg_softplus(x))", "minigrad_mish")
_mish_backward = _kernel(
    "T gy, T x", "T dx",
    "T t = tanh(mg_softplus(x)); dx = gy * (t + x * ((T)1 - t * t) * mg_sigmoid(x))",
    "minigrad_mish_backward")


def relu_backward(gy, y):
    if gy.shape != y.shape or gy.dtype != y.dtype:
        return gy * (y > 0)
    return _relu_backward(gy, y)


def gelu_forward(x):
    return _gelu(x)


def gelu_backward(gy, x):
    return _gelu_backward(gy, x)


def gelu_tanh_forward(x):
    return _gelu_tanh(x)


def gelu_tanh_backward(gy, x):
    return _gelu_tanh_backward(gy, x)


def silu_forward(x):
    return _silu(x)


def silu_backward(gy, x):
    return _silu_backward(gy, x)


def mish_forward(x):
    return _mish(x)


def mish_backward(gy, x):
    return _mish_backward(gy, x)
