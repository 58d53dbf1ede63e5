// compliance_push_bench: the real estate-compliance-exporter taking 100 reports a second on
// /data-collector/v0/ for a minute (ESTATE_PUSH_BENCH_SECONDS, ESTATE_PUSH_BENCH_RATE,
// ESTATE_PUSH_BENCH_CONTROLS to change), each from its own host, sent on schedule by 16 client threads. None
// may be lost: every report gets a 200, is a file in the spool and a host in /metrics. Prints the achieved
// rate, answer latency, the time until all are in /metrics and the exporter's peak RSS (label bench).
#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../../../tests/bench/bench_util.h"
#include "estate/testing/e2e.h"
#include "push_report.h"

namespace {

using Clock = std::chrono::steady_clock;
using estate::bench::Figure;
using estate::bench::Info;
using estate::bench::Percentile;

double EnvNumber(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  return end != v && d > 0 ? d : fallback;
}

std::size_t CountFiles(const std::string& dir) {
  std::size_t n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.' ? 1 : 0;
    closedir(d);
  }
  return n;
}

std::size_t CountHosts(const std::string& metrics) {
  std::size_t n = 0;
  const std::string needle = "\nestate_compliance_ratio{host=\"bench-";
  for (std::size_t at = 0; (at = metrics.find(needle, at)) != std::string::npos; ++at) ++n;
  return n;
}

double PeakRssMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

}  // namespace

int main() {
  const double seconds = EnvNumber("ESTATE_PUSH_BENCH_SECONDS", 60);
  const double rate = EnvNumber("ESTATE_PUSH_BENCH_RATE", 100);
  const int controls = static_cast<int>(EnvNumber("ESTATE_PUSH_BENCH_CONTROLS", 250));
  const std::string binary = estate::testing::BinaryPath("estate-compliance-exporter");
  if (binary.empty()) {
    std::fprintf(stderr, "estate-compliance-exporter not built\n");
    return estate::bench::kExitBroken;
  }
  estate::testing::TempDir dir;
  dir.Write("tokens", "bench-token\n");
  const std::string spool = dir.path() + "/spool";
  const std::string config = dir.Write(
      "compliance.yml", "push:\n  enabled: true\n  tokens_file: " + dir.path() +
                            "/tokens\n  spool_dir: " + spool + "\nmetrics:\n  control_series: none\n");
  const int port = estate::testing::FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  estate::testing::ChildProcess exporter;
  if (!exporter.Start(
          {binary, "--config.file=" + config, "--web.listen-address=127.0.0.1:" + std::to_string(port)},
          dir.path() + "/exporter.log") ||
      !estate::testing::WaitHttpOk(base + "/-/ready", std::chrono::seconds(30))) {
    std::fprintf(stderr, "the exporter did not start:\n%s\n", exporter.Log().c_str());
    return estate::bench::kExitBroken;
  }

  const int total = static_cast<int>(seconds * rate);
  const std::size_t body_bytes = estate::compliance::testing::AutomateReport("bench-0", controls).size();
  Info("pushing " + std::to_string(total) + " reports of " + std::to_string(controls) + " controls (" +
       std::to_string(body_bytes / 1024) + " KiB) at " + std::to_string(static_cast<int>(rate)) + "/s for " +
       std::to_string(static_cast<int>(seconds)) + " s, each from its own host");
  std::atomic<int> next{0}, ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::string first_error;
  const auto start = Clock::now();
  std::vector<std::thread> senders;
  for (int t = 0; t < 16; ++t) {
    senders.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < total;) {
        std::this_thread::sleep_until(start + std::chrono::duration<double>(i / rate));
        const std::string body =
            estate::compliance::testing::AutomateReport("bench-" + std::to_string(i), controls);
        auto r = estate::testing::HttpPost(
            base + "/data-collector/v0/", body, 30,
            {"Content-Type: application/json", "x-data-collector-token: bench-token",
             "x-data-collector-auth: version=1.0"});
        std::lock_guard<std::mutex> lock(mu);
        latencies_ms.push_back(r.seconds * 1000);
        if (r.status == 200) {
          ++ok;
        } else {
          ++failed;
          if (first_error.empty()) first_error = std::to_string(r.status) + " " + r.body + r.error;
        }
      }
    });
  }
  for (auto& s : senders) s.join();
  const double sent_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::size_t files = CountFiles(spool);

  // Every acknowledged report must reach /metrics.
  std::size_t hosts = 0;
  const auto visible_deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < visible_deadline) {
    hosts = CountHosts(estate::testing::HttpGet(base + "/metrics", 30).body);
    if (hosts >= static_cast<std::size_t>(total)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const double visible_seconds = std::chrono::duration<double>(Clock::now() - start).count() - sent_seconds;
  const double rss = PeakRssMb(exporter.pid());
  exporter.Stop();

  const int lost = total - std::min<int>({ok.load(), static_cast<int>(files), static_cast<int>(hosts)});
  Figure("compliance_push_rate", ok.load() / sent_seconds, "reports/s",
         "target " + std::to_string(static_cast<int>(rate)));
  Figure("compliance_push_answer_p50", Percentile(latencies_ms, 0.5), "ms", "info");
  Figure("compliance_push_answer_p99", Percentile(latencies_ms, 0.99), "ms", "info");
  Figure("compliance_push_answer_max", Percentile(latencies_ms, 1.0), "ms", "info");
  Figure("compliance_push_refused", failed.load(), "requests", "target 0");
  Figure("compliance_push_spool_files", static_cast<double>(files), "files",
         "target " + std::to_string(total));
  Figure("compliance_push_hosts_in_metrics", static_cast<double>(hosts), "hosts",
         "target " + std::to_string(total));
  Figure("compliance_push_lost", lost, "reports", "target 0");
  Figure("compliance_push_all_visible_after_last_push", visible_seconds, "s", "info");
  Figure("compliance_push_exporter_peak_rss", rss, "MB", "info");
  if (!first_error.empty()) Info("first refusal: " + first_error.substr(0, 300));
  const bool met = lost == 0 && failed.load() == 0 && ok.load() / sent_seconds >= 0.95 * rate;
  return met ? 0 : estate::bench::kExitMissed;
}
