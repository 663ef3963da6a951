#!/usr/bin/env python3
"""The layers of src/ and include/flowsampler/ (README, Layout), lowest first.

A folder may include its own files and those of folders in lower layers
only: an include of a folder in the same or a higher layer fails, naming the
file and the include. kernels/ (the __host__ __device__ math) is below all of
them and includes only itself. Usage: check_includes.py REPOSITORY_ROOT
"""
import os
import re
import sys

LAYERS = [
    ["core"],                 # context, memory, device interface, communicator, errors
    ["cpu", "cuda"],          # the backends behind core's Device
    ["emulator"],             # the CUDA orchestration on the CPU, over cpu's kernels
    ["pairwise"],             # the N x M engine, dispatched to a backend
    ["io", "paths"],          # .npy and JSON files; interpolation paths
    ["targets"],              # Gaussian mixtures, specs, noise
    ["solvers"],              # entropic OT (Sinkhorn), its potentials and maps
    ["fields"],               # exact GMM fields, kernel drifts, score estimates
    ["metrics"],              # distances and divergences between clouds and laws
    ["integrate"],            # ODE/SDE integrators and cloud evolution
    ["jko"],                  # JKO steps and models, the score estimators
    ["monge"],                # Monge maps (KL's score: jko's estimators)
]
LAYER = {folder: i for i, folders in enumerate(LAYERS) for folder in folders}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(root, include):
    """The src/include folder an include names, or None (kernels/, own-folder or system files)."""
    parts = include.split("/")
    if parts[0] == "flowsampler" and len(parts) > 2:
        return parts[1]
    if len(parts) > 1 and os.path.isfile(os.path.join(root, "src", include)):
        return parts[0]
    return None


def sources(base):
    for dirpath, _, files in os.walk(base):
        for f in files:
            if f.endswith((".hpp", ".cpp", ".cu", ".cuh", ".h")):
                yield os.path.join(dirpath, f)


def main(root):
    errors, edges = [], 0
    for base in ("src", os.path.join("include", "flowsampler")):
        top = os.path.join(root, base)
        for path in sources(top):
            rel = os.path.relpath(path, top)
            if os.sep not in rel:
                continue  # flowsampler.hpp, the umbrella header, includes every layer
            me = rel.split(os.sep)[0]
            if me not in LAYER:
                errors.append(f"{base}/{rel}: folder '{me}' is in no layer; add it to LAYERS")
                continue
            for inc in INCLUDE.findall(open(path, encoding="utf-8", errors="replace").read()):
                other = folder_of(root, inc)
                if other is None or other == me:
                    continue
                edges += 1
                if other not in LAYER:
                    errors.append(f"{base}/{rel}: includes {inc} of folder '{other}', which is in no layer")
                elif LAYER[other] >= LAYER[me]:
                    errors.append(f"{base}/{rel}: includes {inc}: '{me}' (layer {LAYER[me]}) may not include "
                                  f"'{other}' (layer {LAYER[other]})")
    kernels = os.path.join(root, "kernels")
    for path in sources(kernels):
        for inc in INCLUDE.findall(open(path, encoding="utf-8", errors="replace").read()):
            here = os.path.join(os.path.dirname(path), inc)
            if not (os.path.isfile(os.path.join(kernels, inc)) or os.path.isfile(here)):
                errors.append(f"kernels/{os.path.relpath(path, kernels)}: includes {inc}, outside kernels/")
    for e in errors:
        print(e)
    print(f"{edges} includes across folders checked; {len(errors)} against the layers")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")))
