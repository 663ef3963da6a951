#include "flowsampler/jko/model.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/files.hpp"
#include "flowsampler/io/npy.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/targets/spec.hpp"
#include "io/json_fields.hpp"
#include "jko/cloud_ops.hpp"

namespace flowsampler::jko {

std::string target_spec_json(const targets::GaussianMixture& pi) {
  const std::size_t d = pi.dim();
  nlohmann::json means = nlohmann::json::array(), covs = nlohmann::json::array();
  for (std::size_t k = 0; k < pi.size(); ++k) {
    means.push_back(pi.mean(k));
    const std::vector<double> c = pi.covariance(k);
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t i = 0; i < d; ++i) rows.push_back(std::vector<double>(c.begin() + long(i * d), c.begin() + long((i + 1) * d)));
    covs.push_back(rows);
  }
  const nlohmann::json j = {{"type", "gaussian_mixture"}, {"dim", d}, {"weights", pi.weights()}, {"means", means},
                            {"covariances", covs}};
  return j.dump();
}

namespace {

template <class Real>
Objective<Real> kl_objective(const targets::GaussianMixture& pi) {
  Objective<Real> F;
  F.add_relative_entropy(pi);
  return F;
}

std::string cloud_name(std::size_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "X_%03zu.npy", k);
  return buf;
}

}  // namespace

template <class Real>
JkoModel<Real>::JkoModel(const targets::GaussianMixture& pi, std::vector<ParticleSet<Real>> clouds, std::vector<double> steps,
                         std::vector<ScoreParams> score)
    : pi_(pi), F_(kl_objective<Real>(pi)), clouds_(std::move(clouds)), steps_(std::move(steps)), score_(std::move(score)) {
  FLOWSAMPLER_EXPECTS(clouds_.size() >= 2, "jko model: needs the clouds X_0..X_K with K >= 1, got " << clouds_.size() << " clouds");
  FLOWSAMPLER_EXPECTS(steps_.size() + 1 == clouds_.size(),
                      "jko model: " << clouds_.size() << " clouds need " << clouds_.size() - 1 << " steps, got " << steps_.size());
  FLOWSAMPLER_EXPECTS(score_.size() == steps_.size(),
                      "jko model: " << steps_.size() << " steps need as many score parameters, got " << score_.size());
  const std::size_t n = clouds_.front().n(), d = clouds_.front().d();
  FLOWSAMPLER_EXPECTS(n >= 2, "jko model: the clouds need at least 2 particles, got " << n);
  FLOWSAMPLER_EXPECTS(d == pi.dim(), "jko model: the clouds have d = " << d << ", the target d = " << pi.dim());
  for (std::size_t k = 0; k < clouds_.size(); ++k)
    FLOWSAMPLER_EXPECTS(clouds_[k].n() == n && clouds_[k].d() == d, "jko model: cloud " << k << " is " << clouds_[k].n() << " x "
                                                                                       << clouds_[k].d() << ", expected " << n << " x " << d);
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    FLOWSAMPLER_EXPECTS(std::isfinite(steps_[k]) && steps_[k] > 0, "jko model: step " << k << " is " << steps_[k] << "; expected > 0");
    const ScoreParams& p = score_[k];
    const bool ot = p.estimator == ScoreEstimator::ot;
    const double key = ot ? p.ot_eps : p.bandwidth;
    FLOWSAMPLER_EXPECTS(std::isfinite(key) && key > 0 && (!ot || (std::isfinite(p.ot_tol) && p.ot_tol > 0)),
                        "jko model: the score parameters of step " << k << " are not set (" << (ot ? "ot_eps " : "bandwidth ")
                                                                   << key << "; expected finite and > 0)");
  }
}

