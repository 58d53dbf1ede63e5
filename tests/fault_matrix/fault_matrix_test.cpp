// The fault matrix: every upstream kind of every exporter against every way an upstream fails, end to end.
//
// One simulated estate (estate-simestate, every upstream on https with a certificate from a test CA), ONE
// hardware exporter and ONE storage-mapping exporter (short intervals, the CA in ca_file), and one lane per
// upstream kind. Each lane has its own target or source, reached through its own TCP forwarder, so the lanes
// run in parallel; within a lane the faults run one after the other. A cell (upstream, fault):
//   1. inject: a fault on the lane's simulated upstream (control API), or the forwarder moved to a server
//   whose
//      certificate has the wrong name or has expired;
//   2. the error is exposed: <ns>_source_up 0, <ns>_source_refresh_failures_total grows, the landing page's
//      "last error" names it;
//   3. the last good data is still served with its age, and the age grows;
//   4. the exporter still runs, and its memory stays bounded (VmRSS and the peak VmHWM from /proc);
//   5. heal: the fault cleared (or the forwarder back), and the source is up again with its data.
//
// Later exporters add their upstreams as rows of Lanes() (and, for a new exporter, one more Exporter), see
// docs/architecture.md "Fault matrix".
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using estate::testing::ChildProcess;
using estate::testing::HttpDelete;
using estate::testing::HttpGet;
using estate::testing::MetricSample;
using estate::testing::SampleValue;
using estate::testing::TempDir;
using Labels = std::map<std::string, std::string>;

// Generous: a debug build on a busy 2-core machine, while the 50 MB bodies are in flight.
constexpr long long kMemoryBound = 400ll << 20;
// How long one step of a cell may take: a failing refresh of the storage exporter may retry for a while.
constexpr auto kStepDeadline = 90s;

// ---- the faults ------------------------------------------------------------------------------------------

struct FaultSpec {
  std::string name;
  std::string json;  // for the simulated estate's control API; "" for the TLS faults
  enum class Tls { kNone, kWrongName, kExpired } tls = Tls::kNone;
  // What the exposed error must say (ECMAScript, case-insensitive). Empty where each parser words it its own
  // way (garbage: "invalid JSON", "RIBCL response is empty", "no X-Subject-Token header", ...).
  std::string expect_error{};
};

// Every fault outlasts the exporters' request timeout (2 s): the timeout waits 5 s, the slow drip needs
// minutes for any body.
const std::vector<FaultSpec>& Faults() {
  using Tls = FaultSpec::Tls;
  static const std::vector<FaultSpec> faults = {
      {"timeout", R"({"kind": "none", "latency": "5s"})", Tls::kNone, "timed out"},
      {"500", R"({"kind": "status", "status": 500})", Tls::kNone, "\\b500\\b"},
      {"401", R"({"kind": "status", "status": 401})", Tls::kNone, "\\b401\\b"},
      {"403", R"({"kind": "status", "status": 403})", Tls::kNone, "\\b403\\b"},
      {"429", R"({"kind": "status", "status": 429, "headers": {"Retry-After": "1"}})", Tls::kNone,
       "\\b429\\b"},
      {"truncated", R"({"kind": "truncated"})", Tls::kNone, "truncated"},
      {"garbage", R"({"kind": "garbage"})"},
      {"50MB", R"({"kind": "huge", "huge_bytes": 52428800})"},
      {"slow-drip", R"({"kind": "slow_drip", "drip_interval": "300ms", "drip_bytes": 4})", Tls::kNone,
       "timed out"},
      {"reset", R"({"kind": "reset_connection"})", Tls::kNone, "reset by peer"},
      {"tls-wrong-name", "", Tls::kWrongName, "TLS error: .*(subject name|host ?name)"},
      {"tls-expired", "", Tls::kExpired, "TLS error: .*expired"},
  };
  return faults;
}

// ---- the exporters ---------------------------------------------------------------------------------------

