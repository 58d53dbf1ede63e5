#include "estate/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace estate {
namespace {

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  double n = 0;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the fd opendir itself holds
}

double MaxFds() {
  std::ifstream in("/proc/self/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream ss(line.substr(14));
      std::string soft;
      ss >> soft;
      return soft == "unlimited" ? -1 : std::strtod(soft.c_str(), nullptr);
    }
  }
  return 0;
}

}  // namespace

metrics::Families CollectProcessMetrics() {
  metrics::Families out;
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the ")" of the command name; see proc(5). Field 3 (state) is index 0 here.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream ss(stat.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (ss >> tok) f.push_back(tok);
  if (f.size() < 22) return out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double utime = std::strtod(f[11].c_str(), nullptr);
  double stime = std::strtod(f[12].c_str(), nullptr);
  double threads = std::strtod(f[17].c_str(), nullptr);
  double start_ticks = std::strtod(f[19].c_str(), nullptr);
  double vsize = std::strtod(f[20].c_str(), nullptr);
  double rss_pages = std::strtod(f[21].c_str(), nullptr);

  auto add = [&out](metrics::Family fam, double v) {
    metrics::Add(fam, {}, v);
    out.push_back(std::move(fam));
  };
  add(metrics::Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
      (utime + stime) / ticks);
  add(metrics::Gauge("process_max_fds", "Maximum number of open file descriptors."), MaxFds());
  add(metrics::Gauge("process_open_fds", "Number of open file descriptors."), OpenFds());
  add(metrics::Gauge("process_resident_memory_bytes", "Resident memory size in bytes."), rss_pages * page);
  add(metrics::Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
      BootTimeSeconds() + start_ticks / ticks);
  add(metrics::Gauge("process_threads", "Number of OS threads in the process."), threads);
  add(metrics::Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes."), vsize);
  return out;
}

}  // namespace estate
