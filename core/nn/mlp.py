"""A multilayer perceptron from scratch in NumPy: forward, backward by hand, and its training loop.

The backward pass is the chain rule written out layer by layer (what core.nn.autograd does one
scalar at a time, here one matrix at a time). With softmax + cross-entropy the gradient at the
logits is simply (p − y)/N, derived on the digits page and checked below.

>>> config = MLPConfig(hidden=(8,), epochs=60, lr=0.05, seed=0)
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 8, dtype=float)
>>> y = np.array([0, 1, 1, 0] * 8)                          # XOR: needs the hidden layer
>>> result = fit(config, Split(X, y, X, y, n_classes=2))
>>> result.history.last("test_acc")
1.0
"""

from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.foundations.evaluation import split_indices
from core.nn import optim
from core.training import History, OnStep, generators, run_steps

# activation and its derivative written in terms of (pre-activation z, output h): whichever is cheaper
ACTIVATIONS = {
    "tanh": (np.tanh, lambda z, h: 1 - h * h),
    "relu": (lambda z: np.maximum(z, 0), lambda z, h: (z > 0).astype(z.dtype)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, h: h * (1 - h)),
    "linear": (lambda z: z, lambda z, h: np.ones_like(z)),
}
EXPLODED = 50  # predictions whose cross-entropy is this many times guessing's (ln K) count as diverged


@dataclass
class MLPConfig:
    hidden: tuple[int, ...] = (8, 8)  # widths of the hidden layers; () is logistic regression
    activation: str = "tanh"  # tanh | relu | sigmoid | linear
    loss: str = "cross_entropy"  # cross_entropy (softmax + NLL) | mse (squared error of the softmax output)
    optimizer: str = "Adam"  # any name in core.nn.optim.OPTIMIZERS
    lr: float = 0.03
    batch_size: int = 16
    l1: float = 0.0  # λ₁·Σ|W|: pushes weights to exactly zero (sparse)
    l2: float = 0.0  # λ₂·ΣW²: shrinks all weights (weight decay)
    dropout: float = 0.0  # probability of zeroing each hidden unit while training
    epochs: int = 100  # full passes over the training set
    patience: int = 0  # early stopping: stop after this many epochs without a better validation loss (0: off)
    seed: int = 0


