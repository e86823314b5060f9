"""k-nearest neighbours: no training at all, just remembering, then a vote among the closest examples.

To classify a point, find the k training points nearest to it (straight-line distance) and let
them vote; the share of votes is the predicted probability of each class.

    p(c | x) = (1/k) · #{ i among the k nearest to x : yᵢ = c }

Small k follows every noisy point (a jagged boundary, overfitting); large k smooths everything
out (k = n predicts the majority class everywhere). Ties: at equal distance the earlier training
row counts as nearer; at equal votes the lower class index wins (as in scikit-learn).

>>> model = KNearestNeighbours(k=3).fit(np.array([[0.0], [1.0], [2.0], [10.0]]), np.array([0, 0, 1, 1]))
>>> model.predict_proba(np.array([[0.5], [9.0]])).round(3).tolist()
[[0.667, 0.333], [0.333, 0.667]]
"""

import numpy as np

from core.errors import LabError

CHUNK = 2048  # query rows per block: a block's distance table stays a few MB


class KNearestNeighbours:
    def __init__(self, k: int = 5):
        self.k = int(k)

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int | None = None) -> "KNearestNeighbours":
        """Remember the training set (labels 0..n_classes−1)."""
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
        if X.ndim != 2 or len(X) != len(y) or len(y) == 0:
            raise LabError(f"need a table X with one row per label; got X of shape {X.shape} and {len(y)} labels")
        if not 1 <= self.k <= len(X):
            raise LabError(f"k = {self.k} neighbours, but there are only {len(X)} training points: choose k between 1 and {len(X)}")
        self.X, self.y = X, y
        self.n_classes = int(n_classes if n_classes is not None else y.max() + 1)
        return self

    def kneighbors(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distances, indices) of the k nearest training rows to each query row, nearest first."""
        Xq = np.asarray(Xq, dtype=np.float64)
        dist, idx = [], []
        for start in range(0, len(Xq), CHUNK):
            block = Xq[start:start + CHUNK]
            d2 = sum((block[:, j, None] - self.X[None, :, j]) ** 2 for j in range(self.X.shape[1]))  # (queries, training rows)
            order = self._k_smallest(d2)
            idx.append(order)
            dist.append(np.sqrt(np.take_along_axis(d2, order, axis=1)))
        return np.concatenate(dist), np.concatenate(idx)

    def _k_smallest(self, d2: np.ndarray) -> np.ndarray:
        """Column indices of the k smallest entries of each row, smallest first; equal distances in row order.

        A partial sort (argpartition) finds the k nearest without sorting all n; the rare rows where a
        distance equal to the k-th one was left out are redone with a full stable sort.
        """
        k = self.k
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(d2, part, axis=1)
        order = np.take_along_axis(part, np.lexsort((part, vals), axis=1), axis=1)
        kth = vals.max(axis=1, keepdims=True)
        tied = (d2 <= kth).sum(axis=1) > k  # more candidates than places: which ones count depends on the row order
        if tied.any():
            order[tied] = np.argsort(d2[tied], axis=1, kind="stable")[:, :k]
        return order

    def predict_proba(self, Xq: np.ndarray) -> np.ndarray:
        """(queries, classes): the share of the k neighbours in each class."""
        _, idx = self.kneighbors(Xq)
        votes = np.zeros((len(idx), self.n_classes))
        np.add.at(votes, (np.repeat(np.arange(len(idx)), self.k), self.y[idx].ravel()), 1.0)
        return votes / self.k

    def predict(self, Xq: np.ndarray) -> np.ndarray:
        return self.predict_proba(Xq).argmax(axis=1)  # argmax: the lowest class wins a tied vote

    def predict_each_k(self, Xq: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
        """Predictions for several k ≤ self.k from one neighbour search: the k nearest are the first k
        of the self.k nearest (the order breaks ties the same way), so only the vote changes."""
        _, idx = self.kneighbors(Xq)
        labels = self.y[idx]  # (queries, self.k), nearest first
        votes = np.cumsum(labels[:, :, None] == np.arange(self.n_classes), axis=1)  # votes among the first j + 1
        return {k: votes[:, k - 1].argmax(axis=1) for k in ks}
