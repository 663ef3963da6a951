#include "flowsampler/monge/map_io.hpp"

#include <cmath>
#include <filesystem>
#include <string>
#include <nlohmann/json.hpp>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/files.hpp"
#include "flowsampler/io/npy.hpp"
#include "io/json_fields.hpp"

namespace flowsampler::monge {

namespace {
constexpr const char* kFormat = "flowsampler-monge-map";
constexpr int kVersion = 1;
}  // namespace

void save_map(const std::string& dir, const ConvexPotential& p, const std::string& extra_json) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  FLOWSAMPLER_EXPECTS(fs::is_directory(dir), "map directory " << dir << ": cannot create it (" << ec.message() << ")");
  const PotentialSpec& s = p.spec();
  nlohmann::json m = {{"format", kFormat}, {"version", kVersion}, {"type", s.type},
                      {"dim", s.dim},      {"num_params", p.num_params()}, {"init", s.init}};
  if (s.type == "icnn") {
    m["widths"] = s.widths;
    m["skip"] = s.skip;
    m["activation"] = "softplus";
    m["convexity"] = "clamp";  // B_l, w, q clamped at 0 after each step
  } else {
    m["pieces"] = s.pieces;
    m["s"] = s.s;
  }
  if (!extra_json.empty()) m["info"] = nlohmann::json::parse(extra_json);
  const std::string mpath = (fs::path(dir) / "manifest.json").string();
  io::write_file(mpath, [&](std::ostream& f) { f << m.dump(2) << "\n"; });
  const std::vector<std::size_t> shape{p.num_params()};
  io::write_npy_array<double>((fs::path(dir) / "params.npy").string(), p.params().data(), shape);
}

std::unique_ptr<ConvexPotential> load_map(const std::string& dir) {
  namespace fs = std::filesystem;
  FLOWSAMPLER_EXPECTS(fs::is_directory(dir), "--map: " << dir << " is not a directory");
  const std::string mpath = (fs::path(dir) / "manifest.json").string();
  const std::string ppath = (fs::path(dir) / "params.npy").string();
  FLOWSAMPLER_EXPECTS(fs::exists(mpath), "map directory " << dir << ": manifest.json is missing");
  FLOWSAMPLER_EXPECTS(fs::exists(ppath), "map directory " << dir << ": params.npy is missing");
  const std::string text = io::read_file(mpath, "map manifest");
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    FLOWSAMPLER_EXPECTS(false, mpath << ": not valid JSON (" << e.what() << ")");
  }
  FLOWSAMPLER_EXPECTS(m.is_object(), mpath << ": expected a JSON object");
  PotentialSpec s;
  std::size_t num_params = 0;
  try {
    FLOWSAMPLER_EXPECTS(m.value("format", std::string()) == kFormat,
                        mpath << ": \"format\" must be \"" << kFormat << "\"");
    FLOWSAMPLER_EXPECTS(io::json_int(m.at("version"), mpath + ": \"version\"") == kVersion,
                        mpath << ": \"version\" " << m.at("version") << " is not supported (expected " << kVersion << ")");
    s.type = m.at("type").get<std::string>();
    s.dim = io::json_count(m.at("dim"), mpath + ": \"dim\"", 1);
    s.init = m.value("init", std::string("identity"));
    num_params = io::json_count(m.at("num_params"), mpath + ": \"num_params\"", 1);
    if (s.type == "icnn") {
      const nlohmann::json& w = m.at("widths");
      FLOWSAMPLER_EXPECTS(w.is_array(), mpath << ": \"widths\" must be a list of integers, got " << w.dump());
      s.widths.clear();
      for (std::size_t l = 0; l < w.size(); ++l)
        s.widths.push_back(io::json_count(w[l], mpath + ": \"widths\"[" + std::to_string(l) + "]", 1));
      s.skip = m.at("skip").get<bool>();
    } else if (s.type == "lse") {
      s.pieces = io::json_count(m.at("pieces"), mpath + ": \"pieces\"", 1);
      s.s = m.at("s").get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    FLOWSAMPLER_EXPECTS(false, mpath << ": missing or mistyped entry (" << e.what() << ")");
  }
  std::unique_ptr<ConvexPotential> p;
  try {
    p = make_potential(s);
  } catch (const Error& e) {
    FLOWSAMPLER_EXPECTS(false, mpath << ": " << e.what());
  }
  FLOWSAMPLER_EXPECTS(p->num_params() == num_params, mpath << ": \"num_params\" is " << num_params << " but a "
                                                            << s.type << " of this shape has " << p->num_params());
  const io::NpyMatrix a = io::load_npy(ppath);
  FLOWSAMPLER_EXPECTS(a.n * a.d == num_params && (a.d == 1 || a.n == 1),
                      ppath << ": holds " << a.n << " x " << a.d << " values, expected " << num_params << " parameters");
  std::vector<double> th(num_params);
  for (std::size_t k = 0; k < num_params; ++k) th[k] = a.d == 1 ? a.value(k, 0) : a.value(0, k);
  try {
    p->set_params(th);
  } catch (const Error& e) {
    FLOWSAMPLER_EXPECTS(false, ppath << ": " << e.what());
  }
  return p;
}

}  // namespace flowsampler::monge
