"""flowsampler: transport flows for particle clouds (exact Gaussian-mixture
flows, kernel drifts, JKO flows, Monge maps, integrators, metrics), the C++ library in Python.

    import flowsampler as fs
    x = fs.sample("examples/targets/ring8.json", n=100_000, path="vp", integrator="heun", steps=100, seed=0)
    fs.metrics.sinkhorn(x, y, eps=0.1).divergence

The CLI's commands: ``sample``, ``drift``, ``jko`` (``model=True`` keeps a ``JkoFlowModel``
that generates like ``jko-sample``), ``monge`` (a ``MongeMap`` that applies like
``monge-apply``), ``reproduce`` (a seed paper's claims, result.json as a dict); ``metrics``
and ``pairwise`` (kernel sums, softmax means, nearest neighbours) on arrays. Models and
maps save to and load from the CLI's directories.

Keywords are the CLI's option names and defaults (``--early-stop`` is ``early_stop``);
the same options and seed give the CLI's particles bit for bit. Bad input raises
``flowsampler.Error`` (a ``ValueError``) with the library's message. Computations run
with the GIL released.

Arrays: clouds are (N, d) arrays (numpy, or any DLPack producer on the CPU such as a torch
tensor). The library stores a cloud column-major, which is the memory of a Fortran-ordered
(N, d) array: such an array (``np.asfortranarray(x)``) of the computation's dtype is read in
place on a CPU context. A C-ordered array, a dtype conversion or a device context costs one
copy; ``fs.metrics.zero_copy(x)`` tells which. Results are new C-ordered numpy arrays.
"""
from ._core import (  # noqa: F401
    Context,
    Error,
    GaussianMixture,
    JkoFlowModel,
    MongeMap,
    SampleResult,
    __version__,
    built_with_cuda,
    cuda_device_count,
    drift,
    jko,
    monge,
    sample,
)
from . import metrics, pairwise  # noqa: F401
from ._reproduce import reproduce, reproductions  # noqa: F401

__all__ = ["Context", "Error", "GaussianMixture", "JkoFlowModel", "MongeMap", "SampleResult", "built_with_cuda",
           "cuda_device_count", "drift", "jko", "metrics", "monge", "pairwise", "reproduce", "reproductions", "sample"]
