// The mid-poll fault matrix (issue #13): a fault on one resource inside a poll (garbage, a truncated body, a
// hang past the request timeout, HTTP 500) on a storage controller, a chassis Power resource and a drive, on
// a DMTF tree (Dell iDRAC 9 shape) and an HPE Smart Array tree (iLO 5 shape). In every cell the poll still
// succeeds, says it was partial, and serves everything it served before: no series disappears or changes, so
// no fault and no alert can resolve because data went missing. The trees are the simulated estate's own
// (tools/simestate/data), written for this project.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"
#include "hardware_exporter.h"

namespace estate::hardware {
namespace {

using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

// "name{labels}" -> value, for every sample line.
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

std::string Value(const std::map<std::string, std::string>& samples, const std::string& prefix) {
  for (const auto& [series, value] : samples) {
    if (series.rfind(prefix, 0) == 0) return value;
  }
  return "(none)";
}

struct Tree {
  const char* name;
  const char* dir;  // under tools/simestate/data
  const char* controller;
  const char* power;
  const char* drive;
  const char* fault_series;  // a series that shows the tree's real fault
};

const Tree kTrees[] = {
    {"dmtf", "bmc-dell-idrac9", "/redfish/v1/Systems/System.Embedded.1/Storage/RAID.Integrated.1-1",
     "/redfish/v1/Chassis/System.Embedded.1/Power",
     "/redfish/v1/Systems/System.Embedded.1/Storage/RAID.Integrated.1-1/Drives/"
     "Disk.Bay.1:Enclosure.Internal.0-1:RAID.Integrated.1-1",
     "estate_hardware_drive_failure_predicted{target=\"bmc1\",controller=\"RAID.Integrated.1-1\",drive="
     "\"Disk.Bay."
     "1:Enclosure.Internal.0-1:RAID.Integrated.1-1\"}"},
    {"hpe", "bmc-hpe-ilo5", "/redfish/v1/Systems/1/SmartStorage/ArrayControllers/0",
     "/redfish/v1/Chassis/1/Power", "/redfish/v1/Systems/1/SmartStorage/ArrayControllers/0/DiskDrives/1",
     "estate_hardware_drive_health{"},
};

struct FaultKind {
  const char* name;
  Fault fault;
};

std::vector<FaultKind> Faults() {
  Fault garbage;
  garbage.kind = Fault::Kind::kGarbage;
  Fault truncated;
  truncated.kind = Fault::Kind::kTruncated;
  Fault hang;
  hang.kind = Fault::Kind::kNone;
  hang.latency_seconds = 4;  // past the 1 s request timeout
  Fault status;
  status.kind = Fault::Kind::kStatus;
  status.status = 500;
  return {{"garbage", garbage}, {"truncated", truncated}, {"hang", hang}, {"500", status}};
}

class PartialPoll : public ::testing::Test {
 protected:
  void Serve(const Tree& tree) {
    FakeUpstream::Options opt;
    opt.root_dir = estate::testing::SourceDir() + "/tools/simestate/data/" + tree.dir;
    fake_ = std::make_unique<FakeUpstream>(opt);
    ASSERT_TRUE(fake_->Start().ok());
    config_.request_timeout_seconds = 1;
    config_.auths.push_back(AuthSet{"bmc", "monitor", "pw"});
    TargetConfig t;
    t.name = "bmc1";
    t.address = fake_->base_url();
    t.protocol = Protocol::kRedfish;
    t.auth = "bmc";
    t.sessions = false;
    config_.targets = {t};
  }
  void TearDown() override {
    if (fake_) fake_->Stop();
  }
  // One slow and one fast poll; both must succeed.
  std::string Poll(TargetState& state) {
    auto slow = state.PollSlow(Seconds(60));
    EXPECT_TRUE(slow.ok()) << slow.error();
    auto fast = state.PollFast(Seconds(60));
    EXPECT_TRUE(fast.ok()) << fast.error();
    return (slow.ok() ? metrics::Render(*slow) : "") + (fast.ok() ? metrics::Render(*fast) : "");
  }

