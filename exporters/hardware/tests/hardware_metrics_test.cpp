// The metric table: names, HELP, encodings, label hygiene, and promtool over a fully populated model.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "estate/testing/golden.h"
#include "hardware_metrics.h"

namespace estate::hardware {
namespace {

Findings Sample() {
  Findings f;
  f.has_identity = true;
  f.identity = {"HPE", "ProLiant DL380 Gen10", "CZ1234", "uuid-1", "868703-B21", "U30 v2.50", "iLO 5", "2.72",
                "hv01", "redfish"};
  f.power = PowerState::kOn;
  f.system_reported = Health::kOk;
  f.has_storage = true;
  StorageController c;
  c.key = "Slot 0";
  c.model = "P408i-a";
  c.status.health = Health::kOk;
  c.cache_health = Health::kWarning;
  c.cache_bytes = 2147483648.0;
  f.controllers.push_back(c);
  Battery b;
  b.key = "smart_storage_battery_1";
  b.source = BatterySource::kHpeSmartStorageBattery;
  b.health = Health::kCritical;
  b.state = BatteryState::kFailed;
  b.charge_percent = 4;
  f.batteries.push_back(b);
  Drive d;
  d.key = "1I:1:1";
  d.controller = "Slot 0";
  d.status.health = Health::kOk;
  d.failure_predicted = true;
  d.life_left_percent = 80;
  d.capacity_bytes = 1.2e12;
  f.drives.push_back(d);
  Volume v;
  v.key = "1";
  v.controller = "Slot 0";
  v.raid_type = "RAID1";
  v.status.health = Health::kWarning;
  f.volumes.push_back(v);
  f.has_thermal = true;
  Fan fan;
  fan.key = "Fan 1";
  fan.status.health = Health::kOk;
  fan.percent = 35;
  f.fans.push_back(fan);
  Fan absent;
  absent.key = "Fan 2";
  absent.status.state = State::kAbsent;
  f.fans.push_back(absent);
  Temperature t;
  t.key = "01-Inlet Ambient";
  t.celsius = 21;
  t.upper_critical = 42;
  t.upper_fatal = 47;
  t.status.health = Health::kOk;
  f.temperatures.push_back(t);
  f.has_power = true;
  PowerSupply p;
  p.key = "Bay 1";
  p.status.health = Health::kCritical;
  p.input_watts = 0;
  p.capacity_watts = 800;
  f.psus.push_back(p);
  f.psu_redundancy.push_back(Redundancy{"system", Health::kWarning, false, {}});
  f.power_consumed_watts = 230;
  f.has_inventory = true;
  f.dimms.push_back(Component{"PROC 1 DIMM 1", {Health::kOk, State::kEnabled, Health::kUnknown}, {}});
  f.cpus.push_back(Component{"1", {Health::kOk, State::kEnabled, Health::kUnknown}, {}});
  f.firmware.push_back(Firmware{"iLO 5", "2.72", {}});
  f.has_logs = true;
  LogSummary log;
  log.log = "IML";
  log.entries[Health::kCritical] = 2;
  log.entries[Health::kOk] = 10;
  log.last_critical_unix = 1627666794;
  f.logs.push_back(log);
  return f;
}

std::string RenderSample() {
  Findings f = Sample();
  auto fams = BuildFamilies(f, {{"target", "bmc1"}, {"host", "hv01"}}, {"fast", 7, 1}, &f);
  return metrics::Render(fams);
}

TEST(HardwareMetrics, EveryFamilyIsNamedAndDocumented) {
  std::regex name("^estate_hardware_[a-z_]+$");
  for (const auto& n : FamilyNames()) EXPECT_TRUE(std::regex_match(n, name)) << n;
  auto fams = BuildFamilies(Sample(), {{"target", "bmc1"}}, {"fast", 7, 1}, nullptr);
  for (const auto& f : fams) EXPECT_FALSE(f.help.empty()) << f.name;
}

// Before the first slow poll the health view lacks storage and inventory: reported health only.
TEST(HardwareMetrics, ComputedHealthCanBeLeftOut) {
  Findings f = Sample();
  const std::string text =
      metrics::Render(BuildFamilies(f, {{"target", "bmc1"}}, {"fast", 7, 1}, &f, /*computed_health=*/false));
  EXPECT_EQ(text.find("estate_hardware_computed_health"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_hardware_reported_health{"), std::string::npos);
  EXPECT_NE(RenderSample().find("estate_hardware_computed_health{"), std::string::npos);
}

TEST(HardwareMetrics, RendersTheFaults) {
  const std::string text = RenderSample();
  EXPECT_NE(text.find("estate_hardware_battery_health{target=\"bmc1\",host=\"hv01\",battery=\"smart_storage_"
                      "battery_1\",controller=\"\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("estate_hardware_drive_failure_predicted{target=\"bmc1\",host=\"hv01\",controller=\"Slot "
                      "0\",drive=\"1I:1:1\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("estate_hardware_computed_health{target=\"bmc1\",host=\"hv01\",resource=\"system\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("estate_hardware_reported_health{target=\"bmc1\",host=\"hv01\",resource=\"system\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("estate_hardware_components{target=\"bmc1\",host=\"hv01\",kind=\"fan\",state=\"absent\"} 1"),
            std::string::npos);
  // The absent fan has no health series; no series per log entry.
  EXPECT_EQ(text.find("fan=\"Fan 2\""), std::string::npos);
  EXPECT_NE(text.find("estate_hardware_log_entries_total{target=\"bmc1\",host=\"hv01\",log=\"IML\",severity="
                      "\"critical\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("estate_hardware_poll_requests{target=\"bmc1\",host=\"hv01\",group=\"fast\"} 7"),
            std::string::npos);
}

TEST(HardwareMetrics, SerialsOnlyOnInfoSeries) {
  const std::string text = RenderSample();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.find("CZ1234") != std::string::npos) {
      EXPECT_NE(line.find("_info{"), std::string::npos) << line;
    }
  }
}

TEST(HardwareMetrics, PromtoolClean) {
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(RenderSample()));
}

TEST(HardwareMetrics, Golden) {
  EXPECT_TRUE(estate::testing::MatchesGolden(RenderSample(), "exporters/hardware/tests/golden/sample.prom"));
}

}  // namespace
}  // namespace estate::hardware
