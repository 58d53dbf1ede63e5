// The vendor-neutral model of what one BMC reports: identity, power, rollups, storage (controllers, caches,
// batteries, drives, volumes), environment (fans, temperatures, PSUs, redundancy), components (DIMMs, CPUs),
// firmware and event-log summaries. Every parser (Redfish DMTF + OEM, HP REST, RIBCL) fills this model and
// the metric layer reads only this model, so vendor quirks stay inside the parsers.
//
// Health is encoded once for everything (see Health). A component that is absent, not installed or disabled
// carries its state in `state` and has no health (kUnknown): "Critical" with State "Disabled" is not a fault.
//
// Plain values; not thread-safe; copy freely.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace estate::hardware {

// 0 = OK, 1 = Warning, 2 = Critical. kUnknown = not reported / not applicable (no sample is exported).
enum class Health { kUnknown = -1, kOk = 0, kWarning = 1, kCritical = 2 };

// Component state, normalised from Redfish Status.State, HPE/RIBCL status strings and presence flags.
enum class State {
  kUnknown,   // not reported: treated as enabled when a health is reported
  kEnabled,   // present and in service
  kDisabled,  // present but disabled / offline / in standby: its health is not a fault
  kAbsent,    // absent, not installed, not present
};

// Normalises a health word from any vendor: OK/Ok/Good/Normal -> kOk; Warning/Degraded/Caution/Predictive...
// -> kWarning; Critical/Failed/Error/Fault/Dead -> kCritical; anything else -> kUnknown.
Health ParseHealth(std::string_view text);
// Normalises a state word: Enabled -> kEnabled; Disabled/StandbyOffline/UnavailableOffline/... -> kDisabled;
// Absent/Not Installed/Not Present/NotPresent -> kAbsent; anything else -> kUnknown.
State ParseState(std::string_view text);
// True for status words that mean "nothing there" (RIBCL "Not Installed", HPE "NotPresent", ...).
bool MeansAbsent(std::string_view text);
// False for absent and disabled components: they have no health, and their readings (speeds, temperatures,
// watts) and thresholds are not exported.
bool InService(State state);
// The effective health given a state: kUnknown unless the component is enabled (or its state unknown).
Health EffectiveHealth(Health health, State state);
Health Worst(Health a, Health b);
std::string_view HealthName(Health h);
std::string_view StateName(State s);

// Where an item was read from, so that a later poll whose read of one of those resources fails can keep the
// item as it was last read (CarryOver) instead of dropping it.
struct Origin {
  std::vector<std::string> deps;  // PathKeys of every resource read to build the item, the listing first
  double read_unix = 0;           // when it was read; an item served from an earlier poll keeps its time
};

struct Status {
  Health health = Health::kUnknown;  // effective health (already kUnknown when disabled / absent)
  State state = State::kUnknown;
  Health rollup = Health::kUnknown;  // HealthRollup as reported, when the resource has one
};

struct Identity {
  std::string vendor;
  std::string model;
  std::string serial;
  std::string uuid;
  std::string sku;
  std::string bios_version;
  std::string bmc_model;     // "iLO 5", "iDRAC 9", ...
  std::string bmc_firmware;  // "2.46"
  std::string host_name;
  std::string protocol;  // "redfish", "hp_rest", "ribcl"
};

enum class PowerState { kUnknown = -1, kOff = 0, kOn = 1, kPoweringOn = 2, kPoweringOff = 3 };
PowerState ParsePowerState(std::string_view text);

struct StorageController {
  std::string key;  // stable label value, unique per target
  std::string name;
  std::string model;
  std::string serial;
  std::string firmware;
  Status status;
  Health cache_health = Health::kUnknown;  // CacheSummary / CacheModuleStatus / CACHE_MODULE_STATUS
  std::optional<double> cache_bytes;
  Origin origin;  // where it was read from (CarryOver)
};

