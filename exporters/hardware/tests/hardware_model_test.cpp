#include "hardware_model.h"

#include <gtest/gtest.h>

namespace estate::hardware {
namespace {

TEST(HardwareModel, WorstOfLeavesIgnoresRollup) {
  Findings f;
  f.system_reported = Health::kOk;
  Battery b;
  b.key = "b";
  b.controller = "c";
  b.health = Health::kCritical;
  f.batteries.push_back(b);
  EXPECT_EQ(ComputeHealth(f).system, Health::kCritical);
  EXPECT_EQ(ComputeHealth(f).chassis, Health::kUnknown);
}

// docs/hardware.md: computed health is the worst of the leaves. What the BMC says of the resource itself (its
// rollup, or its own Health, which some BMCs fill with the rollup) is reported health, never computed health.
TEST(HardwareModel, ComputedHealthIsOnlyTheLeaves) {
  Findings f;
  f.system_reported = Health::kCritical;
  f.chassis_reported = Health::kWarning;
  f.manager_reported = Health::kCritical;
  EXPECT_EQ(ComputeHealth(f).system, Health::kUnknown);  // no leaf read: nothing to say
  EXPECT_EQ(ComputeHealth(f).chassis, Health::kUnknown);
  Component dimm;
  dimm.status.health = Health::kOk;
  f.dimms.push_back(dimm);
  Fan fan;
  fan.status.health = Health::kOk;
  f.fans.push_back(fan);
  EXPECT_EQ(ComputeHealth(f).system, Health::kOk);
  EXPECT_EQ(ComputeHealth(f).chassis, Health::kOk);
}

// Absent is not failed and disabled is not failed: neither reaches computed health, whatever health it
// states.
TEST(HardwareModel, AbsentAndDisabledAreNotFaults) {
  EXPECT_FALSE(InService(State::kAbsent));
  EXPECT_FALSE(InService(State::kDisabled));
  EXPECT_TRUE(InService(State::kEnabled));
  EXPECT_TRUE(InService(State::kUnknown));
  EXPECT_EQ(EffectiveHealth(Health::kCritical, State::kDisabled), Health::kUnknown);
  EXPECT_EQ(EffectiveHealth(Health::kCritical, State::kAbsent), Health::kUnknown);
  EXPECT_EQ(EffectiveHealth(Health::kCritical, State::kUnknown), Health::kCritical);
}

TEST(HardwareModel, PredictedFailureIsAtLeastWarning) {
  Findings f;
  Drive d;
  d.status.health = Health::kOk;
  d.failure_predicted = true;
  f.drives.push_back(d);
  EXPECT_EQ(ComputeHealth(f).system, Health::kWarning);
}

TEST(HardwareModel, DedupeKeysPerScope) {
  Findings f;
  for (int i = 0; i < 3; ++i) {
    Drive d;
    d.key = "1I:0:1";
    d.controller = i < 2 ? "a" : "b";
    f.drives.push_back(d);
  }
  Fan empty;
  f.fans.push_back(empty);
  DedupeKeys(f);
  EXPECT_EQ(f.drives[0].key, "1I:0:1");
  EXPECT_EQ(f.drives[1].key, "1I:0:1_2");
  EXPECT_EQ(f.drives[2].key, "1I:0:1");  // another controller
  EXPECT_EQ(f.fans[0].key, "unknown");
}

TEST(HardwareModel, MergeKeepsEachGroupsSections) {
  Findings slow;
  slow.has_storage = true;
  slow.controllers.push_back(StorageController{});
  Findings fast;
  fast.has_thermal = true;
  fast.fans.push_back(Fan{});
  fast.system_reported = Health::kWarning;
  Findings merged = slow;
  MergeInto(merged, fast);
  EXPECT_EQ(merged.controllers.size(), 1u);
  EXPECT_EQ(merged.fans.size(), 1u);
  EXPECT_EQ(merged.system_reported, Health::kWarning);
}

// ---- last good data per resource (CarryOver)
// -----------------------------------------------------------------

Drive MakeDrive(const std::string& key, const std::string& controller, std::vector<std::string> deps,
                double read) {
  Drive d;
  d.key = key;
  d.controller = controller;
  d.status.health = Health::kOk;
  d.origin = Origin{std::move(deps), read};
  return d;
}

// A drive in predicted failure read at t=100; at t=400 the read of its controller fails: the drive is served
// as it was, with its fault, and counted as stale. A drive whose resources all read fine and that is gone
// from the fresh poll stays gone.
TEST(HardwareModel, CarryOverKeepsWhatDependsOnAFailedResource) {
  Findings before;
  before.has_storage = true;
  Drive failing = MakeDrive("1I:1:1", "ctrl", {"/c/1", "/c/1/d/1"}, 100);
  failing.failure_predicted = true;
  before.drives.push_back(failing);
  before.drives.push_back(MakeDrive("2I:1:1", "ctrl2", {"/c/2", "/c/2/d/1"}, 100));

  Findings now;  // the controller /c/1 failed; /c/2 read fine and no longer lists its drive
  now.has_storage = true;
  CarryStats stats = CarryOver(now, before, {"/c/1"}, 400, 3600);
  ASSERT_EQ(now.drives.size(), 1u);
  EXPECT_EQ(now.drives[0].key, "1I:1:1");
  EXPECT_EQ(now.drives[0].failure_predicted, std::optional<bool>(true));
  EXPECT_EQ(now.drives[0].origin.read_unix, 100);  // served from the earlier read, with its time
  EXPECT_EQ(stats.items, 1);
  EXPECT_EQ(stats.resources, std::set<std::string>{"/c/1"});
  EXPECT_EQ(stats.oldest_read_unix, 100);
}

TEST(HardwareModel, CarryOverReplacesAnItemReadWithoutOneOfItsParts) {
  Findings before;
  PowerSupply psu;
  psu.key = "PSU 1";
  psu.output_watts = 230;
  psu.origin = Origin{{"/ps", "/ps/1", "/ps/1/metrics"}, 100};
  before.psus.push_back(psu);
  Findings now;
  PowerSupply fresh = psu;  // its Metrics read failed: no watts
  fresh.output_watts.reset();
  fresh.origin.read_unix = 200;
  now.psus.push_back(fresh);
  CarryOver(now, before, {"/ps/1/metrics"}, 200, 3600);
  ASSERT_EQ(now.psus.size(), 1u);
  EXPECT_EQ(now.psus[0].output_watts, std::optional<double>(230));
  EXPECT_TRUE(now.has_power);
}

TEST(HardwareModel, CarryOverStopsAtTheMaxAgeAndWithoutFailures) {
  Findings before;
  before.drives.push_back(MakeDrive("d", "c", {"/c"}, 100));
  before.chassis_reported = Health::kWarning;
  before.chassis_origin = Origin{{"/chassis"}, 100};
  Findings none;
  EXPECT_EQ(CarryOver(none, before, {}, 200, 3600).items, 0);  // a complete poll is the whole truth
  EXPECT_TRUE(none.drives.empty());
  Findings old;
  EXPECT_EQ(CarryOver(old, before, {"/c", "/chassis"}, 100 + 3601, 3600).items, 0);  // too old to serve
  EXPECT_TRUE(old.drives.empty());
  EXPECT_EQ(old.chassis_reported, Health::kUnknown);
  Findings chassis;
  CarryStats stats = CarryOver(chassis, before, {"/chassis"}, 150, 3600);
  EXPECT_EQ(chassis.chassis_reported, Health::kWarning);  // a reading, not only items
  EXPECT_TRUE(chassis.drives.empty());
  EXPECT_EQ(stats.items, 1);
}

TEST(HardwareModel, StampAndKnownResources) {
  Findings f;
  Mark mark = MarkOf(f);
  f.fans.push_back(Fan{});
  f.temperatures.push_back(Temperature{});
  Stamp(f, mark, {"/thermal"}, 42);
  mark = MarkOf(f);
  f.fans.push_back(Fan{});
  Stamp(f, mark, {"/fans", "/fans/2"}, 43);
  EXPECT_EQ(f.fans[0].origin.deps, std::vector<std::string>{"/thermal"});
  EXPECT_EQ(f.temperatures[0].origin.read_unix, 42);
  EXPECT_EQ(f.fans[1].origin.read_unix, 43);
  f.power_origin = Origin{{"/power"}, 43};
  EXPECT_EQ(KnownResources(f), (std::set<std::string>{"/thermal", "/fans", "/fans/2", "/power"}));
}

}  // namespace
}  // namespace estate::hardware
