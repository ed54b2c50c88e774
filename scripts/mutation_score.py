"""How many small mutations of each exercise's answer its checker rejects.

Each mutant changes one thing in the solution of an exercise, as a slip would: an operator
(``+``/``-``, ``*``/``/``, ``<``/``<=``), a number (``n`` to ``n + 1`` or ``n - 1``), a
transpose or a ``.detach()`` left out, a statement (not a docstring) left out, two arguments
swapped, an accumulation ``+=`` turned into ``=``, ``tanh`` and ``sigmoid`` swapped. The
checker must reject it (one still running after ``LIMIT`` seconds, a loop that never ends,
counts as rejected). Some mutants do not change what the function computes (the same value
written another way): those survive in any checker, so the score is a lower bound.

The answers come from the progress file that executing the solution notebooks writes
(``notebooks/solutions/.rnncourse-progress.json``: run ``python -m authoring release --execute``
first). Prints a table per exercise and the share rejected; ``--list`` prints the mutants
that survived.

    python scripts/mutation_score.py [--only gru_step lstm_step] [--list]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import io
import json
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRESS = ROOT / "notebooks" / "solutions" / ".rnncourse-progress.json"
SWAP_OPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.Pow: ast.Mult, ast.MatMult: ast.Mult,
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
}  # fmt: skip
SWAP_NAMES = {"tanh": "sigmoid", "sigmoid": "tanh", "max": "min", "min": "max"}
LIMIT = 30  # seconds per mutant: a mutant still running then (a loop that never ends) is rejected


class _TooLong(Exception):
    pass


def _stop(*_):
    raise _TooLong()


def _sites(tree: ast.AST):
    """(node, what) for every place a mutation applies, in a fixed order."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in SWAP_OPS:
            yield node, "op"
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in SWAP_OPS:
            yield node, "compare"
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            yield node, "plus"
            yield node, "minus"
        elif isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
            yield node, "transpose"
        elif isinstance(node, ast.Attribute) and node.attr in SWAP_NAMES:
            yield node, "name"
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("detach", "clone"):
                yield node, "drop_call"
            if len(node.args) >= 2:
                yield node, "swap_args"
        elif isinstance(node, ast.AugAssign):
            yield node, "overwrite"
        if isinstance(node, ast.FunctionDef | ast.For | ast.While | ast.If | ast.With):
            for i, stmt in enumerate(node.body):
                docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                if not isinstance(stmt, ast.Return) and len(node.body) > 1 and not docstring:
                    yield (node, i), "drop_statement"


def _apply(tree: ast.Module, index: int) -> str | None:
    """The source with mutation number ``index`` applied, or None past the last one."""
    tree = copy.deepcopy(tree)
    sites = list(_sites(tree))
    if index >= len(sites):
        return None
    node, what = sites[index]
    if what in ("op", "compare"):
        if what == "op":
            node.op = SWAP_OPS[type(node.op)]()
        else:
            node.ops[0] = SWAP_OPS[type(node.ops[0])]()
    elif what in ("plus", "minus"):
        node.value = node.value + (1 if what == "plus" else -1)
    elif what == "transpose":
        node.attr = "__class__"  # replaced below: W.T -> W
    elif what == "name":
        node.attr = SWAP_NAMES[node.attr]
    elif what == "drop_call":
        node.func.attr = "__drop__"  # replaced below: x.detach() -> x
    elif what == "swap_args":
        node.args[0], node.args[1] = node.args[1], node.args[0]
    elif what == "overwrite":
        node.__class__ = ast.Assign
        node.targets, node.type_comment = [node.target], None
    elif what == "drop_statement":
        parent, i = node
        parent.body[i] = ast.Pass()

    class Unwrap(ast.NodeTransformer):
        def visit_Attribute(self, n):
            self.generic_visit(n)
            return n.value if n.attr == "__class__" else n

        def visit_Call(self, n):
            self.generic_visit(n)
            dropped = isinstance(n.func, ast.Attribute) and n.func.attr == "__drop__"
            return n.func.value if dropped else n

    tree = ast.fix_missing_locations(Unwrap().visit(tree))
    return ast.unparse(tree)


def _split(source: str, name: str) -> tuple[str, ast.Module]:
    """(everything but the answer's function, the function's own module tree)."""
    tree = ast.parse(source)
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name][-1]
    rest = ast.Module([n for n in tree.body if n is not fn], type_ignores=[])
    return ast.unparse(rest), ast.Module([fn], type_ignores=[])


def score(name: str, record: dict, checks) -> tuple[int, int, list[str], float]:
    """(mutants, rejected, surviving mutants' sources, seconds) for exercise ``name``."""
    from rnncourse.checks import _answers

    start = time.perf_counter()
    rest, fn_tree = _split(record["source"], record["name"])
    survivors, total, rejected, index = [], 0, 0, 0
    while (mutant := _apply(fn_tree, index)) is not None:
        index += 1
        original = ast.unparse(fn_tree)
        if mutant == original:
            continue
        total += 1
        try:
            fn = _answers.rebuild(
                {**record, "source": f"{rest}\n\n{mutant}"}, lambda other: checks.reference(other)
            )
            if hasattr(signal, "SIGALRM"):  # not on Windows
                signal.signal(signal.SIGALRM, _stop)
                signal.alarm(LIMIT)
            with contextlib.redirect_stdout(io.StringIO()):
                result = checks.REGISTRY[name].checker(fn)
            passed = bool(result)
        except Exception:  # noqa: BLE001 (any failure is a rejection)
            passed = False
        finally:
            if hasattr(signal, "SIGALRM"):
                signal.alarm(0)
        rejected += not passed
        if passed:
            survivors.append(mutant)
    return total, rejected, survivors, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="exercises to mutate (default: all)")
    parser.add_argument("--list", action="store_true", help="print the surviving mutants")
    parser.add_argument("--progress", default=str(PROGRESS), help="the progress file to read")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from rnncourse import checks

    answers = json.loads(Path(args.progress).read_text())["answers"]
    names = [n for n in checks.REGISTRY if n in answers and (not args.only or n in args.only)]
    print(f"{'exercise':28s} {'mutants':>7s} {'rejected':>8s} {'share':>6s} {'seconds':>7s}")
    all_total = all_rejected = 0
    for name in names:
        if not answers[name].get("source"):
            continue
        total, rejected, survivors, seconds = score(name, answers[name], checks)
        all_total, all_rejected = all_total + total, all_rejected + rejected
        share = rejected / total if total else 1.0
        print(f"{name:28s} {total:7d} {rejected:8d} {share:6.1%} {seconds:7.1f}")
        if args.list:
            for mutant in survivors:
                print("    survived:\n" + "\n".join("      " + x for x in mutant.splitlines()))
    print(f"{'all':28s} {all_total:7d} {all_rejected:8d} {all_rejected / max(all_total, 1):6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
