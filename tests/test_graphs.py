"""print_graph and graph_summary on the lecture's ReLU recurrence."""

import io
import re

import pytest
import torch
import torch.nn.functional as F

from rnncourse import graphs


def lecture_recurrence(T, seed=0):
    """The lecture's example: h = relu(Wx x[i] + Wh h) for T steps, Kaiming-scaled weights."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, 100, generator=g, requires_grad=True)
    Wx = torch.randn((50, 100), generator=g) * (2 / 100) ** 0.5
    Wh = torch.randn((50, 50), generator=g) * (2 / 50) ** 0.5
    h = torch.zeros(50)
    for i in range(len(x)):
        h = F.relu(torch.matmul(Wx, x[i]) + torch.matmul(Wh, h))
    return h


def edges_and_nodes(root):
    """Distinct nodes and edges, found with a plain set-based search of next_functions."""
    nodes, edges, todo = {root}, 0, [root]
    while todo:
        node = todo.pop()
        for child, _ in node.next_functions:
            if child is None:
                continue
            edges += 1
            if child not in nodes:
                nodes.add(child)
                todo.append(child)
    return nodes, edges


def printed(grad_fn, **kwargs):
    buf = io.StringIO()
    summary = graphs.print_graph(grad_fn, file=buf, **kwargs)
    return buf.getvalue().splitlines(), summary


def test_lecture_example_structure():
    h = lecture_recurrence(3)
    lines, summary = printed(h.grad_fn)
    assert lines[0] == "<class 'ReluBackward0'>"
    assert lines[1] == "  <class 'AddBackward0'>"
    assert lines[2] == "    <class 'MvBackward0'>"
    for name in [
        "ReluBackward0",
        "AddBackward0",
        "MvBackward0",
        "SelectBackward0",
        "AccumulateGrad",
    ]:
        assert summary.counts.get(name, 0) >= 1, name
        assert any(f"<class '{name}'>" in line for line in lines)
    # Only x requires grad, so its AccumulateGrad is the single leaf, shared by all steps.
    assert summary.counts["AccumulateGrad"] == 1
    assert sum(line.endswith("(seen above)") for line in lines) == 2
    nodes, edges = edges_and_nodes(h.grad_fn)
    assert summary.total == len(nodes) == sum(summary.counts.values())
    node_lines = [line for line in lines if line.lstrip().startswith("<class")]
    assert len(node_lines) == edges + 1  # one line per edge plus the root
    for line in node_lines:  # two spaces per level
        assert (len(line) - len(line.lstrip())) % 2 == 0
    assert (
        lines[-len(summary.counts) - 1] == f"total nodes: {summary.total} (depth {summary.depth})"
    )
    assert "  MvBackward0: 5" in lines


@pytest.mark.parametrize("T", [2, 5, 9])
def test_node_counts_grow_linearly_with_T(T):
    summary = graphs.graph_summary(lecture_recurrence(T))
    # Per step: ReLU, Add, Select, Mv(Wx x); Mv(Wh h) from step 2 on (h(0) is a constant).
    assert summary.counts["MvBackward0"] == 2 * T - 1
    for name in ["ReluBackward0", "AddBackward0", "SelectBackward0"]:
        assert summary.counts[name] == T
    assert summary.total == 5 * T
    assert summary.depth == 3 * T + 1  # ReLU -> Add -> Mv per step, then Mv -> Select -> leaf


def test_shared_nodes_do_not_blow_up():
    y = torch.ones(2, requires_grad=True)
    for _ in range(60):  # each node is used twice by the next: 2**60 paths
        y = y * y
    lines, summary = printed(y)
    assert summary.counts == {"MulBackward0": 60, "AccumulateGrad": 1}
    assert summary.depth == 60
    _, edges = edges_and_nodes(y.grad_fn)
    assert len([line for line in lines if "<class" in line]) == edges + 1 == 121


def test_max_depth_cuts_and_reports_nodes_below():
    h = lecture_recurrence(4)
    lines, summary = printed(h.grad_fn, max_depth=2)
    node_lines = [line for line in lines if "<class" in line]
    assert max(len(line) - len(line.lstrip()) for line in node_lines) == 4
    cuts = [re.search(r"\.\.\. \((\d+) more nodes? below\)", line) for line in lines]
    cuts = [int(m.group(1)) for m in cuts if m]
    # Level 2 holds the two products: below Mv(Wx x) lie Select and the leaf; below
    # Mv(Wh h) lies the whole recurrence of the first T - 1 = 3 steps, 5 nodes each.
    assert cuts == [2, 5 * 3]
    assert summary == graphs.graph_summary(h)  # counts cover the whole graph
    lines0, _ = printed(h.grad_fn, max_depth=0)
    assert lines0[:2] == [
        "<class 'ReluBackward0'>",
        f"  ... ({summary.total - 1} more nodes below)",
    ]


def test_print_graph_accepts_a_tensor_and_prints_to_stdout(capsys):
    h = lecture_recurrence(2)
    summary = graphs.print_graph(h)
    out = capsys.readouterr().out
    assert out.startswith("<class 'ReluBackward0'>\n")
    assert f"total nodes: {summary.total}" in out


def test_print_graph_bad_inputs():
    with pytest.raises(ValueError, match="grad_fn is None"):
        graphs.print_graph(None)
    with pytest.raises(ValueError, match="requires_grad=True"):
        graphs.print_graph(torch.ones(3) * 2)
    with pytest.raises(TypeError, match="autograd node"):
        graphs.print_graph("ReluBackward0")
    h = lecture_recurrence(2)
    with pytest.raises(ValueError, match="max_depth must be >= 0"):
        graphs.print_graph(h, max_depth=-1)
    with pytest.raises(TypeError, match="max_depth must be an int"):
        graphs.print_graph(h, max_depth=1.5)
