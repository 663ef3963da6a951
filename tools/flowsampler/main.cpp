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

#include "cli_checks.hpp"
#include "flowsampler/flowsampler.hpp"
#include "drift_command.hpp"
#include "jko_command.hpp"
#include "monge_command.hpp"
#include "reproduce_command.hpp"
#include "metrics_command.hpp"
#include "sample_command.hpp"

namespace fs = flowsampler;

namespace {

int run_info(const std::string& backend_name, const fs::Communicator& world) {
  const fs::Context ctx = fs::Context::create(fs::parse_backend(backend_name, "--backend"));
  if (!world.is_root()) return 0;
  std::cout << "flowsampler " << fs::version() << "\n"
            << "backends: cpu" << (fs::built_with_cuda() ? ", cuda (compiled in)" : "") << "\n"
            << "cuda devices: " << fs::cuda_device_count() << "\n"
            << "precisions: float, double\n"
            << "mpi: " << (fs::Communicator::built_with_mpi() ? "built in" : "not built in") << ", " << world.size()
            << (world.size() == 1 ? " rank" : " ranks") << "\n";
  std::cout << "context: " << ctx.describe() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flowsampler: move particle clouds along transport flows"};
  app.require_subcommand(1);
  std::string backend = "auto";
  flowsampler::cli::add_backend_option(&app, backend);
  CLI::App* info = app.add_subcommand("info", "Backends found, device, version, precisions");
  flowsampler::cli::add_backend_option(info, backend);
  fs::cli::SampleOptions so;
  CLI::App* sample = app.add_subcommand("sample", "Sample a Gaussian-mixture target by integrating its exact flow");
  sample->add_option("--target", so.target, "target spec (JSON, DESIGN.md section 6)")->required()->check(flowsampler::cli::regular_file);
  sample->add_option("--path", so.path, "linear, follmer, vp, cosine, ve, overshoot")->capture_default_str();
  sample->add_option("--horizon", so.horizon, "T of the vp path")->capture_default_str();
  sample->add_option("--integrator", so.integrator,
                     "euler, heun, midpoint, rk4, ddim, dpmpp2m, dopri5 (adaptive), or sde (Euler-Maruyama on "
                     "the reverse SDE)")
      ->capture_default_str();
  sample->add_option("--rtol", so.rtol, "dopri5: relative tolerance")->capture_default_str()->check(flowsampler::cli::positive_number);
  sample->add_option("--atol", so.atol, "dopri5: absolute tolerance")->capture_default_str()->check(flowsampler::cli::positive_number);
  sample->add_option("--langevin-steps", so.langevin_steps, "sde: Langevin corrector steps after each step")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  sample->add_option("--langevin-snr", so.langevin_snr, "sde: the corrector's signal-to-noise ratio r, step 2 (r |xi| / |s|)^2")
      ->capture_default_str()->check(flowsampler::cli::positive_number);
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
  auto* n_opt = sample->add_option("--n", so.n, "number of particles")->capture_default_str()->check(flowsampler::cli::count(1, std::uint64_t(1) << 40));
  sample->add_option("--init", so.init, "initial particles (.npy, N x d) instead of --n draws of the path's exact law at its start, a(t0) X + b(t0) Y")->excludes(n_opt)->check(flowsampler::cli::regular_file);
  sample->add_option("--seed", so.seed, "random seed")->capture_default_str()->check(flowsampler::cli::count());
  flowsampler::cli::add_backend_option(sample, backend);
  sample->add_option("--precision", so.precision, "float or double")->capture_default_str()->check(CLI::IsMember({"float", "double"}));
  sample->add_option("--out", so.out, "output particles (.npy, N x d)")->required();
  sample->add_option("--log-likelihood", so.loglik,
                     "write log p at the end time of each particle (.npy, N x 1), by integrating -div v exactly");
  auto* traj_opt = sample->add_option("--trajectory", so.trajectory, "write J snapshots of the cloud (.npy, J x N x d)");
  sample->add_option("--snapshots", so.snapshots, "J: snapshots at evenly spread grid times, first and last included")
      ->needs(traj_opt);
  sample->add_option("--trajectory-particles", so.trajectory_particles,
                     "K: keep only the first K particles in --trajectory (J x K x d; default all)")
      ->needs(traj_opt)->check(flowsampler::cli::count());
  sample->add_flag("--progress", so.progress, "progress bar on stderr (default: when stderr is a terminal)");
  sample->add_option("--quality-subsample", so.quality_subsample,
                     "report: particles compared with fresh target draws by MMD and sliced W2 (0: skip)")
      ->capture_default_str()->check(flowsampler::cli::count());
  sample->add_option("--quality-projections", so.quality_projections, "report: directions of the sliced W2")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  sample->add_option("--report", so.report, "JSON report: backend, precision, n, dim, path, integrator, steps, nfe, wall_seconds");
  fs::cli::MetricsOptions mo;
  CLI::App* metrics = app.add_subcommand("metrics", "Distances between two clouds (--y) or a cloud and a target (--target), or the moments and entropy of one cloud (--x alone); prints JSON");
  metrics->add_option("--x", mo.x, "particles (.npy, N x d)")->required()->check(flowsampler::cli::regular_file);
  auto* y_opt = metrics->add_option("--y", mo.y, "particles (.npy, M x d)")->check(flowsampler::cli::regular_file);
  metrics->add_option("--target", mo.target, "target spec (JSON) instead of --y: its exact moments and scores, fresh draws for the rest")
      ->check(flowsampler::cli::regular_file)->excludes(y_opt);
  metrics->add_option("--mmd", mo.mmd, "KERNEL:BANDWIDTH (gaussian, laplace, imq, energy), repeatable");
  metrics->add_flag("--unbiased", mo.unbiased, "MMD as the U-statistic (default: the V-statistic)");
  metrics->add_option("--sliced-w2", mo.sliced_w2, "P: sliced W2^2 with P random directions")->check(CLI::Range(1, 1000000));
  metrics->add_option("--sinkhorn", mo.sinkhorn, "EPS: entropic OT and the Sinkhorn divergence (cost |x - y|^2)")
      ->check(flowsampler::cli::positive_number);
  metrics->add_option("--sinkhorn-tol", mo.sinkhorn_tol, "stop when the L1 marginal error is below this")
      ->capture_default_str()->check(flowsampler::cli::positive_number);
  metrics->add_option("--sinkhorn-max-iter", mo.sinkhorn_max_iter, "iterations at the final eps (exit 2 beyond)")
      ->capture_default_str()->check(CLI::Range(1, 100000000));
  metrics->add_flag("--exact-w2", mo.exact_w2, "exact W2^2 by optimal assignment (N = M <= 20000)");
  metrics->add_flag("--bures", mo.bures, "Gaussian W2^2 between the moments (Gelbrich bound; exact moments with --target)");
  metrics->add_flag("--energy", mo.energy, "energy distance");
  metrics->add_flag("--map-distance", mo.map_distance, "||x - y||_L2 over paired rows (images of the same inputs)");
  metrics->add_flag("--kl", mo.kl, "KL(x || y) by kNN, or KL(x || target) with the exact log-density");
  metrics->add_flag("--entropy", mo.entropy, "kNN (Kozachenko-Leonenko) entropy of x");
  metrics->add_flag("--moments", mo.moments, "mean and (unbiased) covariance of x; what a run with --x alone reports");
  metrics->add_option("--knn-k", mo.knn_k, "k of the kNN estimators")->capture_default_str()->check(CLI::Range(1, 31));
  metrics->add_option("--fisher-against", mo.fisher_against, "R.json: FI(target || R) by Monte Carlo with exact scores")
      ->check(flowsampler::cli::regular_file);
  metrics->add_option("--fisher-samples", mo.fisher_samples, "Monte Carlo draws for --fisher-against")->capture_default_str()->check(flowsampler::cli::count(1, std::uint64_t(1) << 40));
  metrics->add_option("--target-samples", mo.target_samples, "draws of --target for the sample-based metrics (default N)")
      ->check(flowsampler::cli::count(0, std::uint64_t(1) << 40));
  metrics->add_option("--seed", mo.seed, "seed of the directions and draws")->capture_default_str()->check(flowsampler::cli::count());
  metrics->add_option("--precision", mo.precision, "float or double")->capture_default_str()->check(CLI::IsMember({"float", "double"}));
  flowsampler::cli::add_backend_option(metrics, backend);
  fs::cli::DriftOptions dro;
  CLI::App* drift = app.add_subcommand("drift", "Move a cloud with a kernel drift field (mean shift, drifting, MMD, KDE score, SVGD)");
  drift->add_option("--field", dro.field,
                    "mean-shift, drifting, drifting-normalized, mmd, kde-score, blob, svgd, sinkhorn or ot-score")->required();
  drift->add_option("--x", dro.x, "initial particles (.npy, N x d)")->required()->check(flowsampler::cli::regular_file);
  auto* data_opt = drift->add_option("--data", dro.data, "the data cloud beta (.npy, M x d)")->check(flowsampler::cli::regular_file);
  drift->add_option("--target", dro.target, "target spec: svgd's score, or fresh draws as the data")
      ->check(flowsampler::cli::regular_file)->excludes(data_opt);
  drift->add_option("--target-samples", dro.target_samples, "draws of --target used as data (default N)")
      ->check(flowsampler::cli::count(0, std::uint64_t(1) << 40));
  drift->add_option("--kernel", dro.kernel, "gaussian, laplace, imq or energy (default laplace for drifting, else gaussian)");
  drift->add_option("--eps", dro.eps, "kernel bandwidth h")->capture_default_str()->check(flowsampler::cli::positive_number);
  drift->add_option("--ot-eps", dro.ot_eps, "sinkhorn, ot-score: entropic eps (default 0.05 x median squared distance)")
      ->check(CLI::NonNegativeNumber);
  drift->add_option("--batch", dro.batch, "random batch: use this many data points per step (default all)")->check(flowsampler::cli::count());
  drift->add_flag("--median-bandwidth", dro.median_bandwidth, "svgd: median-heuristic bandwidth, per step");
  drift->add_flag("--progress", dro.progress, "progress bar on stderr (default: when stderr is a terminal)");
  drift->add_flag("--include-self", dro.include_self, "drifting(-normalized): keep j = i in the self term");
  drift->add_option("--temperatures", dro.temperatures, "drifting-normalized: temperatures, summed (default 0.02 0.05 0.2)")
      ->expected(1, 16);
  drift->add_option("--steps", dro.steps, "steps")->capture_default_str()->check(CLI::Range(1, 100000000));
  drift->add_option("--dt", dro.dt, "step size")->capture_default_str()->check(flowsampler::cli::positive_number);
  drift->add_option("--integrator", dro.integrator, "euler, heun, midpoint or rk4")->capture_default_str();
  drift->add_option("--every", dro.every, "record the cloud's moments and energy distance to the data every J steps")
      ->capture_default_str()->check(CLI::Range(1, 100000000));
  drift->add_option("--out", dro.out, "final particles (.npy)")->required();
  drift->add_option("--report", dro.report, "JSON report with the records");
  drift->add_option("--seed", dro.seed, "random seed")->capture_default_str()->check(flowsampler::cli::count());
  drift->add_option("--precision", dro.precision, "float or double")->capture_default_str()->check(CLI::IsMember({"float", "double"}));
  flowsampler::cli::add_backend_option(drift, backend);
  fs::cli::JkoOptions jko_o;
  fs::cli::JkoSampleOptions jko_s;
  fs::cli::JkoCommands jko_c;
  fs::cli::add_jko_commands(app, jko_o, jko_s, backend, &jko_c);
  fs::cli::add_monge_commands(app, backend);
  fs::cli::ReproduceOptions ro;
  CLI::App* reproduce = fs::cli::add_reproduce_command(app, ro, backend);
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
  // Under mpirun every rank runs this program; a rank that fails ends the
  // whole job (MPI_Abort), since the others would wait for it forever.
  const fs::Communicator world = fs::Communicator::world();
  auto fail = [&](int rc, const std::string& message) {
    std::cerr << "flowsampler";
    if (world.size() > 1) std::cerr << " (rank " << world.rank() << " of " << world.size() << ")";
    std::cerr << ": " << message << "\n";
    if (world.size() > 1) world.abort(rc);
    return rc;
  };
  // What went to stdout (metrics' JSON, info) must have arrived: `> /dev/full` is exit 1.
  auto stdout_checked = [](int rc) {
    std::cout.flush();
    if (rc == 0 && !std::cout) {
      std::cerr << "flowsampler: stdout: write failed\n";
      return 1;
    }
    return rc;
  };
  try {
    FLOWSAMPLER_EXPECTS(world.size() == 1 || *info || *sample || *drift || *metrics,
                        "under mpirun (" << world.size() << " ranks) only sample, drift and metrics run sharded; run "
                                         << app.get_subcommands().front()->get_name() << " as one process");
    if (*info) return stdout_checked(run_info(backend, world));
    if (*sample) return fs::cli::run_sample(so, backend);
    if (*metrics) return stdout_checked(fs::cli::run_metrics(mo, backend));
    if (*drift) return fs::cli::run_drift(dro, backend);
    if (*jko_c.jko) return fs::cli::run_jko(jko_o, backend);
    if (*jko_c.sample) return fs::cli::run_jko_sample(jko_s, backend);
    if (*reproduce) return stdout_checked(fs::cli::run_reproduce(ro, backend));
    if (const int rc = fs::cli::run_monge_commands(backend); rc >= 0) return rc;
  } catch (const fs::Error& e) {
    return fail(2, e.what());
  } catch (const fs::RuntimeError& e) {  // the machine failed (device, I/O), not the input
    return fail(1, e.what());
  } catch (const std::exception& e) {
    return fail(1, std::string("internal error: ") + e.what());
  }
  return 0;
}
