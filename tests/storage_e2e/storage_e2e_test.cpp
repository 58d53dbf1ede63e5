// The storage-mapping exporter end to end, against the simulated cloud "cloud-demo" and arrays "pure-a" and
// "pure-b" of tools/simestate/estate.demo.yml (every port rewritten to 0, data directories made absolute),
// whose model (tools/simestate/data/storage-demo/model.yml) holds every join case: provider_id, metadata,
// name_id, plain id, ActiveCluster, multi-attach, left-truncated names, destroyed volumes, a volume missing
// on its array, orphans and an LVM volume. The exporter's config is packaging/demo/storage-mapping.yml
// rendered the way scripts/demo.sh renders it, with shorter intervals.
//
//   StorageGolden.*  (label golden) /metrics against tests/storage_e2e/golden/sim_storage.metrics, linted
//   with
//                    promtool. ESTATE_UPDATE_GOLDEN=1 rewrites the golden file.
//   StorageE2e.*     (label e2e) the JSON API and every id kind; the lookup page in headless Chromium; past
//                    mappings surviving kill -9; revoked tokens, 429s, garbage and a non-admin user; the
//                    storage and hardware alerts that reach a real Alertmanager through a real Prometheus.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using estate::testing::ChildProcess;
using estate::testing::HttpDelete;
using estate::testing::HttpGet;
using estate::testing::HttpPost;
using estate::testing::TempDir;
using nlohmann::json;

constexpr char kGolden[] = "tests/storage_e2e/golden/sim_storage.metrics";
constexpr char kExporter[] = "estate-storage-mapping-exporter";
constexpr char kApi[] = "/api/cvm/v1.0/volumes";

// The story volume of the demo: fokpp_kafka_logs_04 of iex-fokpp01 at /dev/vdb on hv-hpe-01, on pure-a.
constexpr char kKafkaLogs04[] = "55b9ec44-ea9a-4822-bc5d-453c11697f87";

// Series whose values depend on time, on the machine or on the number of polls, not on the data.
const std::vector<std::string> kNonDeterministic = {
    R"(^(# (HELP|TYPE) )?estate_storage_source_(last_success_timestamp_seconds|data_age_seconds|refresh_duration_seconds))",
    R"(^(# (HELP|TYPE) )?estate_storage_config_last_reload_success_timestamp_seconds)",
    R"(^(# (HELP|TYPE) )?estate_storage_(orphan|missing)_volume_since_timestamp_seconds)",
    R"(^(# (HELP|TYPE) )?estate_storage_volume_last_seen_timestamp_seconds)",
    R"(^(# (HELP|TYPE) )?estate_storage_history_last_save_timestamp_seconds)",
    R"(^(# (HELP|TYPE) )?estate_storage_build_info)",
    R"(^(# (HELP|TYPE) )?estate_upstream_)",
    R"(^(# (HELP|TYPE) )?process_)",
};

// ---- exposition parsing (as in tests/hardware_e2e)
// ----------------------------------------------------------

using Sample = estate::testing::MetricSample;

std::vector<Sample> ParseSamples(const std::string& text) {
  return estate::testing::ParseMetricSamples(text);
}

bool LabelsMatch(const Sample& s, const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : labels) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

// The value of the first sample of `name` whose labels include all of `labels`.
std::optional<double> Value(const std::vector<Sample>& samples, const std::string& name,
                            const std::map<std::string, std::string>& labels = {}) {
  for (const Sample& s : samples) {
    if (s.name == name && LabelsMatch(s, labels)) return s.value;
  }
  return std::nullopt;
}