// Which vendor data a battery came from (a label on estate_hardware_battery_info).
enum class BatterySource {
  kHpeSmartStorageBattery,  // Chassis Oem.Hpe.SmartStorageBattery[] / Systems Oem.Hp(e).Battery[]
  kHpeBackupPowerSource,    // Smart Array BackupPowerSourceStatus
  kRibclBattery,            // RIBCL POWER_SUPPLIES "Battery N" / SMART_STORAGE_BATTERY
  kDellControllerBattery,   // Oem.Dell.DellControllerBattery
  kDmtfBattery,             // Chassis PowerSubsystem/Batteries
};
std::string_view BatterySourceName(BatterySource s);

// Battery operating state: 0 ready, 1 charging, 2 discharging, 3 learning, 4 failed, 5 absent.
enum class BatteryState {
  kUnknown = -1,
  kReady = 0,
  kCharging = 1,
  kDischarging = 2,
  kLearning = 3,
  kFailed = 4,
  kAbsent = 5
};

struct Battery {
  std::string key;
  std::string controller;  // key of the controller it backs, "" for chassis-level batteries
  BatterySource source = BatterySource::kDmtfBattery;
  std::string model;
  std::string serial;
  Health health = Health::kUnknown;
  BatteryState state = BatteryState::kUnknown;
  std::optional<double> charge_percent;
  Origin origin;  // where it was read from (CarryOver)
};

struct Drive {
  std::string key;
  std::string controller;
  std::string model;
  std::string serial;
  std::string media_type;  // HDD / SSD
  std::string protocol;    // SAS / SATA / NVMe
  std::string location;
  Status status;
  std::optional<bool> failure_predicted;
  std::optional<double> life_left_percent;
  std::optional<double> capacity_bytes;
  Origin origin;  // where it was read from (CarryOver)
};

struct Volume {
  std::string key;
  std::string controller;
  std::string name;
  std::string raid_type;  // normalised "RAID0", "RAID1", "RAID10", "RAID5", ...
  Status status;
  std::optional<double> capacity_bytes;
  Origin origin;  // where it was read from (CarryOver)
};

struct Fan {
  std::string key;
  Status status;
  std::optional<double> rpm;
  std::optional<double> percent;
  Origin origin;  // where it was read from (CarryOver)
};

struct Temperature {
  std::string key;
  std::string context;  // PhysicalContext / LOCATION
  Status status;
  std::optional<double> celsius;
  // As the BMC gives them; exported only next to a reading (a threshold of a sensor that reads nothing is
  // noise).
  std::optional<double> upper_critical;  // Redfish UpperThresholdCritical, RIBCL CAUTION
  std::optional<double> upper_fatal;     // Redfish UpperThresholdFatal, RIBCL CRITICAL
  Origin origin;                         // where it was read from (CarryOver)
};

struct PowerSupply {
  std::string key;
  std::string model;
  std::string serial;
  std::string firmware;
  Status status;
  std::optional<double> input_watts;
  std::optional<double> output_watts;
  std::optional<double> capacity_watts;
  Origin origin;  // where it was read from (CarryOver)
};

struct Redundancy {
  std::string key;
  Health health = Health::kUnknown;
  std::optional<bool> redundant;  // true redundant (healthy and in service), false redundancy lost or offline
  Origin origin;                  // where it was read from (CarryOver)
};

struct Component {  // DIMM or CPU
  std::string key;
  Status status;
  Origin origin;  // where it was read from (CarryOver)
};

struct Firmware {
  std::string component;
  std::string version;
  Origin origin;  // where it was read from (CarryOver)
};

struct LogEntry {
  std::string id;
  Health severity = Health::kUnknown;  // OK / Warning / Critical
  double created_unix = 0;             // 0 when unknown
};

// What one log (IML, SEL, IEL, ...) holds, as counted by the parser.
struct LogSummary {
  std::string log;                   // "IML", "SEL", ...
  std::map<Health, double> entries;  // by severity (kOk, kWarning, kCritical)
  std::optional<double> last_critical_unix;
};

struct Findings {
  bool has_identity = false;
  Identity identity;
  PowerState power = PowerState::kUnknown;
  // As reported by the BMC (HealthRollup where present, else Health). Never part of the computed health.
  Health system_reported = Health::kUnknown;
  Health chassis_reported = Health::kUnknown;
  Health manager_reported = Health::kUnknown;

