"""Draw the graph of a small MLP's loss with minigrad.viz (Graphviz DOT, and SVG when the
Graphviz ``dot`` program is installed), and walk it by hand through ``grad_fn``.

    python draw_graph.py            # writes out/mlp_loss.dot (and out/mlp_loss.svg)
    dot -Tsvg out/mlp_loss.dot -o out/mlp_loss.svg   # if dot was missing at first
"""
import argparse
import pathlib
import shutil

import numpy as np

import minigrad as mg
from minigrad import F, nn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(the graph is small anyway)")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "out"))
    args = parser.parse_args()

    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype("float32"))
    y = mg.tensor([0, 2, 1, 1, 0])
    loss = F.cross_entropy(model(x), y)

    # walk the recorded ops from the loss, as a PyTorch user would with grad_fn
    print("loss:", loss)
    fn, depth = loss.grad_fn, 0
    while fn is not None and fn.name() != "AccumulateGrad":
        print("  " * depth + fn.name())
        fn = next((f for f, _ in fn.next_functions if f is not None), None)
        depth += 1

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "mlp_loss.svg"
    dot = mg.viz.draw(loss, target, params=dict(model.named_parameters()))
    print(f"wrote {out / 'mlp_loss.dot'} ({dot.count('->')} edges)")
    if shutil.which("dot"):
        print(f"wrote {target}")
    loss.backward()           # after drawing: backward frees what the graph kept
    print("grad norm of the first layer's weight:", float((model[0].weight.grad ** 2).sum() ** 0.5))


if __name__ == "__main__":
    main()
