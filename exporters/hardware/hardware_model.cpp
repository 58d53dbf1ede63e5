#include "hardware_model.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "estate/time_util.h"

namespace estate::hardware {
namespace {

// Lower-cases and drops spaces, underscores, dashes and commas, so "Not Installed", "NotInstalled" and
// "not_installed" compare equal.
std::string Squash(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) out.push_back(static_cast<char>(std::tolower(u)));
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Health ParseHealth(std::string_view text) {
  const std::string s = Squash(text);
  if (s.empty()) return Health::kUnknown;
  if (s == "ok" || s == "good" || s == "goodinuse" || s == "normal" || s == "healthy" || s == "redundant" ||
      s == "informational" || s == "repaired" || s == "ready" || s == "optimal" || s == "online")
    return Health::kOk;
  if (s == "warning" || s == "degraded" || s == "caution" || s == "predictivefailure" || s == "minor" ||
      s == "noncritical" || s == "major" || StartsWith(s, "degraded") || s == "interimrecoverymode" ||
      s == "rebuilding" || s == "recovering" || s == "readyforrebuild" || s == "notredundant" ||
      s == "expanding")
    return Health::kWarning;
  if (s == "critical" || s == "failed" || s == "failure" || s == "error" || s == "fault" || s == "dead" ||
      s == "fatal" || s == "bad" || s == "offline" || s == "predictivefailed" || StartsWith(s, "failed"))
    return Health::kCritical;
  return Health::kUnknown;
}

bool MeansAbsent(std::string_view text) {
  const std::string s = Squash(text);
  return s == "absent" || s == "notinstalled" || s == "notpresent" || s == "notpresentnotinstalled" ||
         s == "missing" || s == "notconfigured" || s == "empty";
}

State ParseState(std::string_view text) {
  const std::string s = Squash(text);
  if (s.empty()) return State::kUnknown;
  if (MeansAbsent(text)) return State::kAbsent;
  if (s == "enabled" || s == "present" || s == "inservice" || s == "ok") return State::kEnabled;
  if (s == "disabled" || s == "standbyoffline" || s == "standbyspare" || s == "unavailableoffline" ||
      s == "deferring" || s == "quiesced" || s == "intest" || s == "starting" || s == "updating")
    return State::kDisabled;
  return State::kUnknown;
}

bool InService(State state) { return state != State::kAbsent && state != State::kDisabled; }

Health EffectiveHealth(Health health, State state) { return InService(state) ? health : Health::kUnknown; }

Health Worst(Health a, Health b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

std::string_view HealthName(Health h) {
  switch (h) {
    case Health::kOk:
      return "ok";
    case Health::kWarning:
      return "warning";
    case Health::kCritical:
      return "critical";
    case Health::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view StateName(State s) {
  switch (s) {
    case State::kEnabled:
      return "enabled";
    case State::kDisabled:
      return "disabled";
    case State::kAbsent:
      return "absent";
    case State::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view BatterySourceName(BatterySource s) {
  switch (s) {
    case BatterySource::kHpeSmartStorageBattery:
      return "hpe_smart_storage_battery";
    case BatterySource::kHpeBackupPowerSource:
      return "hpe_backup_power_source";
    case BatterySource::kRibclBattery:
      return "ribcl_battery";
    case BatterySource::kDellControllerBattery:
      return "dell_controller_battery";
    case BatterySource::kDmtfBattery:
      return "dmtf_battery";
  }
  return "unknown";
}

PowerState ParsePowerState(std::string_view text) {
  const std::string s = Squash(text);
  if (s == "on") return PowerState::kOn;
  if (s == "off") return PowerState::kOff;
  if (s == "poweringon") return PowerState::kPoweringOn;
  if (s == "poweringoff") return PowerState::kPoweringOff;
  return PowerState::kUnknown;
}

ComputedHealth ComputeHealth(const Findings& f) {
  ComputedHealth c;
  for (const auto& x : f.controllers) c.system = Worst(Worst(c.system, x.status.health), x.cache_health);
  for (const auto& x : f.drives) {
    c.system = Worst(c.system, x.status.health);
    if (x.failure_predicted.value_or(false)) c.system = Worst(c.system, Health::kWarning);
  }
  for (const auto& x : f.volumes) c.system = Worst(c.system, x.status.health);
  for (const auto& x : f.dimms) c.system = Worst(c.system, x.status.health);
  for (const auto& x : f.cpus) c.system = Worst(c.system, x.status.health);

  for (const auto& x : f.fans) c.chassis = Worst(c.chassis, x.status.health);
  for (const auto& x : f.temperatures) c.chassis = Worst(c.chassis, x.status.health);
  for (const auto& x : f.psus) c.chassis = Worst(c.chassis, x.status.health);
  for (const auto& x : f.psu_redundancy) {
    c.chassis = Worst(c.chassis, x.health);
    if (x.redundant.has_value() && !*x.redundant) c.chassis = Worst(c.chassis, Health::kWarning);
  }
  for (const auto& b : f.batteries) {
    // A battery backing a controller belongs to the storage tree; chassis batteries to the chassis.
    if (b.controller.empty()) {
      c.chassis = Worst(c.chassis, b.health);
      c.system = Worst(c.system, b.health);  // HPE's chassis battery backs the Smart Array cache
    } else {
      c.system = Worst(c.system, b.health);
    }
  }
  return c;
}

void MergeInto(Findings& into, const Findings& from) {
  if (from.has_identity) {
    into.has_identity = true;
    into.identity = from.identity;
  }
  if (from.power != PowerState::kUnknown) into.power = from.power;
  auto keep = [](Health& dst, Health src) {
    if (src != Health::kUnknown) dst = src;
  };
  keep(into.system_reported, from.system_reported);
  keep(into.chassis_reported, from.chassis_reported);
  keep(into.manager_reported, from.manager_reported);
  if (from.has_storage) {
    into.has_storage = true;
    into.controllers = from.controllers;
    into.drives = from.drives;
    into.volumes = from.volumes;
    // Batteries come from storage and chassis data alike; the storage pass collects all of them.
    into.batteries = from.batteries;
  }
  if (from.has_thermal) {
    into.has_thermal = true;
    into.fans = from.fans;
    into.temperatures = from.temperatures;
  }
  if (from.has_power) {
    into.has_power = true;
    into.psus = from.psus;
    into.psu_redundancy = from.psu_redundancy;
    into.power_consumed_watts = from.power_consumed_watts;
  }
  if (from.has_inventory) {
    into.has_inventory = true;
    into.dimms = from.dimms;
    into.cpus = from.cpus;
    into.firmware = from.firmware;
  }
  if (from.has_logs) {
    into.has_logs = true;
    into.logs = from.logs;
  }
}

std::string UniqueKey(std::string key, std::map<std::string, int>& used) {
  if (key.empty()) key = "unknown";
  int& n = used[key];
  ++n;
  if (n == 1) return key;
  std::string candidate;
  int suffix = n;
  do {
    candidate = key + "_" + std::to_string(suffix++);
  } while (used.count(candidate) != 0);
  used[candidate] = 1;
  return candidate;
}

void DedupeKeys(Findings& f) {
  auto dedupe = [](auto& items, auto scope) {
    std::map<std::string, int> used;
    for (auto& x : items) {
      if (x.key.empty()) x.key = "unknown";
      std::string scoped = scope(x);
      std::string unique = UniqueKey(scoped + "\x1f" + x.key, used);
      x.key = unique.substr(scoped.size() + 1);
    }
  };
  auto none = [](const auto&) { return std::string(); };
  auto by_controller = [](const auto& x) { return x.controller; };
  dedupe(f.controllers, none);
  dedupe(f.batteries, none);
  dedupe(f.drives, by_controller);
  dedupe(f.volumes, by_controller);
  dedupe(f.fans, none);
  dedupe(f.temperatures, none);
  dedupe(f.psus, none);
  dedupe(f.psu_redundancy, none);
  dedupe(f.dimms, none);
  dedupe(f.cpus, none);
  std::map<std::string, int> used;
  for (auto& fw : f.firmware) fw.component = UniqueKey(fw.component, used);
  std::map<std::string, int> used_logs;
  for (auto& l : f.logs) l.log = UniqueKey(l.log, used_logs);
}

Mark MarkOf(const Findings& f) {
  return Mark{f.controllers.size(), f.batteries.size(),    f.drives.size(),  f.volumes.size(),
              f.fans.size(),        f.temperatures.size(), f.psus.size(),    f.psu_redundancy.size(),
              f.dimms.size(),       f.cpus.size(),         f.firmware.size()};
}

namespace {

template <typename T>
void StampList(std::vector<T>& items, std::size_t since, const std::vector<std::string>& deps,
               double read_unix) {
  for (std::size_t i = since; i < items.size(); ++i) items[i].origin = Origin{deps, read_unix};
}

// The identity of an item across polls: its key (within its controller for drives and volumes).
std::string IdOf(const Drive& x) { return x.controller + '\x1f' + x.key; }
std::string IdOf(const Volume& x) { return x.controller + '\x1f' + x.key; }
std::string IdOf(const Firmware& x) { return x.component; }
template <typename T>
std::string IdOf(const T& x) {
  return x.key;
}

bool DependsOn(const Origin& o, const std::set<std::string>& failed) {
  return std::any_of(o.deps.begin(), o.deps.end(),
                     [&](const std::string& d) { return failed.count(d) != 0; });
}

class Carrier {
 public:
  Carrier(const std::set<std::string>& failed, double now_unix, double max_age, CarryStats& stats)
      : failed_(failed), now_(now_unix), max_age_(max_age), stats_(stats) {}

  // Serves the items of `before` that depend on a failed resource again; true when it kept any.
  template <typename T>
  bool List(std::vector<T>& now, const std::vector<T>& before) {
    bool kept = false;
    for (const T& old : before) {
      if (!Keep(old.origin)) continue;
      const std::string id = IdOf(old);
      auto it = std::find_if(now.begin(), now.end(), [&](const T& x) { return IdOf(x) == id; });
      if (it == now.end()) {
        now.push_back(old);
      } else if (DependsOn(it->origin, failed_)) {
        *it = old;  // the fresh one was read without one of its parts (a PSU without its metrics)
      } else {
        continue;
      }
      Count(old.origin);
      kept = true;
    }
    return kept;
  }

  template <typename V>
  void Reading(V& now, Origin& now_origin, const V& before, const Origin& before_origin) {
    if (!Keep(before_origin)) return;
    now = before;
    now_origin = before_origin;
    Count(before_origin);
  }

 private:
  bool Keep(const Origin& o) const {
    return DependsOn(o, failed_) && o.read_unix > 0 && now_ - o.read_unix <= max_age_;
  }
  void Count(const Origin& o) {
    ++stats_.items;
    for (const auto& d : o.deps) {
      if (failed_.count(d) != 0) stats_.resources.insert(d);
    }
    if (stats_.oldest_read_unix == 0 || o.read_unix < stats_.oldest_read_unix)
      stats_.oldest_read_unix = o.read_unix;
  }

  const std::set<std::string>& failed_;
  double now_, max_age_;
  CarryStats& stats_;
};

template <typename T>
void AddDeps(const std::vector<T>& items, std::set<std::string>& out) {
  for (const auto& x : items) out.insert(x.origin.deps.begin(), x.origin.deps.end());
}

}  // namespace

void Stamp(Findings& f, const Mark& since, const std::vector<std::string>& deps, double read_unix) {
  StampList(f.controllers, since.controllers, deps, read_unix);
  StampList(f.batteries, since.batteries, deps, read_unix);
  StampList(f.drives, since.drives, deps, read_unix);
  StampList(f.volumes, since.volumes, deps, read_unix);
  StampList(f.fans, since.fans, deps, read_unix);
  StampList(f.temperatures, since.temperatures, deps, read_unix);
  StampList(f.psus, since.psus, deps, read_unix);
  StampList(f.psu_redundancy, since.redundancy, deps, read_unix);
  StampList(f.dimms, since.dimms, deps, read_unix);
  StampList(f.cpus, since.cpus, deps, read_unix);
  StampList(f.firmware, since.firmware, deps, read_unix);
}

CarryStats CarryOver(Findings& now, const Findings& before, const std::set<std::string>& failed,
                     double now_unix, double max_age_seconds) {
  CarryStats stats;
  if (failed.empty()) return stats;
  Carrier c(failed, now_unix, max_age_seconds, stats);
  bool storage = c.List(now.controllers, before.controllers);
  storage = c.List(now.batteries, before.batteries) || storage;
  storage = c.List(now.drives, before.drives) || storage;
  storage = c.List(now.volumes, before.volumes) || storage;
  if (storage) now.has_storage = true;
  bool thermal = c.List(now.fans, before.fans);
  thermal = c.List(now.temperatures, before.temperatures) || thermal;
  if (thermal) now.has_thermal = true;
  bool power = c.List(now.psus, before.psus);
  power = c.List(now.psu_redundancy, before.psu_redundancy) || power;
  if (power) now.has_power = true;
  bool inventory = c.List(now.dimms, before.dimms);
  inventory = c.List(now.cpus, before.cpus) || inventory;
  inventory = c.List(now.firmware, before.firmware) || inventory;
  if (inventory) now.has_inventory = true;
  c.Reading(now.chassis_reported, now.chassis_origin, before.chassis_reported, before.chassis_origin);
  c.Reading(now.manager_reported, now.manager_origin, before.manager_reported, before.manager_origin);
  c.Reading(now.power_consumed_watts, now.power_origin, before.power_consumed_watts, before.power_origin);
  return stats;
}

std::set<std::string> KnownResources(const Findings& f) {
  std::set<std::string> out;
  AddDeps(f.controllers, out);
  AddDeps(f.batteries, out);
  AddDeps(f.drives, out);
  AddDeps(f.volumes, out);
  AddDeps(f.fans, out);
  AddDeps(f.temperatures, out);
  AddDeps(f.psus, out);
  AddDeps(f.psu_redundancy, out);
  AddDeps(f.dimms, out);
  AddDeps(f.cpus, out);
  AddDeps(f.firmware, out);
  for (const Origin* o : {&f.chassis_origin, &f.manager_origin, &f.power_origin}) {
    out.insert(o->deps.begin(), o->deps.end());
  }
  return out;
}

std::string NormaliseRaid(std::string_view text) {
  std::string s(text);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // "RAID 1/RAID 1+0" (RIBCL): the last alternative is the configured level.
  if (auto slash = s.rfind('/'); slash != std::string::npos) s = s.substr(slash + 1);
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) out.push_back(c);
  }
  if (out.rfind("raid", 0) == 0) out = out.substr(4);
  if (out.empty()) return std::string();
  if (out == "10" || out == "1+0") return "RAID10";
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "RAID" + out;
}

double ParseTimestamp(std::string_view text) {
  if (text.size() >= 19 && text[4] == '-' && text[7] == '-' && (text[10] == 'T' || text[10] == ' ')) {
    // Whole seconds, as event times have always been reported; what follows the timestamp is ignored.
    const auto t = ParseIsoPrefix(text);
    if (!t || !t->has_seconds || t->year < 1970) return 0;
    return t->unix - t->fraction;
  }
  // RIBCL IML: "MM/DD/YYYY HH:MM" in the BMC's clock, taken as UTC.
  std::string s(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  if (s.size() < 16 || s[2] != '/' || s[5] != '/' ||
      std::sscanf(s.c_str(), "%2d/%2d/%4d %2d:%2d", &mo, &d, &y, &h, &mi) != 5) {
    return 0;
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31) return 0;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return static_cast<double>(timegm(&tm));
}

}  // namespace estate::hardware
