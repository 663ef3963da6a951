// flowsampler.metrics: the library's metrics on arrays read in place where the
// layout allows (arrays.hpp), computed in float64 when either cloud is float64.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "dispatch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/exact_w2.hpp"
#include "flowsampler/metrics/gaussian_w2.hpp"
#include "flowsampler/metrics/knn.hpp"
#include "flowsampler/metrics/map_distance.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"
#include "flowsampler/metrics/sliced_w2.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;
namespace fm = flowsampler::metrics;

namespace {

nb::object column(const ParticleSet<double>& p) { return numpy_from(p.to_host(), {p.n()}); }

}  // namespace

void bind_metrics(nb::module_& m) {
  m.def("zero_copy", [](const AnyArray& x, nb::handle context) {
        bool copied = true;
        auto probe = [&](auto real) {
          using Real = decltype(real);
          const ParticleSet<Real> c = as_cloud<Real>(context_of(context), x, "x", &copied);
          return reinterpret_cast<std::uintptr_t>(c.data());
        };
        const std::uintptr_t at = is_float64(x, "x") ? probe(double{}) : probe(float{});
        return nb::make_tuple(!copied, at);
      }, "x"_a, "context"_a = nb::none(),
      "(in_place, address): whether the metrics read x in place, and the address of the memory they read.");

  m.def("mean", [](const AnyArray& x, nb::handle context) {
        std::vector<double> v = one(context, x, [](const Context& c, const auto& p) { return fm::mean(c, p); });
        const std::size_t d = v.size();
        return numpy_from(std::move(v), {d});
      }, "x"_a, nb::kw_only(), "context"_a = nb::none(), "Mean of the cloud (d,), accumulated in float64.");
  m.def("covariance", [](const AnyArray& x, bool unbiased, nb::handle context) {
        std::vector<double> v =
            one(context, x, [&](const Context& c, const auto& p) { return fm::covariance(c, p, unbiased); });
        const std::size_t d = x.ndim() == 2 ? x.shape(1) : 1;
        return numpy_from(std::move(v), {d, d});
      }, "x"_a, nb::kw_only(), "unbiased"_a = true, "context"_a = nb::none(),
      "Covariance (d, d), normalized by N - 1 (unbiased) or N.");
  m.def("gelbrich_w2_squared", [](const AnyArray& x, const AnyArray& y, nb::handle context) {
        return two(context, x, y, [](const Context& c, const auto& a, const auto& b) { return fm::gelbrich_w2_squared(c, a, b); });
      }, "x"_a, "y"_a, nb::kw_only(), "context"_a = nb::none(),
      "Bures W2^2 between the clouds' means and covariances (the CLI's --bures between two clouds).");
  m.def("bures_w2_squared",
        [](const std::vector<double>& m1, const std::vector<double>& S1, const std::vector<double>& m2,
           const std::vector<double>& S2) { return fm::bures_w2_squared(m1, S1, m2, S2); },
        "m1"_a, "S1"_a, "m2"_a, "S2"_a, "W2^2 between N(m1, S1) and N(m2, S2); S flattened d*d.");
  m.def("energy_distance", [](const AnyArray& x, const AnyArray& y, nb::handle context) {
        return two(context, x, y, [](const Context& c, const auto& a, const auto& b) { return fm::energy_distance(c, a, b); });
      }, "x"_a, "y"_a, nb::kw_only(), "context"_a = nb::none(), "2 E|X - Y| - E|X - X'| - E|Y - Y'|.");
  m.def("mmd_squared", [](const AnyArray& x, const AnyArray& y, const std::string& kernel, double bandwidth, bool unbiased,
                          nb::handle context) {
        pairwise::KernelSpec k;
        k.kind = pairwise::parse_kernel(kernel, "kernel");
        FLOWSAMPLER_EXPECTS(std::isfinite(bandwidth) && bandwidth > 0, "bandwidth: must be > 0, got " << bandwidth);
        k.bandwidth = bandwidth;
        return two(context, x, y, [&](const Context& c, const auto& a, const auto& b) { return fm::mmd_squared(c, k, a, b, unbiased); });
      }, "x"_a, "y"_a, nb::kw_only(), "kernel"_a = "gaussian", "bandwidth"_a = 1.0, "unbiased"_a = false,
      "context"_a = nb::none(),
      "MMD^2 (kernel gaussian, laplace, imq or energy): the V-statistic, or the U-statistic with unbiased=True.");
  m.def("sliced_w2", [](const AnyArray& x, const AnyArray& y, int projections, std::uint64_t seed, nb::handle context) {
        const fm::SlicedW2 r = two(context, x, y, [&](const Context& c, const auto& a, const auto& b) {
          return fm::sliced_w2(c, a, b, projections, seed);
        });
        return nb::make_tuple(r.w2_squared, r.std_error);
      }, "x"_a, "y"_a, nb::kw_only(), "projections"_a = 128, "seed"_a = 0, "context"_a = nb::none(),
      "(SW2^2, its Monte Carlo standard error) over `projections` directions drawn from `seed`.");
  nb::class_<fm::SinkhornResult>(m, "SinkhornResult")
      .def_ro("ot", &fm::SinkhornResult::ot, "OT_eps(a, b)")
      .def_ro("cost", &fm::SinkhornResult::cost, "<P, C>, the entropic plan's transport cost")
      .def_ro("divergence", &fm::SinkhornResult::divergence, "S_eps, the debiased Sinkhorn divergence")
      .def_prop_ro("f", [](const fm::SinkhornResult& r) { return column(r.f); }, "dual potential on x (N,)")
      .def_prop_ro("g", [](const fm::SinkhornResult& r) { return column(r.g); }, "dual potential on y (M,)")
      .def_ro("iterations", &fm::SinkhornResult::iterations)
      .def_ro("stages", &fm::SinkhornResult::stages, "eps values visited")
      .def_ro("marginal_error", &fm::SinkhornResult::marginal_error);
  const fm::SinkhornOptions so;
  m.def("sinkhorn", [](const AnyArray& x, const AnyArray& y, double eps, double tol, int max_iter, double scaling,
                       double relaxation, bool debias, nb::handle context) {
        fm::SinkhornOptions o;
        o.eps = eps, o.tol = tol, o.max_iter = max_iter, o.scaling = scaling, o.relaxation = relaxation, o.debias = debias;
        return two(context, x, y, [&](const Context& c, const auto& a, const auto& b) { return fm::sinkhorn(c, a, b, o); });
      }, "x"_a, "y"_a, "eps"_a, nb::kw_only(), "tol"_a = so.tol, "max_iter"_a = so.max_iter, "scaling"_a = so.scaling,
      "relaxation"_a = so.relaxation, "debias"_a = so.debias, "context"_a = nb::none(),
      "Entropic OT with cost |x - y|^2 and uniform weights (the CLI's --sinkhorn EPS).");
  m.def("exact_w2_squared", [](const AnyArray& x, const AnyArray& y, nb::handle context) {
        fm::Assignment a = two(context, x, y, [](const Context&, const auto& p, const auto& q) { return fm::exact_assignment(p, q); });
        const std::size_t n = a.match.size();
        return nb::make_tuple(a.cost, numpy_from(std::move(a.match), {n}));
      }, "x"_a, "y"_a, nb::kw_only(), "context"_a = nb::none(),
      "(W2^2, match) by an optimal assignment: x_i is paired with y_match[i] (N = M).");
  m.def("map_distance", [](const AnyArray& x, const AnyArray& y, nb::handle context) {
        const fm::MapDistance r = two(context, x, y, [](const Context& c, const auto& a, const auto& b) { return fm::map_distance(c, a, b); });
        return nb::make_tuple(r.l2, r.max);
      }, "x"_a, "y"_a, nb::kw_only(), "context"_a = nb::none(), "(L2, max) of |x_i - y_i| over paired rows.");
  m.def("knn_entropy", [](const AnyArray& x, int k, nb::handle context) {
        return one(context, x, [&](const Context& c, const auto& p) { return fm::knn_entropy(c, p, k); });
      }, "x"_a, nb::kw_only(), "k"_a = 5, "context"_a = nb::none(), "Kozachenko-Leonenko entropy (nats).");
  m.def("knn_kl_divergence", [](const AnyArray& x, const AnyArray& y, int k, nb::handle context) {
        return two(context, x, y, [&](const Context& c, const auto& a, const auto& b) { return fm::knn_kl_divergence(c, a, b, k); });
      }, "x"_a, "y"_a, nb::kw_only(), "k"_a = 5, "context"_a = nb::none(), "KL(P || Q) from x ~ P, y ~ Q by kNN.");
}

}  // namespace flowsampler::python
