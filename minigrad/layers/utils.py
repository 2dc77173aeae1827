"""``minigrad.nn.utils``: PyTorch's ``torch.nn.utils`` helpers for parameters and their
gradients.

``clip_grad_norm_`` and ``clip_grad_value_`` live in ``minigrad.optim.clip`` (with the
registry entries that test them) and are re-exported here; ``parameters_to_vector`` and
``vector_to_parameters`` flatten a model's parameters into one vector and back (for
line searches, flat optimizers, weight averaging, Hessian-vector products).
"""
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim.clip import clip_grad_norm_, clip_grad_value_  # noqa: F401  (re-exported)
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _as_list(parameters, op):
    if isinstance(parameters, Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected an iterable of Tensors, got a "
                            f"{type(p).__name__} at position {i}")
    return params


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter, flattened and concatenated in order
    (``torch.nn.utils.parameters_to_vector(parameters)``):

        v = concat(p₁.reshape(-1), p₂.reshape(-1), ...)

    Built from the registered ``reshape`` and ``concatenate`` ops, so it is differentiable:
    backward splits dv back into the parameters' shapes (the backwards of Concatenate and
    Reshape). Every parameter must be on the same backend; their dtypes are promoted as
    ``cat`` does (PyTorch requires one device and promotes the same way).
    """
    from minigrad.ops.shape import concatenate, reshape
    params = _as_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters (an empty iterable)")
    backends = {backend_of_array(p.data).name for p in params}
    if len(backends) > 1:
        raise ValueError(f"parameters_to_vector: parameters live on different backends "
                         f"{sorted(backends)}; move them to one with Module.to(...)")
    return concatenate([reshape(p, (-1,)) for p in params], 0)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters``, in order
    (``torch.nn.utils.vector_to_parameters(vec, parameters)``): pᵢ ← vec[oᵢ : oᵢ + nᵢ]
    reshaped to pᵢ's shape, with oᵢ the sum of the earlier sizes.

    In place, under ``no_grad`` (each parameter's version counter is bumped, as for any
    in-place edit); not recorded, so there is no backward. Deviation from PyTorch: PyTorch
    rebinds ``param.data`` to a view of ``vec`` (the parameters then share ``vec``'s
    memory); minigrad copies, so a later change of ``vec`` does not reach the parameters.
    ``vec`` must hold exactly as many elements as the parameters together.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = _as_list(parameters, "vector_to_parameters")
    total = sum(int(p.data.size) for p in params)
    if total != vec.shape[0]:
        raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} elements but the "
                         f"parameters hold {total}")
    offset = 0
    with no_grad():
        for p in params:
            n = int(p.data.size)
            piece = vec.data[offset:offset + n].reshape(p.data.shape)
            target = backend_of_array(p.data)
            if backend_of_array(piece) is not target:
                piece = target.asarray(Tensor._wrap(piece).numpy())
            p.data[...] = piece
            p._version += 1
            offset += n
