// `flowsampler info`: the backends found, the device, version and precisions.
#include <iostream>

#include "command.hpp"
#include "flowsampler/flowsampler.hpp"

namespace flowsampler::cli {

namespace {

class InfoCommand final : public Command {
 public:
  const char* name() const override { return "info"; }
  const char* summary() const override { return "Backends found, device, version, precisions"; }
  void add_options(CLI::App&) override {}
  bool writes_stdout() const override { return true; }
  bool runs_under_mpirun() const override { return true; }
  int run(const std::string& backend) override {
    const Context ctx = Context::create(parse_backend(backend, "--backend"));
    const Communicator world = Communicator::world();
    if (!world.is_root()) return 0;
    std::cout << "flowsampler " << version() << "\n"
              << "backends: cpu" << (built_with_cuda() ? ", cuda (compiled in)" : "") << "\n"
              << "cuda devices: " << cuda_device_count() << "\n"
              << "precisions: float, double\n"
              << "mpi: " << (Communicator::built_with_mpi() ? "built in" : "not built in") << ", " << world.size()
              << (world.size() == 1 ? " rank" : " ranks") << "\n";
    std::cout << "context: " << ctx.describe() << "\n";
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> make_info_command() { return std::make_unique<InfoCommand>(); }

}  // namespace flowsampler::cli
