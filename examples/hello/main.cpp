// Draws a Gaussian cloud on the best backend, prints its mean, saves it as .npy.
#include <flowsampler/flowsampler.hpp>

#include <cmath>
#include <cstdio>

int main() {
  namespace fs = flowsampler;
  fs::Context ctx = fs::Context::create(fs::Backend::automatic, /*seed=*/1);
  std::printf("%s\n", ctx.describe().c_str());
  fs::ParticleSet<float> x(ctx, 100000, 3);
  fs::fill_normal(ctx, x);
  const auto m = fs::metrics::mean(ctx, x);
  std::printf("mean of 100000 N(0, I_3) draws: %.4f %.4f %.4f\n", m[0], m[1], m[2]);
  fs::io::write_particles("hello.npy", x);
  const auto back = fs::io::read_particles<float>(ctx, "hello.npy");
  const bool ok = back.n() == x.n() && std::fabs(m[0]) < 0.02 && std::fabs(m[1]) < 0.02 && std::fabs(m[2]) < 0.02;
  std::printf("%s\n", ok ? "ok" : "unexpected result");
  return ok ? 0 : 1;
}