struct Exporter {
  std::string binary;        // e.g. estate-hardware-exporter
  std::string ns;            // metric namespace, e.g. estate_hardware
  std::string source_label;  // target or source
  std::string base;          // http://127.0.0.1:<port>
  ChildProcess process;

  std::vector<MetricSample> Scrape() const {
    return estate::testing::ParseMetricSamples(HttpGet(base + "/metrics", 10).body);
  }

  // The "last error" cell of the landing page's row for (source, group); "" when there is none.
  std::string LastError(const std::string& source, const std::string& group) const {
    const std::string page = HttpGet(base + "/", 10).body;
    const std::string row = "<tr><td>" + source + "</td><td>" + group + "</td>";
    std::size_t at = page.find(row);
    if (at == std::string::npos) return "";
    std::size_t end = page.find("</tr>", at);
    std::size_t cell = page.rfind("<td>", end);
    if (end == std::string::npos || cell == std::string::npos || cell < at) return "";
    return page.substr(cell + 4, page.rfind("</td>", end) - cell - 4);
  }
};

// ---- the lanes: one per upstream kind
// ----------------------------------------------------------------------

struct Lane {
  std::string name;          // the upstream kind, e.g. "Redfish"
  std::string sim_upstream;  // its upstream in the simulated estate
  std::string path_prefix;   // faults apply to these paths only ("" = all)
  bool expire_tokens =
      false;                // after injecting, revoke the upstream's tokens so the exporter must log in again
  int exporter = 0;         // index into the exporters
  std::string source;       // the exporter's target / source name
  std::string group;        // the refresher group whose up we watch
  std::string data_metric;  // a series of the lane's last good data
  Labels data_labels;
};

// Every upstream kind of every exporter. Keystone, Nova and Cinder are one simulated cloud each (on one
// model), so their lanes run in parallel; their faults hit only their service's paths.
std::vector<Lane> Lanes() {
  return {
      {"Redfish",
       "bmc-redfish",
       "",
       false,
       0,
       "fm-redfish",
       "fast",
       "estate_hardware_power_consumed_watts",
       {{"target", "fm-redfish"}}},
      {"RIBCL",
       "bmc-ribcl",
       "",
       false,
       0,
       "fm-ribcl",
       "fast",
       "estate_hardware_storage_controller_cache_health",
       {{"target", "fm-ribcl"}}},
      {"Keystone",
       "cloud-keystone",
       "/identity",
       true,
       1,
       "fm-keystone",
       "openstack",
       "estate_storage_server_info",
       {{"cloud", "fm-keystone"}}},
      {"Nova",
       "cloud-nova",
       "/compute",
       false,
       1,
       "fm-nova",
       "openstack",
       "estate_storage_server_info",
       {{"cloud", "fm-nova"}}},
      {"Cinder",
       "cloud-cinder",
       "/volume",
       false,
       1,
       "fm-cinder",
       "openstack",
       "estate_storage_server_info",
       {{"cloud", "fm-cinder"}}},
      {"Pure",
       "pure-a",
       "",
       false,
       1,
       "fm-pure",
       "pure",
       "estate_storage_volume_space_bytes",
       {{"array", "fm-pure"}}},
  };
}

std::string SimConfig(const std::string& source, const std::string& cert) {
  const std::string data = source + "/tools/simestate/data/";
  const std::string tls = "    tls_cert_file: " + cert + "\n";
  const std::string bmc_auth = "    basic_auth: {username: monitor, password: demo-bmc-password}\n";
  std::string cloud;
  for (const char* name : {"cloud-keystone", "cloud-nova", "cloud-cinder"}) {
    cloud += std::string("  - name: ") + name + "\n    kind: openstack\n    data: " + data +
             "storage-demo\n" + tls +
             "    openstack:\n      region: RegionOne\n      token_ttl: 1h\n      users:\n"
             "        - {name: monitor, password: demo-openstack-password, project: admin, admin: true}\n";
  }
  return "upstreams:\n"
         "  - name: bmc-redfish\n    kind: redfish\n    data: " +
         data + "bmc-dell-idrac9\n" + bmc_auth + tls +
         "  - name: bmc-ribcl\n    kind: ribcl\n    data: " + data + "bmc-ilo4-ribcl\n" + bmc_auth + tls +
         cloud + "  - name: pure-a\n    kind: pure\n    data: " + data + "storage-demo\n" + tls +
         "    pure: {array: pure-a, api_token: demo-pure-a-api-token}\n";
}

