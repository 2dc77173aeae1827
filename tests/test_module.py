"""The Module system: registration, walking, modes, containers, state dicts, backends."""
import numpy
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.backends import backend_unavailable_reason


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.drop = nn.Dropout(0.5)
        self.scale = nn.Parameter(mg.ones(1))
        self.register_buffer("count", mg.zeros(1))
        self.register_buffer("scratch", mg.zeros(2), persistent=False)

    def forward(self, x):
        return self.drop(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.head(self.block(x))


def test_parameters_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.weight"]
    assert len(list(net.parameters())) == 4
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert [n for n, _ in net.named_buffers()] == ["block.count", "block.scratch"]
    assert net.head.bias is None


def test_children_modules_and_apply():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Block", "Linear"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.drop", "head"]
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Dropout", "Block", "Linear", "Net"]   # children first


def test_shared_module_is_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.modules())) == 2
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_zero_grad_train_eval():
    net = Net()
    net(mg.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad.numpy()).sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.training and net.block.drop.training
    net.eval()
    assert not any(m.training for m in net.modules())
    x = mg.randn(5, 3)
    numpy.testing.assert_array_equal(net(x).numpy(), net(x).numpy())   # no dropout in eval
    net.train()
    assert all(m.training for m in net.modules())


def test_requires_grad_freezes_a_subtree():
    net = Net()
    net.block.requires_grad_(False)
    net(mg.randn(2, 3)).sum().backward()
    assert all(p.grad is None for p in net.block.parameters())
    assert net.head.weight.grad is not None


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Identity(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert seq(mg.randn(4, 2)).shape == (4, 1)
    named = nn.Sequential({"inp": nn.Linear(2, 2), "out": nn.Linear(2, 1)})
    assert [n for n, _ in named.named_parameters()] == ["inp.weight", "inp.bias", "out.weight", "out.bias"]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 5))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert [n for n, _ in ml.named_parameters()][-1] == "3.bias"
    md = nn.ModuleDict({"a": nn.Linear(2, 2)})
    md["b"] = nn.Linear(2, 3)
    assert "b" in md and list(md.keys()) == ["a", "b"] and len(list(md.parameters())) == 4


def test_state_dict_round_trip():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert list(sd) == ["block.scale", "block.count", "block.fc.weight", "block.fc.bias",
                        "head.weight"]                      # the non-persistent buffer is left out
    missing, unexpected = b.load_state_dict(sd)
    assert missing == [] and unexpected == []
    for (k, t), (_, u) in zip(a.state_dict().items(), b.state_dict().items()):
        numpy.testing.assert_array_equal(t.numpy(), u.numpy(), err_msg=k)
    x = mg.randn(3, 3)
    a.eval(), b.eval()
    numpy.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    b.load_state_dict({k: v.numpy() for k, v in sd.items()})    # plain arrays load too


def test_strict_load_names_missing_and_unexpected_keys():
    net = Net()
    sd = dict(net.state_dict())
    del sd["head.weight"]
    sd["head.bias"] = mg.zeros(2)
    with pytest.raises(KeyError) as err:
        Net().load_state_dict(sd)
    assert "head.weight" in str(err.value) and "head.bias" in str(err.value)
    missing, unexpected = Net().load_state_dict(sd, strict=False)
    assert missing == ["head.weight"] and unexpected == ["head.bias"]


def test_shape_mismatch_names_the_key():
    sd = dict(Net().state_dict())
    sd["block.fc.weight"] = mg.zeros(5, 3)
    with pytest.raises(ValueError, match=r"block\.fc\.weight.*\(5, 3\).*\(4, 3\)"):
        Net().load_state_dict(sd)


def test_buffers_are_not_parameters_and_get_no_gradient():
    net = Net()
    assert all(b is not p for b in net.buffers() for p in net.parameters())
    assert not net.block.count.requires_grad


def test_hooks_and_handles():
    net = Net()
    calls = []
    handle = net.head.register_forward_hook(lambda m, inp, out: calls.append(out.shape))
    pre = net.head.register_forward_pre_hook(lambda m, inp: (inp[0] * 0,))
    out = net(mg.randn(2, 3))
    assert calls == [(2, 2)] and float(abs(out.numpy()).sum()) == 0
    handle.remove(), pre.remove()
    net(mg.randn(2, 3))
    assert calls == [(2, 2)]


def test_to_numpy_is_a_no_op_and_unknown_backend_fails():
    with mg.use_backend("numpy"):
        net = Net()
    before = net.head.weight.data
    assert net.to("numpy") is net and net.head.weight.data is before
    with pytest.raises(mg.BackendError, match="unknown backend"):
        net.to("tpu")


@pytest.mark.skipif(backend_unavailable_reason("cupy") is not None,
                    reason=str(backend_unavailable_reason("cupy")))
def test_to_cupy_and_back():
    net = Net()
    sd = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    net(mg.randn(2, 3)).sum().backward()
    net.to("cupy")
    assert all(t.backend == "cupy" for t in net.state_dict().values())
    assert all(p.grad.backend == "cupy" for p in net.parameters())
    with mg.use_backend("cupy"):
        net.eval()
        y = net(mg.randn(2, 3))
        assert y.backend == "cupy"
    net.cpu()
    for k, v in net.state_dict().items():
        numpy.testing.assert_array_equal(v.numpy(), sd[k])


def test_repr_lists_children():
    text = repr(Net())
    assert "(block): Block(" in text and "(head): Linear(in_features=4, out_features=2, bias=False)" in text
