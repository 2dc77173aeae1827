"""``python -m minigrad.gradcheck``: finite-difference check of every registered op.

    python -m minigrad.gradcheck                      # every op, on MINIGRAD_BACKEND (default numpy)
    python -m minigrad.gradcheck --op gelu layer_norm # just these
    python -m minigrad.gradcheck --backend cupy       # on the GPU
    python -m minigrad.gradcheck --order 2            # second derivatives (create_graph=True)

Prints one row per op (cases, worst absolute and relative error, ok/FAIL) and exits
non-zero when any op fails.
"""
import sys

import numpy

from minigrad.backends import BackendError, get_backend, get_backend_from_environment
from minigrad.gradcheck import check_entry, unavailable


def main(argv=None):
    import argparse
    from minigrad import registry as catalog
    ap = argparse.ArgumentParser(prog="python -m minigrad.gradcheck",
                                 description="Finite-difference check of every registered op.")
    ap.add_argument("--backend", choices=["numpy", "cupy"],
                    help="the backend to check on (default: MINIGRAD_BACKEND, else numpy)")
    ap.add_argument("--op", nargs="*", help="check only these ops (names or aliases)")
    ap.add_argument("--kind", choices=catalog.KINDS)
    ap.add_argument("--order", type=int, choices=[1, 2], default=1,
                    help="2: check second derivatives of every 'fd' op (gradgradcheck)")
    args = ap.parse_args(argv)
    try:
        args.backend = (get_backend(args.backend) if args.backend
                        else get_backend_from_environment()).name
    except BackendError as err:
        print(f"python -m minigrad.gradcheck: {err}", file=sys.stderr)
        return 2
    rows = [e for e in catalog.entries(kind=args.kind, names=args.op)
            if e.check != "state" and (args.order == 1 or e.check == "fd")]
    if args.op and not rows:
        print(f"no registered op named {' '.join(args.op)}", file=sys.stderr)
        return 2
    failed = skipped = 0
    print(f"{'op':32} {'kind':13} {'check':9} {'cases':>5} {'worst abs':>10} {'worst rel':>10}  result")
    for e in rows:
        reason = unavailable(e, args.backend)
        if reason:
            skipped += 1
            print(f"{e.name:32} {e.kind:13} {e.check:9} {'':>5} {'':>10} {'':>10}  skipped: {reason}")
            continue
        try:
            n, a, r = check_entry(e, args.backend, args.order)
            status = "ok"
        except Exception as err:  # report every op, then fail at the end
            n, a, r, status = len(e.cases(numpy.random.default_rng(0))), float("nan"), float("nan"), "FAIL"
            failed += 1
            print(f"  {e.name}: {type(err).__name__}: {err}", file=sys.stderr)
        print(f"{e.name:32} {e.kind:13} {e.check:9} {n:5} {a:10.2e} {r:10.2e}  {status}")
    order = "" if args.order == 1 else ", second derivatives"
    skips = f", {skipped} skipped" if skipped else ""
    print(f"{len(rows) - failed - skipped} passed, {failed} failed{skips} "
          f"({args.backend} backend, float64{order})")
    return 1 if failed else 0



if __name__ == "__main__":
    sys.exit(main())
