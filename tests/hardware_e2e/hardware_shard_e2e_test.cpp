// The hardware exporter sharded over instances (--shard.total / --shard.index, estate/shard.h), against 300
// simulated BMCs (one simestate upstream each, serving the demo's healthy Supermicro tree):
//   - three shards together poll every BMC exactly once, and each says which shard it is and what it owns;
//   - /probe answers on any shard for any configured BMC;
//   - stopping one shard loses exactly its BMCs;
//   - growing to four shards moves only the BMCs the new shard takes (the figure is printed).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "estate/shard.h"
#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using estate::testing::BinaryPath;
using estate::testing::ChildProcess;
using estate::testing::FreePort;
using estate::testing::HttpGet;
using estate::testing::TempDir;

constexpr int kBmcs = 300;

std::string BmcName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "hv-r%02d-n%03d-bmc", i / 20, i);
  return buf;
}

using TargetSet = std::set<std::string>;

struct Scrape {
  TargetSet listed;                    // targets with a fast or slow estate_hardware_source_up series
  TargetSet up;                        // ... whose fast and slow groups are both up
  TargetSet temps;                     // targets with polled data (estate_hardware_temperature_celsius)
  std::map<std::string, double> self;  // estate_hardware_shard_* values
  bool ok = false;
};

Scrape ScrapeShard(int port) {
  Scrape s;
  auto r = HttpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics", 10);
  if (r.status != 200) return s;
  s.ok = true;
  std::map<std::string, int> ups;
  for (const auto& m : estate::testing::ParseMetricSamples(r.body)) {
    if (m.name == "estate_hardware_source_up") {
      auto g = m.labels.find("group");
      if (g == m.labels.end() || (g->second != "fast" && g->second != "slow")) continue;
      const std::string& t = m.labels.at("target");
      s.listed.insert(t);
      if (m.value == 1) ++ups[t];
    } else if (m.name == "estate_hardware_temperature_celsius") {
      s.temps.insert(m.labels.at("target"));
    } else if (m.name.rfind("estate_hardware_shard", 0) == 0) {
      s.self[m.name] = m.value;
    }
  }
  for (const auto& [t, n] : ups) {
    if (n == 2) s.up.insert(t);
  }
  return s;
}

