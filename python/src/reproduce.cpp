// flowsampler._core.reproduce: `flowsampler reproduce NAME` in process
// (tools/flowsampler/reproduce_command.hpp); flowsampler.reproduce
// (_reproduce.py) picks the directory and reads result.json back.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "flowsampler/core/error.hpp"
#include "reproduce_command.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;

void bind_reproduce(nb::module_& m) {
  m.def(
      "reproduce",
      [](const std::string& name, bool quick, std::uint64_t seed, int seeds, const std::string& out,
         const std::vector<std::string>& perturb, const std::string& backend) {
        FLOWSAMPLER_EXPECTS(seeds >= 0 && seeds <= 100000, "seeds: expected 0..100000, got " << seeds);  // the CLI's range
        cli::ReproduceOptions o;
        o.name = name, o.perturb = perturb;
        o.options.quick = quick, o.options.seed = seed, o.options.seeds = seeds, o.options.out_dir = out;
        nb::gil_scoped_release unlocked;
        return cli::run_reproduce(o, backend);
      },
      "name"_a, nb::kw_only(), "quick"_a, "seed"_a, "seeds"_a, "out"_a, "perturb"_a, "backend"_a,
      "Runs the reproduction `name` into the directory `out`; returns the CLI's exit code (0: every check held, "
      "1: one failed). Raises flowsampler.Error on bad input (an unknown name).");
  nb::list names;
  for (const auto& r : cli::reproductions()) names.append(r.name);
  m.attr("reproductions") = nb::tuple(names);
}

}  // namespace flowsampler::python
