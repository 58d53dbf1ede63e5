// TargetState's event handling against the demo's Dell iDRAC 9 tree (tools/simestate/data, written for the
// demo): an event naming a drive re-reads only that drive and republishes the slow group and the fast group
// (computed health); an event naming a resource the exporter cannot map runs its group early, rate-limited.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"
#include "hardware_exporter.h"

namespace estate::hardware {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeUpstream;

constexpr char kDrive[] =
    "/redfish/v1/Systems/System.Embedded.1/Storage/RAID.Integrated.1-1/Drives/"
    "Disk.Bay.2:Enclosure.Internal.0-1:RAID.Integrated.1-1";

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

class TargetEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tree = estate::testing::SourceDir() + "/tools/simestate/data/bmc-dell-idrac9";
    FakeUpstream::Options opt;
    opt.root_dir = tree;
    fake_ = std::make_unique<FakeUpstream>(opt);
    fake_->Route("GET", kDrive, [this, tree](const FakeRequest&) {
      FakeResponse r;
      r.body = estate::testing::ReadFileOrDie(tree + kDrive + "/index.json");
      if (failed_) {
        auto j = redfish::Json::parse(r.body);
        j["Status"]["Health"] = "Critical";
        r.body = j.dump();
      }
      return r;
    });
    ASSERT_TRUE(fake_->Start().ok());
    config_.request_timeout_seconds = 5;
    config_.events.sse = true;
    config_.events.fallback_min_interval_seconds = 3600;
    config_.auths.push_back(AuthSet{"bmc", "monitor", "pw"});
    TargetConfig t;
    t.name = "dell";
    t.address = fake_->base_url();
    t.protocol = Protocol::kRedfish;
    t.auth = "bmc";
    t.sessions = false;
    config_.targets.push_back(t);
    state_ = std::make_shared<TargetState>(config_, config_.targets[0], http_, nullptr);
    TargetState::EventSink sink;
    sink.publish = [this](const std::string& group, const metrics::Families& f) {
      std::lock_guard<std::mutex> lock(mu_);
      published_[group] = metrics::Render(f);
      return true;
    };
    sink.run_soon = [this](const std::string& group) {
      std::lock_guard<std::mutex> lock(mu_);
      early_.push_back(group);
      return true;
    };
    // No EventService in this tree: the channel reads that and stays quiet; OnEvent is driven directly.
    state_->AttachEvents(config_.events, std::make_shared<EventHub>(10), sink);
    ASSERT_TRUE(state_->PollSlow(Seconds(30)).ok());
    ASSERT_TRUE(state_->PollFast(Seconds(30)).ok());
    // The channel has read the service root (no EventService here) before the tests count requests.
    for (auto until = Clock::now() + std::chrono::seconds(10);
         state_->events()->Stats().mode.empty() && Clock::now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(state_->events()->Stats().mode, "none");
  }
  void TearDown() override {
    state_.reset();
    fake_->Stop();
  }

  http::CurlHttpClient http_;
  std::unique_ptr<FakeUpstream> fake_;
  HardwareConfig config_;
  std::shared_ptr<TargetState> state_;
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::map<std::string, std::string> published_;
  std::vector<std::string> early_;
};

TEST_F(TargetEventsTest, EventNamingADriveRereadsOnlyItAndRepublishes) {
  failed_ = true;
  fake_->ClearRequests();
  RedfishEvent e;
  e.type = "Alert";
  e.origins = {kDrive};
  state_->OnEvent(e);
  EXPECT_EQ(fake_->RequestCount(), 1u);  // the drive, nothing else
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(published_.count("slow"), 1u);
  ASSERT_EQ(published_.count("fast"), 1u);
  EXPECT_NE(published_["slow"].find(
                "estate_hardware_drive_health{target=\"dell\",controller=\"RAID.Integrated.1-1\","
                "drive=\"Disk.Bay.2:Enclosure.Internal.0-1:RAID.Integrated.1-1\"} 2"),
            std::string::npos)
      << published_["slow"];
  // The other drives are still there, unchanged.
  EXPECT_NE(published_["slow"].find("drive=\"Disk.Bay.0:Enclosure.Internal.0-1:RAID.Integrated.1-1\"} 0"),
            std::string::npos);
  EXPECT_NE(published_["fast"].find("estate_hardware_computed_health{target=\"dell\",resource=\"system\"} 2"),
            std::string::npos)
      << published_["fast"];
  EXPECT_TRUE(early_.empty());
}

TEST_F(TargetEventsTest, UnmappedResourceRunsItsGroupEarlyAtMostOncePerInterval) {
  RedfishEvent e;
  e.type = "Alert";
  e.origins = {"/redfish/v1/Managers/iDRAC.Embedded.1"};  // a Manager: not a component the exporter patches
  state_->OnEvent(e);
  e.origins = {"/redfish/v1/Chassis/System.Embedded.1/Thermal"};
  estate::testing::Fault fault;
  fault.kind = estate::testing::Fault::Kind::kStatus;
  fault.status = 404;  // not retried, unlike a 5xx
  fault.path_prefix = "/redfish/v1/Chassis";
  fault.remaining = 1;
  fake_->AddFault(fault);
  state_->OnEvent(e);  // the re-read fails: the fast group runs early
  e.origins = {"/redfish/v1/Managers/iDRAC.Embedded.1"};
  state_->OnEvent(e);  // within fallback_min_interval: nothing more
  RedfishEvent bare;
  bare.type = "ResourceUpdated";
  state_->OnEvent(bare);  // names nothing and is no alert: nothing
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(early_, (std::vector<std::string>{"slow", "fast"}));
  EXPECT_EQ(published_.count("slow") + published_.count("fast"), 0u);  // ("events" has the channel's status)
}

}  // namespace
}  // namespace estate::hardware