  http::CurlHttpClient http_;
  std::unique_ptr<FakeUpstream> fake_;
  HardwareConfig config_;
};

TEST_F(PartialPoll, EveryFaultKeepsTheLastGoodDataAndSaysPartial) {
  for (const Tree& tree : kTrees) {
    config_ = HardwareConfig{};
    Serve(tree);
    for (const char* resource : {tree.controller, tree.power, tree.drive}) {
      const bool slow_group = std::string(resource) != tree.power;
      const std::string group = slow_group ? "slow" : "fast";
      for (const auto& [kind, fault] : Faults()) {
        SCOPED_TRACE(std::string(tree.name) + ": " + kind + " on " + resource);
        TargetState state(config_, config_.targets[0], http_, nullptr);
        const auto good = Samples(Poll(state));
        ASSERT_EQ(Value(good, "estate_hardware_poll_complete{target=\"bmc1\",group=\"" + group + "\"}"), "1");
        ASSERT_NE(Value(good, tree.fault_series), "(none)") << "the tree's own fault is read:\n" << [&] {
          std::string all;
          for (const auto& [k, v] : good) all += k + " " + v + "\n";
          return all;
        }();

        Fault f = fault;
        f.path_prefix = resource;
        fake_->AddFault(f);
        const auto partial = Samples(Poll(state));
        fake_->ClearFaults();

        const std::string labels = "{target=\"bmc1\",group=\"" + group + "\"}";
        EXPECT_EQ(Value(partial, "estate_hardware_poll_complete" + labels), "0");
        EXPECT_NE(Value(partial, "estate_hardware_poll_failed_requests" + labels), "0");
        EXPECT_EQ(Value(partial, "estate_hardware_poll_stale_resources" + labels), "1");
        // Every series of the good poll is still there with the same value (the poll's own figures aside).
        for (const auto& [series, value] : good) {
          if (series.rfind("estate_hardware_poll_", 0) == 0) continue;
          auto it = partial.find(series);
          if (it == partial.end()) {
            ADD_FAILURE() << "disappeared: " << series;
          } else {
            EXPECT_EQ(it->second, value) << series;
          }
        }
        // The next complete poll says so again.
        const auto after = Samples(Poll(state));
        EXPECT_EQ(Value(after, "estate_hardware_poll_complete" + labels), "1");
        EXPECT_EQ(Value(after, "estate_hardware_poll_stale_resources" + labels), "0");
      }
    }
    fake_->Stop();
    fake_.reset();
  }
}

// A 404 for a resource that never served data is "not there", not a failure: the poll is complete. The same
// 404 for a resource that did serve data is a failure (its data is kept) until discovery stops listing it.
TEST_F(PartialPoll, NotFoundCountsAsFailureOnlyForWhatWasThere) {
  Serve(kTrees[0]);
  TargetState state(config_, config_.targets[0], http_, nullptr);
  const auto good = Samples(Poll(state));
  EXPECT_EQ(Value(good, "estate_hardware_poll_complete{target=\"bmc1\",group=\"slow\"}"), "1");

  Fault gone;
  gone.kind = Fault::Kind::kStatus;
  gone.status = 404;
  gone.path_prefix = kTrees[0].drive;
  fake_->AddFault(gone);
  const auto partial = Samples(Poll(state));
  EXPECT_EQ(Value(partial, "estate_hardware_poll_complete{target=\"bmc1\",group=\"slow\"}"), "0");
  EXPECT_EQ(Value(partial, kTrees[0].fault_series), "1");  // the listed drive that 404s keeps its fault

  // A target first polled while the drive 404s never saw it: nothing to keep, and nothing failed.
  TargetState fresh(config_, config_.targets[0], http_, nullptr);
  const auto first = Samples(Poll(fresh));
  EXPECT_EQ(Value(first, "estate_hardware_poll_complete{target=\"bmc1\",group=\"slow\"}"), "1");
  EXPECT_EQ(Value(first, "estate_hardware_poll_not_present_resources{target=\"bmc1\",group=\"slow\"}"), "1");
  EXPECT_EQ(Value(first, kTrees[0].fault_series), "(none)");
}

// A Redfish error body sent with HTTP 200 is "not there" in the same way.
TEST_F(PartialPoll, RedfishErrorBodyIsNotThere) {
  Serve(kTrees[0]);
  fake_->Route("GET", kTrees[0].drive, [](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"error": {"code": "Base.1.8.ResourceMissingAtURI", "message": "gone"}})";
    return r;
  });
  TargetState state(config_, config_.targets[0], http_, nullptr);
  const auto first = Samples(Poll(state));
  EXPECT_EQ(Value(first, "estate_hardware_poll_complete{target=\"bmc1\",group=\"slow\"}"), "1");
  EXPECT_EQ(Value(first, "estate_hardware_poll_not_present_resources{target=\"bmc1\",group=\"slow\"}"), "1");
  for (const auto& [series, value] : first) {
    EXPECT_EQ(series.find("drive=\"unknown\""), std::string::npos) << series;
  }
}

// A poll that runs out of time keeps the last good data of what it did not reach, and says so.
TEST_F(PartialPoll, DeadlineKeepsWhatWasNotReached) {
  Serve(kTrees[1]);
  config_.request_timeout_seconds = 5;
  TargetState state(config_, config_.targets[0], http_, nullptr);
  const auto good = Samples(Poll(state));
  Fault slow;
  slow.kind = Fault::Kind::kNone;
  slow.latency_seconds = 3;
  slow.path_prefix = kTrees[1].controller;
  fake_->AddFault(slow);
  auto polled = state.PollSlow(Seconds(1.5));  // the system is read in time, the controller is not
  ASSERT_TRUE(polled.ok()) << polled.error();
  const auto partial = Samples(metrics::Render(*polled));
  EXPECT_EQ(Value(partial, "estate_hardware_poll_complete{target=\"bmc1\",group=\"slow\"}"), "0");
  for (const auto& [series, value] : good) {
    if (series.rfind("estate_hardware_drive_", 0) != 0) continue;
    EXPECT_EQ(partial.count(series), 1u) << "not kept: " << series;
  }
}

}  // namespace
}  // namespace estate::hardware