# ----------------------------------------------------------------------------- losses


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))  # shifting by the max changes nothing but avoids overflow
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_from_logits(z: np.ndarray, y: np.ndarray) -> float:
    """Mean −log softmax(z)[y] over the rows, in nats, computed as log-sum-exp − z_y (stable)."""
    m = z.max(axis=1, keepdims=True)
    log_norm = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def minus_onehot(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """p − onehot(y), row by row (a new array)."""
    d = p.copy()
    d[np.arange(len(y)), y] -= 1
    return d


def softmax_ce_grad(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d cross_entropy_from_logits / dz = (softmax(z) − onehot(y)) / N.

    >>> z, y = np.array([[2.0, 1.0, 0.1]]), np.array([0])
    >>> np.allclose(softmax_ce_grad(z, y), numerical_gradient(lambda t: cross_entropy_from_logits(t, y), z))
    True
    """
    return minus_onehot(softmax(z), y) / len(y)


def numerical_gradient(f, z: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central finite differences (f(z + εeᵢ) − f(z − εeᵢ)) / 2ε, one coordinate at a time."""
    g = np.zeros_like(z, dtype=np.float64)
    for i in np.ndindex(z.shape):
        zp, zm = z.astype(np.float64), z.astype(np.float64)
        zp[i] += eps
        zm[i] -= eps
        g[i] = (f(zp) - f(zm)) / (2 * eps)
    return g


def softmax_ce_check(k: int, scale: float = 2.0, seed: int = 0) -> tuple[dict[str, np.ndarray], float]:
    """Random logits z ~ N(0, scale²) for k classes and a random label y, as table columns: p = softmax(z),
    y one-hot, the gradient p − y and central finite differences of the loss; and their largest gap.

    >>> table, gap = softmax_ce_check(5, scale=20.0)
    >>> list(table)[-2:], bool(gap < 1e-6)
    (['p − y', 'finite differences'], True)
    """
    rng = np.random.default_rng(seed)
    z, y = rng.normal(size=(1, k)) * scale, rng.integers(0, k, 1)
    analytic, numeric = softmax_ce_grad(z, y)[0], numerical_gradient(lambda t: cross_entropy_from_logits(t, y), z)[0]
    table = {"k": np.arange(k), "logit z": z[0], "p = softmax(z)": softmax(z)[0], "y (one-hot)": np.eye(k)[y[0]],
             "p − y": analytic, "finite differences": numeric}
    return table, float(np.abs(analytic - numeric).max())


def cross_entropy_and_grad(z: np.ndarray, y: np.ndarray, with_loss: bool = True) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(z) against the labels y (NaN if not `with_loss`) and its gradient at z."""
    return cross_entropy_from_logits(z, y) if with_loss else np.nan, softmax_ce_grad(z, y)


def squared_error_and_grad(z: np.ndarray, y: np.ndarray, with_loss: bool = True) -> tuple[float, np.ndarray]:
    """Mean over rows of Σ (softmax(z) − onehot(y))² (NaN if not `with_loss`) and its gradient at z."""
    p = softmax(z)
    diff = minus_onehot(p, y)
    loss = float(np.mean(np.sum(diff * diff, axis=1))) if with_loss else np.nan
    dp = 2 * diff / len(y)
    return loss, p * (dp - np.sum(dp * p, axis=1, keepdims=True))  # back through softmax's Jacobian


# a loss's name → (loss, its gradient at the logits); training steps ask only for the gradient
LOSSES = {"cross_entropy": cross_entropy_and_grad, "mse": squared_error_and_grad}


def loss_and_grad(z: np.ndarray, y: np.ndarray, kind: str, with_loss: bool = True) -> tuple[float, np.ndarray]:
    """The data loss `kind` at the logits z (NaN if not `with_loss`) and its gradient there."""
    return LOSSES[kind](z, y, with_loss)


# ----------------------------------------------------------------------------- the model


class MLP:
    """Dense layers with one activation, then a linear output layer (logits).

    `params` is [W1, b1, W2, b2, ...], each W of shape (fan_in, fan_out), so a batch X (N, d_in)
    flows as X @ W + b.
    """

    def __init__(self, sizes: list[int], activation: str = "tanh", rng: np.random.Generator | None = None):
        if any(s < 1 for s in sizes):
            raise LabError("every layer needs at least one unit")
        rng = rng or np.random.default_rng(0)
        self.activation = activation
        shapes = [shape for fan_in, fan_out in zip(sizes[:-1], sizes[1:]) for shape in ((fan_in, fan_out), (fan_out,))]
        # every parameter (and its gradient) is a view into one flat buffer, so the optimizer
        # updates the whole network with a handful of NumPy calls instead of a few per tensor
        self.flat = np.zeros(sum(int(np.prod(s)) for s in shapes))
        self.grad_flat = np.zeros_like(self.flat)
        self.params, self.grads, offset = [], [], 0
        for shape in shapes:
            n = int(np.prod(shape))
            self.params.append(self.flat[offset:offset + n].reshape(shape))
            self.grads.append(self.grad_flat[offset:offset + n].reshape(shape))
            offset += n
        for W in self.weights:  # Xavier/He scale: keeps the activations' variance about constant layer to layer
            W[...] = rng.normal(0, np.sqrt((2.0 if activation == "relu" else 1.0) / W.shape[0]), W.shape)

    @property
    def weights(self) -> list[np.ndarray]:
        return self.params[0::2]

    def forward(self, X: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None):
        """Logits for X, and what backward needs (inputs, pre-activations, outputs, dropout masks)."""
        act = ACTIVATIONS[self.activation][0]
        cache = {"a": [X], "z": [], "h": [], "mask": []}
        a = X
        for W, b in zip(self.params[0:-2:2], self.params[1:-2:2]):  # the hidden layers
            z = a @ W + b
            h = act(z)
            mask = None
            if dropout > 0:  # inverted dropout: scale the survivors now, so evaluation needs no change
                mask = (rng.random(h.shape) >= dropout) / (1 - dropout)
                a = h * mask
            else:
                a = h
            for key, value in (("z", z), ("h", h), ("mask", mask), ("a", a)):
                cache[key].append(value)
        return a @ self.params[-2] + self.params[-1], cache  # the output layer: logits, no activation

    def loss_and_grads(self, X, y, loss: str = "cross_entropy", l1: float = 0.0, l2: float = 0.0,
                       dropout: float = 0.0, rng=None, with_loss: bool = True) -> tuple[float, list[np.ndarray]]:
        """(data loss + penalty λ₁·Σ|W| + λ₂·ΣW², its gradient for every param). Biases are not
        penalised. The gradients are views into `grad_flat`, overwritten by the next call."""
        logits, cache = self.forward(X, dropout, rng)
        total, dz = loss_and_grad(logits, y, loss, with_loss)
        if with_loss:
            total += sum(l1 * np.abs(W).sum() + l2 * (W * W).sum() for W in self.weights)
        dact = ACTIVATIONS[self.activation][1]
        for i in reversed(range(len(self.weights))):
            W, a_prev = self.params[2 * i], cache["a"][i]
            self.grads[2 * i][...] = a_prev.T @ dz
            if l1:
                self.grads[2 * i] += l1 * np.sign(W)
            if l2:
                self.grads[2 * i] += 2 * l2 * W
            self.grads[2 * i + 1][...] = dz.sum(axis=0)
            if i > 0:  # back through the layer below: its dropout mask, then its activation
                da = dz @ W.T
                if cache["mask"][i - 1] is not None:
                    da = da * cache["mask"][i - 1]
                dz = da * dact(cache["z"][i - 1], cache["h"][i - 1])
        return float(total), self.grads

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.forward(X)[0])

    def evaluate(self, X: np.ndarray, y: np.ndarray, *losses: str) -> tuple[float, ...]:
        """(each named data loss..., accuracy) on X, y, from one forward pass."""
        logits = self.forward(X)[0]
        return (*(loss_and_grad(logits, y, loss)[0] for loss in losses), float(np.mean(logits.argmax(axis=1) == y)))


# ----------------------------------------------------------------------------- training


@dataclass
class Split:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    X_val: np.ndarray | None = None  # for early stopping; the test set stays untouched until the end
    y_val: np.ndarray | None = None


def split(X: np.ndarray, y: np.ndarray, test_fraction: float = 0.3, val_fraction: float = 0.0, seed: int = 0) -> Split:
    """Shuffle and cut into train / (validation) / test (core.foundations.evaluation.split_indices); labels must be 0..k-1."""
    parts = split_indices(len(X), test_fraction, val_fraction, seed)
    train, val, test = parts.train, parts.val, parts.test
    if len(train) < 2:
        raise LabError(f"{len(X)} examples are too few to split into training and test sets")
    n_classes = int(y.max()) + 1
    missing = sorted(set(range(n_classes)) - set(y[train].tolist()))
    if missing:  # the network could never learn it, and its test points would all count as errors
        raise LabError(f"class {', '.join(map(str, missing))} has no training points after the split: "
                       "use more points or a smaller test share")
    return Split(X[train], y[train], X[test], y[test], n_classes, X[val] if len(val) else None, y[val] if len(val) else None)


class Trainer:
    """A model, its optimizer and its data, trained a few epochs at a time.

    The playground's Play button calls `run(n)` on every tick; `fit` calls it once. `history`
    holds every epoch so far, whichever way it was trained.
    """

    def __init__(self, config: MLPConfig, data: Split):
        if config.loss not in LOSSES or config.activation not in ACTIVATIONS or config.optimizer not in optim.OPTIMIZERS:
            raise LabError(f"unknown loss, activation or optimizer in {config}")
        if not 0 <= config.dropout < 1:
            raise LabError("dropout must be at least 0 and below 1")
        self.config, self.data = config, data
        self.rng, _ = generators(config.seed)  # NumPy: initial weights, dropout masks, batch order
        sizes = [data.X_train.shape[1], *config.hidden, data.n_classes]
        self.model = MLP(sizes, config.activation, self.rng)
        self.optimizer = optim.make(config.optimizer, [self.model.flat], config.lr)
        self.history = History()
        self.epoch = 0

    def train_epoch(self) -> dict[str, float]:
        """One pass over the shuffled training set in minibatches, then the metrics."""
        c, d = self.config, self.data
        order = self.rng.permutation(len(d.X_train))
        with np.errstate(all="ignore"):  # a diverging run makes inf/NaN: reported through the loss, not warnings
            for start in range(0, len(order), c.batch_size):
                batch = order[start:start + c.batch_size]
                self.model.loss_and_grads(d.X_train[batch], d.y_train[batch], c.loss, c.l1, c.l2, c.dropout, self.rng, with_loss=False)
                self.optimizer.step([self.model.grad_flat])
            self.epoch += 1
            return self.metrics()

    def metrics(self) -> dict[str, float]:
        d, loss = self.data, self.config.loss
        with np.errstate(all="ignore"):
            # train_ce: how confidently wrong the logits are, whichever loss trains them (the squared
            # error of softmax outputs stays below 2 however wrong, so only cross-entropy shows an overshoot)
            train_loss, train_ce, train_acc = self.model.evaluate(d.X_train, d.y_train, loss, "cross_entropy")
            test_loss, test_acc = self.model.evaluate(d.X_test, d.y_test, loss)
            if not np.isfinite(self.model.flat).all():  # weights overflowed: the loss is meaningless, call it inf
                train_loss = test_loss = train_ce = float("inf")
            out = {"loss": train_loss, "test_loss": test_loss, "train_acc": train_acc, "test_acc": test_acc, "train_ce": train_ce}
            if d.X_val is not None:
                out["val_loss"], out["val_acc"] = self.model.evaluate(d.X_val, d.y_val, loss)
        return out

    def run(self, n_epochs: int, on_step: OnStep | None = None) -> History:
        """Train `n_epochs` more epochs (fewer if on_step says stop or the loss diverges)."""
        offset = self.epoch
        # predictions far more wrong than guessing mean the steps overshoot: stop and say so, as
        # run_steps does when the loss turns inf/NaN (a saturated net can stay finite while broken)
        limit = EXPLODED * np.log(self.data.n_classes)
        exploded = False

        def watch(step, metrics):
            nonlocal exploded
            exploded = metrics["train_ce"] > limit
            return not exploded and (on_step is None or on_step(step, metrics) is not False)

        # one BLAS thread: these matrices are small, and threads only add waiting (badly so on a busy machine)
        with threadpool_limits(limits=1, user_api="blas"):
            run = run_steps(lambda _: self.train_epoch(), n_epochs, watch, items_per_step=len(self.data.X_train), item_name="examples")
        run.diverged = bool(run.diverged or exploded)
        for step in range(len(run.steps)):
            self.history.record(offset + run.steps[step], {k: v[step] for k, v in run.metrics.items()})
        self.history.total_steps = offset + n_epochs
        self.history.stopped, self.history.diverged = run.stopped, self.history.diverged or run.diverged
        return run

    def retune(self, lr: float, l1: float = 0.0, l2: float = 0.0, dropout: float = 0.0) -> None:
        """Change the step size and the regularisation mid-run, as TensorFlow Playground's knobs do: the
        weights, the optimizer's running averages and the epoch count stay where they are."""
        if not 0 <= dropout < 1:
            raise LabError("dropout must be at least 0 and below 1")
        self.config = replace(self.config, lr=lr, l1=l1, l2=l2, dropout=dropout)
        self.optimizer.lr = lr

    def latest(self) -> dict[str, float]:
        """The metrics after the last epoch trained (before any: those of the untrained network)."""
        return {k: v[-1] for k, v in self.history.metrics.items()} if self.history.steps else self.metrics()

    def run_for(self, seconds: float, most: int = 200) -> History:
        """Train for about `seconds`: as many epochs as the speed measured so far allows (1 to `most`;
        one epoch at first, to measure it). The playground calls this on every tick of Play."""
        rate = self.history.last("steps_per_s") if self.history.steps else 1.0 / seconds
        return self.run(int(np.clip(rate * seconds, 1, most)))


def why_diverged(history: History, n_classes: int) -> str:
    """In words, why a diverged run was stopped (what the pages say).

    >>> h = History(); h.record(3, {"loss": 1.2, "train_ce": 80.0})
    >>> why_diverged(h, 2)
    "its predictions became confidently wrong: their cross-entropy reached 80, over 50× guessing's ln 2 = 0.69"
    """
    loss = history.last("loss")
    if not np.isfinite(loss):
        return f"the loss became {loss} (the numbers overflowed float64)"
    return (f"its predictions became confidently wrong: their cross-entropy reached {history.last('train_ce'):.3g}, "
            f"over {EXPLODED}× guessing's ln {n_classes} = {np.log(n_classes):.2f}")


def overfitting(history: History, tol: float = 0.01) -> str:
    """In words, what the training and validation losses did (the claim the digits page makes under its curves):
    whether the validation loss rose past its lowest point by more than `tol` (relative) while training went on.

    >>> h = History()
    >>> for epoch, (loss, val) in enumerate([(2.0, 2.1), (1.0, 1.5), (0.5, 1.2), (0.2, 1.6)], start=1):
    ...     h.record(epoch, {"loss": loss, "val_loss": val})
    >>> overfitting(h)[:104]
    'the validation loss was lowest at epoch 3 (1.2) and rose to 1.6 by epoch 4, while the training loss fell'
    >>> h.record(5, {"loss": 0.1, "val_loss": 1.1}); overfitting(h)
    'the validation loss is still falling: lowest at the last epoch (5, 1.1); no sign of overfitting yet'
    """
    train, val = np.asarray(history.metrics["loss"]), np.asarray(history.metrics["val_loss"])
    ok = np.isfinite(val)
    if not ok.any():
        return "no validation loss was recorded"
    best = int(np.nanargmin(np.where(ok, val, np.inf)))
    last = len(val) - 1
    if best == last or not val[last] > val[best] * (1 + tol):
        return (f"the validation loss is still falling: lowest at the last epoch ({history.steps[best]}, {val[best]:.3g}); "
                "no sign of overfitting yet" if best == last else
                f"the validation loss has levelled off since epoch {history.steps[best]} ({val[best]:.3g}); no clear overfitting")
    return (f"the validation loss was lowest at epoch {history.steps[best]} ({val[best]:.3g}) and rose to {val[last]:.3g} by epoch "
            f"{history.steps[last]}, while the training loss fell from {train[best]:.3g} to {train[last]:.3g}: past epoch "
            f"{history.steps[best]} the network memorises its training examples rather than learning what generalises")


@dataclass
class Result:
    model: MLP
    history: History
    best_epoch: int  # the epoch whose weights the model holds (early stopping), else the last
    early_stopped: bool = False
    config: MLPConfig = field(default_factory=MLPConfig)


def fit(config: MLPConfig, data: Split, on_step: OnStep | None = None) -> Result:
    """Train an MLP for config.epochs; with config.patience and a validation set, stop early and
    keep the weights of the epoch with the lowest validation loss."""
    trainer = Trainer(config, data)
    best = {"loss": np.inf, "epoch": 0, "params": trainer.model.flat.copy(), "early": False}
    watch = config.patience > 0 and data.X_val is not None

    def on_epoch(epoch: int, metrics: dict[str, float]):
        if watch:
            if metrics["val_loss"] < best["loss"]:
                best.update(loss=metrics["val_loss"], epoch=epoch, params=trainer.model.flat.copy())
            elif epoch - best["epoch"] >= config.patience:
                best["early"] = True
        keep_going = on_step(epoch, metrics) if on_step is not None else True
        return keep_going is not False and not best["early"]

    trainer.run(config.epochs, on_epoch)
    if watch:
        trainer.model.flat[...] = best["params"]
    return Result(trainer.model, trainer.history, best["epoch"] if watch else trainer.epoch, best["early"], config)


def weight_images(W: np.ndarray, shape: tuple[int, int] = (8, 8)) -> list[np.ndarray]:
    """Each unit's incoming weights (a column of W) as an image in [0, 1]: 0.5 is a zero weight,
    1 and 0 the unit's largest positive and negative ones (each unit scaled on its own, so a
    small-weight unit still shows its pattern).

    >>> [img.tolist() for img in weight_images(np.array([[2.0, 0.0], [-1.0, 0.0]]), shape=(1, 2))]
    [[[1.0, 0.25]], [[0.5, 0.5]]]
    """
    scale = np.abs(W).max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)  # a unit with all-zero weights stays grey
    return [((W[:, k] / scale[k] + 1) / 2).reshape(shape) for k in range(W.shape[1])]


def digits(n_train: int | None = None, seed: int = 0) -> Split:
    """scikit-learn's 1,797 handwritten 8×8 digits, pixels scaled to [0, 1]: 20% test, 20% validation
    (for early stopping), the rest for training, of which only the first `n_train` are kept if given
    (few training digits + a big network = overfitting on purpose)."""
    from core.infra.data import sklearn_table

    X, y, _, _ = sklearn_table("digits")
    s = split(X / 16.0, y, test_fraction=0.2, val_fraction=0.2, seed=seed)
    if n_train is not None:
        if n_train < 10:
            raise LabError("train on at least 10 digits")
        s.X_train, s.y_train = s.X_train[:n_train], s.y_train[:n_train]
    return s
