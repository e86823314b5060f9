"""Beam search's tree as Graphviz DOT, for st.graphviz_chart.

Every candidate continuation beam search scored is a node (token and total log-probability);
kept beams are blue, finished hypotheses green, dropped candidates grey, and the winning path
is drawn in bold red.
"""

from core.llm.generation import BeamSearch
from ui.tokens import visible

FILL = {"kept": "#cfe2ff", "finished": "#c7efcf", "dropped": "#f0f0f0"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(result: BeamSearch, pieces: dict[int, str], prompt_label: str, max_depth: int = 10) -> str:
    """DOT source of the search tree up to `max_depth` tokens after the prompt.

    `pieces` maps token id -> its text. Candidates with impossible scores (a dead beam's) are left out.
    """
    best = set(result.best_path)
    lines = ["digraph beams {", "rankdir=LR; nodesep=0.08; ranksep=0.25;",
             'node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10, height=0.2, margin="0.05,0.02"];',
             'edge [arrowsize=0.4, color="#999999"];',
             f"root [label={_quote(prompt_label)}, fillcolor=\"#fff1c1\"];"]
    for node in result.nodes:
        if node.depth > max_depth or node.score < -1e8:
            continue
        # backslash-n: a line break in a DOT label
        label = _quote(visible(pieces.get(node.token, str(node.token))))[:-1] + f'\\n{node.score:.2f}"'
        style = ', color="#d62728", penwidth=2.2' if node.id in best else ""
        lines.append(f'n{node.id} [label={label}, fillcolor="{FILL[node.status]}"{style}];')
        parent = "root" if node.parent == -1 else f"n{node.parent}"
        edge_style = ' [color="#d62728", penwidth=2.2]' if node.id in best else ""
        lines.append(f"{parent} -> n{node.id}{edge_style};")
    lines.append("}")
    return "\n".join(lines)
