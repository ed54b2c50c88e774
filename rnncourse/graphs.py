"""Print and measure the graph torch's autograd records (nodes such as ``MvBackward0``,
linked by ``next_functions`` to the nodes that produced their inputs)."""

import sys
from collections import Counter
from dataclasses import dataclass, field

import torch

from ._validation import check_int

__all__ = ["GraphSummary", "print_graph", "graph_summary"]


@dataclass
class GraphSummary:
    """Size of an autograd graph: ``total`` distinct nodes (root included), ``depth`` (edges
    on the longest path to a leaf), ``counts`` per class, e.g. ``{"MvBackward0": 5}``."""

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
    """Longest path (in edges) from each node below ``root`` to a leaf, without recursion."""
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
    counts = dict(Counter(type(node).__name__ for node in height))
    return GraphSummary(total=len(height), depth=height[root], counts=counts)


def print_graph(grad_fn, max_depth: int | None = None, file=None) -> GraphSummary:
    """Print the autograd graph below ``grad_fn`` (or a tensor) as nested class names.

    One line ``<class 'Name'>`` per edge plus the root, indented below its user; a node
    seen before prints ``(seen above)``, and below ``max_depth`` levels (None: all) a count
    of nodes. Prints to ``file`` (default stdout); returns the :class:`GraphSummary`.
    """
    root = _root(grad_fn)
    max_depth = None if max_depth is None else check_int(max_depth, "max_depth", min_value=0)
    out = sys.stdout if file is None else file
    printed = set()
    stack = [(root, 0)]  # depth-first, without recursion
    while stack:
        node, level = stack.pop()
        pad = "  " * level
        name = f"<class '{type(node).__name__}'>"
        if node in printed:
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
