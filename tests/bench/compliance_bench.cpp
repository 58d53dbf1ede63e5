// compliance_bench: the real estate-compliance-exporter over a folder of generated InSpec exec JSON reports,
// one per host, 250 controls each (about 250 KB: 10,000 hosts are about 2.5 GB). Prints the first full scan
// time, the peak RSS, the time of a rescan with nothing changed and /metrics latency (p50, p99) under 20
// concurrent scrapers (gzip, as Prometheus asks). No target is asserted: the figures are printed.
//
//   ESTATE_COMPLIANCE_BENCH_HOSTS   hosts (default 10000; e.g. 1000 for a quick run of ~250 MB)
//   ESTATE_COMPLIANCE_BENCH_DIR     where the reports are generated (default: a temporary directory, removed)
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "estate/testing/e2e.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using estate::bench::Figure;
using estate::bench::Info;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// One host's report: 250 controls of profile "estate-baseline", with descriptions, tags, refs and code like
// real profiles carry; ~70% passed, ~18% failed, ~5% skipped (not reviewed), ~5% impact 0, ~2% errors.
std::string Report(int host, std::mt19937& rng) {
  std::string out;
  out.reserve(300 << 10);
  const std::string name = "host-" + std::to_string(host) + ".bench.example";
  out += R"({"platform": {"name": "debian", "release": "12.4", "target_id": ")" + name + R"("},
"profiles": [{"name": "estate-baseline", "version": "1.4.0", "sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
"title": "Estate baseline", "maintainer": "Estate", "summary": "Generated for compliance_bench", "license": "Apache-2.0",
"status": "loaded", "supports": [{"platform-family": "linux"}], "attributes": [], "groups": [], "controls": [)";
  std::uniform_int_distribution<int> pct(0, 99);
  for (int c = 0; c < 250; ++c) {
    const int roll = pct(rng);
    const std::string id = "EB-" + std::to_string(1000 + c);
    double impact = 0.3 + 0.2 * (c % 4);
    std::string result;
    const std::string start = "2026-12-04T09:" + std::to_string(10 + c % 50) + ":00+00:00";
    if (roll < 70) {
      result = R"({"status": "passed", "code_desc": "File /etc/estate/)" + id +
               R"( is expected to be owned by \"root\"", "run_time": 0.00123, "start_time": ")" + start +
               R"(", "resource": "file", "resource_class": "file", "resource_params": "[\"/etc/estate\"]"})";
    } else if (roll < 88) {
      result =
          R"({"status": "failed", "code_desc": "Kernel Parameter net.ipv4.ip_forward value is expected to eq 0", "run_time": 0.0021, "start_time": ")" +
          start +
          R"(", "message": "\nexpected: 0\n     got: 1\n\n(compared using ==)\n", "resource": "kernel_parameter"})";
    } else if (roll < 93) {
      result = R"({"status": "skipped", "code_desc": "manual check", "run_time": 0.0, "start_time": ")" +
               start + R"(", "skip_message": "Skipped control due to only_if condition: manual review"})";
    } else if (roll < 98) {
      impact = 0;
      result =
          R"({"status": "skipped", "code_desc": "not on this platform", "run_time": 0.0, "start_time": ")" +
          start + R"(", "skip_message": "Not applicable"})";
    } else {
      result =
          R"({"status": "failed", "code_desc": "Control Source Code Error controls/x.rb:12", "run_time": 0.0, "start_time": ")" +
          start +
          R"(", "message": "undefined method `foo' for nil", "exception": "NoMethodError", "backtrace": ["controls/x.rb:12:in `block'"]})";
    }
    if (c > 0) out += ",";
    out +=
        R"({"id": ")" + id + R"(", "title": "Ensure setting )" + id +
        R"( is configured as the baseline requires",
