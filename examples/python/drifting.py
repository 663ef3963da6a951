"""The drifting field (Deng et al.: attraction to the data minus self-repulsion) moves a
noise cloud onto two blobs; the energy distance to the data falls."""
import numpy as np

import flowsampler as fs

rng = np.random.default_rng(1)
data = np.concatenate([rng.normal(loc=-2, scale=0.3, size=(150, 2)), rng.normal(loc=2, scale=0.3, size=(150, 2))])
x0 = rng.normal(size=(300, 2)).astype(np.float32)
x1, records = fs.drift(x0, field="drifting", data=data.astype(np.float32), eps=1.0, steps=60, dt=0.3, records=True)
before, after = records[0]["energy_distance_to_data"], records[-1]["energy_distance_to_data"]
print(f"energy distance to the data: {before:.4f} -> {after:.4f}")
assert after < 0.5 * before
