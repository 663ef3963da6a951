#pragma once
// Butcher tableaux of the explicit methods (the fixed-step integrators and
// the stability check run the same coefficients).
#include "flowsampler/core/error.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace flowsampler::integrate::detail {

// Butcher tableaux of the explicit methods (at most 4 stages).
struct Tableau {
  int stages;
  double c[4];
  double a[4][4];
  double b[4];
};

inline const Tableau& tableau(Method m) {
  static const Tableau euler{1, {0}, {{0}}, {1}};
  static const Tableau midpoint{2, {0, 0.5}, {{0}, {0.5}}, {0, 1}};
  static const Tableau heun{2, {0, 1}, {{0}, {1}}, {0.5, 0.5}};
  static const Tableau rk4{4, {0, 0.5, 0.5, 1}, {{0}, {0.5}, {0, 0.5}, {0, 0, 1}}, {1 / 6., 1 / 3., 1 / 3., 1 / 6.}};
  switch (m) {
    case Method::euler: return euler;
    case Method::midpoint: return midpoint;
    case Method::heun: return heun;
    case Method::rk4: return rk4;
    default: FLOWSAMPLER_FAIL("no tableau for " << to_string(m));
  }
}

}  // namespace flowsampler::integrate::detail
