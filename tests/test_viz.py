"""minigrad.viz.draw: the tape as Graphviz DOT (and SVG through the ``dot`` program)."""
import os
import re
import stat
import sys

import numpy as np

import minigrad as mg
from minigrad import nn, viz


def _mlp_loss():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = mg.tensor(np.ones((5, 3), dtype="float32"))
    return model, (model(x) ** 2).mean()


def _nodes_and_edges(dot):
    nodes = dict(re.findall(r'^\s*(n\d+) \[label="([^"]*)"', dot, re.M))
    edges = re.findall(r'^\s*(n\d+) -> (n\d+) \[label="([^"]*)"\]', dot, re.M)
    return nodes, edges


def test_draw_returns_dot_with_ops_leaves_shapes_and_names():
    model, loss = _mlp_loss()
    dot = viz.draw(loss, params=dict(model.named_parameters()))
    assert dot.startswith("digraph minigrad {") and dot.rstrip().endswith("}")
    nodes, edges = _nodes_and_edges(dot)
    labels = sorted(nodes.values())
    # 2 linears, relu, pow, mean = 5 ops; 4 parameters (the input x needs no gradient)
    ops = [lab for lab in labels if "Backward" in lab]
    leaves = [lab for lab in labels if "Backward" not in lab]
    assert len(ops) == 5 and len(leaves) == 4
    assert "0.weight\\n(4, 3) float32" in leaves and "2.bias\\n(2,) float32" in leaves
    assert any(lab.startswith("MeanBackward\\n() float32") for lab in ops)
    assert any(lab.startswith("ReluBackward\\n(5, 4) float32") for lab in ops)
    # edges: 4 parameters into the linears, linear->relu->linear->pow->mean
    assert len(edges) == 8
    shapes = sorted(label for _, _, label in edges)
    assert shapes.count("(5, 4)") == 2 and "(5, 2)" in shapes and "(4, 3)" in shapes
    # every edge ends at an op, and the loss's op has no outgoing edge
    root = next(k for k, v in nodes.items() if v.startswith("MeanBackward"))
    assert all(nodes[dst].split("\\n")[0].endswith("Backward") for _, dst, _ in edges)
    assert all(src != root for src, _, _ in edges)


def test_draw_of_shared_input_and_multiple_outputs():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    y = a * a + a
    dot = viz.draw([y, a])
    nodes, edges = _nodes_and_edges(dot)
    name = {k: v.split("\\n")[0] for k, v in nodes.items()}
    assert sorted(name.values()) == ["(2,) float32", "AddBackward", "MulBackward"]
    pairs = sorted((name[s], name[d]) for s, d, _ in edges)
    assert pairs == [("(2,) float32", "AddBackward"), ("(2,) float32", "MulBackward"),
                     ("(2,) float32", "MulBackward"), ("MulBackward", "AddBackward")]
    leaf_id = next(k for k, v in name.items() if v == "(2,) float32")
    assert f"{leaf_id} [penwidth=2];" in dot       # an output that is a leaf is drawn bold


def test_draw_writes_dot_and_says_when_graphviz_is_missing(tmp_path, monkeypatch, capsys):
    _, loss = _mlp_loss()
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    text = viz.draw(loss, tmp_path / "g.svg")
    assert (tmp_path / "g.dot").read_text() == text
    assert not (tmp_path / "g.svg").exists()
    assert "'dot' is not installed" in capsys.readouterr().err
    viz.draw(loss, tmp_path / "only.dot")
    assert (tmp_path / "only.dot").read_text() == text


def test_draw_renders_through_the_dot_program(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text(f"#!{sys.executable}\nimport sys\nargs = sys.argv[1:]\n"
                    "src, out = args[1], args[args.index('-o') + 1]\n"
                    "open(out, 'w').write(args[0] + '\\n' + open(src).read())\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(viz.shutil, "which", lambda name: str(fake) if name == "dot" else None)
    _, loss = _mlp_loss()
    text = viz.draw(loss, os.fspath(tmp_path / "g.png"), format="png")
    rendered = (tmp_path / "g.png").read_text()
    assert rendered == "-Tpng\n" + text


def test_draw_after_backward_only_shows_the_last_op():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (a * 2).sum()
    y.backward()
    nodes, edges = _nodes_and_edges(viz.draw(y))
    assert [v.split("\\n")[0] for v in nodes.values()] == ["SumBackward"] and edges == []
