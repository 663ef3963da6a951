#include "flowsampler/targets/spec.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/files.hpp"
#include "flowsampler/io/npy.hpp"

namespace flowsampler::targets {
namespace {

using nlohmann::json;

double number(const json& v, const std::string& where) {
  FLOWSAMPLER_EXPECTS(v.is_number(), where << ": expected a number, got " << v.dump());
  return v.get<double>();
}

std::vector<double> numbers(const json& v, const std::string& where) {
  FLOWSAMPLER_EXPECTS(v.is_array(), where << ": expected a list of numbers, got " << v.dump());
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(number(v[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

// A covariance written as a number (isotropic), a list of d numbers
// (diagonal) or a d x d list (full, returned row-major); d = 1 gives 1 number.
std::vector<double> covariance_entry(const json& c, std::size_t d, const std::string& where) {
  std::vector<double> cov;
  if (c.is_number()) {
    cov = {c.get<double>()};
  } else if (c.is_array() && !c.empty() && c[0].is_array()) {
    FLOWSAMPLER_EXPECTS(c.size() == d, where << ": a full covariance needs " << d << " rows, got " << c.size());
    for (std::size_t r = 0; r < d; ++r) {
      const std::vector<double> row = numbers(c[r], where + "[" + std::to_string(r) + "]");
      FLOWSAMPLER_EXPECTS(row.size() == d, where << "[" << r << "]: has " << row.size() << " entries, expected " << d);
      cov.insert(cov.end(), row.begin(), row.end());
    }
    if (d == 1) cov = {cov[0]};
  } else {
    cov = numbers(c, where);
    FLOWSAMPLER_EXPECTS(cov.size() == d, where << ": a diagonal covariance needs " << d << " numbers, got " << cov.size());
    if (d == 1) cov = {cov[0]};
  }
  return cov;
}

const json& field(const json& spec, const char* key, const std::string& name) {
  FLOWSAMPLER_EXPECTS(spec.contains(key), name << ": missing \"" << key << "\"");
  return spec.at(key);
}

}  // namespace

Noise parse_noise(const std::string& text, std::size_t d, const std::string& name) {
  json c;
  try {
    c = json::parse(text);
  } catch (const json::exception&) {  // parse_error, or out_of_range for a number such as 1e999
    FLOWSAMPLER_EXPECTS(false, name << ": expected a JSON number, list of " << d << " numbers or " << d << " x " << d
                                    << " matrix, got '" << text << "'");
  }
  try {
    return Noise::parse(covariance_entry(c, d, name), d);
  } catch (const Error& e) {
    FLOWSAMPLER_EXPECTS(false, name << ": " << e.what());
  }
}

namespace {

// Relative "points" paths are relative to the spec's directory.
std::string points_path(const std::string& points, const std::string& base_dir) {
  return !points.empty() && points[0] != '/' ? base_dir + "/" + points : points;
}

std::string spec_dir(const std::string& spec_path) {
  const std::size_t slash = spec_path.find_last_of('/');
  return slash == std::string::npos ? "." : spec_path.substr(0, slash);
}

}  // namespace

GaussianMixture parse_target(const std::string& text, const std::string& name, const std::string& base_dir) {
  json spec;
  try {
    spec = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number such as 1e999
    FLOWSAMPLER_EXPECTS(false, name << ": invalid JSON (" << e.what() << ")");
  }
  FLOWSAMPLER_EXPECTS(spec.is_object(), name << ": expected a JSON object");
  const json& type = field(spec, "type", name);
  FLOWSAMPLER_EXPECTS(type.is_string(), name << ": \"type\" must be a string");
  if (type == "empirical") {
    const json& points = field(spec, "points", name);
    FLOWSAMPLER_EXPECTS(points.is_string(), name << ": \"points\" must be the path of an .npy file");
    const std::string path = points_path(points.get<std::string>(), base_dir);
    const io::NpyMatrix m = io::load_npy(path);
    FLOWSAMPLER_EXPECTS(m.n >= 1, name << ": \"points\" file " << path << " holds no atoms");
    std::vector<double> rows(m.n * m.d);
    for (std::size_t i = 0; i < m.n; ++i)
      for (std::size_t k = 0; k < m.d; ++k) rows[i * m.d + k] = m.value(i, k);
    return GaussianMixture::empirical(rows, m.n, m.d);
  }
  FLOWSAMPLER_EXPECTS(type == "gaussian_mixture",
                      name << ": \"type\" must be \"gaussian_mixture\" or \"empirical\", got " << type.dump());
  const json& dim = field(spec, "dim", name);
  FLOWSAMPLER_EXPECTS(dim.is_number_integer() && dim.get<long long>() >= 1, name << ": \"dim\" must be an integer >= 1");
  const std::size_t d = dim.get<std::size_t>();
  const std::vector<double> weights = numbers(field(spec, "weights", name), name + ": weights");
  const json& means = field(spec, "means", name);
  const json& covs = field(spec, "covariances", name);
  const std::size_t K = weights.size();
  FLOWSAMPLER_EXPECTS(K >= 1, name << ": \"weights\" is empty");
  FLOWSAMPLER_EXPECTS(means.is_array() && means.size() == K,
                      name << ": \"means\" must list " << K << " means (one per weight)");
  FLOWSAMPLER_EXPECTS(covs.is_array() && covs.size() == K,
                      name << ": \"covariances\" must list " << K << " covariances (one per weight)");
  GaussianMixture g(d);
  for (std::size_t k = 0; k < K; ++k) {
    const std::string mk = name + ": means[" + std::to_string(k) + "]";
    const std::string ck = name + ": covariances[" + std::to_string(k) + "]";
    const std::vector<double> mean = numbers(means[k], mk);
    FLOWSAMPLER_EXPECTS(mean.size() == d, mk << ": has " << mean.size() << " entries, expected dim = " << d);
    const std::vector<double> cov = covariance_entry(covs[k], d, ck);
    try {
      g.add(weights[k], mean, cov);
    } catch (const Error& e) {
      FLOWSAMPLER_EXPECTS(false, name << ": " << e.what());
    }
  }
  (void)g.weights();  // not all zero
  return g;
}

GaussianMixture load_target(const std::string& path) {
  const std::string text = io::read_file(path, "target spec");
  return parse_target(text, path, spec_dir(path));
}

std::vector<std::string> target_files(const std::string& path) {
  std::vector<std::string> files{path};
  try {
    const json spec = json::parse(io::read_file(path, "target spec"));
    if (spec.is_object() && spec.value("type", std::string()) == "empirical" && spec.contains("points") &&
        spec["points"].is_string())
      files.push_back(points_path(spec["points"].get<std::string>(), spec_dir(path)));
  } catch (const std::exception&) {
    // Whatever is wrong with the file, load_target says it when it reads it.
  }
  return files;
}

}  // namespace flowsampler::targets
