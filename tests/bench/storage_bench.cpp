// storage_bench: the storage-mapping exporter against a simulated cloud of 100,000 Cinder volumes and 50,000
// Nova servers on 2 Pure FlashArrays, every upstream request answered after 50 ms. It starts the real
// estate-simestate (kinds openstack and pure, one generated model) and estate-storage-mapping-exporter
// binaries and prints:
//   - the time from exporter start until the mapping is complete (every source up, every volume a current
//   row),
//     with each source's refresh duration and the upstream requests it took;
//   - peak RSS of the exporter (VmHWM) after the first refresh and at the end;
//   - p50/p99/max of /metrics (gzip, as Prometheus asks) and of /api/cvm/v1.0/volumes/<id> under 20
//   concurrent
//     keep-alive clients while sources keep refreshing, plus the /metrics body size and series count;
//   - exporter and simulator CPU seconds per refresh.
// Each figure is one "bench: <name> = <value> <unit> (target ...)" line; then one PASS/FAIL line per target.
// Exit status: 0 when every target is met, 1 when one is missed, 2 when the benchmark itself could not run.
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "estate/testing/e2e.h"

namespace {

using estate::bench::Figure;
using estate::bench::Info;
using estate::bench::kExitBroken;
using estate::bench::kExitMissed;
using estate::bench::Percentile;
using estate::testing::ChildProcess;
using estate::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr const char* kExporter = "estate-storage-mapping-exporter";
constexpr const char* kSimulator = "estate-simestate";
constexpr const char* kCloud = "cloud-bench";
constexpr const char* kMappingSource = "mapping";  // the join job

struct Args {
  int volumes = 100000;
  int servers = 50000;
  int arrays = 2;
  int projects = 10;
  int latency_ms = 50;
  int clients = 20;
  // The load phase outlasts the sources' interval, so every source starts (at least) one refresh during it.
  double seconds = 90;
  double metrics_share = 0.1;  // fraction of the clients' requests that are /metrics (the rest: lookups)
  double quiet_seconds = 0;    // optional window without clients after the load (CPU per refresh again)
  double poll_seconds = 1;     // how often /metrics is read while waiting for the first mapping
  // Short enough that every source completes a refresh (and the join publishes a new mapping) while the clients
  // run: under their load a cloud refresh takes ~40 s.
  std::string openstack_interval = "30s";
  std::string array_interval = "30s";
  int web_max_requests = 32;  // > the 20 clients: a keep-alive connection holds a civetweb worker
  double max_load_seconds = 600;  // the clients run `seconds`, and on until every source refreshed, up to this
  long client_buffer_kib = 0;  // the clients' libcurl receive buffer; 0 = libcurl's default (16 KiB)
  int sim_threads = 16;
  double deadline_seconds = 600;
  std::map<std::string, std::string> exporter_env;
  // Targets.
  double max_refresh_seconds = 60;
  double max_rss_mib = 500;
  double max_p99_ms = 100;
};

void Usage() {
  std::fprintf(
      stderr,
      "usage: storage_bench [--volumes=N] [--servers=N] [--arrays=N] [--projects=N] [--latency-ms=MS]\n"
      "                     [--clients=N] [--seconds=S] [--metrics-share=F] [--quiet-seconds=S]\n"
      "                     [--poll-seconds=S] [--openstack-interval=DURATION] [--array-interval=DURATION]\n"
      "                     [--web-max-requests=N] [--sim-threads=N] [--deadline-seconds=S]\n"
      "                     [--max-load-seconds=S] [--client-buffer-kib=N] [--exporter-env=NAME=VALUE]...\n"
      "Set ESTATE_KEEP_TEMP=1 to keep the configs, the logs and one /metrics body.\n");
}

bool ParseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    try {
      if (name == "--volumes")
        a.volumes = std::stoi(value);
      else if (name == "--servers")
        a.servers = std::stoi(value);
      else if (name == "--arrays")
        a.arrays = std::stoi(value);
      else if (name == "--projects")
        a.projects = std::stoi(value);
      else if (name == "--latency-ms")
        a.latency_ms = std::stoi(value);
      else if (name == "--clients")
        a.clients = std::stoi(value);
      else if (name == "--seconds")
        a.seconds = std::stod(value);
      else if (name == "--metrics-share")
        a.metrics_share = std::stod(value);
      else if (name == "--quiet-seconds")
        a.quiet_seconds = std::stod(value);
      else if (name == "--poll-seconds")
        a.poll_seconds = std::stod(value);
      else if (name == "--openstack-interval")
        a.openstack_interval = value;
      else if (name == "--array-interval")
        a.array_interval = value;
      else if (name == "--web-max-requests")
        a.web_max_requests = std::stoi(value);
      else if (name == "--sim-threads")
        a.sim_threads = std::stoi(value);
      else if (name == "--deadline-seconds")
        a.deadline_seconds = std::stod(value);
      else if (name == "--max-load-seconds")
        a.max_load_seconds = std::stod(value);
      else if (name == "--client-buffer-kib")
        a.client_buffer_kib = std::stol(value);
      else if (name == "--exporter-env" && value.find('=') != std::string::npos)
        a.exporter_env[value.substr(0, value.find('='))] = value.substr(value.find('=') + 1);
      else {
        Usage();
        return false;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "storage_bench: bad value for %s: %s\n", name.c_str(), value.c_str());
      return false;
    }
  }
  if (a.volumes < 1 || a.servers < 1 || a.arrays < 1 || a.clients < 0 || a.metrics_share < 0 ||
      a.metrics_share > 1 || a.poll_seconds <= 0) {
    Usage();
    return false;
  }
  return true;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
