"""Shared fixtures: the CLI binary the package is compared with, and the repository's targets."""
import os
import pathlib
import subprocess
import threading
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGETS = ROOT / "examples" / "targets"


@pytest.fixture(scope="session")
def cli():
    """Runs `flowsampler ARGS`; returns the completed process. FLOWSAMPLER_CLI names the binary
    (scripts/test-python sets it to the one built from the same tree)."""
    path = os.environ.get("FLOWSAMPLER_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("FLOWSAMPLER_CLI does not name the flowsampler binary (scripts/test-python sets it)")

    def run(*args, check=True):
        p = subprocess.run([path, *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"flowsampler {' '.join(map(str, args))}: exit {p.returncode}: {p.stderr}")
        return p

    return run


@pytest.fixture
def clouds():
    """Two float64 clouds of different sizes and laws, Fortran-ordered (the library's layout)."""
    rng = np.random.default_rng(7)
    x = np.asfortranarray(rng.normal(size=(300, 3)))
    y = np.asfortranarray(rng.normal(loc=0.5, scale=1.3, size=(257, 3)))
    return x, y


def assert_releases_the_gil(compute):
    """A second Python thread keeps running while compute() runs in a worker: the longest
    pause between its ticks is far shorter than the computation alone."""
    start = time.perf_counter()
    compute()
    alone = time.perf_counter() - start
    ticks, done = [], threading.Event()
    worker = threading.Thread(target=lambda: (compute(), done.set()))
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    gaps = np.diff(ticks)
    assert len(ticks) > 10 and gaps.max() < 0.5 * alone, (alone, gaps.max())
