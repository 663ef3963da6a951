// Result files and figures shared by the `flowsampler reproduce` experiments.
#include "common.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/files.hpp"

#ifndef FLOWSAMPLER_SOURCE_DIR
#define FLOWSAMPLER_SOURCE_DIR "."
#endif

namespace flowsampler::cli::reproduce {

namespace {

// Each file through a temporary name, flushed and checked (exit 1 naming it on failure).
void write_text(const std::filesystem::path& file, const std::string& text) {
  io::write_file(file.string(), [&](std::ostream& f) { f << text; });
}

std::filesystem::path out_dir(const Options& o) {
  FLOWSAMPLER_EXPECTS(!o.out_dir.empty(), "--out: an output directory is required");
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  FLOWSAMPLER_EXPECTS(!ec && std::filesystem::is_directory(o.out_dir),
                      "--out: cannot create the directory " << o.out_dir << (ec ? ": " + ec.message() : ""));
  return o.out_dir;
}

// Single quotes for the shell (a quote inside becomes '\'').
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

void write_result(const Options& o, const nlohmann::json& result, const std::string& table_markdown) {
  const auto dir = out_dir(o);
  write_text(dir / "result.json", result.dump(2) + "\n");
  write_text(dir / "table.md", table_markdown);
}

void draw_figure(const Options& o, const std::string& name, const nlohmann::json& spec) {
  FLOWSAMPLER_EXPECTS(!name.empty() && name.find('/') == std::string::npos, "figure name must be a plain file stem, got '" << name << "'");
  const auto dir = out_dir(o);
  const auto json_file = dir / (name + ".json"), png_file = dir / (name + ".png");
  write_text(json_file, spec.dump(1) + "\n");
  // The plotter is optional at run time: the spec already holds every number.
  const char* env = std::getenv("FLOWSAMPLER_PLOT");
  const std::string script = env && *env ? env : std::string(FLOWSAMPLER_SOURCE_DIR) + "/tools/plot_figure.py";
  if (!std::filesystem::exists(script)) {
    std::cerr << "flowsampler reproduce: warning: " << script << " not found; " << png_file.string() << " not drawn\n";
    return;
  }
  const std::string cmd = "/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(json_file.string()) + " " +
                          shell_quote(png_file.string()) + " >/dev/null 2>" + shell_quote((dir / (name + ".log")).string());
  const int rc = std::system(cmd.c_str());
  if (rc != 0 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    std::cerr << "flowsampler reproduce: warning: could not render " << png_file.string() << " (see "
              << (dir / (name + ".log")).string() << "; needs /usr/bin/python3 with matplotlib)\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove(dir / (name + ".log"), ec);
}

}  // namespace flowsampler::cli::reproduce