class HardwareShardE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_bin_ = BinaryPath("estate-simestate");
    exporter_bin_ = BinaryPath("estate-hardware-exporter");
    ASSERT_FALSE(sim_bin_.empty());
    ASSERT_FALSE(exporter_bin_.empty());
    const std::string data = estate::testing::SourceDir() + "/tools/simestate/data";
    std::ostringstream sim;
    sim << "upstreams:\n";
    for (int i = 0; i < kBmcs; ++i) {
      sim << "  - {name: " << BmcName(i) << ", kind: redfish, port: 0, threads: 2, data: " << data
          << "/bmc-supermicro, basic_auth: {username: monitor, password: demo-bmc-password}}\n";
    }
    const std::string ports_file = dir_.path() + "/ports.json";
    ASSERT_TRUE(sim_.Start({sim_bin_, "--config.file=" + dir_.Write("estate.yml", sim.str()),
                            "--ports.file=" + ports_file},
                           dir_.path() + "/simestate.log")
                    .ok());
    for (const auto deadline = Clock::now() + 60s;; std::this_thread::sleep_for(100ms)) {
      std::error_code ec;
      if (std::filesystem::file_size(ports_file, ec) > 0 && !ec) {
        ports_ = nlohmann::json::parse(estate::testing::ReadFileOrDie(ports_file), nullptr, false);
        if (ports_.is_object() && ports_.contains("_control")) break;
      }
      ASSERT_TRUE(sim_.Running()) << sim_.Log();
      ASSERT_LT(Clock::now(), deadline) << "simestate wrote no ports file";
    }
    std::ostringstream cfg;
    cfg << "defaults: {fast_interval: 30s, slow_interval: 120s, request_timeout: 10s, max_requests_per_bmc: "
           "2}\n"
        << "max_concurrent_polls: 16\n"
        << "auths:\n  sim: {username: monitor, password_file: " << data
        << "/bmc-credentials/monitor.password}\n"
        << "targets:\n";
    for (int i = 0; i < kBmcs; ++i) {
      cfg << "  - {name: " << BmcName(i) << ", address: \"http://127.0.0.1:" << ports_.value(BmcName(i), 0)
          << "\", auth: sim}\n";
    }
    config_ = dir_.Write("hardware.yml", cfg.str());
  }

  // Starts shard `index` of `total` ("auto" takes the ordinal from POD_NAME) and waits for /-/healthy.
  int StartShard(ChildProcess& p, int total, const std::string& index, const std::string& pod = "") {
    const int port = FreePort();
    std::map<std::string, std::string> env;
    if (!pod.empty()) env["POD_NAME"] = pod;
    const std::string tag = std::to_string(total) + "-" + (pod.empty() ? index : pod);
    auto started = p.Start(
        {exporter_bin_, "--config.file=" + config_, "--web.listen-address=127.0.0.1:" + std::to_string(port),
         "--shard.total=" + std::to_string(total), "--shard.index=" + index},
        dir_.path() + "/exporter-" + tag + ".log", env);
    EXPECT_TRUE(started.ok()) << started.error();
    EXPECT_TRUE(estate::testing::WaitHttpOk("http://127.0.0.1:" + std::to_string(port) + "/-/healthy", 20s))
        << p.Log();
    return port;
  }

  TempDir dir_;
  std::string sim_bin_, exporter_bin_, config_;
  ChildProcess sim_;
  nlohmann::json ports_;
};

