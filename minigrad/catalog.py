"""``python -m minigrad.catalog``: list every registered op (``--json`` for tools).

The registry itself lives in ``minigrad.registry``; this module is its command line
and re-exports its names.
"""
import json
import sys

from minigrad.registry import CHECKS, KINDS, Case, Entry, entries, get, register  # noqa: F401


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="python -m minigrad.catalog",
                                 description="List every op minigrad implements.")
    ap.add_argument("--json", action="store_true", help="print a JSON array")
    ap.add_argument("--kind", choices=KINDS)
    args = ap.parse_args(argv)
    rows = entries(kind=args.kind)
    if args.json:
        json.dump([e.as_json() for e in rows], sys.stdout, indent=1)
        print()
        return 0
    print(f"{'name':30} {'kind':13} {'check':9} {'id':6} paper")
    for e in rows:
        paper = e.papers[0] if e.papers else ""
        print(f"{e.name:30} {e.kind:13} {e.check:9} {e.catalog_id or '':6} {paper[:60]}")
    print(f"{len(rows)} ops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
