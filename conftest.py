"""pytest setup for the whole tree (core's doctests and tests/): torch on one thread for fast tests."""

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread_unless_slow(request):
    """The fast tests and doctests run tiny models, on which torch's intra-op threads only spin: on two
    busy cores a 50-step LoRA toy costs 1.6 s of CPU with two threads and 0.05 s with one. Tests marked
    slow (pretrained models) keep torch's own thread count."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