std::string Fixed(double v, int decimals);  // below
Clock::duration Duration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string ReadFile(const std::string& path) { return estate::bench::ReadTextFile(path); }
double StatusMib(pid_t pid, const char* field) { return estate::bench::ProcStatusMib(pid, field); }
double PeakRssMib(pid_t pid) { return StatusMib(pid, "VmHWM"); }
double CpuSeconds(pid_t pid) { return estate::bench::ProcCpuSeconds(pid); }

// ---- the simulated cloud and arrays -----------------------------------------------------------------------

std::string ArrayName(int i) { return "pure-gen-" + std::to_string(i); }

// One openstack upstream and one pure upstream per array, all on one generated model (they share it because
// the generate blocks are identical), 50 ms on every request.
std::string SimulatorConfig(const Args& a) {
  std::ostringstream gen;
  gen << "{servers: " << a.servers << ", volumes: " << a.volumes << ", arrays: " << a.arrays
      << ", projects: " << a.projects << ", seed: 1}";
  std::ostringstream faults;
  if (a.latency_ms > 0) faults << "    faults: [{kind: none, latency: " << a.latency_ms << "ms}]\n";
  std::ostringstream y;
  y << "# Written by storage_bench.\n"
    << "upstreams:\n"
    << "  - name: " << kCloud << "\n"
    << "    kind: openstack\n"
    << "    threads: " << a.sim_threads << "\n"
    << "    generate: " << gen.str() << "\n"
    << "    openstack:\n"
    << "      region: RegionOne\n"
    << "      users:\n"
    << "        - {name: monitor, password: bench-openstack-password, project: admin, admin: true}\n"
    << faults.str();
  for (int i = 1; i <= a.arrays; ++i) {
    y << "  - name: " << ArrayName(i) << "\n"
      << "    kind: pure\n"
      << "    threads: " << a.sim_threads << "\n"
      << "    generate: " << gen.str() << "\n"
      << "    pure: {array: " << ArrayName(i) << ", api_token: bench-pure-token}\n"
      << faults.str();
  }
  return y.str();
}

std::string ExporterConfig(const Args& a, const std::map<std::string, int>& ports, const TempDir& dir) {
  std::ostringstream y;
  y << "# Written by storage_bench.\n"
    << "defaults:\n"
    << "  openstack_interval: " << a.openstack_interval << "\n"
    << "  array_interval: " << a.array_interval << "\n"
    << "  request_timeout: 30s\n"
    << "history:\n"
    << "  state_file: " << dir.path() << "/history.json\n"
    << "clouds:\n"
    << "  - name: " << kCloud << "\n"
    << "    auth_url: http://127.0.0.1:" << ports.at(kCloud) << "/identity/v3\n"
    << "    region: RegionOne\n"
    << "    auth: {method: password, username: monitor, password_env: BENCH_OS_PASSWORD, project_name: "
       "admin}\n"
    << "    array_backends: [";
  for (int i = 1; i <= a.arrays; ++i) y << (i > 1 ? ", " : "") << ArrayName(i);
  y << "]\n"
    << "arrays:\n";
  for (int i = 1; i <= a.arrays; ++i) {
    y << "  - {name: " << ArrayName(i) << ", address: \"http://127.0.0.1:" << ports.at(ArrayName(i))
      << "\", api_token_env: BENCH_PURE_TOKEN}\n";
  }
  return y.str();
}

// Requests each upstream received so far, from the simulator's control API (-1 when it did not answer).
std::map<std::string, long> SimRequests(int control_port, const std::vector<std::string>& upstreams) {
  std::map<std::string, long> out;
  for (const auto& u : upstreams) {
    auto r = estate::testing::HttpGet(
        "http://127.0.0.1:" + std::to_string(control_port) + "/requests?upstream=" + u, 10);
    long n = -1;
    if (r.status == 200) {
      try {
        n = nlohmann::json::parse(r.body).at("count").get<long>();
      } catch (const std::exception&) {
      }
    }
    out[u] = n;
  }
  return out;
}