std::string HardwareConfig(const std::string& source, const std::string& ca,
                           const std::map<std::string, int>& fwd) {
  std::string targets;
  for (const auto& [name, protocol] : {std::pair{"fm-redfish", "redfish"}, std::pair{"fm-ribcl", "ribcl"}}) {
    targets += std::string("  - name: ") + name +
               "\n    address: https://127.0.0.1:" + std::to_string(fwd.at(name)) +
               "\n    protocol: " + protocol + "\n    auth: sim-bmc\n    ca_file: " + ca + "\n";
  }
  // The fast group is the one watched; the slow group polls once at start (its data outlives the test).
  return "defaults:\n  fast_interval: 2s\n  slow_interval: 1h\n  request_timeout: 2s\n  "
         "max_requests_per_bmc: 2\n"
         "max_concurrent_polls: 8\n"
         "auths:\n  sim-bmc:\n    username: monitor\n    password_file: " +
         source +
         "/tools/simestate/data/bmc-credentials/monitor.password\n"
         "targets:\n" +
         targets;
}

std::string StorageConfig(const std::string& source, const std::string& ca,
                          const std::map<std::string, int>& fwd) {
  const std::string creds = source + "/tools/simestate/data/storage-credentials/";
  std::string clouds;
  for (const char* name : {"fm-keystone", "fm-nova", "fm-cinder"}) {
    clouds += std::string("  - name: ") + name +
              "\n    auth_url: https://127.0.0.1:" + std::to_string(fwd.at(name)) +
              "/identity/v3\n    region: RegionOne\n    interface: public\n    ca_file: " + ca +
              "\n    auth:\n      method: password\n      username: monitor\n      password_file: " + creds +
              "openstack-monitor.password\n      project_name: admin\n    array_backends: [pure-a, pure-b]\n";
  }
  return "defaults:\n  openstack_interval: 2s\n  array_interval: 2s\n  request_timeout: 2s\n  join_interval: "
         "1s\n"
         "clouds:\n" +
         clouds +
         "arrays:\n  - name: fm-pure\n    address: https://127.0.0.1:" + std::to_string(fwd.at("fm-pure")) +
         "\n    api_token_file: " + creds + "pure-a.api-token\n    ca_file: " + ca + "\n";
}

std::string Mb(long long bytes) { return std::to_string(bytes >> 20) + " MB"; }

// ---- the matrix ------------------------------------------------------------------------------------------

struct CellResult {
  std::string lane;
  std::string fault;
  bool ok = true;
  std::string problems;
  std::string error;  // what the landing page said
  double seconds = 0;
};

