"""Issue 11, reductions and shape ops with PyTorch's API: var/std's unbiased default,
max/min's (values, indices), Tensor.size(), dim=/keepdim= everywhere (with NumPy's
aliases), prod, norm, chunk, amax/amin, F.pad's flat tuples and modes, nn.Flatten.
Values are compared with NumPy or with PyTorch's documented results written out."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.gradcheck import gradcheck, gradgradcheck

F = mg.F


def _t(x, grad=False):
    return mg.tensor(np.asarray(x, dtype=np.float64), dtype="float64", requires_grad=grad)


def _check(fn, *tensors):
    assert gradcheck(fn, list(tensors))
    assert gradgradcheck(fn, list(tensors))


X = np.array([[1.0, 4.0, 2.0, 8.0], [3.0, -1.0, 5.0, 0.5], [2.0, 2.0, 7.0, -3.0]])


# ------------------------------------------------------------------ var / std
def test_var_std_default_is_unbiased_like_pytorch(backend):
    x = _t(X)
    np.testing.assert_allclose(x.var().item(), np.var(X, ddof=1))
    np.testing.assert_allclose(x.std().item(), np.std(X, ddof=1))
    np.testing.assert_allclose(mg.var(x, 1).numpy(), np.var(X, axis=1, ddof=1))
    np.testing.assert_allclose(x.std(dim=0, keepdim=True).numpy(), np.std(X, axis=0, ddof=1, keepdims=True))
    # torch.var([1., 2., 3., 4.]) = 1.6667 (unbiased), 1.25 with correction=0
    v = _t([1.0, 2.0, 3.0, 4.0])
    assert v.var().item() == pytest.approx(5 / 3)
    assert v.var(correction=0).item() == pytest.approx(1.25)


@pytest.mark.parametrize("op,ref", [("var", np.var), ("std", np.std)])
def test_var_std_correction_spellings(op, ref):
    x, fn = _t(X), getattr(mg, op)
    pop, unb = ref(X, axis=1, ddof=0), ref(X, axis=1, ddof=1)
    np.testing.assert_allclose(fn(x, 1, correction=0).numpy(), pop)
    np.testing.assert_allclose(fn(x, dim=1, unbiased=False).numpy(), pop)
    np.testing.assert_allclose(fn(x, axis=1, ddof=0).numpy(), pop)
    np.testing.assert_allclose(fn(x, 1, True).numpy(), unb)            # legacy (input, dim, unbiased)
    np.testing.assert_allclose(fn(x, 1, False, True).numpy(), ref(X, axis=1, keepdims=True))
    np.testing.assert_allclose(fn(x, False).item(), ref(X))           # legacy (input, unbiased)
    np.testing.assert_allclose(getattr(x, op)(0, correction=2).numpy(), ref(X, axis=0, ddof=2))
    with pytest.raises(TypeError, match=f"{op}: got correction=0 and unbiased=True"):
        fn(x, 1, correction=0, unbiased=True)
    with pytest.raises(TypeError, match="ddof"):
        fn(x, correction=1, ddof=1)
    with pytest.raises(TypeError, match=f"{op}: got both dim=1 and its NumPy alias axis=0"):
        fn(x, 1, axis=0)
    with pytest.raises(TypeError, match="accepted: .*correction"):
        fn(x, dims=1)


def test_std_unbiased_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    _check(lambda a: a.std(1), _t(rng.standard_normal((3, 5)), True))
    _check(lambda a: a.var(0, keepdim=True), _t(rng.standard_normal((4, 2)), True))
    x = _t([1.0, 3.0, 6.0], True)
    x.var().backward()                      # d/dx Σ(x−m)²/(n−1) = 2(x−m)/(n−1)
    np.testing.assert_allclose(x.grad.numpy(), [2 * (1 - 10 / 3) / 2, 2 * (3 - 10 / 3) / 2,
                                                 2 * (6 - 10 / 3) / 2])


# ------------------------------------------------------------------ max / min
def test_max_forms_follow_pytorch(backend):
    x = _t(X)
    whole = mg.max(x)
    assert whole.shape == () and whole.item() == 8.0
    out = mg.max(x, 1)
    assert type(out).__name__ == "max" and out._fields == ("values", "indices")
    np.testing.assert_array_equal(out.values.numpy(), [8.0, 5.0, 7.0])
    np.testing.assert_array_equal(out.indices.numpy(), [3, 2, 2])
    assert out.indices.dtype == np.int64
    kept = x.max(dim=0, keepdim=True)
    assert kept.values.shape == (1, 4) and kept.indices.shape == (1, 4)
    np.testing.assert_array_equal(kept.indices.numpy(), [[1, 0, 2, 0]])
    np.testing.assert_array_equal(x.max(1)[1].numpy(), [3, 2, 2])         # torch.max(out, 1)[1]
    values, indices = x.min(-1)
    np.testing.assert_array_equal(values.numpy(), [1.0, -1.0, -3.0])
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 3])
    assert mg.min(x).item() == -3.0
    # max(input, other): elementwise
    y = _t(np.zeros_like(X))
    np.testing.assert_array_equal(mg.max(x, y).numpy(), np.maximum(X, 0))
    np.testing.assert_array_equal(mg.min(x, other=y).numpy(), np.minimum(X, 0))
    np.testing.assert_array_equal(x.max(y).numpy(), np.maximum(X, 0))
    # NumPy's spelling keeps NumPy's result (values only)
    np.testing.assert_array_equal(x.max(axis=1, keepdims=True).numpy(), X.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(x.min(axis=(0, 1)).numpy(), X.min())
    # 0-d input, dim 0
    s = mg.max(_t(2.5), 0)
    assert s.values.shape == () and s.indices.item() == 0


def test_max_min_errors_name_the_op():
    x = _t(X)
    with pytest.raises(TypeError, match="max: dim must be one int.*amax"):
        mg.max(x, dim=(0, 1))
    with pytest.raises(IndexError, match=r"min: dim 2 is out of range for a tensor of shape \(3, 4\)"):
        x.min(2)
    with pytest.raises(TypeError, match="accepted: .*dim, keepdim, other"):
        x.max(dims=1)
    with pytest.raises(ValueError, match="max: dim 1 of the tensor of shape"):
        mg.max(_t(np.zeros((2, 0))), 1)


def test_max_dim_gradient_goes_to_the_returned_index_amax_splits():
    relu_like = np.array([[0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])   # ties after a ReLU
    x = _t(relu_like, True)
    x.max(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0, 1], [1, 0, 0, 0]])   # PyTorch's rule
    x = _t(relu_like, True)
    x.min(dim=0).values.sum().backward()          # columns 0-2 tie: all to row 0 (the first)
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1, 1, 0], [0, 0, 0, 1]])
    x = _t(relu_like, True)
    x.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0, 0, 1], [0.25] * 4])        # split evenly
    x = _t(relu_like, True)
    mg.amin(x, dim=1, keepdim=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, 1 / 3, 1 / 3, 0], [0.25] * 4])
    x = _t(relu_like, True)
    mg.max(x).backward()                           # the full max: one maximum here
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0, 1], [0, 0, 0, 0]])
    rng = np.random.default_rng(1)
    _check(lambda a: mg.max(a, 1, keepdim=True).values, _t(rng.permutation(12).reshape(3, 4) * 0.5, True))
    _check(lambda a: a.min(0).values, _t(rng.permutation(12).reshape(3, 4) * 0.5, True))


def test_amax_amin_values(backend):
    x = _t(np.arange(24.0).reshape(2, 3, 4) % 7)
    a = x.numpy()
    np.testing.assert_array_equal(mg.amax(x, (0, 2)).numpy(), a.max(axis=(0, 2)))
    np.testing.assert_array_equal(x.amin(1, keepdim=True).numpy(), a.min(axis=1, keepdims=True))
    np.testing.assert_array_equal(x.amax().numpy(), a.max())


def test_order_statistics_are_named_tuples_with_dim_and_keepdim():
    x = _t(X)
    med = x.median(dim=1, keepdim=True)
    assert med._fields == ("values", "indices") and med.values.shape == (3, 1)
    np.testing.assert_array_equal(med.values.numpy().ravel(), [2.0, 0.5, 2.0])   # lower median
    kth = mg.kthvalue(x, 2, dim=0, keepdim=False)
    np.testing.assert_array_equal(kth.values.numpy(), np.sort(X, axis=0)[1])
    np.testing.assert_array_equal(kth.indices.numpy(), np.argsort(X, axis=0, kind="stable")[1])
    top = x.topk(2, dim=1)
    np.testing.assert_array_equal(top.values.numpy(), -np.sort(-X, axis=1)[:, :2])
    srt = x.sort(dim=0, descending=True)
    np.testing.assert_array_equal(srt.values.numpy(), -np.sort(-X, axis=0))
    assert type(srt).__name__ == "sort" and type(top).__name__ == "topk"
    np.testing.assert_array_equal(mg.cumsum(x, dim=1).numpy(), np.cumsum(X, axis=1))
    np.testing.assert_array_equal(x.cumsum(axis=0).numpy(), np.cumsum(X, axis=0))
    with pytest.raises(TypeError, match="median.*accepted: x, dim, keepdim"):
        x.median(dims=1)


# ------------------------------------------------------------------ size / dim / numel
def test_size_is_pytorchs_method(backend):
    x = mg.zeros(2, 3, 4) if False else _t(np.zeros((2, 3, 4)))
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple)
    assert x.size(0) == 2 and x.size(-1) == 4 and x.size(1) == 3
    assert x.size().numel() == 24 and x.numel() == 24
    assert x.dim() == 3 and x.ndimension() == 3
    assert repr(x.size()) == "minigrad.Size([2, 3, 4])"
    with pytest.raises(IndexError, match=r"dim 3 is out of range for a tensor of shape \(2, 3, 4\)"):
        x.size(3)
    with pytest.raises(IndexError, match=r"shape \(\)"):
        _t(1.0).size(0)
    assert _t(1.0).size() == () and _t(1.0).numel() == 1


# ------------------------------------------------------------------ dim= / keepdim= everywhere
@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp", "amax", "amin", "prod"])
def test_reductions_take_dim_and_keepdim(name, backend):
    from minigrad.ops import reductions
    x = _t(X)
    ref = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min, "prod": np.prod,
           "logsumexp": lambda a, axis, keepdims: np.log(np.exp(a).sum(axis=axis, keepdims=keepdims))}[name]
    fn = getattr(reductions, name)
    np.testing.assert_allclose(getattr(mg, name)(x, dim=1, keepdim=True).numpy(), ref(X, axis=1, keepdims=True))
    np.testing.assert_allclose(fn(x, dim=1, keepdim=True).numpy(), ref(X, axis=1, keepdims=True))
    np.testing.assert_allclose(fn(x, 0).numpy(), ref(X, axis=0, keepdims=False))
    np.testing.assert_allclose(getattr(x, name)(dim=-1).numpy(), ref(X, axis=-1, keepdims=False))
    np.testing.assert_allclose(fn(x, axis=1, keepdims=True).numpy(), ref(X, axis=1, keepdims=True))
    with pytest.raises(TypeError, match=f"{name}: got both dim=0 and its NumPy alias axis=1"):
        fn(x, dim=0, axis=1)
    with pytest.raises(TypeError, match=f"{name}: got both keepdim=True and its NumPy alias keepdims=False"):
        fn(x, 0, keepdim=True, keepdims=False)
    with pytest.raises(TypeError, match=rf"{name}\(\) got unexpected keyword argument\(s\) 'keep_dim'; "
                                        "accepted: input, dim, keepdim"):
        fn(x, keep_dim=True)


def test_argmax_argmin_dim_keepdim_int64():
    x = _t(X)
    am = mg.argmax(x, dim=1, keepdim=True)
    assert am.dtype == np.int64 and am.shape == (3, 1)
    np.testing.assert_array_equal(am.numpy().ravel(), [3, 2, 2])
    np.testing.assert_array_equal(x.argmin(0).numpy(), [0, 1, 0, 2])
    assert x.argmax().item() == 3                   # the flat index, as PyTorch
    np.testing.assert_array_equal(x.argmax(axis=1).numpy(), [3, 2, 2])


# ------------------------------------------------------------------ prod
def test_prod_values_and_gradients_with_zeros():
    x = _t([[2.0, 3.0, 4.0], [5.0, 0.0, 2.0], [0.0, 0.0, 7.0]], True)
    y = mg.prod(x, 1)
    np.testing.assert_array_equal(y.numpy(), [24.0, 0.0, 0.0])
    y.sum().backward()
    # dΠ/dx_j = product of the others: one zero gets the product of the rest, two zeros give 0
    np.testing.assert_array_equal(x.grad.numpy(), [[12.0, 8.0, 6.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]])
    x = _t([[2.0, 3.0], [0.5, 4.0]], True)
    x.prod().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[6.0, 4.0], [24.0, 3.0]])
    assert x.prod(dim=0, keepdim=True).shape == (1, 2)
    rng = np.random.default_rng(2)
    z = rng.uniform(0.5, 1.5, (3, 4))
    z[0, 1] = 0.0
    _check(lambda a: a.prod(1), _t(z, True))
    _check(lambda a: mg.prod(a, (0, 1), keepdim=True), _t(rng.uniform(0.5, 1.5, (2, 3)), True))


# ------------------------------------------------------------------ norm
def test_norm_values_match_numpy(backend):
    x = _t(X)
    np.testing.assert_allclose(mg.norm(x).item(), np.linalg.norm(X))               # 'fro'
    np.testing.assert_allclose(x.norm(p=2, dim=1).numpy(), np.linalg.norm(X, axis=1))
    np.testing.assert_allclose(x.norm(1, dim=0, keepdim=True).numpy(), np.abs(X).sum(0, keepdims=True))
    np.testing.assert_allclose(x.norm(math.inf, 1).numpy(), np.abs(X).max(1))
    np.testing.assert_allclose(x.norm(-math.inf, 1).numpy(), np.abs(X).min(1))
    np.testing.assert_allclose(x.norm(3, dim=1).numpy(), (np.abs(X) ** 3).sum(1) ** (1 / 3))
    np.testing.assert_allclose(x.norm(0).item(), np.count_nonzero(X))
    np.testing.assert_allclose(x.norm("fro", dim=(0, 1)).item(), np.linalg.norm(X))
    with pytest.raises(ValueError, match="norm: p must be 'fro' or a number"):
        x.norm("nuc")
    with pytest.raises(TypeError, match="norm: input must be a floating-point tensor, got dtype int64"):
        mg.norm(mg.tensor([3, 4]))


def test_norm_gradient_is_zero_at_zero_and_checks():
    x = _t(np.zeros((2, 3)), True)
    x.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))      # PyTorch's subgradient
    x = _t([[3.0, 4.0], [0.0, 0.0]], True)
    mg.norm(x, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.6, 0.8], [0.0, 0.0]])
    x = _t([[3.0, -4.0, 0.0]], True)
    x.norm(1).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, -1.0, 0.0]])
    rng = np.random.default_rng(4)
    for p in (2, 1, 3, 0.5, math.inf):
        _check(lambda a, p=p: a.norm(p, dim=1), _t(rng.permutation(12).reshape(3, 4) * 0.3 + 0.2, True))


# ------------------------------------------------------------------ shape ops
def test_cat_stack_unsqueeze_squeeze_dim(backend):
    a, b = _t(np.ones((2, 3))), _t(np.zeros((2, 1)))
    assert mg.cat([a, b], dim=1).shape == (2, 4) and mg.cat([a, b], axis=1).shape == (2, 4)
    assert mg.stack([a, a], dim=2).shape == (2, 3, 2) and mg.stack([a, a], axis=-1).shape == (2, 3, 2)
    np.testing.assert_array_equal(mg.stack([a, a * 2], dim=0).numpy()[1], np.full((2, 3), 2.0))
    assert a.unsqueeze(dim=0).shape == (1, 2, 3) and mg.unsqueeze(a, -1).shape == (2, 3, 1)
    x = _t(np.zeros((1, 3, 1, 2)))
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(1).shape == (1, 3, 1, 2)                  # size 3: a no-op (PyTorch)
    assert x.squeeze(dim=2).shape == (1, 3, 2)
    assert mg.squeeze(x, (0, 1, 2)).shape == (3, 2)
    with pytest.raises(IndexError, match=r"squeeze: dim 4 is out of range.*\(1, 3, 1, 2\)"):
        x.squeeze(4)
    with pytest.raises(TypeError, match="cat: got both dim=0 and its NumPy alias axis=1"):
        mg.cat([a, b], dim=0, axis=1)
    with pytest.raises(TypeError, match="accepted: tensors, dim"):
        mg.stack([a, a], dims=0)


def test_split_and_chunk_follow_pytorch(backend):
    x = _t(np.arange(10.0).reshape(2, 5))
    parts = mg.split(x, 2, dim=1)                                   # sizes 2, 2, 1
    assert isinstance(parts, tuple) and [p.shape[1] for p in parts] == [2, 2, 1]
    np.testing.assert_array_equal(parts[2].numpy(), [[4.0], [9.0]])
    assert [p.shape[1] for p in x.split([1, 4], dim=1)] == [1, 4]
    assert [p.shape[1] for p in x.split(5, 1)] == [5]
    with pytest.raises(ValueError, match="split: sizes"):
        x.split([1, 1], dim=1)
    # torch.chunk: ⌈n / chunks⌉ per piece, the last smaller, possibly fewer pieces
    assert [c.shape[1] for c in mg.chunk(x, 4, dim=1)] == [2, 2, 1]
    assert [c.shape[1] for c in x.chunk(2, 1)] == [3, 2]
    y = _t(np.arange(6.0))
    assert [c.numpy().tolist() for c in y.chunk(4)] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert [c.shape[0] for c in mg.chunk(y, 6)] == [1] * 6
    with pytest.raises(ValueError, match="chunk: chunks must be a positive int"):
        y.chunk(0)
    _check(lambda a: mg.chunk(a, 3, dim=1), _t(np.random.default_rng(0).standard_normal((2, 7)), True))


def test_flatten_and_nn_flatten_defaults(backend):
    x = _t(np.arange(24.0).reshape(2, 3, 4))
    assert mg.flatten(x).shape == (24,)
    assert x.flatten(start_dim=1).shape == (2, 12)
    assert x.flatten(0, 1).shape == (6, 4)
    assert x.flatten(start_dim=1, end_dim=-2).shape == (2, 3, 4)
    assert x.flatten(start_axis=1).shape == (2, 12)                 # the old name still works
    assert nn.Flatten()(x).shape == (2, 12)                         # PyTorch: start_dim=1
    assert nn.Flatten(start_dim=0)(x).shape == (24,)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Flatten(start_axis=2)(x).shape == (2, 3, 4)
    assert "start_dim=1, end_dim=-1" in repr(nn.Flatten())
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        x.flatten(2, 1)
    with pytest.raises(TypeError, match="flatten: got both start_dim=1 and its NumPy alias start_axis=1"):
        x.flatten(1, start_axis=1)


# ------------------------------------------------------------------ F.pad
def test_pad_flat_tuples_start_from_the_last_dim(backend):
    x = _t(np.arange(6.0).reshape(2, 3))
    y = F.pad(x, (1, 1))
    assert y.shape == (2, 5)
    np.testing.assert_array_equal(y.numpy(), [[0, 0, 1, 2, 0], [0, 3, 4, 5, 0]])
    y = F.pad(x, (1, 0, 2, 1), value=-1.0)                          # (left, right, top, bottom)
    np.testing.assert_array_equal(y.numpy(), np.pad(np.arange(6.0).reshape(2, 3), ((2, 1), (1, 0)),
                                                    constant_values=-1.0))
    # NumPy's pad_width still works
    np.testing.assert_array_equal(F.pad(x, ((1, 0), (0, 2))).numpy(),
                                  np.pad(np.arange(6.0).reshape(2, 3), ((1, 0), (0, 2))))
    np.testing.assert_array_equal(F.pad(x, 1).numpy(), np.pad(np.arange(6.0).reshape(2, 3), 1))
    with pytest.raises(ValueError, match="pad: a flat pad needs an even count"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="pad: mode must be one of"):
        F.pad(x, (1, 1), mode="wrap")


def test_pad_modes_match_pytorch_and_have_gradients():
    row = _t([[[0.0, 1.0, 2.0, 3.0]]])
    # torch.nn.functional.pad(torch.arange(4.).view(1, 1, 4), (2, 1), mode=...) written out
    assert F.pad(row, (2, 1), mode="reflect").numpy().ravel().tolist() == [2, 1, 0, 1, 2, 3, 2]
    assert F.pad(row, (2, 1), mode="replicate").numpy().ravel().tolist() == [0, 0, 0, 1, 2, 3, 3]
    assert F.pad(row, (2, 1), mode="circular").numpy().ravel().tolist() == [2, 3, 0, 1, 2, 3, 0]
    img = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(F.pad(_t(img), (1, 1, 1, 1), mode="reflect").numpy(),
                                  np.pad(img, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect"))
    np.testing.assert_array_equal(F.pad(_t(img), (1, 2, 0, 1), mode="replicate").numpy(),
                                  np.pad(img, ((0, 0), (0, 0), (0, 1), (1, 2)), mode="edge"))
    np.testing.assert_array_equal(F.pad(_t(img), (2, 1, 1, 0), mode="circular").numpy(),
                                  np.pad(img, ((0, 0), (0, 0), (1, 0), (2, 1)), mode="wrap"))
    x = _t([[[1.0, 2.0, 3.0]]], True)
    F.pad(x, (2, 0), mode="replicate").sum().backward()             # x0 is read 3 times
    np.testing.assert_array_equal(x.grad.numpy(), [[[3.0, 1.0, 1.0]]])
    rng = np.random.default_rng(5)
    for mode in ("reflect", "replicate", "circular"):
        _check(lambda a, mode=mode: F.pad(a, (2, 1, 1, 1), mode=mode), _t(rng.standard_normal((1, 2, 3, 4)), True))
    with pytest.raises(ValueError, match="pad: mode 'reflect' needs pads < the size 4"):
        F.pad(row, (4, 0), mode="reflect")


def test_new_names_are_exported():
    for name in ("prod", "norm", "chunk", "amax", "amin"):
        assert getattr(mg, name) is getattr(F, name)
        assert getattr(mg.Tensor, name) is not None
        assert "backward" in getattr(F, name).__doc__.lower() or "Function" in getattr(F, name).__doc__
    assert mg.Size is type(_t(np.zeros(2)).size())
