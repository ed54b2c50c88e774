"""Looking at computation graphs: print the graph torch's autograd records.

``print_graph`` walks the graph that autograd records while a tensor is computed: each
node is a backward function (``MvBackward0`` for a matrix-vector product,
``ReluBackward0``, ...) and ``next_functions`` points to the nodes that produced its
inputs. For a recurrence the graph grows by a fixed set of nodes per time step, which
is why its backward pass (backpropagation through time) costs time linear in T.
Drawing the unrolled network is :func:`rnncourse.diagrams.draw_unrolled`.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

import torch

from ._validation import check_int

__all__ = ["GraphSummary", "print_graph", "graph_summary"]


@dataclass
class GraphSummary:
    """Size of an autograd graph, counting every node once.

    Attributes:
        total: number of distinct nodes reachable from the root (root included).
        depth: length, in edges, of the longest path from the root to a leaf node.
        counts: number of distinct nodes per class name, e.g. ``{"MvBackward0": 5}``.
    """

    total: int
    depth: int
    counts: dict[str, int] = field(default_factory=dict)


def _children(node) -> list:
    """The nodes that produced ``node``'s inputs (None entries, constants, skipped)."""
    return [child for child, _ in node.next_functions if child is not None]


def _root(grad_fn):
    """The autograd node to start from: ``grad_fn``, or a tensor's ``grad_fn``."""
    node = grad_fn.grad_fn if isinstance(grad_fn, torch.Tensor) else grad_fn
    if node is None:
        raise ValueError(
            "grad_fn is None: the tensor is a leaf or was not computed from anything that "
            "requires grad. Create the inputs with requires_grad=True and pass the result."
        )
    if not hasattr(node, "next_functions"):
        raise TypeError(
            f"grad_fn must be an autograd node such as tensor.grad_fn (or a tensor), "
            f"got {type(grad_fn).__name__}."
        )
    return node


def _heights(root) -> dict:
    """Longest path (in edges) from each node reachable from ``root`` down to a leaf.

    An explicit stack instead of recursion, so graphs of long sequences fit; each node
    is finished once, so shared nodes cost nothing extra.
    """
    height: dict = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            height[node] = 1 + max((height[c] for c in _children(node)), default=-1)
        elif node not in height:
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if c not in height)
    return height


def graph_summary(grad_fn) -> GraphSummary:
    """A :class:`GraphSummary` of the graph below ``grad_fn`` (or a tensor), unprinted."""
    root = _root(grad_fn)
    height = _heights(root)
    counts = Counter(type(node).__name__ for node in height)
    return GraphSummary(total=len(height), depth=height[root], counts=dict(counts))


def print_graph(grad_fn, max_depth: int | None = None, file=None) -> GraphSummary:
    """Print the autograd graph below ``grad_fn`` as nested class names.

    Each node is printed as ``<class 'Name'>``, indented two spaces more than the node
    that uses it, children in the order of ``next_functions``. The graph is a DAG:
    a node can be reached along many paths (the ``AccumulateGrad`` of a weight used at
    every time step, for example). A plain tree walk would print it once per path,
    which grows exponentially; here each node is printed in full (with the nodes below
    it) only the first time it is reached, and later visits print
    ``<class 'Name'> (seen above)``. So the printout has one line per edge of the graph
    plus one for the root, not one per path.

    ``grad_fn`` is ``tensor.grad_fn`` or the tensor. ``max_depth`` limits the printout to
    that many levels below the root (0: the root only; None: everything); below a cut
    node a line ``... (N more nodes below)`` counts the distinct nodes under it. Prints
    to ``file`` (default ``sys.stdout``) and returns a :class:`GraphSummary` of the whole
    graph, also printed at the end: total nodes, depth and nodes per class.
    """
    root = _root(grad_fn)
    if max_depth is not None:
        max_depth = check_int(max_depth, "max_depth", min_value=0)
    out = sys.stdout if file is None else file
    printed = set()
    stack = [(root, 0)]  # depth-first, with an explicit stack: no recursion limit
    while stack:
        node, level = stack.pop()
        pad = "  " * level
        name = f"<class '{type(node).__name__}'>"
        if node in printed:  # a shared node: print it (and what is below it) only once
            print(f"{pad}{name} (seen above)", file=out)
            continue
        printed.add(node)
        print(f"{pad}{name}", file=out)
        children = _children(node)
        if max_depth is not None and level >= max_depth and children:
            below = len(_heights(node)) - 1
            print(f"{pad}  ... ({below} more node{'s' * (below != 1)} below)", file=out)
        else:
            stack.extend((child, level + 1) for child in reversed(children))

    summary = graph_summary(root)
    print(f"total nodes: {summary.total} (depth {summary.depth})", file=out)
    for cls, n in sorted(summary.counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {cls}: {n}", file=out)
    return summary
