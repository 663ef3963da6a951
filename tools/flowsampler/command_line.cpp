// The flowsampler command line (command_line.hpp).
#include "command_line.hpp"

#include <iostream>
#include <string>

#include "flowsampler/flowsampler.hpp"

namespace flowsampler::cli {

std::vector<std::unique_ptr<Command>> all_commands() {
  std::vector<std::unique_ptr<Command>> c;
  c.push_back(make_info_command());
  c.push_back(make_sample_command());
  c.push_back(make_metrics_command());
  c.push_back(make_drift_command());
  c.push_back(make_jko_command());
  c.push_back(make_jko_sample_command());
  c.push_back(make_monge_command());
  c.push_back(make_monge_apply_command());
  c.push_back(make_reproduce_command());
  return c;
}

CommandLine::CommandLine() : commands_(all_commands()) {
  app_.require_subcommand(1);
  add_backend_option(app_, backend_);  // `flowsampler --backend cuda info` as well as `info --backend cuda`
  for (const auto& c : commands_) {
    CLI::App* sub = app_.add_subcommand(c->name(), c->summary());
    c->add_options(*sub);
    add_backend_option(*sub, backend_);
    subs_.push_back(sub);
  }
}

void CommandLine::parse(int argc, const char* const* argv) { app_.parse(argc, argv); }

Command& CommandLine::chosen() {
  for (std::size_t i = 0; i < subs_.size(); ++i)
    if (subs_[i]->parsed()) return *commands_[i];
  throw Error("no command chosen (see flowsampler --help)");
}

int run_command_line(int argc, const char* const* argv) {
  CommandLine line;
  try {
    line.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return line.app().exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return line.app().exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "flowsampler: " << e.what() << " (see flowsampler --help)\n";
    return 2;
  }
  // Under mpirun every rank runs this program; a rank that fails ends the
  // whole job (MPI_Abort), since the others would wait for it forever.
  const Communicator world = Communicator::world();
  auto fail = [&](int rc, const std::string& message) {
    std::cerr << "flowsampler";
    if (world.size() > 1) std::cerr << " (rank " << world.rank() << " of " << world.size() << ")";
    std::cerr << ": " << message << "\n";
    if (world.size() > 1) world.abort(rc);
    return rc;
  };
  try {
    Command& command = line.chosen();
    FLOWSAMPLER_EXPECTS(world.size() == 1 || command.runs_under_mpirun(),
                        "under mpirun (" << world.size() << " ranks) only sample, drift, metrics and jko run sharded; run "
                                         << command.name() << " as one process");
    const int rc = command.run(line.backend());
    if (!command.writes_stdout()) return rc;
    // What went to stdout (metrics' JSON, info) must have arrived: `> /dev/full` is exit 1.
    std::cout.flush();
    if (rc == 0 && !std::cout) {
      std::cerr << "flowsampler: stdout: write failed\n";
      return 1;
    }
    return rc;
  } catch (const Error& e) {
    return fail(2, e.what());
  } catch (const RuntimeError& e) {  // the machine failed (device, I/O), not the input
    return fail(1, e.what());
  } catch (const std::exception& e) {
    return fail(1, std::string("internal error: ") + e.what());
  }
}

}  // namespace flowsampler::cli
