// The flowsampler command-line tool (DESIGN.md section 6): every subcommand
// is a Command (command.hpp) on one parser (command_line.hpp).
#include "command_line.hpp"

int main(int argc, char** argv) { return flowsampler::cli::run_command_line(argc, argv); }
