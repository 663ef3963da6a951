// The flowsampler command-line tool (DESIGN.md section 6).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "flowsampler/flowsampler.hpp"
#include "sample_command.hpp"

namespace fs = flowsampler;

namespace {

int run_info(const std::string& backend_name) {
  const fs::Context ctx = fs::Context::create(fs::parse_backend(backend_name, "--backend"));
  std::cout << "flowsampler " << fs::version() << "\n"
            << "backends: cpu" << (fs::built_with_cuda() ? ", cuda (compiled in)" : "") << "\n"
            << "cuda devices: " << fs::cuda_device_count() << "\n"
            << "precisions: float, double\n";
  std::cout << "context: " << ctx.describe() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flowsampler: move particle clouds along transport flows"};
  app.require_subcommand(1);
  std::string backend = "auto";
  app.add_option("--backend", backend, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  CLI::App* info = app.add_subcommand("info", "Backends found, device, version, precisions");
  info->add_option("--backend", backend, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  fs::cli::SampleOptions so;
  CLI::App* sample = app.add_subcommand("sample", "Sample a Gaussian-mixture target by integrating its exact flow");
  sample->add_option("--target", so.target, "target spec (JSON, DESIGN.md section 6)")->required()->check(CLI::ExistingFile);
  sample->add_option("--path", so.path, "linear, follmer, vp, cosine, ve, overshoot")->capture_default_str();
  sample->add_option("--horizon", so.horizon, "T of the vp path")->capture_default_str();
  sample->add_option("--integrator", so.integrator,
                     "euler, heun, midpoint, rk4, ddim, dpmpp2m, dopri5 (adaptive), or sde (Euler-Maruyama on "
                     "the reverse SDE)")
      ->capture_default_str();
  sample->add_option("--rtol", so.rtol, "dopri5: relative tolerance")->capture_default_str()->check(CLI::PositiveNumber);
  sample->add_option("--atol", so.atol, "dopri5: absolute tolerance")->capture_default_str()->check(CLI::PositiveNumber);
  sample->add_option("--langevin-steps", so.langevin_steps, "sde: Langevin corrector steps after each step")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  sample->add_option("--langevin-snr", so.langevin_snr, "sde: the corrector's signal-to-noise ratio r, step 2 (r |xi| / |s|)^2")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sample->add_option("--noise-cov", so.noise_cov,
                     "covariance of the noise Y as JSON: a number (sigma^2), a list of d variances or a d x d matrix "
                     "(default 1)");
  sample->add_option("--eta", so.eta, "sde: g^2 = 2 eta |b b' - b^2 a'/a| (0: the ODE, 1: the classic reverse SDE)")
      ->capture_default_str();
  auto* steps_opt =
      sample->add_option("--steps", so.steps, "steps of the time grid (dopri5: ignored, adaptive)")->capture_default_str()->check(CLI::Range(1, 100000000));
  sample->add_option("--schedule", so.schedule, "time grid: uniform, logsnr or karras (rho = 7)")
      ->capture_default_str()->check(CLI::IsMember({"uniform", "logsnr", "karras"}));
  sample->add_option("--times", so.times, "an explicit time grid, comma-separated and strictly monotone")
      ->delimiter(',')
      ->excludes(steps_opt);
  sample->add_option("--early-stop", so.early_stop, "stop at t = 1 - DELTA (required for empirical targets)")->capture_default_str();
  auto* n_opt = sample->add_option("--n", so.n, "number of particles")->capture_default_str()->check(CLI::Range(std::size_t(1), std::size_t(1) << 40));
  sample->add_option("--init", so.init, "initial particles (.npy, N x d) instead of --n fresh noise")->excludes(n_opt)->check(CLI::ExistingFile);
  sample->add_option("--seed", so.seed, "random seed")->capture_default_str();
  sample->add_option("--backend", backend, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sample->add_option("--precision", so.precision, "float or double")->capture_default_str()->check(CLI::IsMember({"float", "double"}));
  sample->add_option("--out", so.out, "output particles (.npy, N x d)")->required();
  sample->add_option("--log-likelihood", so.loglik,
                     "write log p at the end time of each particle (.npy, N x 1), by integrating -div v exactly");
  auto* traj_opt = sample->add_option("--trajectory", so.trajectory, "write J snapshots of the cloud (.npy, J x N x d)");
  sample->add_option("--snapshots", so.snapshots, "J: snapshots at evenly spread grid times, first and last included")
      ->needs(traj_opt);
  sample->add_option("--trajectory-particles", so.trajectory_particles,
                     "K: keep only the first K particles in --trajectory (J x K x d; default all)")
      ->needs(traj_opt);
  sample->add_flag("--progress", so.progress, "progress bar on stderr (default: when stderr is a terminal)");
  sample->add_option("--quality-subsample", so.quality_subsample,
                     "report: particles compared with fresh target draws by MMD and sliced W2 (0: skip)")
      ->capture_default_str();
  sample->add_option("--quality-projections", so.quality_projections, "report: directions of the sliced W2")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  sample->add_option("--report", so.report, "JSON report: backend, precision, n, dim, path, integrator, steps, nfe, wall_seconds");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "flowsampler: " << e.what() << " (see flowsampler --help)\n";
    return 2;
  }
  try {
    if (*info) return run_info(backend);
    if (*sample) return fs::cli::run_sample(so, backend);
  } catch (const fs::Error& e) {
    std::cerr << "flowsampler: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "flowsampler: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
