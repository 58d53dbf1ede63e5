#include "hardware_metrics.h"

#include <array>

namespace estate::hardware {
namespace {

#define HEALTH_ENC "0=OK, 1=Warning, 2=Critical; no sample when absent, disabled or not reported."

enum Id {
  kInfo,
  kPowerState,
  kReportedHealth,
  kComputedHealth,
  kComponents,
  kControllerInfo,
  kControllerHealth,
  kControllerCacheHealth,
  kControllerCacheBytes,
  kBatteryInfo,
  kBatteryHealth,
  kBatteryState,
  kBatteryCharge,
  kDriveInfo,
  kDriveHealth,
  kDriveFailurePredicted,
  kDriveLifeLeft,
  kDriveCapacity,
  kVolumeInfo,
  kVolumeHealth,
  kVolumeCapacity,
  kFanHealth,
  kFanRpm,
  kFanRatio,
  kTempCelsius,
  kTempHealth,
  kTempCritical,
  kTempFatal,
  kPsuHealth,
  kPsuInput,
  kPsuOutput,
  kPsuCapacity,
  kPsuRedundant,
  kPsuRedundancyHealth,
  kPowerConsumed,
  kMemoryHealth,
  kProcessorHealth,
  kFirmwareInfo,
  kLogEntries,
  kLogLastCritical,
  kPollRequests,
  kPollFailedRequests,
  kPollComplete,
  kPollNotPresent,
  kPollStaleResources,
  kPollStaleAge,
  kFamilyCount
};

struct Def {
  Id id;
  const char* name;
  bool counter;
  const char* help;
};

// The one table of every family this exporter produces.
constexpr std::array<Def, kFamilyCount> kDefs = {{
    {kInfo, "estate_hardware_info", false,
     "Identity of the server behind a BMC; always 1. Join on serial/uuid/host_name for workload placement."},
    {kPowerState, "estate_hardware_power_state", false,
     "Host power state: 0=off, 1=on, 2=powering on, 3=powering off."},
    {kReportedHealth, "estate_hardware_reported_health", false,
     "Health rollup as the BMC reports it, per resource (system, chassis, manager): " HEALTH_ENC},
    {kComputedHealth, "estate_hardware_computed_health", false,
     "Worst health of the leaves the exporter read (drives, batteries, caches, fans, PSUs, ...), per "
     "resource "
     "(system, chassis), independent of the vendor rollup and of the resource's own health: " HEALTH_ENC},
    {kComponents, "estate_hardware_components", false,
     "Number of components per kind (fan, psu, drive, dimm, ...) and state (enabled, disabled, absent, "
     "unknown)."},
    {kControllerInfo, "estate_hardware_storage_controller_info", false,
     "Storage controller model, serial and firmware; always 1."},
    {kControllerHealth, "estate_hardware_storage_controller_health", false,
     "Storage controller health: " HEALTH_ENC},
    {kControllerCacheHealth, "estate_hardware_storage_controller_cache_health", false,
     "Controller cache module health (DMTF CacheSummary, HPE CacheModuleStatus, RIBCL "
     "CACHE_MODULE_STATUS): " HEALTH_ENC},
    {kControllerCacheBytes, "estate_hardware_storage_controller_cache_bytes", false,
     "Controller cache size in bytes."},
    {kBatteryInfo, "estate_hardware_battery_info", false,
     "Cache/backup battery identity and which vendor data it came from (source); always 1."},
    {kBatteryHealth, "estate_hardware_battery_health", false,
     "Cache/backup battery health, normalised across HPE, Dell, DMTF and RIBCL: " HEALTH_ENC},
    {kBatteryState, "estate_hardware_battery_state", false,
     "Cache/backup battery state: 0=ready, 1=charging, 2=discharging, 3=learning, 4=failed, 5=absent (not "
     "installed; not a fault by itself)."},
    {kBatteryCharge, "estate_hardware_battery_charge_ratio", false, "Battery charge level, 0 to 1."},
    {kDriveInfo, "estate_hardware_drive_info", false,
     "Physical drive model, serial, media type, protocol and location; always 1."},
    {kDriveHealth, "estate_hardware_drive_health", false, "Physical drive health: " HEALTH_ENC},
    {kDriveFailurePredicted, "estate_hardware_drive_failure_predicted", false,
     "1 when the drive predicts its own failure (FailurePredicted, HPE status reasons, RIBCL Predictive "
     "Failure), else 0."},
    {kDriveLifeLeft, "estate_hardware_drive_media_life_left_ratio", false,
     "Predicted media life left of an SSD, 0 to 1 (HPE: 1 - SSDEnduranceUtilizationPercentage/100)."},
    {kDriveCapacity, "estate_hardware_drive_capacity_bytes", false, "Physical drive capacity in bytes."},
    {kVolumeInfo, "estate_hardware_volume_info", false, "Logical volume name and RAID type; always 1."},
    {kVolumeHealth, "estate_hardware_volume_health", false, "Logical volume health: " HEALTH_ENC},
    {kVolumeCapacity, "estate_hardware_volume_capacity_bytes", false, "Logical volume capacity in bytes."},
    {kFanHealth, "estate_hardware_fan_health", false, "Fan health: " HEALTH_ENC},
    {kFanRpm, "estate_hardware_fan_speed_rpm", false, "Fan speed in revolutions per minute."},
    {kFanRatio, "estate_hardware_fan_speed_ratio", false, "Fan speed as a fraction of its maximum, 0 to 1."},
    {kTempCelsius, "estate_hardware_temperature_celsius", false,
     "Temperature sensor reading in degrees Celsius."},
    {kTempHealth, "estate_hardware_temperature_health", false, "Temperature sensor health: " HEALTH_ENC},
    {kTempCritical, "estate_hardware_temperature_upper_critical_celsius", false,
     "Upper critical threshold of a temperature sensor (Redfish UpperThresholdCritical, RIBCL CAUTION)."},
    {kTempFatal, "estate_hardware_temperature_upper_fatal_celsius", false,
     "Upper fatal threshold of a temperature sensor (Redfish UpperThresholdFatal, RIBCL CRITICAL)."},
    {kPsuHealth, "estate_hardware_psu_health", false, "Power supply health: " HEALTH_ENC},
    {kPsuInput, "estate_hardware_psu_input_watts", false, "Power supply input power in watts."},
    {kPsuOutput, "estate_hardware_psu_output_watts", false, "Power supply output power in watts."},
    {kPsuCapacity, "estate_hardware_psu_capacity_watts", false, "Power supply rated capacity in watts."},
    {kPsuRedundant, "estate_hardware_psu_redundant", false,
     "1 when the power supply redundancy group is redundant, 0 when redundancy is lost."},
    {kPsuRedundancyHealth, "estate_hardware_psu_redundancy_health", false,
     "Power supply redundancy group health: " HEALTH_ENC},
    {kPowerConsumed, "estate_hardware_power_consumed_watts", false, "Power the server draws, in watts."},
    {kMemoryHealth, "estate_hardware_memory_health", false, "DIMM health: " HEALTH_ENC},
    {kProcessorHealth, "estate_hardware_processor_health", false, "CPU health: " HEALTH_ENC},
    {kFirmwareInfo, "estate_hardware_firmware_info", false,
     "Firmware inventory: component and version; always 1."},
    {kLogEntries, "estate_hardware_log_entries_total", true,
     "Event log entries seen since the exporter started, per log and severity (ok, warning, critical); the "
     "first poll counts the entries already in the log."},
    {kLogLastCritical, "estate_hardware_log_last_critical_timestamp_seconds", false,
     "Unix time of the newest critical entry in a log."},
    {kPollRequests, "estate_hardware_poll_requests", false,
     "HTTP requests the last poll of a data group made to the BMC."},
    {kPollFailedRequests, "estate_hardware_poll_failed_requests", false,
     "Requests of the last poll of a data group that failed: transport errors and timeouts, HTTP errors, "
     "bodies that are not JSON, and a 404 for a resource that served data before. What they would have read "
     "is "
     "served as it was last read (see estate_hardware_poll_stale_resources)."},
    {kPollComplete, "estate_hardware_poll_complete", false,
     "1 when every request of the last poll of a data group succeeded, 0 when the poll was partial: some "
     "resources are served as they were last read."},
    {kPollNotPresent, "estate_hardware_poll_not_present_resources", false,
     "Resources the last poll of a data group found not there (404, 410 or a Redfish error body) that never "
     "served data: not failures."},
    {kPollStaleResources, "estate_hardware_poll_stale_resources", false,
     "Resources whose reads failed in the last poll of a data group and whose data is served as it was last "
     "read (until it is older than last_good_max_age)."},
    {kPollStaleAge, "estate_hardware_poll_stale_data_age_seconds", false,
     "Age of the oldest data the last poll of a data group served from an earlier poll; 0 when none."},
}};

metrics::Labels With(const metrics::Labels& base,
                     std::initializer_list<std::pair<std::string, std::string>> more) {
  metrics::Labels l = base;
  for (const auto& kv : more) l.push_back(kv);
  return l;
}

class Builder {
 public:
  Builder() {
    for (const Def& d : kDefs) {
      families_.push_back(d.counter ? metrics::Counter(d.name, d.help) : metrics::Gauge(d.name, d.help));
    }
  }
  void Add(Id id, const metrics::Labels& labels, double value) { metrics::Add(families_[id], labels, value); }
  void Health(Id id, const metrics::Labels& labels, hardware::Health h) {
    if (h != hardware::Health::kUnknown) Add(id, labels, static_cast<double>(static_cast<int>(h)));
  }
  // Percentages are divided (not multiplied by 0.01) so 35 % renders as 0.35 exactly.
  void Opt(Id id, const metrics::Labels& labels, const std::optional<double>& v, double divisor = 1) {
    if (v.has_value()) Add(id, labels, *v / divisor);
  }
  metrics::Families Take() {
    metrics::Families out;
    for (auto& f : families_) {
      if (!f.metric.empty()) out.push_back(std::move(f));
    }
    return out;
  }

