"""minigrad.save / minigrad.load: a portable .npz with a JSON header, never pickle."""
import json

import numpy
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.serialization import HEADER_KEY


def _model():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1), nn.Linear(4, 2))


def test_module_state_dict_round_trip(tmp_path, backend):
    model = _model()
    path = tmp_path / "model.ckpt"
    mg.save(model.state_dict(), path)
    assert path.exists() and not (tmp_path / "model.ckpt.npz").exists()
    state = mg.load(path)
    assert list(state) == list(model.state_dict())
    for key, t in model.state_dict().items():
        assert state[key].backend == backend
        assert state[key].dtype == t.dtype
        numpy.testing.assert_array_equal(state[key].numpy(), t.numpy())
    other = _model()
    for p in other.parameters():
        p.data[...] = 0
    other.load_state_dict(state)
    x = mg.randn(5, 3)
    model.eval(), other.eval()
    numpy.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_optimizer_like_nested_state_round_trip(tmp_path):
    exp_avg = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    state = {"state": {0: {"step": 3, "exp_avg": exp_avg, "momentum_buffer": None},
                       1: {"step": 3, "exp_avg": mg.zeros(2)}},
             "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                               "name": "body", "nesterov": False, "eps": 1e-8,
                               "max_lr": float("inf")}],
             "epoch": 7, "note": "π ≈ 3.14"}
    path = tmp_path / "opt.npz"
    mg.save(state, path)
    back = mg.load(path)
    assert set(back["state"]) == {0, 1}                       # int keys stay ints
    assert back["state"][0]["step"] == 3 and back["state"][0]["momentum_buffer"] is None
    numpy.testing.assert_array_equal(back["state"][0]["exp_avg"].numpy(), exp_avg.numpy())
    group = back["param_groups"][0]
    assert group["lr"] == 0.1 and group["betas"] == (0.9, 0.999) and group["params"] == [0, 1]
    assert group["name"] == "body" and group["nesterov"] is False and group["eps"] == 1e-8
    assert group["max_lr"] == float("inf")
    assert back["epoch"] == 7 and back["note"] == "π ≈ 3.14"


def test_file_reads_without_pickle_and_documents_itself(tmp_path):
    model = _model()
    path = tmp_path / "m.npz"
    mg.save({"model": model.state_dict(), "step": 10}, path)
    with numpy.load(path, allow_pickle=False) as archive:
        header = json.loads(archive[HEADER_KEY].tobytes())
        assert header["format"] == "minigrad" and header["version"] == 1
        names = set(archive.files) - {HEADER_KEY}
        assert names == {f"model.{k}" for k in model.state_dict()}
        numpy.testing.assert_array_equal(archive["model.0.weight"], model[0].weight.numpy())
        for name in archive.files:
            assert archive[name].dtype != object


def test_dotted_key_collisions_are_kept_apart(tmp_path):
    a, b = mg.tensor([1.0]), mg.tensor([2.0])
    mg.save({"a.b": a, "a": {"b": b}}, tmp_path / "c")
    back = mg.load(tmp_path / "c")
    assert back["a.b"].item() == 1.0 and back["a"]["b"].item() == 2.0


def test_arrays_scalars_and_requires_grad(tmp_path):
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    obj = [w, numpy.arange(3), numpy.float32(1.5), numpy.int64(4), float("nan"), True]
    mg.save(obj, tmp_path / "x")
    back = mg.load(tmp_path / "x")
    assert back[0].requires_grad and back[0].is_leaf
    numpy.testing.assert_array_equal(back[1], numpy.arange(3))
    assert back[2] == 1.5 and back[3] == 4 and back[4] != back[4] and back[5] is True


def test_load_onto_another_backend(tmp_path, backend):
    """A file saved on one backend loads on any other (arrays are written from NumPy copies)."""
    w = mg.randn(3, 2)
    mg.save({"w": w}, tmp_path / "w")
    for target in mg.available_backends():
        back = mg.load(tmp_path / "w", backend=target)
        assert back["w"].backend == target
        numpy.testing.assert_array_equal(back["w"].numpy(), w.numpy())


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        mg.load(tmp_path / "nope.npz")


def test_non_minigrad_files_are_rejected(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a minigrad save file"):
        mg.load(tmp_path / "text.npz")
    numpy.savez(tmp_path / "plain.npz", a=numpy.ones(2))
    with pytest.raises(ValueError, match="not a minigrad save file"):
        mg.load(tmp_path / "plain.npz")
    numpy.save(tmp_path / "obj.npy", numpy.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a minigrad save file"):
        mg.load(tmp_path / "obj.npy")


def test_unsupported_objects_are_refused():
    with pytest.raises(TypeError, match="state_dict"):
        mg.save(_model(), "unused")
    with pytest.raises(TypeError, match="cannot save a object"):
        mg.save({"x": object()}, "unused")
    with pytest.raises(TypeError, match="keys must be str or int"):
        mg.save({(1, 2): 3}, "unused")


@pytest.mark.parametrize("damage", ["truncated", "cut_tail", "flipped", "text", "empty", "npy",
                                    "bad_header"])
def test_load_of_a_corrupt_file_raises_a_value_error_naming_it(tmp_path, damage):
    good = tmp_path / "good.mg"
    mg.save({"w": mg.tensor(numpy.arange(500.0)), "epoch": 3}, good)
    data = good.read_bytes()
    bad = tmp_path / f"{damage}.mg"
    if damage == "truncated":
        bad.write_bytes(data[:len(data) // 2])
    elif damage == "cut_tail":
        bad.write_bytes(data[:-10])
    elif damage == "flipped":                    # inside the stored array: a CRC mismatch
        i = data.index(numpy.arange(500.0).tobytes()[800:808])
        bad.write_bytes(data[:i] + bytes(b ^ 0xFF for b in data[i:i + 8]) + data[i + 8:])
    elif damage == "text":
        bad.write_text("not a checkpoint")
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "npy":
        with open(bad, "wb") as f:
            numpy.save(f, numpy.arange(3))
    else:
        header = json.dumps({"format": "minigrad", "version": 1, "tree": {"list": 5}})
        with open(bad, "wb") as f:
            numpy.savez(f, **{HEADER_KEY: numpy.frombuffer(header.encode(), numpy.uint8)})
    with pytest.raises(ValueError, match=f"{damage}.mg.*not a minigrad save file"):
        mg.load(bad)
    assert mg.load(good)["epoch"] == 3
