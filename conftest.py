"""pytest setup for the whole tree (core's doctests and tests/): how many threads torch may use in each test."""

import os

import pytest


@pytest.fixture(autouse=True)
def torch_threads(request):
    """Fast tests and doctests run tiny models, on which torch's intra-op threads only spin: on two busy cores
    a 50-step LoRA toy costs 1.6 s of CPU with two threads and 0.05 s with one. So they get one thread.

    Tests marked slow (pretrained models) get the CPUs shared among the test workers (pytest-xdist runs one
    per CPU, so usually one thread each), as the app shares them among its heavy-work slots: more threads
    than CPUs wait on each other (core.infra.admission.threads_per_slot)."""
    import torch

    from core.infra.admission import threads_per_slot

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 1))
    threads = torch.get_num_threads()
    torch.set_num_threads(threads_per_slot(workers) if request.node.get_closest_marker("slow") else 1)
    yield
    torch.set_num_threads(threads)