// The simulator's --ports.file ({"<upstream>": port, ..., "_control": port}); empty until it is written.
std::map<std::string, int> ReadPorts(const std::string& path) {
  std::map<std::string, int> ports;
  const std::string text = ReadFile(path);
  if (text.empty()) return ports;
  try {
    const nlohmann::json doc = nlohmann::json::parse(text);
    for (auto it = doc.begin(); it != doc.end(); ++it) ports[it.key()] = it.value().get<int>();
  } catch (const std::exception&) {
    ports.clear();
  }
  return ports;
}

long Sum(const std::map<std::string, long>& m) {
  long s = 0;
  for (const auto& [k, v] : m) s += v;
  return s;
}

// ---- reading /metrics
// --------------------------------------------------------------------------------------

struct SourceStatus {
  double up = 0;
  double duration = 0;
  double last_success = 0;
  double requests = 0;  // estate_upstream_requests_total, every code
};

struct MetricsSummary {
  std::map<std::string, SourceStatus> sources;  // by source label
  double rows_current = -1;
  std::map<std::string, double> rows;  // by state
  std::size_t series = 0;
};

std::string Label(std::string_view line, std::string_view name) {
  return estate::bench::MetricLabel(line, name);
}

MetricsSummary Summarise(const std::string& body) {
  MetricsSummary m;
  std::string_view rest(body);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    ++m.series;
    if (line.substr(0, 7) != "estate_") continue;
    auto space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    const double value = std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
    if (line.starts_with("estate_storage_source_up{")) {
      m.sources[Label(line, "source")].up = value;
    } else if (line.starts_with("estate_storage_source_refresh_duration_seconds{")) {
      m.sources[Label(line, "source")].duration = value;
    } else if (line.starts_with("estate_storage_source_last_success_timestamp_seconds{")) {
      m.sources[Label(line, "source")].last_success = value;
    } else if (line.starts_with("estate_upstream_requests_total{")) {
      m.sources[Label(line, "source")].requests += value;
    } else if (line.starts_with("estate_storage_mapping_rows{")) {
      const std::string state = Label(line, "state");
      m.rows[state] = value;
      if (state == "current") m.rows_current = value;
    }
  }
  return m;
}

// Last success time per source, from the Sources table of the landing page ("/"): a few KB, where /metrics
// is ~90 MB of text at 100k volumes, most of it kept only gzipped by the exporter, which would inflate it
// for each poll (~0.3 s of CPU: the monitor must not load the exporter it measures).
std::map<std::string, std::string> LandingLastSuccess(const std::string& html) {
  std::map<std::string, std::string> out;
  const std::string row = "<tr><td>";
  for (auto at = html.find(row); at != std::string::npos; at = html.find(row, at)) {
    at += row.size();
    std::vector<std::string> cells;
    std::size_t pos = at - 4;
    for (int i = 0; i < 4; ++i) {
      auto open = html.find("<td", pos);
      if (open == std::string::npos) break;
      auto start = html.find('>', open) + 1;
      auto end = html.find("</td>", start);
      if (end == std::string::npos) break;
      cells.push_back(html.substr(start, end - start));
      pos = end;
    }
    if (cells.size() == 4) out[cells[0]] = cells[3];
  }
  return out;
}