 private:
  metrics::Families families_;
};

void CountStates(Builder& b, const metrics::Labels& base, const char* kind, std::map<State, int>& counts) {
  for (const auto& [state, n] : counts) {
    b.Add(kComponents, With(base, {{"kind", kind}, {"state", std::string(StateName(state))}}), n);
  }
}

template <typename T>
std::map<State, int> StatesOf(const std::vector<T>& items) {
  std::map<State, int> counts;
  for (const auto& x : items) {
    State s = x.status.state;
    if (s == State::kUnknown && x.status.health != Health::kUnknown) s = State::kEnabled;
    counts[s]++;
  }
  return counts;
}

}  // namespace

std::vector<std::string> FamilyNames() {
  std::vector<std::string> names;
  for (const Def& d : kDefs) names.emplace_back(d.name);
  return names;
}

metrics::Families BuildFamilies(const Findings& f, const metrics::Labels& base, const PollInfo& poll,
                                const Findings* health_view, bool computed_health) {
  Builder b;
  if (f.has_identity) {
    const Identity& id = f.identity;
    b.Add(kInfo,
          With(base, {{"vendor", id.vendor},
                      {"model", id.model},
                      {"serial", id.serial},
                      {"uuid", id.uuid},
                      {"sku", id.sku},
                      {"bios_version", id.bios_version},
                      {"bmc_model", id.bmc_model},
                      {"bmc_firmware", id.bmc_firmware},
                      {"host_name", id.host_name},
                      {"protocol", id.protocol}}),
          1);
  }
  if (f.power != PowerState::kUnknown) b.Add(kPowerState, base, static_cast<int>(f.power));

  if (health_view != nullptr) {
    const Findings& h = *health_view;
    b.Health(kReportedHealth, With(base, {{"resource", "system"}}), h.system_reported);
    b.Health(kReportedHealth, With(base, {{"resource", "chassis"}}), h.chassis_reported);
    b.Health(kReportedHealth, With(base, {{"resource", "manager"}}), h.manager_reported);
    if (computed_health) {
      ComputedHealth c = ComputeHealth(h);
      b.Health(kComputedHealth, With(base, {{"resource", "system"}}), c.system);
      b.Health(kComputedHealth, With(base, {{"resource", "chassis"}}), c.chassis);
    }
  }

  if (f.has_storage) {
    for (const auto& c : f.controllers) {
      const auto l = With(base, {{"controller", c.key}});
      b.Add(kControllerInfo,
            With(l, {{"name", c.name}, {"model", c.model}, {"serial", c.serial}, {"firmware", c.firmware}}),
            1);
      b.Health(kControllerHealth, l, c.status.health);
      b.Health(kControllerCacheHealth, l, c.cache_health);
      b.Opt(kControllerCacheBytes, l, c.cache_bytes);
    }
    for (const auto& d : f.drives) {
      const auto l = With(base, {{"controller", d.controller}, {"drive", d.key}});
      b.Add(kDriveInfo,
            With(l, {{"model", d.model},
                     {"serial", d.serial},
                     {"media_type", d.media_type},
                     {"protocol", d.protocol},
                     {"location", d.location}}),
            1);
      b.Health(kDriveHealth, l, d.status.health);
      if (d.failure_predicted.has_value()) b.Add(kDriveFailurePredicted, l, *d.failure_predicted ? 1 : 0);
      b.Opt(kDriveLifeLeft, l, d.life_left_percent, 100);
      b.Opt(kDriveCapacity, l, d.capacity_bytes);
    }
    for (const auto& v : f.volumes) {
      const auto l = With(base, {{"controller", v.controller}, {"volume", v.key}});
      b.Add(kVolumeInfo, With(l, {{"name", v.name}, {"raid_type", v.raid_type}}), 1);
      b.Health(kVolumeHealth, l, v.status.health);
      b.Opt(kVolumeCapacity, l, v.capacity_bytes);
    }
    auto drives = StatesOf(f.drives);
    CountStates(b, base, "drive", drives);
    std::map<State, int> batteries;
    for (const auto& bat : f.batteries) {
      batteries[bat.state == BatteryState::kAbsent
                    ? State::kAbsent
                    : (bat.state == BatteryState::kUnknown && bat.health == Health::kUnknown
                           ? State::kUnknown
                           : State::kEnabled)]++;
    }
    CountStates(b, base, "battery", batteries);
    for (const auto& bat : f.batteries) {
      const auto l = With(base, {{"battery", bat.key}, {"controller", bat.controller}});
      b.Add(kBatteryInfo,
            With(l, {{"source", std::string(BatterySourceName(bat.source))},
                     {"model", bat.model},
                     {"serial", bat.serial}}),
            1);
      b.Health(kBatteryHealth, l, bat.health);
      if (bat.state != BatteryState::kUnknown) b.Add(kBatteryState, l, static_cast<int>(bat.state));
      b.Opt(kBatteryCharge, l, bat.charge_percent, 100);
    }
  }

  if (f.has_thermal) {
    for (const auto& fan : f.fans) {
      const auto l = With(base, {{"fan", fan.key}});
      b.Health(kFanHealth, l, fan.status.health);
      if (!InService(fan.status.state)) continue;
      b.Opt(kFanRpm, l, fan.rpm);
      b.Opt(kFanRatio, l, fan.percent, 100);
    }
    for (const auto& t : f.temperatures) {
      const auto l = With(base, {{"sensor", t.key}});
      b.Health(kTempHealth, l, t.status.health);
      // Absent is not failed, and a sensor that reads nothing has no thresholds worth comparing against.
      if (!InService(t.status.state) || !t.celsius.has_value()) continue;
      b.Opt(kTempCelsius, l, t.celsius);
      b.Opt(kTempCritical, l, t.upper_critical);
      b.Opt(kTempFatal, l, t.upper_fatal);
    }
    auto fans = StatesOf(f.fans);
    CountStates(b, base, "fan", fans);
    auto temps = StatesOf(f.temperatures);
    CountStates(b, base, "temperature", temps);
  }

  if (f.has_power) {
    for (const auto& p : f.psus) {
      const auto l = With(base, {{"psu", p.key}});
      b.Health(kPsuHealth, l, p.status.health);
      b.Opt(kPsuCapacity, l, p.capacity_watts);  // a rating, not a reading: kept while the PSU is disabled
      if (!InService(p.status.state)) continue;
      b.Opt(kPsuInput, l, p.input_watts);
      b.Opt(kPsuOutput, l, p.output_watts);
    }
    for (const auto& r : f.psu_redundancy) {
      const auto l = With(base, {{"group", r.key}});
      if (r.redundant.has_value()) b.Add(kPsuRedundant, l, *r.redundant ? 1 : 0);
      b.Health(kPsuRedundancyHealth, l, r.health);
    }
    b.Opt(kPowerConsumed, base, f.power_consumed_watts);
    auto psus = StatesOf(f.psus);
    CountStates(b, base, "psu", psus);
  }

  if (f.has_inventory) {
    for (const auto& d : f.dimms) b.Health(kMemoryHealth, With(base, {{"dimm", d.key}}), d.status.health);
    for (const auto& c : f.cpus) b.Health(kProcessorHealth, With(base, {{"cpu", c.key}}), c.status.health);
    for (const auto& fw : f.firmware) {
      b.Add(kFirmwareInfo, With(base, {{"component", fw.component}, {"version", fw.version}}), 1);
    }
    auto dimms = StatesOf(f.dimms);
    CountStates(b, base, "dimm", dimms);
    auto cpus = StatesOf(f.cpus);
    CountStates(b, base, "cpu", cpus);
  }

  if (f.has_logs) {
    for (const auto& log : f.logs) {
      for (Health sev : {Health::kOk, Health::kWarning, Health::kCritical}) {
        auto it = log.entries.find(sev);
        b.Add(kLogEntries, With(base, {{"log", log.log}, {"severity", std::string(HealthName(sev))}}),
              it == log.entries.end() ? 0 : it->second);
      }
      b.Opt(kLogLastCritical, With(base, {{"log", log.log}}), log.last_critical_unix);
    }
  }

  if (poll.requests >= 0) {
    b.Add(kPollRequests, With(base, {{"group", poll.group}}), poll.requests);
    b.Add(kPollFailedRequests, With(base, {{"group", poll.group}}), poll.failed_requests);
    b.Add(kPollComplete, With(base, {{"group", poll.group}}), poll.failed_requests == 0 ? 1 : 0);
    b.Add(kPollNotPresent, With(base, {{"group", poll.group}}), poll.not_present);
    b.Add(kPollStaleResources, With(base, {{"group", poll.group}}), poll.stale_resources);
    b.Add(kPollStaleAge, With(base, {{"group", poll.group}}), poll.stale_age_seconds);
  }
  return b.Take();
}

}  // namespace estate::hardware
