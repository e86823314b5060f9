"""ui.live: the live chart gives each metric the same colour whatever has been recorded so far."""

from core.training import History
from ui.live import metric_chart


def test_each_metric_keeps_its_colour_before_its_first_value():
    early, late = History(total_steps=8), History(total_steps=8)
    early.record(1, {"loss": 0.7, "acc": 0.5})  # before the first evaluation: no test_* yet
    late.record(8, {"loss": 0.3, "acc": 0.9, "test_loss": 0.4, "test_acc": 0.85})
    metrics = ("loss", "acc", "test_loss", "test_acc")
    scales = [metric_chart(h, metrics)["encoding"]["color"]["scale"] for h in (early, late)]
    assert scales[0] == scales[1] and scales[0]["domain"] == list(metrics)
    assert metric_chart(late, metrics)["mark"]["point"], "a metric with one value so far (test_acc) is a dot, not nothing"