  bool has_storage = false;
  std::vector<StorageController> controllers;
  std::vector<Battery> batteries;
  std::vector<Drive> drives;
  std::vector<Volume> volumes;

  bool has_thermal = false;
  std::vector<Fan> fans;
  std::vector<Temperature> temperatures;

  bool has_power = false;
  std::vector<PowerSupply> psus;
  std::vector<Redundancy> psu_redundancy;
  std::optional<double> power_consumed_watts;

  bool has_inventory = false;
  std::vector<Component> dimms;
  std::vector<Component> cpus;
  std::vector<Firmware> firmware;

  bool has_logs = false;
  std::vector<LogSummary> logs;

  // Origins of the readings that come from a resource other than the system (CarryOver keeps them like
  // items).
  Origin chassis_origin;  // chassis_reported
  Origin manager_origin;  // manager_reported
  Origin power_origin;    // power_consumed_watts

  // Non-fatal problems met while collecting (a member that 404s, an unparsable sub-resource).
  std::vector<std::string> warnings;
};

// Worst-of-leaves health, never what the BMC says of the resource itself (neither its rollup nor its own
// Health, which some BMCs fill with the rollup): chassis = fans, temperatures, PSUs, redundancy and chassis
// batteries; system = storage (controllers, caches, batteries, drives, volumes), DIMMs, CPUs and the chassis
// batteries that back the Smart Array cache. kUnknown when no leaf reports a health. The manager has no
// leaves the exporter reads, so it has no computed health.
struct ComputedHealth {
  Health system = Health::kUnknown;
  Health chassis = Health::kUnknown;
};
ComputedHealth ComputeHealth(const Findings& f);

// Overlays the sections that `from` has onto `into` (used to combine the fast and the slow group).
void MergeInto(Findings& into, const Findings& from);

// The sizes of every item list of a Findings: what a parse adds is what lies past a Mark taken before it.
struct Mark {
  std::size_t controllers = 0, batteries = 0, drives = 0, volumes = 0, fans = 0, temperatures = 0, psus = 0,
              redundancy = 0, dimms = 0, cpus = 0, firmware = 0;
};
Mark MarkOf(const Findings& f);
// Gives every item added since `since` the origin {deps, read_unix}.
void Stamp(Findings& f, const Mark& since, const std::vector<std::string>& deps, double read_unix);

// What CarryOver kept from the earlier findings.
struct CarryStats {
  int items = 0;                    // items (and readings) served as they were last read
  std::set<std::string> resources;  // the failed resources they depend on
  double oldest_read_unix = 0;      // read time of the oldest of them; 0 when none
};
// Last good data per resource. `now` is a fresh poll in which the reads of the resources in `failed`
// (PathKeys) failed; `before` is what the previous poll of the same group served. Every item of `before` that
// depends on a failed resource, and was read less than `max_age_seconds` before `now_unix`, is served again
// as it was: it replaces the fresh item of the same identity (which was read without that resource) or is
// added when the fresh poll has none. Items that depend on no failed resource are the fresh poll's to decide:
// absent from it means gone. Keys are made unique again afterwards.
CarryStats CarryOver(Findings& now, const Findings& before, const std::set<std::string>& failed,
                     double now_unix, double max_age_seconds);
// Every resource (PathKey) that some item or reading of `f` was read from.
std::set<std::string> KnownResources(const Findings& f);

// "RAID 1/RAID 1+0" (RIBCL), "1" (HPE), "Raid10", "RAID1" (DMTF) -> "RAID1" / "RAID10"; "" when empty.
std::string NormaliseRaid(std::string_view text);

// Makes component keys unique within their kind (per controller for drives and volumes), so a BMC that
// repeats Ids or locations never produces duplicate series. Call once a Findings is complete.
void DedupeKeys(Findings& f);

// Makes `key` unique among `used` by appending "_2", "_3", ... (duplicate Ids are a real quirk).
std::string UniqueKey(std::string key, std::map<std::string, int>& used);

// Parses RFC 3339 ("2021-06-17T22:12:01Z", with offsets) and RIBCL "MM/DD/YYYY HH:MM" into Unix seconds; 0
// when unparsable.
double ParseTimestamp(std::string_view text);

}  // namespace estate::hardware
