// The enum name tables (core/names.hpp): every table names each value once,
// parse and print are inverse, and an unknown name is refused with the whole
// list in the message. The names themselves are the CLI's documented spellings.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "flowsampler/core/context.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/fields/gaussian_closure.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/jko/score.hpp"
#include "flowsampler/monge/train.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace fs = flowsampler;

namespace {

template <class E, std::size_t N, class Parse, class Print>
void expect_round_trip(const fs::NameTable<E, N>& table, Parse parse, Print print, const std::string& what) {
  std::set<std::string> seen;
  std::set<int> values;
  for (const auto& e : table) {
    EXPECT_TRUE(seen.insert(e.name).second) << what << ": '" << e.name << "' twice";
    EXPECT_TRUE(values.insert(static_cast<int>(e.value)).second) << what << ": a value named twice";
    EXPECT_EQ(parse(e.name), e.value) << what;
    EXPECT_EQ(print(e.value), e.name) << what;
  }
  try {
    parse("no-such-name");
    ADD_FAILURE() << what << ": an unknown name was accepted";
  } catch (const fs::Error& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("'no-such-name'"), std::string::npos) << m;
    for (const auto& e : table) EXPECT_NE(m.find(e.name), std::string::npos) << m;
  }
}

}  // namespace

TEST(Names, EveryTableParsesWhatItPrints) {
  expect_round_trip(fs::backend_names, [](const std::string& s) { return fs::parse_backend(s); },
                    [](fs::Backend b) { return fs::to_string(b); }, "backend");
  expect_round_trip(fs::integrate::method_names, [](const std::string& s) { return fs::integrate::parse_method(s); },
                    [](fs::integrate::Method m) { return fs::integrate::to_string(m); }, "integrator");
  expect_round_trip(fs::monge::method_names, [](const std::string& s) { return fs::monge::parse_method(s); },
                    [](fs::monge::Method m) { return fs::monge::to_string(m); }, "monge method");
  expect_round_trip(fs::pairwise::kernel_names, [](const std::string& s) { return fs::pairwise::parse_kernel(s); },
                    [](fs::pairwise::Kernel k) { return fs::pairwise::to_string(k); }, "kernel");
  expect_round_trip(fs::fields::closure_names, [](const std::string& s) { return fs::fields::parse_closure(s); },
                    [](fs::fields::Closure c) { return fs::fields::to_string(c); }, "closure");
  expect_round_trip(fs::fields::drift_names, [](const std::string& s) { return fs::fields::parse_drift(s); },
                    [](fs::fields::Drift d) { return fs::fields::to_string(d); }, "drift");
  expect_round_trip(fs::jko::score_estimator_names, [](const std::string& s) { return fs::jko::parse_score_estimator(s); },
                    [](fs::jko::ScoreEstimator e) { return fs::jko::to_string(e); }, "estimator");
}

TEST(Names, SpellingsAndMessage) {
  EXPECT_EQ(fs::parse_backend("automatic"), fs::Backend::automatic);  // the enum's own name is accepted too
  EXPECT_EQ(fs::to_string(fs::Backend::automatic), "auto");
  EXPECT_EQ(fs::fields::to_string(fs::fields::Drift::kde_score), "kde-score");
  EXPECT_EQ(fs::name_list(fs::pairwise::kernel_names), "gaussian, laplace, imq or energy");
  EXPECT_EQ(fs::name_of(fs::pairwise::kernel_names, static_cast<fs::pairwise::Kernel>(99)), "?");
  try {
    fs::integrate::parse_method("rk5", "--integrator");
    ADD_FAILURE();
  } catch (const fs::Error& e) {
    EXPECT_STREQ(e.what(), "--integrator: expected euler, heun, midpoint, rk4, ddim or dpmpp2m, got 'rk5'");
  }
}