std::vector<const Sample*> All(const std::vector<Sample>& samples, const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) {
  std::vector<const Sample*> out;
  for (const Sample& s : samples) {
    if (s.name == name && LabelsMatch(s, labels)) out.push_back(&s);
  }
  return out;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- the simulated estate and the exporters
// -----------------------------------------------------------------

// estate.demo.yml with every port 0 and the data directories made absolute (the copy lives in a temp dir).
std::string SimConfig() {
  const std::string source = estate::testing::SourceDir();
  std::string text = estate::testing::ReadFileOrDie(source + "/tools/simestate/estate.demo.yml");
  text = std::regex_replace(text, std::regex(R"(\bport: \d+)"), "port: 0");
  return ReplaceAll(text, "data: data/", "data: " + source + "/tools/simestate/data/");
}

// packaging/demo/<name> with the placeholders of scripts/demo.sh replaced.
std::string RenderDemo(const std::string& name, const json& ports, const std::string& state_dir) {
  const std::string source = estate::testing::SourceDir();
  std::string text = estate::testing::ReadFileOrDie(source + "/packaging/demo/" + name);
  text = ReplaceAll(text, "{{source_dir}}", source);
  text = ReplaceAll(text, "{{state_dir}}", state_dir);
  for (const auto& [upstream, port] : ports.items()) {
    text = ReplaceAll(text, "{{simestate:" + upstream + "}}", "127.0.0.1:" + std::to_string(port.get<int>()));
  }
  return text;
}

struct StorageOptions {
  std::string openstack_interval = "1s";
  std::string array_interval = "1s";
  std::string join_interval = "200ms";
  std::string request_timeout = "5s";
  std::string state_dir;  // "" = the temp dir of the test
  bool reader = false;    // the non-admin user reader / demo-reader-password instead of monitor
};

StorageOptions Intervals(std::string openstack, std::string array, std::string join, std::string timeout) {
  StorageOptions o;
  o.openstack_interval = std::move(openstack);
  o.array_interval = std::move(array);
  o.join_interval = std::move(join);
  o.request_timeout = std::move(timeout);
  return o;
}

class Sim {
 public:
  ::testing::AssertionResult Start(const TempDir& dir) {
    const std::string sim = estate::testing::BinaryPath("estate-simestate");
    if (sim.empty()) return ::testing::AssertionFailure() << "estate-simestate was not built";
    const std::string ports_file = dir.path() + "/ports.json";
    auto started = sim_.Start(
        {sim, "--config.file=" + dir.Write("estate.yml", SimConfig()), "--ports.file=" + ports_file},
        dir.path() + "/simestate.log");
    if (!started) return ::testing::AssertionFailure() << "simestate: " << started.error();
    for (auto until = Clock::now() + 20s; !std::filesystem::exists(ports_file);
         std::this_thread::sleep_for(50ms)) {
      if (Clock::now() > until || !sim_.Running()) {
        return ::testing::AssertionFailure() << "simestate wrote no ports file:\n" << sim_.Log();
      }
    }
    ports_ = json::parse(estate::testing::ReadFileOrDie(ports_file));
    control_ = "http://127.0.0.1:" + std::to_string(ports_["_control"].get<int>());
    return ::testing::AssertionSuccess();
  }

  bool InjectFault(const std::string& upstream, const std::string& fault_json) const {
    return HttpPost(control_ + "/fault?upstream=" + upstream, fault_json).status == 200;
  }
  bool ClearFaults(const std::string& upstream) const {
    return HttpDelete(control_ + "/fault?upstream=" + upstream) == 200;
  }
  json ExpireTokens(const std::string& upstream) const {
    return ParseOrEmpty(HttpPost(control_ + "/tokens/expire?upstream=" + upstream).body);
  }
  json Redeploy(const std::string& upstream, const std::string& server) const {
    auto r = HttpPost(control_ + "/redeploy?upstream=" + upstream + "&server=" + server);
    return r.status == 200 ? ParseOrEmpty(r.body) : json();
  }
  double Requests(const std::string& upstream) const {
    return ParseOrEmpty(HttpGet(control_ + "/requests?upstream=" + upstream, 5).body).value("count", -1.0);
  }
  json Sessions(const std::string& upstream) const {
    return ParseOrEmpty(HttpGet(control_ + "/sessions?upstream=" + upstream, 5).body);
  }

  const json& ports() const { return ports_; }
  const std::string& control() const { return control_; }
  ChildProcess& process() { return sim_; }

  static json ParseOrEmpty(const std::string& body) {
    auto j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    return j.is_discarded() ? json::object() : j;
  }

 private:
  ChildProcess sim_;
  json ports_;
  std::string control_;
};

// packaging/demo/storage-mapping.yml rendered as scripts/demo.sh renders it, with the intervals replaced.
std::string StorageConfig(const json& ports, const std::string& state_dir, const StorageOptions& o) {
  std::string text = RenderDemo("storage-mapping.yml", ports, state_dir);
  text = std::regex_replace(text, std::regex(R"(openstack_interval: \S+)"),
                            "openstack_interval: " + o.openstack_interval);
  text =
      std::regex_replace(text, std::regex(R"(array_interval: \S+)"), "array_interval: " + o.array_interval);
  text = std::regex_replace(text, std::regex(R"(join_interval: \S+)"), "join_interval: " + o.join_interval);
  text = std::regex_replace(text, std::regex(R"(request_timeout: \S+)"),
                            "request_timeout: " + o.request_timeout);
  if (o.reader) {
    text = ReplaceAll(text, "username: monitor", "username: reader");
    text = ReplaceAll(text, "openstack-monitor.password", "openstack-reader.password");
  }
  return text;
}

class StorageExporter {
 public:
  ::testing::AssertionResult Start(const TempDir& dir, const std::string& config_text,
                                   const std::string& tag = "") {
    const std::string exporter = estate::testing::BinaryPath(kExporter);
    if (exporter.empty()) return ::testing::AssertionFailure() << kExporter << " was not built";
    if (port_ == 0) port_ = estate::testing::FreePort();
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    const std::string config = dir.Write("storage-mapping" + tag + ".yml", config_text);
    auto started = process_.Start(
        {exporter, "--config.file=" + config, "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        dir.path() + "/storage-exporter" + tag + ".log");
    if (!started) return ::testing::AssertionFailure() << "exporter: " << started.error();
    if (!estate::testing::WaitHttpOk(base_ + "/-/healthy", 30s)) {
      return ::testing::AssertionFailure() << "exporter not answering in 30 s:\n" << process_.Log();
    }
    return ::testing::AssertionSuccess();
  }

  std::string Metrics() const { return HttpGet(base_ + "/metrics", 10).body; }
  estate::testing::SimpleResponse Get(const std::string& path) const { return HttpGet(base_ + path, 10); }
  // The API's body as JSON (an empty object when it is not JSON); *status gets the HTTP status.
  json Api(const std::string& path, long* status = nullptr) const {
    auto r = Get(std::string(kApi) + path);
    if (status != nullptr) *status = r.status;
    return Sim::ParseOrEmpty(r.body);
  }

  // Every source up, the join published a mapping with every source's data (complete, orphans and missing
  // volumes evaluated), and /metrics shows the same.
  ::testing::AssertionResult WaitMapped(std::chrono::milliseconds deadline, bool want_complete = true) const {
    std::string why;
    for (auto until = Clock::now() + deadline; Clock::now() < until; std::this_thread::sleep_for(100ms)) {
      why.clear();
      const auto samples = ParseSamples(Metrics());
      for (const auto& [source, group] : kSources) {
        if (Value(samples, "estate_storage_source_up", {{"source", source}, {"group", group}}) != 1.0) {
          why += source + " not up; ";
        }
      }
      if (Value(samples, "estate_storage_mapping_complete", {{"cloud", "cloud-demo"}}) !=
          (want_complete ? 1.0 : 0.0)) {
        why += "mapping_complete is not " + std::to_string(want_complete) + "; ";
      }
      long status = 0;
      json list = Api("", &status);
      if (status != 200) {
        why += "API status " + std::to_string(status) + "; ";
      } else if (want_complete && !list.value("complete", false)) {
        why += "API complete=false: " + list.value("warnings", json::array()).dump() + "; ";
      } else if (const std::string warnings = list.value("warnings", json::array()).dump();
                 !want_complete && (warnings.find("snapshot") != std::string::npos ||
                                    warnings.find("no data yet") != std::string::npos)) {
        // Incomplete only for the missing fields: every source's data already joined (the join runs after
        // the sources, so on a busy machine the arrays can be up while the mapping does not have them yet).
        why += "API warnings: " + warnings + "; ";
      }
      // Incomplete for the right reason: the cloud's data is in, and it lacks fields.
      if (!want_complete &&
          (Value(samples, "estate_storage_mapping_missing_field_info", {{"field", "snapshot"}}) ||
           !Value(samples, "estate_storage_mapping_missing_field_info", {{"cloud", "cloud-demo"}}))) {
        why += "the cloud's data is not in the mapping yet; ";
      }
      if (why.empty()) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "not mapped: " << why << "\nexporter log:\n" << process_.Log();
  }

  ChildProcess& process() { return process_; }
  const std::string& base() const { return base_; }
  std::string address() const { return base_.substr(std::string("http://").size()); }

  static inline const std::vector<std::pair<std::string, std::string>> kSources = {
      {"cloud-demo", "openstack"}, {"pure-a", "pure"}, {"pure-b", "pure"}, {"mapping", "join"}};

 private:
  int port_ = 0;  // kept across restarts
  ChildProcess process_;
  std::string base_;
};

// Starts the simulator and one storage exporter.
struct StorageEstate {
  Sim sim;
  StorageExporter exporter;
  std::string state_dir;

  ::testing::AssertionResult Start(const TempDir& dir, const StorageOptions& o = {}) {
    auto s = sim.Start(dir);
    if (!s) return s;
    state_dir = o.state_dir.empty() ? dir.path() : o.state_dir;
    return exporter.Start(dir, StorageConfig(sim.ports(), state_dir, o));
  }
};

// Rows of a list or lookup answer, as (key → value) of a few fields, for messages.
std::string Brief(const json& body) {
  std::string s;
  for (const auto& r : body.value("volumes", json::array())) {
    s += "  " + r.value("state", "") + " " + r.value("array", "") + " " + r.value("array_volume", "") + " " +
         r.value("cinder_name", "") + " " + r.value("server_name", "") + " " + r.value("device", "") + "\n";
  }
  return s;
}

std::multiset<std::string> Field(const json& body, const std::string& field) {
  std::multiset<std::string> out;
  for (const auto& r : body.value("volumes", json::array())) out.insert(r.value(field, std::string("?")));
  return out;
}

// The rows without last_seen (which is the time of the latest join for current rows).
json WithoutLastSeen(const json& body) {
  json rows = body.value("volumes", json::array());
  for (auto& r : rows) r.erase("last_seen");
  return rows;
}

// ---- golden
// ------------------------------------------------------------------------------------------------

// Also asserts the story series one by one, so that rewriting the golden file cannot quietly accept a
// regression in what matters.
TEST(StorageGolden, SimulatedCloudAndArraysMetrics) {
  TempDir dir;
  StorageEstate estate;
  // The demo's own intervals (a refresh in the middle of the comparison changes nothing but timestamps).
  ASSERT_TRUE(estate.Start(dir, Intervals("30s", "20s", "200ms", "10s")));
  ASSERT_TRUE(estate.exporter.WaitMapped(60s));
  // The metrics body is rebuilt from the join's output; wait until two scrapes agree.
  std::string text, filtered, previous;
  for (auto until = Clock::now() + 20s; Clock::now() < until; std::this_thread::sleep_for(300ms)) {
    text = estate.exporter.Metrics();
    filtered = estate::testing::DropLines(text, kNonDeterministic);
    if (filtered == previous) break;
    previous = filtered;
  }
  ASSERT_EQ(filtered, previous) << "/metrics did not settle";
  const auto samples = ParseSamples(text);

  EXPECT_EQ(Value(samples, "estate_storage_volume_info",
                  {{"cinder_id", kKafkaLogs04},
                   {"host_name", "iex-fokpp01"},
                   {"device", "/dev/vdb"},
                   {"hypervisor", "hv-hpe-01"},
                   {"array", "pure-a"},
                   {"state", "current"},
                   {"array_volume", std::string("volume-") + kKafkaLogs04 + "-cinder"}}),
            1.0);
  EXPECT_EQ(
      All(samples, "estate_storage_volume_info", {{"cinder_id", "97a48216-b429-4b16-914a-eb81bcbec456"}})
          .size(),
      2u)
      << "ActiveCluster volume pgdb_main_wal: one row per array";
  EXPECT_EQ(Value(samples, "estate_storage_missing_volumes", {{"cloud", "cloud-demo"}}), 1.0);
  EXPECT_EQ(Value(samples, "estate_storage_volume_info",
                  {{"cinder_name", "web_front02_logs"}, {"state", "missing_on_array"}}),
            1.0);
  EXPECT_TRUE(Value(samples, "estate_storage_missing_volume_since_timestamp_seconds",
                    {{"cloud", "cloud-demo"}, {"cinder_id", "cb3ade55-3e0e-46ab-8fba-ec3e42a154f0"}}));
  EXPECT_EQ(Value(samples, "estate_storage_orphan_volumes", {{"array", "pure-b"}}), 1.0);
  EXPECT_TRUE(
      Value(samples, "estate_storage_orphan_volume_since_timestamp_seconds",
            {{"array", "pure-b"}, {"array_volume", "volume-2d313942-9b69-4136-b13a-25bf4f3b1c65-cinder"}}));
  EXPECT_EQ(Value(samples, "estate_storage_destroyed_volumes", {{"array", "pure-a"}}), 1.0);
  // old_scratch_01 (error_deleting in Cinder) is destroyed on pure-b: /metrics says so, as the page does.
  EXPECT_EQ(Value(samples, "estate_storage_destroyed_volumes", {{"array", "pure-b"}}), 1.0);
  EXPECT_EQ(
      Value(samples, "estate_storage_volume_destroyed",
            {{"array", "pure-b"}, {"array_volume", "volume-8829048f-3826-4853-9831-a57a357d695c-cinder"}}),
      1.0);
  // Taken out of Cinder on purpose ("-cinder-unmanaged"): counted apart, not an orphan.
  EXPECT_EQ(Value(samples, "estate_storage_unmanaged_volumes", {{"array", "pure-a"}}), 1.0);
  EXPECT_EQ(Value(samples, "estate_storage_orphan_volumes", {{"array", "pure-a"}}), 0.0);
  EXPECT_EQ(Value(samples, "estate_storage_mapping_complete", {{"cloud", "cloud-demo"}}), 1.0);
  EXPECT_TRUE(All(samples, "estate_storage_mapping_missing_field_info").empty());
  EXPECT_EQ(All(samples, "estate_storage_server_info", {{"hypervisor", "hv-hpe-01"}}).size(), 4u);
  EXPECT_EQ(Value(samples, "estate_storage_openstack_servers", {{"cloud", "cloud-demo"}}), 16.0);
  EXPECT_EQ(Value(samples, "estate_storage_openstack_volumes", {{"cloud", "cloud-demo"}}), 32.0);
  EXPECT_FALSE(Value(samples, "estate_storage_volume_info", {{"cinder_name", "build_tmp_lvm"}}))
      << "an LVM volume is not expected on an array";
  EXPECT_FALSE(Value(samples, "estate_storage_volume_info", {{"array_volume", "esx-datastore-01"}}))
      << "a foreign array volume is not a row";
  for (const auto& [source, group] : StorageExporter::kSources) {
    EXPECT_EQ(Value(samples, "estate_storage_source_refresh_failures_total",
                    {{"source", source}, {"group", group}}),
              0.0)
        << source;
  }

  EXPECT_TRUE(estate::testing::MatchesGolden(filtered, kGolden));
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(text));
}

// ---- the JSON API
// --------------------------------------------------------------------------------------------

// One simulated estate and one storage exporter per test.
class StorageE2e : public ::testing::Test {
 protected:
  // The demo's intervals, except a quick join.
  void StartDemo() {
    ASSERT_TRUE(estate_.Start(dir_, Intervals("30s", "20s", "200ms", "10s")));
    ASSERT_TRUE(estate_.exporter.WaitMapped(60s));
  }
  json Lookup(const std::string& id, long* status = nullptr) { return exporter().Api("/" + id, status); }
  StorageExporter& exporter() { return estate_.exporter; }

  TempDir dir_;
  StorageEstate estate_;
};

const std::vector<std::string> kRowKeys = {"array",
                                           "array_volume",
                                           "serial",
                                           "wwid",
                                           "pod",
                                           "destroyed",
                                           "provisioned_bytes",
                                           "used_bytes",
                                           "cloud",
                                           "cinder_id",
                                           "cinder_name",
                                           "volume_type",
                                           "status",
                                           "project",
                                           "project_id",
                                           "server_id",
                                           "server_name",
                                           "host_name",
                                           "hypervisor",
                                           "device",
                                           "bootable",
                                           "match",
                                           "state",
                                           "last_seen",
                                           "complete"};

TEST_F(StorageE2e, ApiListSchemaAndFilters) {
  ASSERT_NO_FATAL_FAILURE(StartDemo());
  long status = 0;
  auto r = exporter().Get(kApi);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers["content-type"].find("application/json"), std::string::npos)
      << r.headers["content-type"];
  json list = json::parse(r.body);
  EXPECT_EQ(list.value("schema_version", 0), 1);
  EXPECT_TRUE(
      std::regex_match(list.value("generated_at", ""), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << list.value("generated_at", "");
  EXPECT_EQ(list.value("complete", false), true);
  EXPECT_TRUE(list.value("warnings", json(nullptr)).is_array());
  // 33 current rows (ActiveCluster twice, multi-attach twice), 2 orphans (one destroyed), 1 unmanaged and
  // web_front02_logs missing on the array; build_tmp_lvm (LVM) and esx-datastore-01 (not Cinder) are no rows.
  const auto& volumes = list["volumes"];
  EXPECT_EQ(list.value("count", 0), static_cast<int>(volumes.size()));
  EXPECT_EQ(volumes.size(), 37u) << Brief(list);
  std::map<std::string, int> states;
  for (const auto& v : volumes) {
    ++states[v.value("state", "")];
    std::vector<std::string> keys;
    for (const auto& [k, x] : v.items()) keys.push_back(k);
    std::vector<std::string> sorted_expected = kRowKeys;
    std::sort(keys.begin(), keys.end());
    std::sort(sorted_expected.begin(), sorted_expected.end());
    EXPECT_EQ(keys, sorted_expected) << v.dump();
    EXPECT_TRUE(v["destroyed"].is_boolean() && v["bootable"].is_boolean() && v["complete"].is_boolean())
        << v.dump();
    EXPECT_TRUE(v["provisioned_bytes"].is_number() && v["used_bytes"].is_number()) << v.dump();
    EXPECT_TRUE(v["last_seen"].is_null() || v["last_seen"].is_string()) << v.dump();
  }
  EXPECT_EQ(states, (std::map<std::string, int>{
                        {"current", 33}, {"orphan", 2}, {"unmanaged", 1}, {"missing_on_array", 1}}))
      << Brief(list);

  struct FilterCase {
    std::string query;
    std::size_t count;
  };
  const std::vector<FilterCase> cases = {
      {"host=iex-fokpp01", 3},    // root, fokpp_kafka_logs_04 and _03
      {"server=pgdb-main01", 5},  // root, data, wal on both arrays, quorum
      {"server=038fc556-257b-4bee-880f-5fbdb80d9f25", 5},
      {"host=web-front01", 1},     // server "web-front01 (nginx)"
      {"array=pure-b", 0},         // counted below
      {"cloud=cloud-demo", 34},    // every row but the orphans and the unmanaged one
      {"project=payments-db", 0},  // counted below
      {"state=orphan", 2},
      {"state=unmanaged", 1},
      {"state=missing_on_array", 1},
      {"state=past", 0},
      {"host=iex-fokpp01&array=pure-a&state=current", 3},
      {"host=iex-fokpp01&array=pure-b", 0},
  };
  std::size_t pure_b = 0, payments = 0;
  for (const auto& v : volumes) {
    if (v.value("array", "") == "pure-b") ++pure_b;
    if (v.value("project", "") == "payments-db") ++payments;
  }
  for (const auto& c : cases) {
    json body = exporter().Api("?" + c.query, &status);
    ASSERT_EQ(status, 200) << c.query << ": " << body.dump();
    std::size_t want = c.query == "array=pure-b"          ? pure_b
                       : c.query == "project=payments-db" ? payments
                                                          : c.count;
    EXPECT_EQ(body["volumes"].size(), want) << c.query << "\n" << Brief(body);
    EXPECT_EQ(body.value("count", -1), static_cast<int>(body["volumes"].size())) << c.query;
  }
  EXPECT_GT(pure_b, 5u);
  EXPECT_GT(payments, 5u);
  // project by id too
  EXPECT_EQ(exporter().Api("?project=0f0fc5534fc4c9b568d7146d155a577a")["volumes"].size(), payments);

  for (const std::string bad : {"?bogus=1", "?state=gone", "?host=", "?host=a&host=b", "?array"}) {
    auto e = exporter().Get(std::string(kApi) + bad);
    EXPECT_EQ(e.status, 400) << bad << ": " << e.body;
    EXPECT_NE(e.headers["content-type"].find("application/json"), std::string::npos) << bad;
    json j = Sim::ParseOrEmpty(e.body);
    EXPECT_TRUE(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty())
        << bad << ": " << e.body;
  }
}

TEST_F(StorageE2e, ApiLookupByEveryIdKind) {
  ASSERT_NO_FATAL_FAILURE(StartDemo());
  long status = 0;
  // Cinder id: the story volume.
  json by_id = Lookup(kKafkaLogs04, &status);
  ASSERT_EQ(status, 200) << by_id.dump();
  ASSERT_EQ(by_id["volumes"].size(), 1u) << Brief(by_id);
  const json row = by_id["volumes"][0];
  EXPECT_EQ(by_id.value("id", ""), kKafkaLogs04);
  EXPECT_EQ(row.value("host_name", ""), "iex-fokpp01");
  EXPECT_EQ(row.value("server_name", ""), "iex-fokpp01");
  EXPECT_EQ(row.value("cinder_name", ""), "fokpp_kafka_logs_04");
  EXPECT_EQ(row.value("device", ""), "/dev/vdb");
  EXPECT_EQ(row.value("hypervisor", ""), "hv-hpe-01");
  EXPECT_EQ(row.value("project", ""), "iex-streaming");
  EXPECT_EQ(row.value("array", ""), "pure-a");
  EXPECT_EQ(row.value("array_volume", ""), std::string("volume-") + kKafkaLogs04 + "-cinder");
  EXPECT_EQ(row.value("match", ""), "provider_id");
  EXPECT_EQ(row.value("state", ""), "current");
  EXPECT_EQ(row.value("complete", false), true);
  const std::string serial = row.value("serial", "");
  const std::string wwid = row.value("wwid", "");
  ASSERT_EQ(serial.size(), 24u) << serial;
  EXPECT_EQ(
      wwid, "3624a9370" + [&] {
        std::string s = serial;
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
      }());
  std::string upper_id = kKafkaLogs04;
  for (char& c : upper_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string lower_serial = serial;
  for (char& c : lower_serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string upper_serial = lower_serial;
  for (char& c : upper_serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  // Every other spelling of the same volume finds the same row.
  for (const std::string& id : {std::string("volume-") + kKafkaLogs04 + "-cinder", upper_id, lower_serial,
                                upper_serial, wwid, "naa." + wwid.substr(1), wwid.substr(1),
                                "dm-uuid-mpath-" + wwid, "scsi-" + wwid, "wwn-0x" + wwid.substr(1)}) {
    json r = Lookup(id, &status);
    ASSERT_EQ(status, 200) << id << ": " << r.dump();
    ASSERT_EQ(r["volumes"].size(), 1u) << id << "\n" << Brief(r);
    EXPECT_EQ(r["volumes"][0], row) << id;
  }

  // ActiveCluster: the pod volume on both arrays, same serial; by name with and without the pod.
  for (const std::string id : {"97a48216-b429-4b16-914a-eb81bcbec456",
                               "cinder-pod::volume-97a48216-b429-4b16-914a-eb81bcbec456-cinder",
                               "volume-97a48216-b429-4b16-914a-eb81bcbec456-cinder"}) {
    json r = Lookup(id, &status);
    ASSERT_EQ(status, 200) << id;
    EXPECT_EQ(Field(r, "array"), (std::multiset<std::string>{"pure-a", "pure-b"})) << id << "\n" << Brief(r);
    EXPECT_EQ(
        Field(r, "array_volume").count("cinder-pod::volume-97a48216-b429-4b16-914a-eb81bcbec456-cinder"), 2u);
    EXPECT_EQ(Field(r, "pod"), (std::multiset<std::string>{"cinder-pod", "cinder-pod"}));
    const auto serials = Field(r, "serial");
    EXPECT_EQ(std::set<std::string>(serials.begin(), serials.end()).size(), 1u);
    EXPECT_EQ(Field(r, "server_name"), (std::multiset<std::string>{"pgdb-main01", "pgdb-main01"}));
    EXPECT_EQ(Field(r, "state"), (std::multiset<std::string>{"current", "current"}));
    // ... and its serial finds both rows as well.
    json by_serial = Lookup(r["volumes"][0].value("serial", "x"));
    EXPECT_EQ(by_serial["volumes"].size(), 2u) << Brief(by_serial);
  }

  // Multi-attach: one row per attachment, each with its own server and hypervisor.
  json multi = Lookup("55fe3cb3-8504-496b-8ceb-6ebe1611b10e", &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(Field(multi, "server_name"), (std::multiset<std::string>{"pgdb-main01", "pgdb-replica01"}))
      << Brief(multi);
  EXPECT_EQ(Field(multi, "hypervisor"), (std::multiset<std::string>{"hv-hpe-01", "hv-dell-01"}));
  EXPECT_EQ(Field(multi, "device"), (std::multiset<std::string>{"/dev/vdd", "/dev/vdd"}));
  EXPECT_EQ(Field(multi, "array"), (std::multiset<std::string>{"pure-a", "pure-a"}));

  // Migrated: the array volume is named after name_id, and the Cinder id still finds it.
  json migrated = Lookup("858f86db-e9bc-49e2-a2a1-056ba48060e7", &status);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(migrated["volumes"].size(), 1u) << Brief(migrated);
  EXPECT_EQ(migrated["volumes"][0].value("array_volume", ""),
            "volume-2c1ece41-e356-4795-839e-ac50486403c0-cinder");
  EXPECT_EQ(migrated["volumes"][0].value("match", ""), "name_id");
  EXPECT_EQ(migrated["volumes"][0].value("cinder_name", ""), "pgdb_main_data");
  EXPECT_EQ(migrated["volumes"][0].value("state", ""), "current");
  EXPECT_EQ(Lookup("volume-2c1ece41-e356-4795-839e-ac50486403c0-cinder")["volumes"].size(), 1u);

  // Metadata and plain id joins.
  EXPECT_EQ(Lookup("a7312b15-5c6a-4ee8-a5c8-2fbb8795b503")["volumes"][0].value("match", ""), "metadata");
  EXPECT_EQ(Lookup("a7ed2f09-ef5d-4a7e-8171-a0fad89760ce")["volumes"][0].value("match", ""), "id");

  // Left-truncated array name (base over 56 characters).
  json truncated = Lookup("8b3fdf71-092a-4f29-a4b9-2700336e85b4", &status);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(truncated["volumes"].size(), 1u) << Brief(truncated);
  const std::string truncated_name = truncated["volumes"][0].value("array_volume", "");
  EXPECT_EQ(truncated_name.size(), 56u + 7u) << truncated_name;
  EXPECT_TRUE(truncated_name.ends_with("-blockstore-volume-8b3fdf71-092a-4f29-a4b9-2700336e85b4-cinder"))
      << truncated_name;
  EXPECT_EQ(truncated["volumes"][0].value("state", ""), "current");
  EXPECT_EQ(truncated["volumes"][0].value("server_name", ""), "batch-worker01");
  EXPECT_EQ(Lookup(truncated_name)["volumes"].size(), 1u);

  // Destroyed on the array, still in Cinder: joins, marked destroyed.
  json destroyed = Lookup("8829048f-3826-4853-9831-a57a357d695c");
  ASSERT_EQ(destroyed["volumes"].size(), 1u) << destroyed.dump();
  EXPECT_EQ(destroyed["volumes"][0].value("destroyed", false), true);
  EXPECT_EQ(destroyed["volumes"][0].value("array", ""), "pure-b");

  // Missing on the array: a row without array fields.
  json missing = Lookup("cb3ade55-3e0e-46ab-8fba-ec3e42a154f0", &status);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(missing["volumes"].size(), 1u) << Brief(missing);
  EXPECT_EQ(missing["volumes"][0].value("state", ""), "missing_on_array");
  EXPECT_EQ(missing["volumes"][0].value("array", "x"), "");
  EXPECT_EQ(missing["volumes"][0].value("cinder_name", ""), "web_front02_logs");
  EXPECT_EQ(missing["volumes"][0].value("server_name", ""), "web-front02");
  // ... also found by the array volume name it should have (issue #14).
  json expected_name = Lookup("volume-cb3ade55-3e0e-46ab-8fba-ec3e42a154f0-cinder", &status);
  ASSERT_EQ(status, 200) << expected_name.dump();
  ASSERT_EQ(expected_name["volumes"].size(), 1u) << Brief(expected_name);
  EXPECT_EQ(expected_name["volumes"][0].value("cinder_id", ""), "cb3ade55-3e0e-46ab-8fba-ec3e42a154f0");

  // Orphans: Cinder-style names without a Cinder record; the destroyed one is marked so.
  json orphan = Lookup("volume-2d313942-9b69-4136-b13a-25bf4f3b1c65-cinder", &status);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(orphan["volumes"].size(), 1u);
  EXPECT_EQ(orphan["volumes"][0].value("state", ""), "orphan");
  EXPECT_EQ(orphan["volumes"][0].value("array", ""), "pure-b");
  EXPECT_EQ(orphan["volumes"][0].value("cinder_id", "x"), "");
  json destroyed_orphan = Lookup("volume-608436e9-cb6d-42ba-ac8d-c1e0815a2ba7-cinder");
  ASSERT_EQ(destroyed_orphan["volumes"].size(), 1u) << destroyed_orphan.dump();
  EXPECT_EQ(destroyed_orphan["volumes"][0].value("state", ""), "orphan");
  EXPECT_EQ(destroyed_orphan["volumes"][0].value("destroyed", false), true);
  EXPECT_EQ(
      Lookup("volume-37f088d3-f04c-4c48-a634-a17c5f95c355-cinder-unmanaged")["volumes"][0].value("state", ""),
      "unmanaged");

  // Unknown ids: 404 with a JSON error that echoes the id.
  for (const std::string id :
       {"00000000-0000-0000-0000-000000000000", "esx-datastore-01", "garbage%20id", "build_tmp_lvm"}) {
    auto r = exporter().Get(std::string(kApi) + "/" + id);
    EXPECT_EQ(r.status, 404) << id << ": " << r.body;
    EXPECT_NE(r.headers["content-type"].find("application/json"), std::string::npos) << id;
    json j = Sim::ParseOrEmpty(r.body);
    EXPECT_EQ(j.value("error", ""), "no volume matches this id") << r.body;
    EXPECT_TRUE(j.contains("id")) << r.body;
  }
}

// "/dev/disk/by-id/…" ids: the server hands over a decoded, normalised path, so "volumes//dev/…" and
// "volumes/%2Fdev%2F…" (what the lookup page's encodeURIComponent sends) both arrive as "dev/disk/by-id/…".
TEST_F(StorageE2e, ApiLookupByDiskByIdPath) {
  ASSERT_NO_FATAL_FAILURE(StartDemo());
  const std::string wwid = Lookup(kKafkaLogs04)["volumes"][0].value("wwid", "");
  ASSERT_FALSE(wwid.empty());
  for (const std::string& id :
       {"%2Fdev%2Fdisk%2Fby-id%2Fdm-uuid-mpath-" + wwid, "%2Fdev%2Fdisk%2Fby-id%2Fwwn-0x" + wwid.substr(1),
        "/dev/disk/by-id/scsi-" + wwid,
        // in the guest: the virtio-blk disk serial, a virtio-scsi disk
        "%2Fdev%2Fdisk%2Fby-id%2Fvirtio-" + std::string(kKafkaLogs04).substr(0, 20),
        "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_" + std::string(kKafkaLogs04)}) {
    long status = 0;
    json r = Lookup(id, &status);
    EXPECT_EQ(status, 200) << id << ": " << r.dump();
    EXPECT_EQ(Field(r, "cinder_id"), (std::multiset<std::string>{kKafkaLogs04})) << id;
  }
}

// ---- the lookup page in a real browser
// -----------------------------------------------------------------------

// The DOM after the page's fetch, from headless Chromium; empty output when it failed (message in *error).
std::string DumpDom(const std::string& url, const TempDir& dir, std::string* error) {
  return estate::testing::ChromiumDumpDom(url, dir, error);
}

// The text of the element with this opening tag pattern (tags inside it included), or "".
std::string Cell(const std::string& dom, const std::string& field) {
  std::smatch m;
  if (std::regex_search(dom, m, std::regex("<td data-field=\"" + field + "\"[^>]*>([^<]*)</td>")))
    return m[1];
  return "";
}

std::string StatusState(const std::string& dom, std::string* text) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex(R"#(<div id="status" data-state="([^"]*)">([^<]*)</div>)#")))
    return "";
  if (text != nullptr) *text = m[2];
  return m[1];
}

TEST_F(StorageE2e, LookupPageInHeadlessChromium) {
  if (estate::testing::BinaryPath("chromium").empty()) GTEST_SKIP() << "chromium is not installed";
  if (estate::testing::BinaryPath("timeout").empty()) GTEST_SKIP() << "timeout (coreutils) is not installed";
  ASSERT_NO_FATAL_FAILURE(StartDemo());
  const std::string wwid = Lookup(kKafkaLogs04)["volumes"][0].value("wwid", "");
  ASSERT_FALSE(wwid.empty());

  for (const std::string& id : {std::string(kKafkaLogs04), wwid, "naa." + wwid.substr(1)}) {
    SCOPED_TRACE(id);
    std::string error;
    const std::string dom = DumpDom(exporter().base() + "/lookup?id=" + id, dir_, &error);
    ASSERT_FALSE(dom.empty()) << error;
    std::string status_text;
    EXPECT_EQ(StatusState(dom, &status_text), "found") << dom;
    EXPECT_NE(status_text.find("1 row"), std::string::npos) << status_text;
    EXPECT_NE(dom.find(R"(id="result" data-count="1")"), std::string::npos) << dom;
    EXPECT_NE(dom.find(R"(<tr class="volume" data-state="current">)"), std::string::npos) << dom;
    EXPECT_EQ(Cell(dom, "host_name"), "iex-fokpp01") << dom;
    EXPECT_EQ(Cell(dom, "cinder_name"), "fokpp_kafka_logs_04");
    EXPECT_EQ(Cell(dom, "device"), "/dev/vdb");
    EXPECT_EQ(Cell(dom, "hypervisor"), "hv-hpe-01");
    EXPECT_EQ(Cell(dom, "server_name"), "iex-fokpp01");
    EXPECT_EQ(Cell(dom, "array"), "pure-a");
    EXPECT_EQ(Cell(dom, "cinder_id"), kKafkaLogs04);
    EXPECT_EQ(Cell(dom, "wwid"), wwid);
    EXPECT_EQ(Cell(dom, "state"), "current");
    EXPECT_TRUE(
        std::regex_search(dom, std::regex(R"(data-field="space"[^>]*>[0-9.]+ [KMGT]?i?B used of 500 GiB<)")))
        << "space cell: " << dom;
    EXPECT_NE(dom.find(R"(id="lookup-id")"), std::string::npos);
    EXPECT_NE(dom.find(R"(<ul id="warnings" data-count="0"></ul>)"), std::string::npos)
        << "complete: no warnings";
  }

  // Garbage: the not-found message, no table. The id goes through encodeURIComponent and textContent.
  std::string error;
  const std::string garbage = "no-such-volume-%3Cb%3Ex%3C%2Fb%3E";
  const std::string dom = DumpDom(exporter().base() + "/lookup?id=" + garbage, dir_, &error);
  ASSERT_FALSE(dom.empty()) << error;
  std::string status_text;
  EXPECT_EQ(StatusState(dom, &status_text), "not-found") << dom;
  EXPECT_EQ(status_text, "No volume matches \"no-such-volume-&lt;b&gt;x&lt;/b&gt;\".") << dom;
  EXPECT_NE(dom.find(R"(id="result" data-count="0")"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<tr class=\"volume"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<b>x</b>"), std::string::npos) << "the id was rendered as HTML";
}

// ---- history across kill -9
// ------------------------------------------------------------------------------------

// A redeploy turns the old mapping of a server into past rows; they are saved to the state file and, after a
// kill -9 and a restart, served again from the first published mapping on, with the same last_seen.
TEST_F(StorageE2e, PastMappingsSurviveKill9) {
  TempDir& dir = dir_;
  StorageEstate& estate = estate_;
  ASSERT_TRUE(estate.Start(dir));  // 1 s intervals, join every 200 ms, state file in dir
  ASSERT_TRUE(estate.exporter.WaitMapped(60s));
  const json before = estate.exporter.Api("?server=iex-fokpp02");
  ASSERT_EQ(before["volumes"].size(), 2u) << Brief(before);  // root /dev/vda, fokpp_kafka_logs_05 /dev/vdb
  const std::string old_server_id = before["volumes"][0].value("server_id", "");

  const json redeployed = estate.sim.Redeploy("cloud-demo", "iex-fokpp02");
  ASSERT_EQ(redeployed.value("old_id", ""), old_server_id) << redeployed.dump();
  const std::string new_server_id = redeployed.value("new_id", "");
  ASSERT_FALSE(new_server_id.empty());

  // Past rows for the old server, current rows for the new one, and the state saved (the metrics of a join
  // are rendered after its save).
  json past;
  std::string why;
  for (auto until = Clock::now() + 30s; Clock::now() < until; std::this_thread::sleep_for(100ms)) {
    past = estate.exporter.Api("?state=past&server=" + old_server_id);
    const json now = estate.exporter.Api("?state=current&server=iex-fokpp02");
    const auto samples = ParseSamples(estate.exporter.Metrics());
    why.clear();
    if (past.value("count", 0) != 2) why += "past rows: " + std::to_string(past.value("count", 0)) + "; ";
    if (now.value("count", 0) != 2 ||
        Field(now, "server_id") != std::multiset<std::string>{new_server_id, new_server_id}) {
      why += "current rows of the new server: " + Brief(now) + "; ";
    }
    if (Value(samples, "estate_storage_history_entries") != 2.0) why += "history_entries not 2; ";
    if (Value(samples, "estate_storage_history_last_save_timestamp_seconds").value_or(0) <= 0)
      why += "never saved; ";
    if (why.empty()) break;
  }
  ASSERT_TRUE(why.empty()) << why << "\n" << estate.exporter.process().Log();
  EXPECT_EQ(Value(ParseSamples(estate.exporter.Metrics()), "estate_storage_history_save_failures_total"),
            0.0);
  std::map<std::string, std::string> last_seen;  // array_volume -> last_seen
  for (const auto& v : past["volumes"]) {
    EXPECT_EQ(v.value("server_name", ""), "iex-fokpp02");
    EXPECT_EQ(v.value("host_name", ""), "iex-fokpp02");
    EXPECT_EQ(v.value("hypervisor", ""), "hv-hpe-01");
    ASSERT_TRUE(v["last_seen"].is_string()) << v.dump();
    last_seen[v.value("array_volume", "")] = v["last_seen"].get<std::string>();
  }
  EXPECT_EQ(Field(past, "device"), (std::multiset<std::string>{"/dev/vda", "/dev/vdb"}));
  EXPECT_EQ(Field(past, "cinder_name"),
            (std::multiset<std::string>{"iex-fokpp02-root", "fokpp_kafka_logs_05"}));
  // The old volumes' ids still find their past rows.
  for (const auto& v : past["volumes"]) {
    json r = estate.exporter.Api("/" + v.value("cinder_id", ""));
    EXPECT_EQ(Field(r, "state").count("past"), 1u) << Brief(r);
  }
  ASSERT_TRUE(std::filesystem::exists(estate.state_dir + "/storage-mapping-history.json"));

  // kill -9, then the same config again: the first mapping it publishes already has the past rows.
  estate.exporter.process().Signal(SIGKILL);
  estate.exporter.process().Stop(2000ms);
  ASSERT_TRUE(estate.exporter.Start(
      dir, StorageConfig(estate.sim.ports(), estate.state_dir, StorageOptions{}), "-2"));
  json first;
  long status = 0;
  for (auto until = Clock::now() + 30s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    first = estate.exporter.Api("", &status);
    if (status == 200) break;
  }
  ASSERT_EQ(status, 200) << estate.exporter.process().Log();
  std::map<std::string, std::string> after;
  for (const auto& v : first["volumes"]) {
    if (v.value("state", "") == "past") after[v.value("array_volume", "")] = v.value("last_seen", "");
  }
  EXPECT_EQ(after, last_seen) << "first mapping after the restart:\n" << Brief(first);
  // While the sources come in one by one, the past rows stay exactly those two: nothing else turns past
  // because a source has no data yet.
  for (auto until = Clock::now() + 30s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    const json list = estate.exporter.Api("");
    std::map<std::string, std::string> seen;
    for (const auto& v : list["volumes"]) {
      if (v.value("state", "") == "past") seen[v.value("array_volume", "")] = v.value("last_seen", "");
    }
    ASSERT_EQ(seen, last_seen) << "while loading:\n" << Brief(list);
    if (list.value("complete", false)) break;
  }
  // And once every source is in again, they are still there, unchanged (no second redeploy needed).
  ASSERT_TRUE(estate.exporter.WaitMapped(30s));
  json settled = estate.exporter.Api("?state=past");
  std::map<std::string, std::string> again;
  for (const auto& v : settled["volumes"]) again[v.value("array_volume", "")] = v.value("last_seen", "");
  EXPECT_EQ(again, last_seen) << Brief(settled);
  EXPECT_EQ(estate.exporter.Api("?state=current&server=iex-fokpp02")["count"], 2);
}

// ---- misbehaving upstreams
// -------------------------------------------------------------------------------------

double Counter(const std::vector<Sample>& samples, const std::string& source, const std::string& code) {
  return Value(samples, "estate_upstream_requests_total", {{"source", source}, {"code", code}}).value_or(0);
}

// Revoking every token and array session mid-run: the next refresh logs in again (one 401, then success), and
// the source never shows as down.
// A cloud that comes up 20 s after the exporter (issue #14): with the default 5-minute interval, the failed
// first refreshes are retried with backoff (1, 2, 4, ... s), so the mapping is there within a minute, not
// after a whole interval; meanwhile the landing page says the source is retrying.
TEST_F(StorageE2e, CloudComingUpLateIsMappedWithinAMinute) {
  TempDir& dir = dir_;
  StorageEstate& estate = estate_;
  ASSERT_TRUE(estate.sim.Start(dir));
  ASSERT_TRUE(estate.sim.InjectFault("cloud-demo", R"({"kind": "drop_connection"})"));
  estate.state_dir = dir.path();
  ASSERT_TRUE(estate.exporter.Start(
      dir, StorageConfig(estate.sim.ports(), estate.state_dir, Intervals("5m", "5m", "200ms", "5s"))));
  const auto started = Clock::now();
  bool said_retrying = false;
  while (Clock::now() < started + 20s) {
    const std::string page = HttpGet(estate.exporter.base() + "/", 5).body;
    said_retrying = said_retrying || page.find("no data yet: retrying in") != std::string::npos;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(said_retrying) << "the landing page never said the source is retrying";
  ASSERT_TRUE(estate.sim.ClearFaults("cloud-demo"));
  ASSERT_TRUE(estate.exporter.WaitMapped(
      60s - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)))
      << estate.exporter.process().Log();
  std::printf("late cloud: mapped %.1f s after the exporter started (cloud up after 20 s, interval 5m)\n",
              std::chrono::duration<double>(Clock::now() - started).count());
}

// /metrics keeps in step with the API (issue #14): from the exporter's start, whenever the API says the mapping
// is complete, a scrape made right after it sees a complete mapping with the same rows. Then a redeploy
// changes the mapping while both are read in turn: the scrape never shows an older mapping than the API did.
TEST_F(StorageE2e, ApiThenScrapeSeeTheSameMapping) {
  TempDir& dir = dir_;
  StorageEstate& estate = estate_;
  ASSERT_TRUE(estate.Start(dir));
  auto rows_in_metrics = [](const std::vector<Sample>& samples) {
    double total = 0;
    for (const Sample* s : All(samples, "estate_storage_mapping_rows")) total += s->value;
    return total;
  };
  int checked = 0;
  for (auto until = Clock::now() + 60s; checked < 20 && Clock::now() < until; std::this_thread::sleep_for(50ms)) {
    long status = 0;
    const json list = estate.exporter.Api("", &status);
    if (status != 200 || !list.value("complete", false)) continue;
    const auto samples = ParseSamples(estate.exporter.Metrics());
    ASSERT_EQ(Value(samples, "estate_storage_mapping_complete", {{"cloud", "cloud-demo"}}), 1.0)
        << "the API said complete, the scrape after it did not";
    ASSERT_GE(rows_in_metrics(samples), static_cast<double>(list.value("count", 0)));
    ++checked;
  }
  EXPECT_EQ(checked, 20);

  // A redeployed server: the API's generated_at moves on; a scrape right after sees at least that mapping.
  const json before = estate.exporter.Api("?state=current&server=iex-fokpp02");
  ASSERT_FALSE(estate.sim.Redeploy("cloud-demo", "iex-fokpp02").empty());
  bool moved = false;
  for (auto until = Clock::now() + 30s; !moved && Clock::now() < until; std::this_thread::sleep_for(50ms)) {
    const json now = estate.exporter.Api("?state=current&server=iex-fokpp02");
    if (now.value("volumes", json::array()) == before.value("volumes", json::array())) continue;
    moved = true;
    const std::string text = estate.exporter.Metrics();
    for (const auto& v : now["volumes"]) {
      if (v.value("state", "") != "current") continue;
      EXPECT_NE(text.find("cinder_id=\"" + v.value("cinder_id", "") + "\""), std::string::npos)
          << "the API shows a volume the scrape after it does not: " << v.dump();
    }
  }
  EXPECT_TRUE(moved) << "the redeploy never reached the API";
}

TEST_F(StorageE2e, RevokedTokensAreRenewedWithoutAFailedRefresh) {
  TempDir& dir = dir_;
  StorageEstate& estate = estate_;
  ASSERT_TRUE(estate.Start(dir));
  ASSERT_TRUE(estate.exporter.WaitMapped(60s));

  for (const std::string source : {"cloud-demo", "pure-a"}) {
    SCOPED_TRACE(source);
    const auto before = ParseSamples(estate.exporter.Metrics());
    const double failures =
        Value(before, "estate_storage_source_refresh_failures_total", {{"source", source}}).value_or(-1);
    const double unauthorized = Counter(before, source, "401");
    const json revoked = estate.sim.ExpireTokens(source);
    ASSERT_GE(revoked.value("revoked", 0), 1) << revoked.dump();
    const double revoked_at = UnixNow();
    bool renewed = false;
    for (auto until = Clock::now() + 20s; !renewed && Clock::now() < until;
         std::this_thread::sleep_for(100ms)) {
      const auto samples = ParseSamples(estate.exporter.Metrics());
      ASSERT_EQ(Value(samples, "estate_storage_source_up", {{"source", source}}), 1.0) << "went down";
      renewed = Counter(samples, source, "401") > unauthorized &&
                Value(samples, "estate_storage_source_last_success_timestamp_seconds", {{"source", source}})
                        .value_or(0) > revoked_at + 0.001;
    }
    ASSERT_TRUE(renewed) << "no 401 followed by a successful refresh\n" << estate.exporter.process().Log();
    const auto after = ParseSamples(estate.exporter.Metrics());
    EXPECT_EQ(Value(after, "estate_storage_source_refresh_failures_total", {{"source", source}}), failures);
    EXPECT_GT(Counter(after, source, source == "cloud-demo" ? "201" : "200"), 0);
  }
  EXPECT_TRUE(estate.exporter.WaitMapped(10s));
}

// 429 Too Many Requests with Retry-After from pure-a: the refresh waits and succeeds (or fails once and then
// recovers); the last good mapping is served all the while.
TEST_F(StorageE2e, ArrayRateLimitKeepsTheMapping) {
  TempDir& dir = dir_;
  StorageEstate& estate = estate_;
  ASSERT_TRUE(estate.Start(dir));
  ASSERT_TRUE(estate.exporter.WaitMapped(60s));
  const json baseline = estate.exporter.Api("");
  const int count = baseline.value("count", 0);
  const double requests_before = Counter(ParseSamples(estate.exporter.Metrics()), "pure-a", "429");

  ASSERT_TRUE(estate.sim.InjectFault(
      "pure-a", R"({"kind": "status", "status": 429, "headers": {"Retry-After": "1"}, "remaining": 4})"));
  const double injected_at = UnixNow();
  bool recovered = false;
  double seen_429 = 0;
  for (auto until = Clock::now() + 40s; !recovered && Clock::now() < until;
       std::this_thread::sleep_for(100ms)) {
    const json list = estate.exporter.Api("?array=pure-a");
    const json all = estate.exporter.Api("");
    ASSERT_EQ(all.value("count", -1), count) << "the mapping changed during the 429s";
    ASSERT_GT(list.value("count", 0), 10) << "pure-a's rows left the mapping";
    const auto samples = ParseSamples(estate.exporter.Metrics());
    seen_429 = Counter(samples, "pure-a", "429") - requests_before;
    recovered = seen_429 >= 4 && Value(samples, "estate_storage_source_up", {{"source", "pure-a"}}) == 1.0 &&
                Value(samples, "estate_storage_source_last_success_timestamp_seconds", {{"source", "pure-a"}})
                        .value_or(0) > injected_at;
  }
  EXPECT_TRUE(recovered) << "429s seen: " << seen_429 << "\n" << estate.exporter.process().Log();
  EXPECT_TRUE(estate.exporter.WaitMapped(20s));
  EXPECT_EQ(estate.exporter.Api("").value("count", -1), count);
}

// Cinder answers garbage: the cloud's source goes down, the mapping built from its last good data stays (same
// rows), and the data's age grows.
TEST_F(StorageE2e, GarbageFromCinderKeepsTheLastMapping) {
  TempDir& dir = dir_;
  StorageEstate& estate = estate_;
  // Data age is shown up to 3 intervals + timeout = 13 s after the last success.
  ASSERT_TRUE(estate.Start(dir, Intervals("1s", "1s", "200ms", "10s")));
  ASSERT_TRUE(estate.exporter.WaitMapped(60s));
  const json baseline = estate.exporter.Api("");

  ASSERT_TRUE(estate.sim.InjectFault("cloud-demo", R"({"kind": "garbage", "path_prefix": "/volume"})"));
  std::optional<double> first_age;
  bool grew = false;
  for (auto until = Clock::now() + 30s; !grew && Clock::now() < until; std::this_thread::sleep_for(200ms)) {
    const auto samples = ParseSamples(estate.exporter.Metrics());
    if (Value(samples, "estate_storage_source_up", {{"source", "cloud-demo"}}) != 0.0) continue;
    auto age = Value(samples, "estate_storage_source_data_age_seconds", {{"source", "cloud-demo"}});
    ASSERT_TRUE(age.has_value()) << "no data age while the last data is served";
    if (!first_age) {
      first_age = age;
      // In the same moment: the mapping is the one before the fault.
      const json now = estate.exporter.Api("");
      EXPECT_EQ(now.value("count", -1), baseline.value("count", -2));
      EXPECT_EQ(WithoutLastSeen(now), WithoutLastSeen(baseline));
      EXPECT_EQ(Value(samples, "estate_storage_source_up", {{"source", "mapping"}}), 1.0);
      EXPECT_EQ(Value(samples, "estate_storage_source_up", {{"source", "pure-a"}}), 1.0);
    } else {
      grew = *age > *first_age + 1;
    }
  }
  ASSERT_TRUE(first_age.has_value()) << "cloud-demo never went down\n" << estate.exporter.process().Log();
  EXPECT_TRUE(grew) << "the data age did not grow past " << *first_age;
  EXPECT_NE(estate.exporter.process().Log().find("cloud-demo"), std::string::npos);
  const json later = estate.exporter.Api("");
  EXPECT_EQ(later.value("count", -1), baseline.value("count", -2));
  EXPECT_EQ(estate.exporter.Api(std::string("/") + kKafkaLogs04)["volumes"][0].value("host_name", ""),
            "iex-fokpp01");
  ASSERT_TRUE(estate.exporter.process().Running());
  ASSERT_TRUE(estate.sim.process().Running());

  // Once Cinder answers again, the cloud is back and the mapping is whole.
  ASSERT_TRUE(estate.sim.ClearFaults("cloud-demo"));
  EXPECT_TRUE(estate.exporter.WaitMapped(30s));
  EXPECT_EQ(estate.exporter.Api("").value("count", -1), baseline.value("count", -2));
}

// The non-admin user: Cinder and Nova leave out the admin-only fields. The mapping says it is incomplete,
// names the fields, and the API marks the rows.
TEST_F(StorageE2e, NonAdminUserGivesAnIncompleteMapping) {
  TempDir& dir = dir_;
  StorageEstate& estate = estate_;
  StorageOptions o;
  o.reader = true;
  ASSERT_TRUE(estate.Start(dir, o));
  ASSERT_TRUE(estate.exporter.WaitMapped(60s, /*want_complete=*/false));
  const auto samples = ParseSamples(estate.exporter.Metrics());
  EXPECT_EQ(Value(samples, "estate_storage_mapping_complete", {{"cloud", "cloud-demo"}}), 0.0);
  std::set<std::string> fields;
  for (const Sample* s :
       All(samples, "estate_storage_mapping_missing_field_info", {{"cloud", "cloud-demo"}})) {
    fields.insert(s->labels.at("field"));
  }
  std::string listed;
  for (const auto& f : fields) listed += f + " ";
  EXPECT_GE(fields.size(), 2u) << listed;
  EXPECT_FALSE(fields.contains("snapshot")) << listed;
  EXPECT_TRUE(fields.contains("provider_id")) << listed;
  EXPECT_TRUE(fields.contains("OS-EXT-SRV-ATTR:host")) << listed;
  std::printf("missing admin-only fields: %s\n", listed.c_str());

  const json list = estate.exporter.Api("");
  EXPECT_EQ(list.value("complete", true), false);
  ASSERT_TRUE(list["warnings"].is_array());
  EXPECT_FALSE(list["warnings"].empty()) << list.dump();
  std::size_t incomplete = 0;
  for (const auto& v : list["volumes"]) {
    if (v.value("cloud", "") == "cloud-demo" && !v.value("complete", true)) ++incomplete;
  }
  EXPECT_GT(incomplete, 0u) << Brief(list);
  EXPECT_EQ(Value(samples, "estate_storage_source_up", {{"source", "cloud-demo"}}), 1.0);

  // What the hidden fields leave open is "unknown", never a fact (issue #14): pgdb_main_data lives on pure-a
  // under its name_id, which the reader cannot see, and web_front02_logs is on no array, but its backend is
  // hidden. No orphan and no missing volume is published, and neither are their counts.
  long status = 0;
  std::map<std::string, int> states;
  for (const auto& v : list["volumes"]) ++states[v.value("state", "")];
  EXPECT_EQ(states.count("orphan"), 0u) << Brief(list);
  EXPECT_EQ(states.count("missing_on_array"), 0u) << Brief(list);
  EXPECT_GE(states["unknown"], 2) << Brief(list);
  const json lost = estate.exporter.Api("/cb3ade55-3e0e-46ab-8fba-ec3e42a154f0", &status);
  ASSERT_EQ(lost["volumes"].size(), 1u) << lost.dump();
  EXPECT_EQ(lost["volumes"][0].value("state", ""), "unknown");
  const json migrated_on_array = estate.exporter.Api("/volume-2c1ece41-e356-4795-839e-ac50486403c0-cinder", &status);
  ASSERT_EQ(migrated_on_array["volumes"].size(), 1u) << migrated_on_array.dump();
  EXPECT_EQ(migrated_on_array["volumes"][0].value("state", ""), "unknown");
  EXPECT_TRUE(All(samples, "estate_storage_orphan_volumes").empty());
  EXPECT_FALSE(Value(samples, "estate_storage_missing_volumes", {{"cloud", "cloud-demo"}}).has_value());
  EXPECT_TRUE(All(samples, "estate_storage_orphan_volume_since_timestamp_seconds").empty());
  EXPECT_TRUE(All(samples, "estate_storage_missing_volume_since_timestamp_seconds").empty());

  // A lookup says so too, found or not, and the lookup page shows why.
  const json found = estate.exporter.Api(std::string("/") + kKafkaLogs04, &status);
  EXPECT_EQ(status, 200) << found.dump();
  EXPECT_EQ(found.value("complete", true), false);
  EXPECT_EQ(found["warnings"], list["warnings"]);
  const json unknown = estate.exporter.Api("/no-such-volume", &status);
  EXPECT_EQ(status, 404) << unknown.dump();
  EXPECT_EQ(unknown.value("complete", true), false);
  if (estate::testing::BinaryPath("chromium").empty() || estate::testing::BinaryPath("timeout").empty()) {
    std::printf("chromium or timeout is not installed: the lookup page's warnings are not checked\n");
    return;
  }
  for (const std::string& id : {std::string(kKafkaLogs04), std::string("no-such-volume")}) {
    SCOPED_TRACE(id);
    std::string error;
    const std::string dom = DumpDom(estate.exporter.base() + "/lookup?id=" + id, dir, &error);
    ASSERT_FALSE(dom.empty()) << error;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(dom, m, std::regex(R"#(<ul id="warnings" data-count="([0-9]+)">)#")))
        << dom;
    EXPECT_EQ(std::stoul(m[1]), list["warnings"].size()) << dom;
    EXPECT_NE(dom.find("<li>Incomplete mapping: cloud cloud-demo: listings lacked admin-only fields"),
              std::string::npos)
        << dom;
    std::string status_text;
    const std::string state = StatusState(dom, &status_text);
    if (id == kKafkaLogs04) {
      EXPECT_EQ(state, "found") << dom;
    } else {
      EXPECT_EQ(state, "not-found") << dom;
      EXPECT_EQ(status_text,
                "No volume matches \"no-such-volume\". The mapping is incomplete, so it may still exist.");
    }
  }
}

// ---- alerts of both exporters
// ------------------------------------------------------------------------------------

// packaging/demo/hardware.yml rendered as scripts/demo.sh renders it, with shorter intervals.
std::string HardwareConfig(const json& ports, const std::string& state_dir) {
  std::string text = RenderDemo("hardware.yml", ports, state_dir);
  text = std::regex_replace(text, std::regex(R"(fast_interval: \S+)"), "fast_interval: 2s");
  text = std::regex_replace(text, std::regex(R"(slow_interval: \S+)"), "slow_interval: 5s");
  text = std::regex_replace(text, std::regex(R"(request_timeout: \S+)"), "request_timeout: 5s");
  return text;
}

// A copy of a rules file with every `for:` set to 2 s (the real ones wait 5 to 15 minutes); the expressions
// are the real ones.
std::string ShortRules(const TempDir& dir, const std::string& name) {
  const std::string path = estate::testing::SourceDir() + "/alerts/" + name;
  return dir.Write(name, std::regex_replace(estate::testing::ReadFileOrDie(path),
                                            std::regex(R"((\n\s+for:\s*)\S+)"), "$012s"));
}

struct Alert {
  std::string name;
  std::string key;  // target, hypervisor or cinder_id
  std::string description;
};

std::vector<Alert> ActiveAlerts(estate::testing::AlertmanagerServer& am) {
  std::vector<Alert> out;
  auto alerts = am.Alerts();
  if (!alerts) return out;
  for (const auto& a : *alerts) {
    if (a.contains("status") && a["status"].value("state", "active") != "active") continue;
    const auto& labels = a.value("labels", json::object());
    std::string key = labels.value("target", "");
    if (key.empty()) key = labels.value("hypervisor", "");
    if (key.empty()) key = labels.value("cinder_id", "");
    out.push_back({labels.value("alertname", ""), key,
                   a.value("annotations", json::object()).value("description", "")});
  }
  return out;
}

std::multiset<std::pair<std::string, std::string>> Keys(const std::vector<Alert>& alerts) {
  std::multiset<std::pair<std::string, std::string>> out;
  for (const auto& a : alerts) out.emplace(a.name, a.key);
  return out;
}

std::string Describe(const std::multiset<std::pair<std::string, std::string>>& alerts) {
  std::string s;
  for (const auto& [name, key] : alerts) s += "  " + name + " " + key + "\n";
  return s.empty() ? "  (none)\n" : s;
}

// Both exporters against the simulated estate, under one Prometheus with both rule files: the hardware faults
// of the BMCs name the Nova guests on those hypervisors (StorageGuestsOnFaultyHypervisor), the volume missing
// on its array is reported once it has been missing for 15 minutes (its first sighting an hour ago is in the
// history state file, as after a restart), and no other Storage* alert fires.
TEST_F(StorageE2e, StorageAndHardwareAlertsReachAlertmanager) {
  TempDir& dir = dir_;
  Sim& sim = estate_.sim;
  ASSERT_TRUE(sim.Start(dir));
  // web_front02_logs was first seen missing an hour ago (schema_version 1, storage_history.cpp).
  const std::string state_file = dir.path() + "/storage-mapping-history.json";
  const double hour_ago = UnixNow() - 3600;
  dir.Write("storage-mapping-history.json",
            json{{"schema_version", 1},
                 {"saved_unix", hour_ago},
                 {"retention_seconds", 7 * 86400},
                 {"mappings", json::array()},
                 {"orphan_since", json::array()},
                 {"missing_since", json::array({{{"cloud", "cloud-demo"},
                                                 {"cinder_id", "cb3ade55-3e0e-46ab-8fba-ec3e42a154f0"},
                                                 {"since_unix", hour_ago}}})}}
                .dump());

  StorageExporter storage;
  ASSERT_TRUE(
      storage.Start(dir, StorageConfig(sim.ports(), dir.path(), Intervals("2s", "2s", "200ms", "5s"))));
  const std::string hardware_bin = estate::testing::BinaryPath("estate-hardware-exporter");
  ASSERT_FALSE(hardware_bin.empty()) << "estate-hardware-exporter was not built";
  ChildProcess hardware;
  const int hardware_port = estate::testing::FreePort();
  const std::string hardware_address = "127.0.0.1:" + std::to_string(hardware_port);
  auto started = hardware.Start(
      {hardware_bin, "--config.file=" + dir.Write("hardware.yml", HardwareConfig(sim.ports(), dir.path())),
       "--web.listen-address=" + hardware_address},
      dir.path() + "/hardware-exporter.log");
  ASSERT_TRUE(started) << started.error();
  ASSERT_TRUE(estate::testing::WaitHttpOk("http://" + hardware_address + "/-/ready", 60s)) << hardware.Log();
  ASSERT_TRUE(storage.WaitMapped(60s));
  EXPECT_GT(Value(ParseSamples(storage.Metrics()), "estate_storage_missing_volume_since_timestamp_seconds",
                  {{"cinder_id", "cb3ade55-3e0e-46ab-8fba-ec3e42a154f0"}})
                .value_or(0),
            0);
  // Every BMC polled in both groups before Prometheus starts (a target before its first poll is down).
  std::size_t up = 0;
  for (auto until = Clock::now() + 60s; up != 10 && Clock::now() < until;
       std::this_thread::sleep_for(200ms)) {
    const auto samples = ParseSamples(HttpGet("http://" + hardware_address + "/metrics").body);
    up = 0;
    for (const Sample* s : All(samples, "estate_hardware_source_up")) {
      up += s->value == 1.0 && s->labels.count("group") != 0 && s->labels.at("group") != "events";
    }
  }
  ASSERT_EQ(up, 10u) << "five BMCs, fast and slow groups, all up\n" << hardware.Log();

  estate::testing::AlertmanagerServer am;
  auto am_started = am.Start(dir);
  ASSERT_TRUE(am_started) << am_started.error();
  estate::testing::PrometheusServer::Options options;
  options.scrape_configs_yaml =
      "  - job_name: hardware\n    static_configs:\n      - targets: [\"" + hardware_address +
      "\"]\n  - job_name: storage-mapping\n    static_configs:\n      - targets: [\"" + storage.address() +
      "\"]\n";
  options.rule_files = {ShortRules(dir, "hardware.rules.yml"), ShortRules(dir, "storage-mapping.rules.yml")};
  options.alertmanager_url = am.address();
  estate::testing::PrometheusServer prometheus(options);
  auto prom_started = prometheus.Start(dir);
  ASSERT_TRUE(prom_started) << prom_started.error();

  const std::multiset<std::pair<std::string, std::string>> expected = {
      // alerts/hardware.rules.yml, as in tests/hardware_e2e
      {"HardwareCacheBatteryFailed", "hv-hpe-01-ilo"},
      {"HardwareDriveFailed", "hv-hpe-01-ilo"},
      {"HardwareDriveFailurePredicted", "hv-dell-01-idrac"},
      {"HardwareControllerCacheDegraded", "hv-lenovo-01-xcc"},
      {"HardwareControllerCacheFailed", "hv-ilo4-01-ilo"},
      // alerts/storage-mapping.rules.yml: every faulty hypervisor runs guests (hv-smc-01 is healthy)
      {"StorageGuestsOnFaultyHypervisor", "hv-hpe-01"},
      {"StorageGuestsOnFaultyHypervisor", "hv-dell-01"},
      {"StorageGuestsOnFaultyHypervisor", "hv-lenovo-01"},
      {"StorageGuestsOnFaultyHypervisor", "hv-ilo4-01"},
      {"StorageVolumeMissingOnArray", "cb3ade55-3e0e-46ab-8fba-ec3e42a154f0"},
  };
  // The set must arrive and then hold for five consecutive looks, a second apart.
  std::vector<Alert> actual;
  int stable = 0;
  for (auto until = Clock::now() + 120s; stable < 5 && Clock::now() < until;
       std::this_thread::sleep_for(1s)) {
    actual = ActiveAlerts(am);
    stable = Keys(actual) == expected ? stable + 1 : 0;
  }
  EXPECT_EQ(Keys(actual), expected) << "expected:\n"
                                    << Describe(expected) << "actual:\n"
                                    << Describe(Keys(actual)) << "Prometheus alerts: "
                                    << HttpGet(prometheus.url() + "/api/v1/alerts").body;

  for (const auto& a : actual) {
    if (a.name == "StorageGuestsOnFaultyHypervisor" && a.key == "hv-hpe-01") {
      // The real simulated guests of hv-hpe-01 (model.yml), by guest host name, sorted.
      EXPECT_NE(a.description.find("runs 4 Nova servers"), std::string::npos) << a.description;
      std::size_t at = 0;
      for (const char* guest : {"iex-fokpp01 (iex-streaming)", "iex-fokpp02 (iex-streaming)",
                                "pgdb-main01 (payments-db)", "web-front01 (web-frontend)"}) {
        std::size_t found = a.description.find(guest);
        EXPECT_NE(found, std::string::npos) << guest << " not in: " << a.description;
        if (found != std::string::npos) {
          EXPECT_GE(found, at) << "guests not sorted: " << a.description;
          at = found;
        }
      }
      for (const char* other : {"iex-fokpp03", "pgdb-replica01", "monitoring01"}) {
        EXPECT_EQ(a.description.find(other), std::string::npos)
            << other << " is not on hv-hpe-01: " << a.description;
      }
      EXPECT_NE(a.description.find("host hv-hpe-01"), std::string::npos) << a.description;
    }
    if (a.name == "StorageVolumeMissingOnArray") {
      EXPECT_NE(a.description.find("web_front02_logs"), std::string::npos) << a.description;
      EXPECT_NE(a.description.find("attached to web-front02"), std::string::npos) << a.description;
    }
  }
  // The summary of the hv-hpe-01 alert names both of its faults.
  auto summary = prometheus.Query(
      R"(ALERTS{alertname="StorageGuestsOnFaultyHypervisor",hypervisor="hv-hpe-01",alertstate="firing"})");
  ASSERT_TRUE(summary) << summary.error();
  EXPECT_EQ(summary->size(), 1u) << summary->dump();
  auto rules = HttpGet(prometheus.url() + "/api/v1/alerts").body;
  EXPECT_NE(rules.find("failed cache battery, failed drive on hv-hpe-01: 4 guests at risk"),
            std::string::npos)
      << rules;
  EXPECT_TRUE(storage.process().Running()) << storage.process().Log();
  EXPECT_TRUE(hardware.Running()) << hardware.Log();
}

}  // namespace