TEST_F(HardwareShardE2e, ShardsCoverEveryBmcOnceAndGrowingMovesFew) {
  std::vector<std::string> all;
  for (int i = 0; i < kBmcs; ++i) all.push_back(BmcName(i));

  // Three shards; the third finds its ordinal in POD_NAME as a StatefulSet pod would.
  ChildProcess shard[3];
  int port[3];
  port[0] = StartShard(shard[0], 3, "0");
  port[1] = StartShard(shard[1], 3, "1");
  port[2] = StartShard(shard[2], 3, "auto", "estate-hardware-2");

  // Every shard's BMCs polled (fast and slow up, data present), within a deadline.
  Scrape s[3];
  const auto started = Clock::now();
  for (const auto deadline = started + 180s;; std::this_thread::sleep_for(500ms)) {
    bool done = true;
    for (int i = 0; i < 3; ++i) {
      s[i] = ScrapeShard(port[i]);
      done = done && s[i].ok && !s[i].listed.empty() && s[i].up == s[i].listed && s[i].temps == s[i].listed;
    }
    if (done) break;
    ASSERT_LT(Clock::now(), deadline)
        << "shards not all polled: up " << s[0].up.size() << "/" << s[0].listed.size() << ", "
        << s[1].up.size() << "/" << s[1].listed.size() << ", " << s[2].up.size() << "/" << s[2].listed.size();
  }
  const double polled_after = std::chrono::duration<double>(Clock::now() - started).count();

  TargetSet union_of;
  std::size_t sum = 0;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("shard " + std::to_string(i));
    EXPECT_EQ(s[i].self["estate_hardware_shard_ordinal"], i);
    EXPECT_EQ(s[i].self["estate_hardware_shards"], 3);
    EXPECT_EQ(s[i].self["estate_hardware_shard_owned_sources"], static_cast<double>(s[i].listed.size()));
    EXPECT_EQ(s[i].self["estate_hardware_shard_configured_sources"], kBmcs);
    EXPECT_GT(s[i].listed.size(), kBmcs / 3 * 0.7) << "an uneven spread";
    for (const auto& t : s[i].listed) EXPECT_EQ(estate::shard::ShardOf(t, 3), i) << t;
    sum += s[i].listed.size();
    union_of.insert(s[i].listed.begin(), s[i].listed.end());
  }
  EXPECT_EQ(sum, static_cast<std::size_t>(kBmcs)) << "a BMC polled by two shards";
  EXPECT_EQ(union_of, TargetSet(all.begin(), all.end())) << "a BMC polled by no shard";
  std::printf("[ shards   ] 3 shards own %zu + %zu + %zu of %d BMCs; all polled %.1f s after start\n",
              s[0].listed.size(), s[1].listed.size(), s[2].listed.size(), kBmcs, polled_after);

  // The landing page says which shard it is; /probe on shard 0 answers for a BMC that shard 1 polls.
  auto landing = HttpGet("http://127.0.0.1:" + std::to_string(port[1]) + "/", 10);
  EXPECT_NE(landing.body.find("Shard 1 of 3"), std::string::npos) << landing.body;
  const std::string foreign = *s[1].listed.begin();
  auto probe = HttpGet(
      "http://127.0.0.1:" + std::to_string(port[0]) + "/probe?target=" + foreign + "&module=fast", 30);
  EXPECT_EQ(probe.status, 200) << probe.body;
  EXPECT_NE(probe.body.find("estate_hardware_probe_success 1"), std::string::npos) << probe.body;
  EXPECT_NE(probe.body.find("target=\"" + foreign + "\""), std::string::npos);

  // Stopping shard 1 loses exactly its BMCs: the others keep theirs, unchanged.
  shard[1].Stop();
  TargetSet left;
  for (int i : {0, 2}) {
    const Scrape again = ScrapeShard(port[i]);
    ASSERT_TRUE(again.ok);
    EXPECT_EQ(again.listed, s[i].listed);
    EXPECT_EQ(again.temps, s[i].listed);
    left.insert(again.listed.begin(), again.listed.end());
  }
  TargetSet expected_left;
  for (const auto& t : all) {
    if (!s[1].listed.count(t)) expected_left.insert(t);
  }
  EXPECT_EQ(left, expected_left);
  shard[0].Stop();
  shard[2].Stop();

  // Four shards: read who owns what (jobs are listed before their first poll), then count the moves.
  ChildProcess grown[4];
  std::map<std::string, int> owner4;
  for (int i = 0; i < 4; ++i) {
    const int p = StartShard(grown[i], 4, std::to_string(i));
    Scrape g = ScrapeShard(p);
    ASSERT_TRUE(g.ok);
    EXPECT_EQ(g.self["estate_hardware_shard_owned_sources"], static_cast<double>(g.listed.size()));
    for (const auto& t : g.listed) {
      EXPECT_EQ(owner4.count(t), 0u) << t << " owned twice";
      owner4[t] = i;
    }
    grown[i].Stop();
  }
  ASSERT_EQ(owner4.size(), static_cast<std::size_t>(kBmcs));
  int moved = 0;
  int modulo_moved = 0;
  for (int i = 0; i < 3; ++i) {
    for (const auto& t : s[i].listed) {
      if (owner4[t] != i) {
        ++moved;
        EXPECT_EQ(owner4[t], 3) << t << " moved between old shards";
      }
      const auto h = estate::shard::StableHash(t);
      modulo_moved += (h % 3 != h % 4) ? 1 : 0;
    }
  }
  // A consistent hash moves what the new shard takes, 1/4 of the BMCs: 75 of 300, with some spread.
  EXPECT_LE(moved, kBmcs / 4 + kBmcs / 10);
  std::printf(
      "[ shards   ] 3 -> 4 shards moved %d of %d BMCs (%.1f %%; ideal 25 %%, all to the new shard); "
      "hash mod N would move %d (%.1f %%)\n",
      moved, kBmcs, 100.0 * moved / kBmcs, modulo_moved, 100.0 * modulo_moved / kBmcs);
}

}  // namespace
