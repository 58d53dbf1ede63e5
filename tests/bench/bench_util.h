// Helpers shared by the benchmarks: percentiles and the "bench: <name> = <value> <unit> (target ...)" lines
// every benchmark prints.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace estate::bench {

// A benchmark's exit status: 0 every target met, 1 one missed, 2 the benchmark itself could not run.
constexpr int kExitMissed = 1;
constexpr int kExitBroken = 2;

// The p-quantile (0..1) by the nearest-rank method; 0 for no values.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

inline void Figure(const std::string& name, double value, const char* unit, const std::string& target) {
  std::printf("bench: %s = %.3f %s (%s)\n", name.c_str(), value, unit, target.c_str());
  std::fflush(stdout);
}

inline void Info(const std::string& text) {
  std::printf("bench: # %s\n", text.c_str());
  std::fflush(stdout);
}

}  // namespace estate::bench
