#include <gtest/gtest.h>

#include "hardware_model.h"

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

}  // namespace
}  // namespace estate::hardware
