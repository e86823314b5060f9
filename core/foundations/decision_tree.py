"""A decision tree (CART): ask the one yes/no question that best separates the classes, then repeat in each half.

A question is "is feature j ≤ t?". Its quality is measured with the Gini impurity of the two
groups it makes, the chance that two examples drawn from a group have different classes:

    Gini(S) = 1 − Σ_c p_c²            split cost = (n_L · Gini(L) + n_R · Gini(R)) / n

At every node we try every feature and every threshold halfway between two neighbouring values,
keep the cheapest split, and recurse until a node is pure, holds one example, or the tree reaches
`max_depth`. A leaf predicts the class shares of its training examples. Deep trees carve out every
training point (overfitting); depth is the knob.

This is scikit-learn's DecisionTreeClassifier algorithm (criterion="gini", best splitter, no
pruning), down to its score for a split and its rule that a split must improve on the best so far
strictly, so ties go to the first candidate: the lowest threshold of a feature, and here the lower
feature. scikit-learn visits features in a random order (its `random_state`) instead, so when two
features tie exactly the trees may differ; on anything else they are identical
(tests/core/test_classical_ml.py).

>>> X = np.array([[1.0, 5.0], [2.0, 4.0], [3.0, 3.0], [4.0, 2.0]]); y = np.array([0, 0, 1, 1])
>>> tree = DecisionTree(max_depth=2).fit(X, y)
>>> tree.root.feature, tree.root.threshold, tree.predict(np.array([[2.2, 0.0]])).tolist()
(0, 2.5, [0])
"""

from dataclasses import dataclass

import numpy as np

from core.errors import LabError

FEATURE_THRESHOLD = 1e-7  # values closer than this count as equal (no threshold between them), as in scikit-learn
MAX_DOT_NODES = 63  # a drawing of more nodes than a depth-5 tree is unreadable


@dataclass
class Node:
    counts: np.ndarray  # training examples of each class that reach this node
    gini: float
    depth: int
    feature: int | None = None  # None: a leaf
    threshold: float | None = None  # go left when x[feature] ≤ threshold
    left: "Node | None" = None
    right: "Node | None" = None

    @property
    def is_leaf(self) -> bool:
        return self.feature is None


def gini(counts: np.ndarray) -> float:
    """1 − Σ p_c² of a node with these class counts (0 when pure).

    >>> gini(np.array([5, 5])), gini(np.array([10, 0]))
    (0.5, 0.0)
    """
    n = counts.sum()
    return float(1.0 - (counts * counts).sum() / (n * n))