"desc": "This control checks that the setting is configured as the baseline requires. Leaving it unset lets an attacker abuse a default that is unsafe on multi-user hosts; see the rationale and the fix below for details of the remediation.",
"descriptions": [{"label": "default", "data": "Checks the setting."}, {"label": "fix", "data": "Set the value in /etc/estate/baseline.conf and restart the service."}],
"impact": )" +
        std::to_string(impact) + R"(, "refs": [{"ref": "CIS 1.)" + std::to_string(c) +
        R"(", "url": "https://docs.example/baseline/)" + id + R"("}],
"tags": {"cis": "1.)" +
        std::to_string(c) + R"(", "nist": ["AC-3", "CM-6"], "stig_id": "EB-00-)" + std::to_string(c) +
        R"(", "severity": "medium"},
"code": "control ')" +
        id +
        R"(' do\n  impact 0.5\n  title 'Ensure setting'\n  describe file('/etc/estate') do\n    it { should be_owned_by 'root' }\n  end\nend\n",
"source_location": {"ref": "controls/baseline.rb", "line": )" +
        std::to_string(10 + c * 12) + R"(}, "waiver_data": {}, "results": [)" + result + "]}";
  }
  out += R"(]}], "statistics": {"duration": 42.5}, "version": "5.22.3"})";
  out += "\n";
  return out;
}

std::vector<estate::testing::MetricSample> Samples(const std::string& base) {
  return estate::testing::ParseMetricSamples(estate::testing::HttpGet(base + "/metrics", 60).body);
}

std::size_t Count(const std::vector<estate::testing::MetricSample>& s, const std::string& name) {
  std::size_t n = 0;
  for (const auto& x : s) n += x.name == name ? 1 : 0;
  return n;
}

}  // namespace