class Matrix {
 public:
  ::testing::AssertionResult Start(const TempDir& dir) {
    source_ = estate::testing::SourceDir();
    auto pki = estate::testing::MakeTestPki(dir);
    if (!pki.ok()) return ::testing::AssertionFailure() << pki.error();
    pki_ = *pki;
    // The servers with a bad certificate: a handshake is all they ever do, so they need no routes.
    for (auto [server, pem] :
         {std::pair{&wrong_name_, &pki_.wrong_name_pem}, std::pair{&expired_, &pki_.expired_pem}}) {
      *server = std::make_unique<estate::testing::FakeUpstream>(
          estate::testing::FakeUpstream::Options{.tls_cert_pem = *pem, .threads = 4});
      auto started = (*server)->Start();
      if (!started.ok()) return ::testing::AssertionFailure() << started.error();
    }

    const std::string sim = estate::testing::BinaryPath("estate-simestate");
    if (sim.empty()) return ::testing::AssertionFailure() << "estate-simestate was not built";
    const std::string ports_file = dir.path() + "/ports.json";
    auto started =
        sim_.Start({sim, "--config.file=" + dir.Write("estate.yml", SimConfig(source_, pki_.good_pem)),
                    "--ports.file=" + ports_file},
                   dir.path() + "/simestate.log");
    if (!started.ok()) return ::testing::AssertionFailure() << "simestate: " << started.error();
    for (auto until = Clock::now() + 30s; !std::filesystem::exists(ports_file);
         std::this_thread::sleep_for(50ms)) {
      if (Clock::now() > until || !sim_.Running()) {
        return ::testing::AssertionFailure() << "simestate wrote no ports file:\n" << sim_.Log();
      }
    }
    const auto ports = nlohmann::json::parse(estate::testing::ReadFileOrDie(ports_file));
    control_ = "http://127.0.0.1:" + std::to_string(ports["_control"].get<int>());

    lanes_ = Lanes();
    std::map<std::string, int> forwarded;
    for (const Lane& lane : lanes_) {
      const int port = ports[lane.sim_upstream].get<int>();
      auto fwd = std::make_unique<estate::testing::TcpForwarder>();
      auto ok = fwd->Start(port);
      if (!ok.ok()) return ::testing::AssertionFailure() << ok.error();
      forwarded[lane.source] = fwd->port();
      good_port_.push_back(port);
      forwarders_.push_back(std::move(fwd));
    }

    for (auto [binary, ns, label] :
         {std::tuple{"estate-hardware-exporter", "estate_hardware", "target"},
          std::tuple{"estate-storage-mapping-exporter", "estate_storage", "source"}}) {
      auto& e = exporters_.emplace_back(std::make_unique<Exporter>());
      e->binary = binary;
      e->ns = ns;
      e->source_label = label;
    }
    const std::vector<std::string> configs = {HardwareConfig(source_, pki_.ca_file, forwarded),
                                              StorageConfig(source_, pki_.ca_file, forwarded)};
    for (std::size_t i = 0; i < exporters_.size(); ++i) {
      Exporter& e = *exporters_[i];
      const std::string binary = estate::testing::BinaryPath(e.binary);
      if (binary.empty()) return ::testing::AssertionFailure() << e.binary << " was not built";
      const int port = estate::testing::FreePort();
      e.base = "http://127.0.0.1:" + std::to_string(port);
      auto ok = e.process.Start({binary, "--config.file=" + dir.Write(e.binary + ".yml", configs[i]),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                                dir.path() + "/" + e.binary + ".log");
      if (!ok.ok()) return ::testing::AssertionFailure() << e.binary << ": " << ok.error();
    }
    for (auto& e : exporters_) {
      if (!estate::testing::WaitHttpOk(e->base + "/-/ready", 60s)) {
        return ::testing::AssertionFailure() << e->binary << " not ready in 60 s:\n" << e->process.Log();
      }
    }
    // Every lane up with its data before the first fault.
    for (const Lane& lane : lanes_) {
      if (!WaitUp(lane, 90s)) {
        return ::testing::AssertionFailure()
               << lane.name << " (" << lane.source << ") never came up with its data\n"
               << exporters_[lane.exporter]->LastError(lane.source, lane.group) << "\n"
               << exporters_[lane.exporter]->process.Log();
      }
    }
    return ::testing::AssertionSuccess();
  }

  const std::vector<Lane>& lanes() const { return lanes_; }
  std::vector<std::unique_ptr<Exporter>>& exporters() { return exporters_; }
  ChildProcess& sim() { return sim_; }

  // Runs every fault on one lane, in order from `first` (lanes start at different faults, so that the 50 MB
  // bodies and the timeouts of different lanes do not all land at once).
  std::vector<CellResult> RunLane(std::size_t index, std::size_t first) {
    std::vector<CellResult> out;
    const auto& faults = Faults();
    for (std::size_t k = 0; k < faults.size(); ++k) {
      out.push_back(RunCell(index, faults[(first + k) % faults.size()]));
    }
    return out;
  }

 private:
  // <ns><suffix>{<source label>=<lane's source>, group=<lane's group>}, e.g. suffix "_source_up".
  std::optional<double> Status(const Lane& lane, const std::vector<MetricSample>& s,
                               const std::string& suffix) const {
    const Exporter& e = *exporters_[lane.exporter];
    return SampleValue(s, e.ns + suffix, {{e.source_label, lane.source}, {"group", lane.group}});
  }
  bool HasData(const Lane& lane, const std::vector<MetricSample>& s) const {
    return SampleValue(s, lane.data_metric, lane.data_labels).has_value();
  }

  bool WaitUp(const Lane& lane, std::chrono::seconds deadline) const {
    for (auto until = Clock::now() + deadline; Clock::now() < until; std::this_thread::sleep_for(200ms)) {
      const auto s = exporters_[lane.exporter]->Scrape();
      if (Status(lane, s, "_source_up") == 1.0 && HasData(lane, s)) return true;
    }
    return false;
  }

  bool Inject(std::size_t index, const FaultSpec& fault) {
    const Lane& lane = lanes_[index];
    if (fault.tls != FaultSpec::Tls::kNone) {
      forwarders_[index]->SetTarget(fault.tls == FaultSpec::Tls::kWrongName ? wrong_name_->port()
                                                                            : expired_->port());
      return true;
    }
    nlohmann::json body = nlohmann::json::parse(fault.json);
    if (!lane.path_prefix.empty()) body["path_prefix"] = lane.path_prefix;
    if (estate::testing::HttpPost(control_ + "/fault?upstream=" + lane.sim_upstream, body.dump()).status !=
        200) {
      return false;
    }
    if (lane.expire_tokens) {
      return estate::testing::HttpPost(control_ + "/tokens/expire?upstream=" + lane.sim_upstream).status ==
             200;
    }
    return true;
  }

  bool Heal(std::size_t index, const FaultSpec& fault) {
    if (fault.tls != FaultSpec::Tls::kNone) {
      forwarders_[index]->SetTarget(good_port_[index]);
      return true;
    }
    return HttpDelete(control_ + "/fault?upstream=" + lanes_[index].sim_upstream) == 200;
  }

  CellResult RunCell(std::size_t index, const FaultSpec& fault) {
    const Lane& lane = lanes_[index];
    Exporter& e = *exporters_[lane.exporter];
    CellResult r{lane.name, fault.name};
    const auto started = Clock::now();
    auto fail = [&r](const std::string& what) {
      r.ok = false;
      r.problems += what + "; ";
    };

    if (!WaitUp(lane, kStepDeadline)) fail("not up before the fault");
    const double failures_before = Status(lane, e.Scrape(), "_source_refresh_failures_total").value_or(-1);
    if (!Inject(index, fault)) {
      fail("could not inject");
      return r;
    }

    // Down: in the first scrape that says so, the last good data is still there with its age. Then the error
    // the landing page shows must be this fault's (a refresh that failed for another reason on a busy machine
    // is waited out).
    const std::regex expect(fault.expect_error.empty() ? "." : fault.expect_error,
                            std::regex::ECMAScript | std::regex::icase);
    std::optional<double> age;
    bool down = false;
    bool exposed = false;
    for (auto until = Clock::now() + kStepDeadline; !exposed && Clock::now() < until;
         std::this_thread::sleep_for(200ms)) {
      const auto s = e.Scrape();
      if (Status(lane, s, "_source_up") != 0.0) continue;
      if (!down) {
        down = true;
        age = Status(lane, s, "_source_data_age_seconds");
        if (!HasData(lane, s)) fail(lane.data_metric + " dropped at the first failed refresh");
        if (!age) fail("no data age while down");
      }
      r.error = e.LastError(lane.source, lane.group);
      exposed = std::regex_search(r.error, expect);
    }
    if (!down) fail("never went down (source_up stayed 1)");
    if (down && !exposed)
      fail("the last error on the landing page does not match /" + fault.expect_error + "/");
    if (down) {
      // The age grows while the source stays down and its data stays.
      bool grew = false;
      for (auto until = Clock::now() + 20s; age && !grew && Clock::now() < until;
           std::this_thread::sleep_for(200ms)) {
        const auto s = e.Scrape();
        auto now_age = Status(lane, s, "_source_data_age_seconds");
        if (Status(lane, s, "_source_up") != 0.0 || !now_age || !HasData(lane, s)) break;
        grew = *now_age > *age;
      }
      if (age && !grew) fail("the data age did not grow while down");
      const double failures = Status(lane, e.Scrape(), "_source_refresh_failures_total").value_or(-1);
      if (!(failures > failures_before)) fail("refresh_failures_total did not grow");
    }
    if (!e.process.Running()) {
      fail(e.binary + " died:\n" + e.process.Log());
      return r;
    }
    const auto mem = estate::testing::ReadProcessMemory(e.process.pid());
    if (mem.rss_bytes < 0 || mem.rss_bytes > kMemoryBound)
      fail("VmRSS " + Mb(mem.rss_bytes) + " over the bound");

    if (!Heal(index, fault)) fail("could not heal");
    if (!WaitUp(lane, kStepDeadline)) {
      fail("did not recover with its data: " + e.LastError(lane.source, lane.group));
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return r;
  }

  std::string source_;
  estate::testing::TestPki pki_;
  std::unique_ptr<estate::testing::FakeUpstream> wrong_name_;
  std::unique_ptr<estate::testing::FakeUpstream> expired_;
  ChildProcess sim_;
  std::string control_;
  std::vector<Lane> lanes_;
  std::vector<std::unique_ptr<estate::testing::TcpForwarder>> forwarders_;
  std::vector<int> good_port_;
  std::vector<std::unique_ptr<Exporter>> exporters_;
};

TEST(FaultMatrix, EveryUpstreamSurvivesEveryFault) {
  TempDir dir;
  Matrix matrix;
  const auto t0 = Clock::now();
  ASSERT_TRUE(matrix.Start(dir));
  std::printf("fault matrix: started in %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());

  const std::size_t n = matrix.lanes().size();
  std::vector<std::vector<CellResult>> results(n);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] { results[i] = matrix.RunLane(i, (2 * i) % Faults().size()); });
  }
  for (auto& t : threads) t.join();