// Refreshes completed per source while this runs: the landing page is read every `every` seconds and a new
// last success time counts as one.
class RefreshCounter {
 public:
  // pid: the exporter, whose resident set is noted at each completed refresh (the timeline shows which
  // overlap of refreshes makes the peak).
  RefreshCounter(std::string url, double every, pid_t pid = -1) : url_(std::move(url)), every_(every), pid_(pid) {
    thread_ = std::thread([this] { Loop(); });
  }
  // "t=<s> <source> rss=<MiB> hwm=<MiB>" per completed refresh of a source other than the join.
  std::vector<std::string> Timeline() {
    std::lock_guard lock(mu_);
    return timeline_;
  }
  ~RefreshCounter() { Stop(); }
  std::map<std::string, int> Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return counts_;
  }
  // True once every source but the join has completed a refresh and the join ran twice after the last of
  // those (the first run may have started before it): the new mapping was then published, rendered and
  // compressed within the window.
  bool Covered() const { return covered_; }

 private:
  void Update(const std::string& source, Clock::time_point seen) {
    ++counts_[source];
    if (pid_ > 0 && source != kMappingSource) {
      timeline_.push_back("t=" + Fixed(Seconds(seen - start_), 0) + "s " + source + " refreshed; rss " +
                          Fixed(StatusMib(pid_, "VmRSS"), 0) + " MiB, peak so far " +
                          Fixed(StatusMib(pid_, "VmHWM"), 0) + " MiB");
    }
    if (source == kMappingSource) {
      join_runs_.push_back(seen);
    } else if (!first_success_.contains(source)) {
      first_success_[source] = seen;
    }
    if (first_success_.size() + 1 < counts_.size()) return;  // a source has not refreshed yet
    Clock::time_point last{};
    for (const auto& [name, t] : first_success_) last = std::max(last, t);
    int after = 0;
    for (auto t : join_runs_) after += t > last ? 1 : 0;
    covered_ = after >= 2;
  }

  void Loop() {
    std::map<std::string, std::string> last;
    bool first = true;
    while (!stop_) {
      auto r = estate::testing::HttpGet(url_, 30);
      if (r.status == 200) {
        std::lock_guard lock(mu_);
        const auto seen = Clock::now();
        for (const auto& [source, success] : LandingLastSuccess(r.body)) {
          if (!first && success != last[source]) Update(source, seen);
          if (first) counts_[source] += 0;
          last[source] = success;
        }
        first = false;
      }
      for (auto until = Clock::now() + Duration(every_); !stop_ && Clock::now() < until;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  std::string url_;
  double every_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int> counts_;
  pid_t pid_;
  Clock::time_point start_ = Clock::now();
  std::vector<std::string> timeline_;
  std::map<std::string, Clock::time_point> first_success_;  // by source, the join excluded
  std::vector<Clock::time_point> join_runs_;
  std::atomic<bool> covered_{false};
  std::thread thread_;
};

// ---- the clients
// -------------------------------------------------------------------------------------------

// Ids to look up, taken from the unfiltered list: Cinder ids, serials and WWIDs.
struct KnownIds {
  std::vector<std::string> ids;
  std::size_t cinder = 0, serial = 0, wwid = 0;
};

// The values are uuids and hex strings: no JSON escapes, so a plain scan is enough (and avoids a DOM of the
// whole list in this process).
void CollectValues(const std::string& body, const std::string& key, std::vector<std::string>& out,
                   std::size_t& count) {
  const std::string needle = "\"" + key + "\":\"";
  std::string last;
  for (auto at = body.find(needle); at != std::string::npos; at = body.find(needle, at)) {
    at += needle.size();
    auto end = body.find('"', at);
    if (end == std::string::npos) break;
    std::string value = body.substr(at, end - at);
    at = end;
    if (value.empty() || value == last) continue;
    last = value;
    out.push_back(std::move(value));
    ++count;
  }
}

struct LoadStats {
  double seconds = 0;  // how long the clients ran
  std::vector<double> metrics_ms;
  std::vector<double> metrics_at;  // when each /metrics started, seconds into the load phase
  std::vector<double> lookup_ms;
  int metrics_errors = 0;
  int lookup_errors = 0;  // transport errors and anything but 200
  std::size_t metrics_gzip_bytes = 0;  // of the last /metrics
  std::vector<std::size_t> metrics_sizes;  // of every /metrics (gzip bytes), in order
};

std::size_t Count(char*, std::size_t size, std::size_t n, void* counted) {
  *static_cast<std::size_t*>(counted) += size * n;
  return size * n;
}

// `clients` threads, each on its own keep-alive connection (one libcurl easy handle), send requests back to
// back for `seconds`: /metrics with Accept-Encoding: gzip (not decompressed here: that is the scraper's CPU),
// with probability metrics_share, else /api/cvm/v1.0/volumes/<random known id>.
// The clients stop after `seconds` once `enough()` (every source refreshed meanwhile), or after `max_seconds`.
LoadStats RunLoad(const std::string& base, const KnownIds& known, int clients, double seconds, double max_seconds,
                  const std::function<bool()>& enough, double metrics_share, long buffer_kib) {
  LoadStats out;
  std::mutex mu;
  const auto load_start = Clock::now();
  const auto until = load_start + Duration(seconds);
  const auto hard_until = load_start + Duration(std::max(seconds, max_seconds));
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    while (Clock::now() < hard_until && !(Clock::now() >= until && enough())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    stop = true;
  });
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(c) * 7919 + 1);
      std::uniform_real_distribution<double> coin(0, 1);
      std::uniform_int_distribution<std::size_t> pick(0, known.ids.empty() ? 0 : known.ids.size() - 1);
      LoadStats mine;
      std::size_t bytes = 0;
      CURL* curl = curl_easy_init();
      curl_slist* gzip = curl_slist_append(nullptr, "Accept-Encoding: gzip");
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Count);
      curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bytes);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      if (buffer_kib > 0) curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, buffer_kib * 1024);
      const std::string metrics_url = base + "/metrics";
      std::string url;
      while (!stop) {
        const bool metrics = known.ids.empty() || coin(rng) < metrics_share;
        url = metrics ? metrics_url : base + "/api/cvm/v1.0/volumes/" + known.ids[pick(rng)];
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, metrics ? gzip : nullptr);
        bytes = 0;
        const auto start = Clock::now();
        const CURLcode rc = curl_easy_perform(curl);
        const double ms = Seconds(Clock::now() - start) * 1000;
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        const bool ok = rc == CURLE_OK && code == 200;
        if (metrics) {
          if (ok) {
            mine.metrics_ms.push_back(ms);
            mine.metrics_at.push_back(Seconds(start - load_start));
            mine.metrics_gzip_bytes = bytes;
            mine.metrics_sizes.push_back(bytes);
          } else {
            ++mine.metrics_errors;
          }
        } else {
          if (ok) {
            mine.lookup_ms.push_back(ms);
          } else {
            ++mine.lookup_errors;
          }
        }
      }
      curl_slist_free_all(gzip);
      curl_easy_cleanup(curl);
      std::lock_guard lock(mu);
      out.metrics_ms.insert(out.metrics_ms.end(), mine.metrics_ms.begin(), mine.metrics_ms.end());
      out.metrics_at.insert(out.metrics_at.end(), mine.metrics_at.begin(), mine.metrics_at.end());
      out.lookup_ms.insert(out.lookup_ms.end(), mine.lookup_ms.begin(), mine.lookup_ms.end());
      out.metrics_errors += mine.metrics_errors;
      out.lookup_errors += mine.lookup_errors;
      if (mine.metrics_gzip_bytes > 0) out.metrics_gzip_bytes = mine.metrics_gzip_bytes;
      out.metrics_sizes.insert(out.metrics_sizes.end(), mine.metrics_sizes.begin(), mine.metrics_sizes.end());
    });
  }
  for (auto& t : threads) t.join();
  stopper.join();
  out.seconds = Seconds(Clock::now() - load_start);
  return out;
}