template <class Real>
JkoModel<Real> JkoModel<Real>::train(const Context& ctx, const targets::GaussianMixture& pi, const ScoreOptions& score,
                                     const ParticleSet<Real>& data, FlowOptions options, FlowResult<Real>* result) {
  FLOWSAMPLER_EXPECTS(data.n() >= 2, "jko model: the data need at least 2 points, got " << data.n());
  FLOWSAMPLER_EXPECTS(data.d() == pi.dim(), "jko model: the data have d = " << data.d() << ", the target d = " << pi.dim());
  Objective<Real> F(score);
  F.add_relative_entropy(pi);
  options.keep_clouds = true;
  FlowResult<Real> r = run_jko(ctx, F, data, options);
  JkoModel model(pi, std::move(r.clouds), r.steps, r.score);
  r.clouds.clear();
  if (result) *result = std::move(r);
  return model;
}

template <class Real>
ParticleSet<Real> JkoModel<Real>::reverse_step(const Context& ctx, std::size_t k, const ParticleSet<Real>& y) const {
  FLOWSAMPLER_EXPECTS(k < steps_.size(), "jko model: step " << k << " of " << steps_.size());
  FLOWSAMPLER_EXPECTS(y.n() > 0, "jko model: no points to run back");
  FLOWSAMPLER_EXPECTS(y.d() == dim(), "jko model: the points have d = " << y.d() << ", the model d = " << dim());
  return ops::add_scaled(ctx, y, steps_[k], F_.gradient(ctx, clouds_[k + 1], y, score_[k]));
}

template <class Real>
ParticleSet<Real> JkoModel<Real>::reverse(const Context& ctx, const ParticleSet<Real>& y) const {
  ParticleSet<Real> z = y.copy(ctx);
  for (std::size_t k = steps_.size(); k-- > 0;) z = reverse_step(ctx, k, z);
  return z;
}

template <class Real>
ParticleSet<Real> JkoModel<Real>::generate(Context& ctx, std::size_t n) const {
  FLOWSAMPLER_EXPECTS(n > 0, "jko model: n must be > 0");
  return reverse(ctx, pi_.sample<Real>(ctx, n));
}

template <class Real>
InversionError JkoModel<Real>::inversion_error(const Context& ctx) const {
  InversionError e;
  const ParticleSet<Real> back = reverse(ctx, clouds_.back());
  e.rms = ops::rms_difference(ctx, back, clouds_.front(), &e.max);
  // The data's spread: the trace of their covariance (normalized by n).
  const std::vector<double> cov = metrics::covariance(ctx, clouds_.front(), false);
  double spread = 0;
  for (std::size_t k = 0; k < dim(); ++k) spread += cov[k * dim() + k];
  e.relative = e.rms / std::sqrt(spread);
  for (std::size_t k = 0; k < steps_.size(); ++k)
    e.per_step.push_back(ops::rms_difference(ctx, reverse_step(ctx, k, clouds_[k + 1]), clouds_[k]));
  return e;
}

template <class Real>
void JkoModel<Real>::save(const std::string& dir, const std::string& precision_name) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  FLOWSAMPLER_EXPECTS(!ec && fs::is_directory(dir), "jko model: cannot create the directory " << dir);
  nlohmann::json files = nlohmann::json::array(), score = nlohmann::json::array();
  for (std::size_t k = 0; k < clouds_.size(); ++k) {
    io::write_particles((fs::path(dir) / cloud_name(k)).string(), clouds_[k]);
    files.push_back(cloud_name(k));
  }
  for (const ScoreParams& p : score_)
    score.push_back({{"estimator", to_string(p.estimator)}, {"bandwidth", p.bandwidth}, {"ot_eps", p.ot_eps}, {"ot_tol", p.ot_tol}});
  const std::string prec = !precision_name.empty() ? precision_name : (std::is_same<Real, float>::value ? "float" : "double");
  const nlohmann::json m = {{"format", "flowsampler-jko-model"}, {"version", 1},       {"precision", prec},
                            {"n", clouds_.front().n()},          {"dim", dim()},        {"steps", steps_.size()},
                            {"h", steps_},                       {"score", score},      {"clouds", files},
                            {"target", nlohmann::json::parse(target_spec_json(pi_))}};
  const std::string path = (fs::path(dir) / "manifest.json").string();
  io::write_file(path, [&](std::ostream& f) { f << m.dump(2) << "\n"; });
}

