// The flowsampler command-line tool (DESIGN.md section 6).
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "flowsampler/flowsampler.hpp"

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
  } catch (const fs::Error& e) {
    std::cerr << "flowsampler: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "flowsampler: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