std::string Num(double v) { return std::to_string(static_cast<long long>(std::llround(v))); }

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) return kExitBroken;
  curl_global_init(CURL_GLOBAL_DEFAULT);

  const std::string exporter_bin = estate::testing::BinaryPath(kExporter);
  const std::string simulator_bin = estate::testing::BinaryPath(kSimulator);
  if (exporter_bin.empty() || simulator_bin.empty()) {
    std::fprintf(stderr, "storage_bench: %s or %s not built\n", kExporter, kSimulator);
    return kExitBroken;
  }
  std::vector<std::string> upstreams = {kCloud};
  for (int i = 1; i <= args.arrays; ++i) upstreams.push_back(ArrayName(i));

  // The simulator: the model is generated at start-up; the ports file appears once everything listens.
  TempDir dir;
  const std::string sim_config = dir.Write("simestate.yml", SimulatorConfig(args));
  const std::string ports_file = dir.path() + "/ports.json";
  ChildProcess sim;
  const auto sim_t0 = Clock::now();
  if (auto s = sim.Start(
          {simulator_bin, "--config.file=" + sim_config, "--ports.file=" + ports_file, "--log.level=warn"},
          dir.path() + "/simestate.log");
      !s) {
    std::fprintf(stderr, "storage_bench: cannot start the simulator: %s\n", s.error().c_str());
    return kExitBroken;
  }
  std::map<std::string, int> ports;
  for (const auto until = Clock::now() + std::chrono::seconds(120); ports.empty() && Clock::now() < until;) {
    if (!sim.Running()) break;
    ports = ReadPorts(ports_file);
    if (ports.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (ports.empty() || !ports.contains("_control")) {
    std::fprintf(stderr, "storage_bench: the simulator did not start; its log:\n%s\n", sim.Log().c_str());
    return kExitBroken;
  }
  const int control = ports.at("_control");
  const double sim_start_seconds = Seconds(Clock::now() - sim_t0);
  const double sim_cpu_start = CpuSeconds(sim.pid());
  Info("simulator " + simulator_bin + " pid " + std::to_string(sim.pid()) + ": " +
       std::to_string(args.servers) + " servers, " + std::to_string(args.volumes) + " volumes on " +
       std::to_string(args.arrays) + " arrays, " + std::to_string(args.projects) + " projects; " +
       std::to_string(args.latency_ms) + " ms per request; ready in " + Fixed(sim_start_seconds, 1) + " s (" +
       Fixed(sim_cpu_start, 1) + " CPU s)");

  // The exporter.
  const std::string config = dir.Write("storage-mapping.yml", ExporterConfig(args, ports, dir));
  const int port = estate::testing::FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::map<std::string, std::string> env = args.exporter_env;
  env["BENCH_OS_PASSWORD"] = "bench-openstack-password";
  env["BENCH_PURE_TOKEN"] = "bench-pure-token";
  ChildProcess exporter;
  const auto t0 = Clock::now();
  if (auto s = exporter.Start(
          {exporter_bin, "--config.file=" + config, "--web.listen-address=127.0.0.1:" + std::to_string(port),
           "--web.max-requests=" + std::to_string(args.web_max_requests), "--log.level=warn"},
          dir.path() + "/exporter.log", env);
      !s) {
    std::fprintf(stderr, "storage_bench: cannot start the exporter: %s\n", s.error().c_str());
    return kExitBroken;
  }
  Info("exporter " + exporter_bin + " pid " + std::to_string(exporter.pid()) + ", --web.max-requests=" +
       std::to_string(args.web_max_requests) + "; openstack_interval " + args.openstack_interval +
       ", array_interval " + args.array_interval + ", join_interval default, history state file on");

  // (1) Wait until every source is up and every volume is a current row of the published mapping.
  const std::size_t want_sources = upstreams.size() + 1;  // + the join job "mapping"
  double refresh_seconds = -1;
  MetricsSummary at_complete;
  MetricsSummary last;
  auto next_report = t0 + std::chrono::seconds(10);
  while (Seconds(Clock::now() - t0) < args.deadline_seconds) {
    if (!exporter.Running()) {
      std::fprintf(stderr, "storage_bench: the exporter exited; its log:\n%s\n", exporter.Log().c_str());
      return kExitBroken;
    }
    auto resp = estate::testing::HttpGet(base + "/metrics", 30);
    if (resp.status == 200) {
      last = Summarise(resp.body);
      std::size_t up = 0;
      for (const auto& [source, s] : last.sources) up += s.up == 1 && s.last_success > 0 ? 1 : 0;
      if (up >= want_sources && last.rows_current == static_cast<double>(args.volumes)) {
        refresh_seconds = Seconds(Clock::now() - t0);
        at_complete = last;
        break;
      }
    }
    if (Clock::now() >= next_report) {
      std::string state;
      for (const auto& [source, s] : last.sources) {
        if (source.empty()) continue;
        state += " " + source + "=" + (s.up == 1 ? "up" : "down");
      }
      Info("t=" + Num(Seconds(Clock::now() - t0)) + "s:" + state + ", current rows " +
           Num(last.rows_current));
      next_report += std::chrono::seconds(10);
    }
    std::this_thread::sleep_for(Duration(args.poll_seconds));
  }
  const double cpu_first = CpuSeconds(exporter.pid());
  const double sim_cpu_first = CpuSeconds(sim.pid()) - sim_cpu_start;
  const double rss_first = PeakRssMib(exporter.pid());
  const auto sim_requests_first = SimRequests(control, upstreams);
  if (refresh_seconds < 0) {
    std::fprintf(
        stderr,
        "storage_bench: the mapping was not complete after %.0f s (current rows %.0f of %d); exporter "
        "log:\n%s\n",
        args.deadline_seconds, last.rows_current, args.volumes, exporter.Log().substr(0, 4000).c_str());
  }

  // (2) The ids to look up, from the unfiltered list.
  KnownIds known;
  double list_seconds = 0;
  std::size_t list_bytes = 0;
  if (refresh_seconds >= 0) {
    auto list = estate::testing::HttpGet(base + "/api/cvm/v1.0/volumes", 120);
    list_seconds = list.seconds;
    list_bytes = list.body.size();
    if (list.status == 200) {
      CollectValues(list.body, "cinder_id", known.ids, known.cinder);
      CollectValues(list.body, "serial", known.ids, known.serial);
      CollectValues(list.body, "wwid", known.ids, known.wwid);
    }
    if (known.ids.empty()) {
      std::fprintf(stderr, "storage_bench: no ids in /api/cvm/v1.0/volumes (status %ld)\n", list.status);
      return kExitBroken;
    }
    Info("ids to look up: " + std::to_string(known.cinder) + " Cinder ids, " + std::to_string(known.serial) +
         " serials, " + std::to_string(known.wwid) + " WWIDs, from /api/cvm/v1.0/volumes (" +
         std::to_string(list_bytes / 1024) + " KiB in " + Fixed(list_seconds * 1000, 0) + " ms)");
  }

  // (3) The clients, while the sources keep refreshing (their intervals are shorter than the phase).
  LoadStats load;
  std::map<std::string, int> load_refreshes;
  bool load_covered = false;
  double cpu_load = 0, sim_cpu_load = 0;
  if (refresh_seconds >= 0 && args.clients > 0 && args.seconds > 0) {
    const double cpu0 = CpuSeconds(exporter.pid());
    const double sim0 = CpuSeconds(sim.pid());
    RefreshCounter counter(base + "/", 2, exporter.pid());
    load = RunLoad(base, known, args.clients, args.seconds, args.max_load_seconds,
                   [&counter] { return counter.Covered(); }, args.metrics_share, args.client_buffer_kib);
    load_covered = counter.Covered();
    for (const auto& line : counter.Timeline()) Info("load phase: " + line);
    // /metrics latency over time, to see which refreshes (above) make the tail.
    constexpr double kWindow = 30;
    for (double from = 0; from < load.seconds; from += kWindow) {
      std::vector<double> in;
      for (std::size_t i = 0; i < load.metrics_at.size(); ++i) {
        if (load.metrics_at[i] >= from && load.metrics_at[i] < from + kWindow)
          in.push_back(load.metrics_ms[i]);
      }
      Info("load phase: /metrics started in t=" + Fixed(from, 0) + "-" + Fixed(from + kWindow, 0) +
           "s: " + std::to_string(in.size()) + " requests, p50 " + Fixed(Percentile(in, 0.5), 1) +
           " ms, p99 " + Fixed(Percentile(in, 0.99), 1) + " ms");
    }
    load_refreshes = counter.Stop();
    cpu_load = CpuSeconds(exporter.pid()) - cpu0;
    sim_cpu_load = CpuSeconds(sim.pid()) - sim0;
  }
  const double rss_after_load = PeakRssMib(exporter.pid());

  // (4) One uncompressed /metrics for the body size and series count.
  const std::string sample = estate::testing::HttpGet(base + "/metrics", 60).body;
  dir.Write("metrics.txt", sample);  // kept with ESTATE_KEEP_TEMP=1
  const MetricsSummary sampled = Summarise(sample);

  // (5) A quiet window: background refreshes only, for the CPU per refresh.
  std::map<std::string, int> quiet_refreshes;
  double cpu_quiet = 0, sim_cpu_quiet = 0;
  long quiet_requests = 0;
  if (refresh_seconds >= 0 && args.quiet_seconds > 0) {
    const double cpu0 = CpuSeconds(exporter.pid());
    const double sim0 = CpuSeconds(sim.pid());
    const long req0 = Sum(SimRequests(control, upstreams));
    RefreshCounter counter(base + "/", 2);
    std::this_thread::sleep_for(Duration(args.quiet_seconds));
    quiet_refreshes = counter.Stop();
    cpu_quiet = CpuSeconds(exporter.pid()) - cpu0;
    sim_cpu_quiet = CpuSeconds(sim.pid()) - sim0;
    quiet_requests = Sum(SimRequests(control, upstreams)) - req0;
  }
  const double rss_end = PeakRssMib(exporter.pid());
  const auto sim_requests_end = SimRequests(control, upstreams);
  exporter.Stop(std::chrono::seconds(30));
  sim.Stop(std::chrono::seconds(30));

  // ---- figures ----
  bool pass = true;
  std::vector<std::string> verdicts;
  auto verdict = [&](const std::string& what, bool ok) {
    verdicts.push_back(std::string(ok ? "PASS" : "FAIL") + ": " + what);
    pass = pass && ok;
  };
  std::printf("\n");
  Figure("refresh_seconds", refresh_seconds, "s",
         "target < " + Num(args.max_refresh_seconds) +
             " s; exporter start until every source is up and all " + std::to_string(args.volumes) +
             " volumes are current rows of the published mapping");
  verdict("mapping of " + std::to_string(args.volumes) + " volumes / " + std::to_string(args.servers) +
              " servers complete within " + Num(args.max_refresh_seconds) + " s at " +
              std::to_string(args.latency_ms) + " ms per request",
          refresh_seconds >= 0 && refresh_seconds < args.max_refresh_seconds);
  for (const auto& [source, s] : at_complete.sources) {
    if (source.empty() || s.last_success == 0) continue;
    Figure("source_refresh_duration_seconds{source=\"" + source + "\"}", s.duration, "s",
           "info; estate_storage_source_refresh_duration_seconds when the mapping was complete");
  }
  for (const auto& [source, s] : at_complete.sources) {
    if (source.empty() || s.requests == 0) continue;
    Figure("upstream_requests{source=\"" + source + "\"}", s.requests, "requests",
           "info; estate_upstream_requests_total (every code) when the mapping was complete");
  }
  std::string sim_counts;
  for (const auto& [u, n] : sim_requests_first) sim_counts += " " + u + "=" + std::to_string(n);
  Figure("upstream_requests_seen_by_simulator", static_cast<double>(Sum(sim_requests_first)), "requests",
         "info; until the mapping was complete:" + sim_counts);
  Figure(
      "cpu_seconds_first_refresh", cpu_first, "s",
      "info; exporter utime+stime from start until the mapping was complete (start-up, every source, joins, "
      "history, /metrics reads every " +
          Fixed(args.poll_seconds, 1) + " s)");
  Figure("simulator_cpu_seconds_first_refresh", sim_cpu_first, "s",
         "info; estate-simestate over the same time (shares the 2 cores), model generation excluded");
  Figure("peak_rss_after_first_refresh", rss_first, "MiB", "info; VmHWM when the mapping was complete");

  auto latency = [&](const std::string& name, const std::vector<double>& ms, int errors) {
    const double p99 = Percentile(ms, 0.99);
    Figure(name + "_latency_p50", Percentile(ms, 0.50), "ms", "info");
    Figure(name + "_latency_p99", p99, "ms", "target < " + Num(args.max_p99_ms) + " ms");
    Figure(name + "_latency_max", ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()), "ms", "info");
    Figure(name + "_requests", static_cast<double>(ms.size()), "requests",
           "info; " + std::to_string(errors) + " errors (transport or status other than 200)");
    return !ms.empty() && errors == 0 && p99 < args.max_p99_ms;
  };
  std::string refreshed;
  for (const auto& [source, n] : load_refreshes) {
    if (!source.empty()) refreshed += " " + source + "=" + std::to_string(n);
  }
  Info(std::to_string(args.clients) + " keep-alive clients for " + Fixed(load.seconds, 1) + " s, " +
       Num(args.metrics_share * 100) +
       " % /metrics (gzip), the rest lookups; refreshes completed meanwhile:" + refreshed);
  // The latencies only count as "during refreshes" when every source completed one while the clients ran (the
  // join then published a new mapping: its render and compression are in the window too).
  const bool refreshed_all = load_covered;
  verdict("every source completed a refresh, and the join published the new mapping, while the clients ran",
          refreshed_all);
  // A /metrics without the mapping (the join's data aged out, say) is small and fast: such answers count as
  // errors, not as latencies.
  const std::size_t largest =
      load.metrics_sizes.empty() ? 0 : *std::max_element(load.metrics_sizes.begin(), load.metrics_sizes.end());
  const auto short_bodies = static_cast<int>(std::count_if(load.metrics_sizes.begin(), load.metrics_sizes.end(),
                                                           [largest](std::size_t n) { return n < largest / 2; }));
  Figure("metrics_gzip_short_bodies", short_bodies, "requests",
         "info; /metrics answers under half the largest (" + std::to_string(largest) + " bytes): counted as errors");
  const bool metrics_ok = latency("metrics_gzip", load.metrics_ms, load.metrics_errors + short_bodies);
  const bool lookup_ok = latency("lookup", load.lookup_ms, load.lookup_errors);
  verdict("/metrics (gzip) p99 < " + Num(args.max_p99_ms) + " ms with " + std::to_string(args.clients) +
              " concurrent clients during refreshes",
          metrics_ok && refreshed_all);
  verdict("/api/cvm/v1.0/volumes/<id> p99 < " + Num(args.max_p99_ms) + " ms with " +
              std::to_string(args.clients) + " concurrent clients during refreshes",
          lookup_ok && refreshed_all);
  Figure("metrics_body_bytes", static_cast<double>(sample.size()), "bytes", "info; uncompressed");
  Figure("metrics_gzip_body_bytes", static_cast<double>(load.metrics_gzip_bytes), "bytes", "info");
  Figure("metrics_series", static_cast<double>(sampled.series), "series", "info");
  Figure("api_list_bytes", static_cast<double>(list_bytes), "bytes",
         "info; unfiltered /api/cvm/v1.0/volumes, read once in " + Fixed(list_seconds * 1000, 0) + " ms");
  Figure("cpu_seconds_load_phase", cpu_load, "s",
         "info; exporter over the " + Fixed(load.seconds, 1) + " s of clients (refreshes included)");
  Figure("simulator_cpu_seconds_load_phase", sim_cpu_load, "s", "info");

  const int cloud_refreshes = quiet_refreshes.contains(kCloud) ? quiet_refreshes.at(kCloud) : 0;
  std::string quiet;
  for (const auto& [source, n] : quiet_refreshes) {
    if (!source.empty()) quiet += " " + source + "=" + std::to_string(n);
  }
  if (cloud_refreshes > 0) {
    Figure("cpu_seconds_per_refresh", cpu_quiet / cloud_refreshes, "s",
           "info; exporter CPU over " + Num(args.quiet_seconds) + " s without clients (" +
               Fixed(cpu_quiet, 1) + " s) / cloud refreshes; refreshes completed:" + quiet +
               " (each array refresh and the joins "
               "included; /metrics read every 2 s)");
    Figure("simulator_cpu_seconds_per_refresh", sim_cpu_quiet / cloud_refreshes, "s",
           "info; estate-simestate over the same window, " + std::to_string(quiet_requests) + " requests");
  } else if (args.quiet_seconds > 0) {
    Info("no cloud refresh completed in the " + Num(args.quiet_seconds) + " s quiet window (" +
         Fixed(cpu_quiet, 1) + " exporter CPU s); refreshes:" + quiet);
  }
  Figure("peak_rss", rss_end, "MiB",
         "target <= " + Num(args.max_rss_mib) + " MiB; VmHWM at the end (after " + Fixed(rss_after_load, 1) +
             " MiB after the load phase)");
  verdict("peak RSS <= " + Num(args.max_rss_mib) + " MiB", rss_end > 0 && rss_end <= args.max_rss_mib);
  Info("upstream requests seen by the simulator in total: " + std::to_string(Sum(sim_requests_end)));

  std::printf("\n");
  for (const auto& v : verdicts) std::printf("bench: %s\n", v.c_str());
  std::printf("bench: %s\n", pass ? "PASS" : "FAIL");
  curl_global_cleanup();
  return pass ? 0 : kExitMissed;
}