def best_split(X: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[int, float] | None:
    """(feature, threshold) of the split with the lowest weighted Gini, or None if every feature is constant.

    For each feature: sort the examples, count each class on the left of every cut position with a
    running sum, and score every cut at once. scikit-learn's score ("proxy") is maximised:
        −n_R · Gini(R) − n_L · Gini(L)   (= −n × split cost)
    """
    best, best_score = None, -np.inf
    onehot = np.eye(n_classes)[y]
    total = onehot.sum(0)
    n = len(y)
    for f in range(X.shape[1]):
        order = np.argsort(X[:, f], kind="stable")
        xs = X[order, f]
        if xs[-1] <= xs[0] + FEATURE_THRESHOLD:
            continue  # a constant feature can't split anything
        left = np.cumsum(onehot[order], axis=0)[:-1]  # class counts left of cut p = 1..n−1
        right = total - left
        n_left = np.arange(1, n, dtype=np.float64)
        n_right = n - n_left
        sq_left, sq_right = (left * left).sum(1), (right * right).sum(1)
        score = -n_right * (1.0 - sq_right / (n_right * n_right)) - n_left * (1.0 - sq_left / (n_left * n_left))
        valid = xs[1:] > xs[:-1] + FEATURE_THRESHOLD  # a cut needs a gap between neighbouring values
        score = np.where(valid, score, -np.inf)
        p = int(np.argmax(score))  # the first of equal scores: the lowest threshold
        if score[p] > best_score:  # strictly better: an earlier feature keeps a tie
            best_score, best = score[p], (f, float(xs[p] / 2.0 + xs[p + 1] / 2.0))
    return best


class DecisionTree:
    def __init__(self, max_depth: int = 4):
        self.max_depth = int(max_depth)

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int | None = None) -> "DecisionTree":
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
        if X.ndim != 2 or len(X) != len(y) or len(y) == 0:
            raise LabError(f"need a table X with one row per label; got X of shape {X.shape} and {len(y)} labels")
        if self.max_depth < 1:
            raise LabError("a tree needs a depth of at least 1 (one question)")
        self.n_classes = int(n_classes if n_classes is not None else y.max() + 1)
        self.root = self._grow(X, y, 0)
        return self

    def _grow(self, X: np.ndarray, y: np.ndarray, depth: int) -> Node:
        counts = np.bincount(y, minlength=self.n_classes).astype(np.float64)
        node = Node(counts, gini(counts), depth)
        if depth >= self.max_depth or len(y) < 2 or node.gini <= np.finfo(float).eps:
            return node
        split = best_split(X, y, self.n_classes)
        if split is None:
            return node
        node.feature, node.threshold = split
        go_left = X[:, node.feature] <= node.threshold
        node.left = self._grow(X[go_left], y[go_left], depth + 1)
        node.right = self._grow(X[~go_left], y[~go_left], depth + 1)
        return node

    def _leaf_counts(self, X: np.ndarray, node: Node, out: np.ndarray, rows: np.ndarray, depth: int) -> None:
        if node.is_leaf or node.depth >= depth:
            out[rows] = node.counts
            return
        go_left = X[rows, node.feature] <= node.threshold
        self._leaf_counts(X, node.left, out, rows[go_left], depth)
        self._leaf_counts(X, node.right, out, rows[~go_left], depth)

    def predict_proba(self, X: np.ndarray, depth: int | None = None) -> np.ndarray:
        """(rows, classes): the class shares of the training examples in the leaf each row lands in.

        With `depth`, answer as the tree grown only to that depth would: growing is greedy, each
        node's question never depends on how deep the tree may go, so a depth-d tree is exactly
        the top d levels of a deeper one (cross-validating every depth needs one tree per fold).
        """
        X = np.asarray(X, dtype=np.float64)
        counts = np.zeros((len(X), self.n_classes))
        self._leaf_counts(X, self.root, counts, np.arange(len(X)), self.max_depth if depth is None else depth)
        return counts / counts.sum(1, keepdims=True)

    def predict(self, X: np.ndarray, depth: int | None = None) -> np.ndarray:
        return self.predict_proba(X, depth).argmax(axis=1)

    def nodes(self) -> list[Node]:
        """Every node, depth first (root, left subtree, right subtree)."""
        out, stack = [], [self.root]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend([] if node.is_leaf else [node.right, node.left])
        return out

    @property
    def depth(self) -> int:
        return max(n.depth for n in self.nodes())

    def to_dot(self, feature_names: list[str], class_names: list[str], colours: list[str]) -> str | None:
        """The tree as Graphviz DOT (questions in boxes, leaves filled with their class's colour), or
        None when it has more than MAX_DOT_NODES nodes."""
        nodes = self.nodes()
        if len(nodes) > MAX_DOT_NODES:
            return None
        ids = {id(node): i for i, node in enumerate(nodes)}
        lines = ['digraph tree {', 'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];']
        for node in nodes:
            about = f"n = {int(node.counts.sum())} [{', '.join(str(int(c)) for c in node.counts)}]\\ngini {node.gini:.2f}"
            if node.is_leaf:
                c = int(node.counts.argmax())
                label = f"{class_names[c]}\\n{about}"
                lines.append(f'{ids[id(node)]} [label="{label}", fillcolor="{colours[c % len(colours)]}55"];')
            else:
                label = f"{feature_names[node.feature]} ≤ {node.threshold:.3g}?\\n{about}"
                lines.append(f'{ids[id(node)]} [label="{label}", fillcolor="white"];')
                lines.append(f'{ids[id(node)]} -> {ids[id(node.left)]} [label="yes"];')
                lines.append(f'{ids[id(node)]} -> {ids[id(node.right)]} [label="no"];')
        return "\n".join(lines + ["}"])