template <class Real>
JkoModel<Real> JkoModel<Real>::load(const Context& ctx, const std::string& dir) {
  namespace fs = std::filesystem;
  FLOWSAMPLER_EXPECTS(fs::is_directory(dir), "jko model: " << dir << " is not a directory");
  const std::string path = (fs::path(dir) / "manifest.json").string();
  FLOWSAMPLER_EXPECTS(fs::exists(path), "jko model: " << path << " is missing");
  const std::string text = io::read_file(path, "jko model manifest");
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    FLOWSAMPLER_EXPECTS(false, "jko model: " << path << " is not valid JSON (" << e.what() << ")");
  }
  try {
    FLOWSAMPLER_EXPECTS(m.value("format", "") == "flowsampler-jko-model",
                        "jko model: " << path << " is not a JKO model manifest (format '" << m.value("format", "") << "')");
    FLOWSAMPLER_EXPECTS(io::json_int(m.at("version"), path + ": \"version\"") == 1,
                        "jko model: " << path << ": unsupported version " << m.at("version"));
    // Counts are range-checked before any arithmetic on them (K + 1 below).
    const std::size_t K = io::json_count(m.at("steps"), path + ": \"steps\"", 1, std::size_t(1) << 32);
    const std::size_t n = io::json_count(m.at("n"), path + ": \"n\"", 2), d = io::json_count(m.at("dim"), path + ": \"dim\"", 1);
    const std::vector<double> h = m.at("h").get<std::vector<double>>();
    const std::vector<std::string> files = m.at("clouds").get<std::vector<std::string>>();
    FLOWSAMPLER_EXPECTS(h.size() == K, "jko model: " << path << ": 'steps' is " << K << " but 'h' has " << h.size() << " entries");
    FLOWSAMPLER_EXPECTS(files.size() == K + 1,
                        "jko model: " << path << ": " << K << " steps need " << K + 1 << " clouds, 'clouds' lists " << files.size());
    FLOWSAMPLER_EXPECTS(m.at("score").is_array() && m.at("score").size() == K, "jko model: " << path << ": 'score' has " << m.at("score").size() << " entries, expected " << K);
    std::vector<ScoreParams> score;
    for (const auto& s : m.at("score")) {
      ScoreParams p;
      p.estimator = parse_score_estimator(s.at("estimator").get<std::string>(), "jko model: score estimator");
      p.bandwidth = s.at("bandwidth").get<double>();
      p.ot_eps = s.at("ot_eps").get<double>();
      p.ot_tol = s.at("ot_tol").get<double>();
      score.push_back(p);
    }
    const targets::GaussianMixture pi = targets::parse_target(m.at("target").dump(), path + ": target");
    FLOWSAMPLER_EXPECTS(pi.dim() == d, "jko model: " << path << ": the target has d = " << pi.dim() << ", 'dim' is " << d);
    std::vector<ParticleSet<Real>> clouds;
    for (const std::string& name : files) {
      const std::string p = (fs::path(dir) / name).string();
      FLOWSAMPLER_EXPECTS(fs::exists(p), "jko model: the cloud " << p << " listed in the manifest is missing");
      clouds.push_back(io::read_particles<Real>(ctx, p));
      FLOWSAMPLER_EXPECTS(clouds.back().n() == n && clouds.back().d() == d,
                          "jko model: " << p << " is " << clouds.back().n() << " x " << clouds.back().d() << ", the manifest says "
                                        << n << " x " << d);
    }
    return JkoModel(pi, std::move(clouds), h, score);
  } catch (const nlohmann::json::exception& e) {
    FLOWSAMPLER_EXPECTS(false, "jko model: " << path << ": missing or mistyped entry (" << e.what() << ")");
  }
}

template class JkoModel<float>;
template class JkoModel<double>;

}  // namespace flowsampler::jko
