"""The backprop lab, timed side by side with torch doing the same work.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_backprop.py)

1. Playground: full passes (epochs) per second over 500 spiral points with a 2×8 tanh network,
   Adam, minibatches of 10 and of 500, metrics included: our NumPy MLP (core.nn.mlp.Trainer) against
   the same loop in torch (nn.Sequential, torch.optim.Adam), interleaved, from the median pass
   (benchmarks/timing.py). Target: ≥ 30 passes/s.
2. Digits: seconds until the from-scratch MLP (64 hidden units, Adam, the page's "Good fit"
   preset) first reaches 95% test accuracy, and the test accuracy after the full 30 epochs;
   the same for torch. Target: ≥ 95% within 10 s.
3. Optimizers: 1,000 Adam steps on Rosenbrock, ours (core.nn.optim.descend) against torch.optim.Adam.
torch runs with one thread (see below). Timings are wall-clock (CPU seconds beside them) on whatever
else the machine runs.
Writes benchmarks/results/backprop.json.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks.timing import measure, race  # noqa: E402
from core.infra import data  # noqa: E402
from core.nn import mlp, optim  # noqa: E402
from core.training import generators, init_parameters  # noqa: E402

PASSES_TARGET, DIGITS_TARGET_S, DIGITS_TARGET_ACC = 30.0, 10.0, 0.95
# these networks are tiny: torch's intra-op threads only add synchronisation (and thrash on a busy
# 2-core machine), so both sides run single-threaded, as NumPy's small matmuls effectively do
torch.set_num_threads(1)


def torch_trainer(config: mlp.MLPConfig, split: mlp.Split):
    """The same network, loss and optimizer in torch, trained with the same minibatch loop."""
    _, g = generators(config.seed)
    sizes = [split.X_train.shape[1], *config.hidden, split.n_classes]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    net = init_parameters(torch.nn.Sequential(*layers[:-1]), g)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    Xtr, ytr = torch.tensor(split.X_train, dtype=torch.float32), torch.tensor(split.y_train)
    Xte, yte = torch.tensor(split.X_test, dtype=torch.float32), torch.tensor(split.y_test)

    def epoch() -> dict[str, float]:
        order = torch.randperm(len(Xtr), generator=g)
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            loss = torch.nn.functional.cross_entropy(net(Xtr[batch]), ytr[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return {"loss": torch.nn.functional.cross_entropy(net(Xtr), ytr).item(),
                    "test_acc": (net(Xte).argmax(1) == yte).float().mean().item()}

    return epoch


def playground_race(repeats: int = 25) -> list[dict]:
    X, y = data.points("spiral", 500, 0.1, seed=0)
    split = mlp.Split(X, y, X[:100], y[:100], 2)  # all 500 points train; metrics on 100 as the page does
    rows = []
    for batch in (10, 500):
        config = mlp.MLPConfig(hidden=(8, 8), batch_size=batch, lr=0.03)
        times = race({"ours": mlp.Trainer(config, split).train_epoch, "torch": torch_trainer(config, split)}, repeats)
        ours, theirs = 1 / times["ours"].wall_s, 1 / times["torch"].wall_s  # passes per second, from the median pass
        rows.append({"task": f"playground: 500 points, 2x8 tanh, Adam, batch {batch}", "ours_passes_per_s": ours,
                     "torch_passes_per_s": theirs, "ours_cpu_s_per_pass": times["ours"].cpu_s,
                     "torch_cpu_s_per_pass": times["torch"].cpu_s, "meets_target": ours >= PASSES_TARGET})
    return rows


def digits_race() -> list[dict]:
    """Both train 30 epochs, one epoch each in turn; each one's clock counts only its own epochs."""
    split = mlp.digits(seed=0)
    config = mlp.MLPConfig(hidden=(64,), lr=0.003, batch_size=32, epochs=30)
    epochs = {"ours": mlp.Trainer(config, split).train_epoch, "torch": torch_trainer(config, split)}
    clock, reached, acc = dict.fromkeys(epochs, 0.0), dict.fromkeys(epochs), {}
    for _ in range(config.epochs):
        for name, epoch in epochs.items():
            wall, _, metrics = measure(epoch)
            clock[name] += wall
            acc[name] = metrics["test_acc"]
            if reached[name] is None and acc[name] >= DIGITS_TARGET_ACC:
                reached[name] = clock[name]
    return [{"task": "digits MLP 64-64-10, Adam, batch 32, 30 epochs", "ours_s_to_95pct": reached["ours"],
             "ours_final_test_acc": acc["ours"], "ours_total_s": clock["ours"], "torch_s_to_95pct": reached["torch"],
             "torch_final_test_acc": acc["torch"], "torch_total_s": clock["torch"],
             "meets_target": reached["ours"] is not None and reached["ours"] <= DIGITS_TARGET_S}]


def optimizer_race() -> list[dict]:
    s = optim.ROSENBROCK

    def ours():
        optim.descend(s, "Adam", 0.02, steps=1000)

    def theirs():
        p = torch.tensor(s.start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.02)
        for _ in range(1000):
            opt.zero_grad()
            s.f(p[0], p[1]).backward()
            opt.step()

    times = race({"ours": ours, "torch": theirs}, repeats=3)
    return [{"task": "1,000 Adam steps on Rosenbrock", "ours_s": times["ours"].wall_s, "torch_s": times["torch"].wall_s,
             "ours_cpu_s": times["ours"].cpu_s, "torch_cpu_s": times["torch"].cpu_s}]


def main() -> None:
    with threadpool_limits(limits=1, user_api="blas"):  # as core.nn.mlp.Trainer.run trains
        results = {"playground": playground_race(), "digits": digits_race(), "optimizers": optimizer_race(),
                   "torch_threads": torch.get_num_threads(), "load_average_1min": os.getloadavg()[0]}
    out = ROOT / "benchmarks" / "results" / "backprop.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"{'backprop lab':<52} {'ours':>12} {'torch':>12}  target")
    for r in results["playground"]:
        print(f"{r['task']:<52} {r['ours_passes_per_s']:>8.1f} p/s {r['torch_passes_per_s']:>8.1f} p/s  "
              f"{'ok' if r['meets_target'] else 'MISSED'} (≥ {PASSES_TARGET:g} passes/s)")
    for r in results["digits"]:
        fmt = lambda t: f"{t:>10.2f} s" if t is not None else "     never"  # noqa: E731
        print(f"{'digits: time to 95% test accuracy':<52} {fmt(r['ours_s_to_95pct'])} {fmt(r['torch_s_to_95pct'])}  "
              f"{'ok' if r['meets_target'] else 'MISSED'} (≤ {DIGITS_TARGET_S:g} s)")
        print(f"{'digits: test accuracy after 30 epochs':<52} {r['ours_final_test_acc']:>12.1%} {r['torch_final_test_acc']:>12.1%}")
    for r in results["optimizers"]:
        print(f"{r['task']:<52} {r['ours_s']:>10.3f} s {r['torch_s']:>10.3f} s")
    print(f"1-minute load average while measuring: {results['load_average_1min']:.1f} (timings are wall-clock); "
          f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
