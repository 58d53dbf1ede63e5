// Helpers shared by the benchmarks: percentiles, the "bench: <name> = <value> <unit> (target ...)" lines
// every benchmark prints, and readers of a measured process's /proc files and of /metrics labels. Stateless
// functions; thread-safe.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
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

// A whole file as text ("" when it cannot be read).
inline std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A /proc/<pid>/status field in MiB (VmHWM: peak resident set, VmRSS: now), or -1.
inline double ProcStatusMib(pid_t pid, const char* field) {
  std::istringstream in(ReadTextFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtod(line.c_str() + key.size(), nullptr) / 1024.0;
  }
  return -1;
}

// utime + stime of a process in seconds, or -1.
inline double ProcCpuSeconds(pid_t pid) {
  const std::string stat = ReadTextFile("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(stat.substr(close + 2));
  std::vector<std::string> fields;
  std::string f;
  while (in >> f) fields.push_back(f);
  // After "pid (comm) ": utime is field 14 and stime 15 of the stat line -> indexes 11 and 12 here.
  if (fields.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) / ticks;
}

// The value of label `name` on one exposition line ("" when absent; escapes are not undone).
inline std::string MetricLabel(std::string_view line, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  auto at = line.find(key);
  if (at == std::string_view::npos) return "";
  at += key.size();
  const auto end = line.find('"', at);
  return std::string(line.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
}

}  // namespace estate::bench