int main() {
  const char* hosts_env = std::getenv("ESTATE_COMPLIANCE_BENCH_HOSTS");
  const int hosts = hosts_env != nullptr ? std::max(1, std::atoi(hosts_env)) : 10000;
  const std::string exporter = estate::testing::BinaryPath("estate-compliance-exporter");
  if (exporter.empty()) {
    std::fprintf(stderr, "estate-compliance-exporter was not built\n");
    return estate::bench::kExitBroken;
  }
  estate::testing::TempDir tmp;
  const char* dir_env = std::getenv("ESTATE_COMPLIANCE_BENCH_DIR");
  const std::string dir = dir_env != nullptr ? dir_env : tmp.path();
  const std::string reports = dir + "/reports";
  fs::create_directories(reports);

  // Generate (kept when ESTATE_COMPLIANCE_BENCH_DIR already holds them).
  auto t0 = Clock::now();
  std::uintmax_t bytes = 0;
  std::mt19937 rng(11);
  for (int h = 0; h < hosts; ++h) {
    const std::string path = reports + "/" + std::to_string(h % 100) + "/host-" + std::to_string(h) + ".json";
    std::error_code ec;
    if (fs::exists(path, ec)) {
      bytes += fs::file_size(path, ec);
      continue;
    }
    fs::create_directories(fs::path(path).parent_path(), ec);
    const std::string body = Report(h, rng);
    std::ofstream(path, std::ios::binary) << body;
    bytes += body.size();
  }
  Info("hosts " + std::to_string(hosts) + ", " + std::to_string(bytes >> 20) +
       " MiB of InSpec JSON (generated in " + std::to_string(static_cast<int>(Seconds(Clock::now() - t0))) +
       " s)");

  const int port = estate::testing::FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::ofstream(dir + "/compliance.yml")
      << "scan:\n  paths: [\"" << reports << "\"]\n  interval: 10s\n  settle: 0s\nretention: 3650d\n";
  // ChildProcess appends to its log, and the figures below are read from it: a kept directory
  // (ESTATE_COMPLIANCE_BENCH_DIR) must not add the scans of earlier runs.
  std::filesystem::remove(dir + "/exporter.log");
  estate::testing::ChildProcess process;
  auto start = Clock::now();
  auto started =
      process.Start({exporter, "--config.file=" + dir + "/compliance.yml",
                     "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=debug"},
                    dir + "/exporter.log");
  if (!started) {
    std::fprintf(stderr, "%s\n", started.error().c_str());
    return estate::bench::kExitBroken;
  }
  // The first full scan: until every host has its host_info (read, parsed and rendered).
  double first_scan = -1;
  for (auto until = start + 30min; Clock::now() < until; std::this_thread::sleep_for(500ms)) {
    auto s = Samples(base);
    if (Count(s, "estate_compliance_host_info") >= static_cast<std::size_t>(hosts)) {
      first_scan = Seconds(Clock::now() - start);
      break;
    }
  }
  if (first_scan < 0) {
    std::fprintf(stderr, "the first scan did not finish in 30 minutes\n%s\n", process.Log().c_str());
    return estate::bench::kExitBroken;
  }
  Figure("compliance_first_scan_seconds", first_scan, "s", "target < 120 s for 10,000 hosts on 2 cores");
  {
    // The store's own time for that scan (reading and parsing every file), from its log line.
    static const std::regex kFirst(
        R"(msg=scanned files=\d+ read=(\d+) failed=\d+ deferred=\d+ removed=\d+ seconds=([0-9.]+))");
    const std::string log = process.Log();
    double parse_seconds = 0;
    for (std::sregex_iterator it(log.begin(), log.end(), kFirst), end; it != end; ++it) {
      if (std::stoi((*it)[1]) > 0) parse_seconds += std::stod((*it)[2]);
    }
    Figure("compliance_first_scan_store_seconds", parse_seconds, "s", "the store's scans that read files");
  }

  // A rescan with nothing changed (the interval is 10 s): the store logs each scan's own time at debug.
  double rescan = -1;
  static const std::regex kScan(
      R"(msg=scanned files=(\d+) read=0 failed=0 deferred=0 removed=0 seconds=([0-9.]+))");
  for (auto until = Clock::now() + 60s; Clock::now() < until && rescan < 0; std::this_thread::sleep_for(1s)) {
    const std::string log = process.Log();
    for (std::sregex_iterator it(log.begin(), log.end(), kScan), end; it != end; ++it) {
      if (std::stoi((*it)[1]) >= hosts) rescan = std::stod((*it)[2]);
    }
  }
  Figure("compliance_rescan_unchanged_seconds", rescan, "s", "target < 1 s; -1 = not observed");

  // /metrics under 20 concurrent scrapers for 20 s.
  std::vector<double> latencies;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::vector<std::thread> scrapers;
  std::size_t body_bytes = 0;
  for (int i = 0; i < 20; ++i) {
    scrapers.emplace_back([&] {
      while (!stop) {
        auto r = estate::testing::HttpGet(base + "/metrics", 30, {"Accept-Encoding: gzip"});
        std::lock_guard<std::mutex> lock(mu);
        if (r.status == 200) {
          latencies.push_back(r.seconds);
          body_bytes = r.body.size();
        }
      }
    });
  }
  std::this_thread::sleep_for(20s);
  stop = true;
  for (auto& t : scrapers) t.join();
  Info(std::to_string(latencies.size()) + " scrapes, gzip body " + std::to_string(body_bytes >> 10) + " KiB");
  Figure("compliance_metrics_p50_seconds", estate::bench::Percentile(latencies, 0.5), "s",
         "20 concurrent scrapers");
  Figure("compliance_metrics_p99_seconds", estate::bench::Percentile(latencies, 0.99), "s", "target < 0.1 s");
  auto mem = estate::testing::ReadProcessMemory(process.pid());
  Figure("compliance_peak_rss_mib", static_cast<double>(mem.peak_rss_bytes) / (1 << 20), "MiB",
         "target <= 300 MiB");
  Figure("compliance_rss_mib", static_cast<double>(mem.rss_bytes) / (1 << 20), "MiB", "after the scrapes");
  process.Stop();
  return 0;
}
