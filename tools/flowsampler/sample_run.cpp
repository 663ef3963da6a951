// The computation of `flowsampler sample` (sample_run.hpp).
#include "sample_run.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <utility>

#include "checked_output.hpp"
#include "far_target.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/flowsampler.hpp"
#include "spread_check.hpp"

namespace flowsampler::cli {

namespace fs = flowsampler;

namespace {

// The likely causes of a non-finite result, for the message.
constexpr const char* kBlowUp =
    "the integration blew up: too few --steps for the flow's stiffness near the data end (try more steps or "
    "--integrator dopri5), or target/noise scales beyond the precision (--precision double, --noise-cov, "
    "means or variances far from 1)";

// The predicted spread error above which sample warns (and names it when a run blows up).
constexpr double spread_tolerance = 0.01;
// The largest --steps.
constexpr long long max_steps = 100000000;

std::string spread_warning(const std::string& integrator, int steps, const integrate::SpreadCheck& c,
                           int suggested_steps) {
  std::ostringstream os;
  os << "with " << steps << " " << integrator << " steps the spread of the target's components of whitened variance "
     << c.variance << " comes out ";
  if (std::isfinite(c.spread_error)) os << std::setprecision(3) << 100 * c.spread_error << "% off";
  else os << "unbounded";
  if (c.unstable_steps > 0)
    os << " (" << c.unstable_steps << " steps unstable: step x stiffness down to " << c.worst_step_rate << " at t = "
       << c.worst_t << ")";
  os << "; ";
  if (suggested_steps > 0) os << "--steps " << suggested_steps << " brings it below 1%, or use ";
  else os << "use ";
  os << "--integrator dopri5";
  return os.str();
}

// The ranks' trajectories (each snapshots x its kept rows x d, concatenated in
// rank order by a gather) as one array of snapshots x kept x d: a rank's kept
// rows are the global rows [first, first + count) of each snapshot.
// The rows of shard s among the first `kept` rows of the cloud (the particles
// a trajectory keeps).
Shard kept_part(Shard s, std::size_t kept) { return {s.first, s.first < kept ? std::min(s.count, kept - s.first) : 0}; }

template <class Real>
std::vector<Real> merge_trajectories(const std::vector<Real>& parts, const std::vector<Shard>& kept_rows,
                                     std::size_t snapshots, std::size_t kept, std::size_t d) {
  std::vector<Real> out(snapshots * kept * d);
  std::size_t at = 0;
  for (const Shard& r : kept_rows)
    for (std::size_t s = 0; s < snapshots; ++s, at += r.count * d)
      std::copy_n(parts.begin() + static_cast<std::ptrdiff_t>(at), r.count * d,
                  out.begin() + static_cast<std::ptrdiff_t>((s * kept + r.first) * d));
  return out;
}

}  // namespace

template <class Real>
SampleRun<Real> run_sample_flow(Context& ctx, const SampleOptions& o, const SampleInputs<Real>& in) {
  FLOWSAMPLER_EXPECTS(in.target != nullptr, "sample: no target");
  const fs::targets::GaussianMixture& target = *in.target;
  fs::paths::PathOptions po;
  po.horizon = o.horizon;
  const fs::paths::Path path = fs::paths::make_path(o.path, po);
  const bool sde = o.integrator == "sde", adaptive = o.integrator == "dopri5";
  const fs::integrate::Method method = sde || adaptive ? fs::integrate::Method::euler
                                                       : fs::integrate::parse_method(o.integrator, "--integrator");
  FLOWSAMPLER_EXPECTS(o.langevin_steps == 0 || sde, "--langevin-steps: the corrector runs with --integrator sde");
  FLOWSAMPLER_EXPECTS(!(sde && in.log_likelihood), "--log-likelihood needs an ODE integrator, not sde");
  FLOWSAMPLER_EXPECTS(o.early_stop >= 0 && o.early_stop < 1, "--early-stop: expected 0 <= DELTA < 1, got " << o.early_stop);
  FLOWSAMPLER_EXPECTS(!(o.times.empty() && target.has_atoms() && o.early_stop == 0 && path.reaches_data_end()),
                      "--early-stop: the empirical target " << in.target_name
                                                            << " has no density at t = 1; give --early-stop DELTA > 0");
  SampleRun<Real> run;
  run.t0 = o.times.empty() ? path.t_min() : o.times.front();
  run.t1 = o.times.empty() ? path.t_max() - o.early_stop : o.times.back();
  const double t0 = run.t0, t1 = run.t1;
  int steps = o.steps;  // an explicit time list sets the steps
  if (!o.times.empty()) {
    FLOWSAMPLER_EXPECTS(o.times.size() >= 2, "--times: need at least 2 times, got " << o.times.size());
    try {
      fs::integrate::validate_grid(o.times, path);
    } catch (const fs::Error& e) {
      FLOWSAMPLER_EXPECTS(false, "--times: " << e.what());
    }
    FLOWSAMPLER_EXPECTS(in.init != nullptr || path.at(t0).b > 0,
                        "--times: the list starts at t = " << t0 << ", where b(t) = 0 (the data end, no noise to start "
                                                          << "from); sampling starts where b(t) > 0, e.g. --times 0,0.5,1, "
                                                          << "or give --init");
    steps = static_cast<int>(o.times.size()) - 1;
    FLOWSAMPLER_EXPECTS(!(target.has_atoms() && path.at(t1).b == 0),
                        "--times: the empirical target has no density where b(t) = 0; end the list before it");
  }
  run.noise = o.noise_cov.empty() ? fs::targets::Noise::isotropic()
                                  : fs::targets::parse_noise(o.noise_cov, target.dim(), "--noise-cov");
  const fs::targets::Noise& noise = run.noise;
  expect_precision_suffices<Real>(target, noise, path.at(t1).a, path.at(t1).b, o.precision);
  // A far target is integrated about its mean (far_target.hpp): the particles
  // are y = x - a(t) c until they are handed out.
  const std::vector<double> centre = far_target_centre(target);
  std::vector<double> minus_centre(centre.size());
  for (std::size_t j = 0; j < centre.size(); ++j) minus_centre[j] = -centre[j];
  const fs::targets::GaussianMixture centred = centre.empty() ? target : target.translated(minus_centre);
  const fs::fields::GmmFlow<Real> flow(fs::fields::GmmField(centred, noise), path);
  const Communicator one_process;
  const Communicator& comm = in.comm ? *in.comm : one_process;
  const std::size_t total = in.init ? in.init->n() : o.n;
  const Shard shard = comm.shard(total);  // this rank's rows
  ParticleSet<Real>& z = run.particles;
  if (in.init == nullptr) {  // the cloud, the integrator's stages and the trajectory, before any allocation
    const std::string what = "--n " + std::to_string(o.n);
    std::size_t bytes = fs::checked_mul(fs::checked_mul(shard.count, target.dim(), what), 10 * sizeof(Real), what);
    if (in.trajectory) {
      const std::size_t kept = o.trajectory_particles > 0 ? std::min(o.trajectory_particles, o.n) : o.n;
      const std::size_t snaps = static_cast<std::size_t>(std::max(o.snapshots, 0));
      bytes = fs::checked_add(bytes, fs::checked_mul(fs::checked_mul(snaps, kept, what), target.dim() * sizeof(Real), what), what);
    }
    if (comm.size() > 1)  // rank 0 also holds the gathered rows and the whole cloud
      bytes = fs::checked_add(bytes, fs::checked_mul(fs::checked_mul(o.n, target.dim(), what), 2 * sizeof(Real), what), what);
    fs::expect_fits_in_memory(bytes, what);
    const fs::paths::PathPoint p0 = path.at(t0);
    // The exact law of a(t0) X + b(t0) Y: a GMM with means a m_k and covariances
    // a^2 S_k + b^2 Sigma_n wherever a(t0) != 0 (vp with a finite horizon:
    // a = e^-T; ve: a = 1, the data plus noise of scale sigma_max); where
    // a(t0) = 0 it is the noise alone, drawn as such.
    z = fs::targets::sample_initial<Real>(ctx, centred, noise, p0.a, p0.b, shard.count, p0.a != 0, shard.first);
  } else {
    FLOWSAMPLER_EXPECTS(in.init->d() == target.dim(),
                        "--init: " << o.init << " has d = " << in.init->d() << ", the target d = " << target.dim());
    if (comm.size() > 1) z = shard_rows(ctx, *in.init, shard);
    else z = in.init->belongs_to(ctx) ? std::move(*in.init) : in.init->copy(ctx);
    if (!centre.empty()) {  // into centred coordinates: one download and one upload
      std::vector<Real> rows = z.to_row_major();
      add_scaled_centre(rows, z.d(), centre, -path.at(t0).a);
      const std::size_t first = z.first_row();
      z = ParticleSet<Real>::from_row_major(ctx, rows.data(), z.n(), z.d());
      z.set_first_row(first);
    }
  }
  // Snapshots at J grid indices spread evenly over 0..steps (first and last
  // included); dopri5 runs from one snapshot time to the next, each evenly spaced.
  if (adaptive && o.times.empty()) steps = std::max(o.snapshots - 1, 1);
  FLOWSAMPLER_EXPECTS(!in.trajectory || (o.snapshots >= 2 && o.snapshots <= steps + 1),
                      "--snapshots: expected 2 <= J <= steps + 1 with --trajectory, got " << o.snapshots);
  std::vector<Real>& traj = run.trajectory;
  const std::size_t kept = o.trajectory_particles > 0 ? std::min(o.trajectory_particles, total) : total;
  // The kept particles are the first `kept` global rows; this rank holds these of them.
  const std::size_t kept_here = kept_part(shard, kept).count;
  if (in.trajectory) {  // also with --init, whose N the estimate above did not know
    const std::string what = "--trajectory with --snapshots " + std::to_string(o.snapshots);
    fs::expect_fits_in_memory(fs::checked_mul(fs::checked_mul(std::size_t(o.snapshots), kept, what), z.d() * sizeof(Real), what), what);
    run.kept = kept;
  }
  const auto grid = o.times.empty() ? fs::integrate::make_grid(o.schedule, path, t0, t1, steps) : o.times;
  // The spread an explicit method will get wrong, predicted from the target and
  // the grid: named in the blow-up messages below with what would fix it.
  if (!sde && !adaptive && fs::integrate::stability_bound(method) > 0) {
    const fs::targets::GaussianMixture& white = flow.field().whitened_target();
    run.spread = fs::integrate::check_spread(white, path, grid, method);
    run.spread_checked = true;
    if (run.spread.spread_error > spread_tolerance && o.times.empty()) {
      // Doubling up to 64x (and the --steps limit): each try costs steps x stages x variances path points.
      for (long long more = 2LL * steps; more <= std::min(64LL * steps, max_steps) && run.suggested_steps == 0; more *= 2)
        if (fs::integrate::check_spread(white, path, fs::integrate::make_grid(o.schedule, path, t0, t1, int(more)), method)
                .spread_error <= spread_tolerance)
          run.suggested_steps = int(more);
    }
    if (run.spread.spread_error > spread_tolerance)
      run.spread_warning = spread_warning(o.integrator, steps, run.spread, run.suggested_steps);
  }
  const std::string unstable = run.spread_warning.empty() ? "" : "; " + run.spread_warning;
  int next_snap = 0;
  auto snap_index = [&](int j) { return static_cast<int>(std::lround(double(j) * steps / (o.snapshots - 1))); };
  auto take = [&](int grid_index, const fs::ParticleSet<Real>& x) {
    if (!in.trajectory || next_snap >= o.snapshots || snap_index(next_snap) != grid_index) return;
    std::vector<Real> rows = x.head_to_row_major(kept_here);  // only the kept particles leave the device
    add_scaled_centre(rows, x.d(), centre, path.at(grid[static_cast<std::size_t>(grid_index)]).a);
    traj.insert(traj.end(), rows.begin(), rows.end());
    ++next_snap;
  };
  take(0, z);
  fs::ParticleSet<double> ll;
  fs::integrate::Options<Real> opts;
  opts.log_density = in.log_likelihood ? &ll : nullptr;
  opts.comm = in.comm;
  int done_steps = 0;
  opts.on_step = [&](int k, double t, const fs::ParticleSet<Real>& x) {
    done_steps = adaptive ? done_steps + 1 : k + 1;
    if (!adaptive) take(done_steps, x);
    if (in.progress) in.progress((t - t0) / (t1 - t0), done_steps, adaptive ? 0 : steps, t);
  };
  // The fixed-step integrators hand the cloud over only after the steps that
  // end at a snapshot (or, without a trajectory, at 16 progress points): in
  // between, the exact field's cloud moves block by block, in cache.
  if (!adaptive) {
    std::vector<int> at;
    const int progress_points = std::min(steps, 16);
    for (int j = 1; j <= progress_points; ++j) at.push_back(static_cast<int>(std::lround(double(j) * steps / progress_points)) - 1);
    if (in.trajectory)
      for (int j = 1; j < o.snapshots; ++j) at.push_back(snap_index(j) - 1);
    std::sort(at.begin(), at.end());
    at.erase(std::unique(at.begin(), at.end()), at.end());
    opts.on_step_at = std::move(at);
  }
  fs::integrate::Report& r = run.report;
  if (sde) {
    r = fs::integrate::integrate_sde(ctx, flow, z, grid, {o.eta, o.langevin_steps, o.langevin_snr}, opts);
  } else if (adaptive) {
    fs::integrate::AdaptiveOptions ao;
    ao.rtol = o.rtol;
    ao.atol = o.atol;
    for (std::size_t s = 0; s + 1 < grid.size(); ++s) {
      const auto part = fs::integrate::integrate_adaptive(ctx, flow, z, grid[s], grid[s + 1], ao, opts);
      r.nfe += part.nfe;
      r.steps += part.steps;
      r.rejected += part.rejected;
      take(static_cast<int>(s) + 1, z);
    }
  } else {
    r = fs::integrate::integrate(ctx, flow, z, grid, method, opts);
  }
  const std::string stage = "sample (" + o.integrator + ", path " + o.path + ")";
  if (in.log_likelihood) run.log_likelihood = ll.to_host();
  const fs::paths::PathPoint p1 = path.at(t1);
  run.law = fs::targets::noised(target, noise, p1.a, p1.b);
  if (comm.size() > 1) {  // rank 0 gathers the shards in row order, checks them and returns the whole cloud
    z = gather_rows(ctx, comm, z);
    run.log_likelihood = comm.gather(run.log_likelihood);
    if (in.trajectory) {
      std::vector<Shard> kept_rows;
      for (int r = 0; r < comm.size(); ++r) kept_rows.push_back(kept_part(shard_of(total, r, comm.size()), kept));
      traj = comm.gather(traj);
      if (comm.is_root()) traj = merge_trajectories(traj, kept_rows, std::size_t(o.snapshots), kept, target.dim());
    }
    if (!comm.is_root()) return run;
  }
  run.rows = z.to_row_major();
  if (!centre.empty()) {  // back to the target's coordinates; the report's quality section reads z
    add_scaled_centre(run.rows, z.d(), centre, path.at(t1).a);
    z = ParticleSet<Real>::from_row_major(ctx, run.rows.data(), z.n(), z.d());
  }
  if (in.init == nullptr) {
    expect_plausible_spread(run.rows, z.n(), z.d(), exact_total_variance(target, noise, p1.a, p1.b),
                            stage + ": the particles for --out",
                            "too few --steps for the flow near the data end, or a noise or target scale the integrator "
                            "cannot resolve (--noise-cov or variances near 0: the flow must amplify the noise by that "
                            "ratio); try --integrator dopri5 or rescale the problem",
                            "the fixed-step integrator is unstable for this flow (step x stiffness too large, e.g. target "
                            "variances far below the noise's): use --integrator dopri5 (adaptive) or many more --steps" +
                                unstable);
  }
  expect_finite(run.rows.data(), z.n(), z.d(), stage + ": the particles for --out", kBlowUp + unstable);
  if (in.log_likelihood) {
    expect_finite(run.log_likelihood.data(), run.log_likelihood.size(), 1,
                  stage + ": the log-likelihoods for --log-likelihood",
                  "a log-density beyond double range: a target or noise variance near 0 or huge (--noise-cov, the "
                  "covariances), or the integration blew up");
  }
  if (in.trajectory) expect_finite(traj.data(), traj.size(), 1, stage + ": the trajectory for --trajectory", kBlowUp + unstable);
  return run;
}

template SampleRun<float> run_sample_flow(Context&, const SampleOptions&, const SampleInputs<float>&);
template SampleRun<double> run_sample_flow(Context&, const SampleOptions&, const SampleInputs<double>&);

}  // namespace flowsampler::cli