  int failed = 0;
  for (const auto& lane : results) {
    for (const CellResult& c : lane) {
      std::printf("%-9s %-15s %-4s %5.1f s  %s\n", c.lane.c_str(), c.fault.c_str(), c.ok ? "ok" : "FAIL",
                  c.seconds, c.error.substr(0, 160).c_str());
      if (!c.ok) {
        ++failed;
        ADD_FAILURE() << c.lane << " / " << c.fault << ": " << c.problems << "\nlast error: " << c.error;
      }
    }
  }
  for (auto& e : matrix.exporters()) {
    EXPECT_TRUE(e->process.Running()) << e->binary << " died:\n" << e->process.Log();
    const auto mem = estate::testing::ReadProcessMemory(e->process.pid());
    std::printf("%s: VmRSS %s, peak VmHWM %s\n", e->binary.c_str(), Mb(mem.rss_bytes).c_str(),
                Mb(mem.peak_rss_bytes).c_str());
    EXPECT_GT(mem.peak_rss_bytes, 0);
    EXPECT_LT(mem.peak_rss_bytes, kMemoryBound) << e->binary << ": peak resident memory over the bound";
  }
  EXPECT_TRUE(matrix.sim().Running()) << matrix.sim().Log();
  std::printf("fault matrix: %zu cells, %d failed, %.1f s\n", n * Faults().size(), failed,
              std::chrono::duration<double>(Clock::now() - t0).count());
}

}  // namespace
