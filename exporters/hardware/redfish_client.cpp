#include "redfish_client.h"

#include <algorithm>
#include <chrono>

#include "estate/json_util.h"
#include "estate/log.h"
#include "estate/url.h"

namespace estate::hardware {

using redfish::Json;
using redfish::Member;

namespace {

std::string Join(const std::string& base, const std::string& leaf) {
  if (base.empty()) return leaf;
  return base.back() == '/' ? base + leaf : base + "/" + leaf;
}

// A link without its query, fragment and trailing '/', ready for a query of our own. Unlike
// redfish::NormalisePath it keeps the origin of an absolute link: whether that may be followed is for the
// transport to decide (RedfishClient refuses any origin but the BMC's own).
std::string Bare(const std::string& uri) {
  std::string s = uri.substr(0, uri.find_first_of("?#"));
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Gives what one chassis added since `since` (fans, temperatures, PSUs, redundancy groups) its chassis key.
void TagChassis(Findings& f, const Mark& since, const std::string& chassis) {
  auto tag = [&](auto& items, std::size_t from) {
    for (std::size_t i = from; i < items.size(); ++i) items[i].chassis = chassis;
  };
  tag(f.fans, since.fans);
  tag(f.temperatures, since.temperatures);
  tag(f.psus, since.psus);
  tag(f.psu_redundancy, since.redundancy);
}

double NowUnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool NotThere(const std::string& error) {
  auto ends = [&](std::string_view tail) {
    return error.size() >= tail.size() && error.compare(error.size() - tail.size(), tail.size(), tail) == 0;
  };
  return ends(": HTTP 404") || ends(": HTTP 410") || error.find(": not present (") != std::string::npos;
}

RedfishCollector::RedfishCollector(Getter get, Options options) : get_(std::move(get)), options_(options) {}

std::string RedfishCollector::Resolve(const std::string& uri) const {
  // iLO 4's HP REST resources carry Redfish-style @odata.id values next to their /rest/v1 links. Links are
  // otherwise passed on as they are, absolute ones too: the transport decides whether they may be followed.
  if (!hp_rest_) return uri;
  if (uri.rfind("/redfish/v1", 0) == 0) return "/rest/v1" + uri.substr(11);
  if (auto u = url::Parse(uri); u && u->path.rfind("/redfish/v1", 0) == 0) {
    u->path = "/rest/v1" + u->path.substr(11);
    return u->ToString();
  }
  return uri;
}

Result<Json> RedfishCollector::Get(const std::string& uri) {
  const std::string key = redfish::PathKey(Resolve(uri));
  if (auto it = cycle_cache_.find(key); it != cycle_cache_.end()) return it->second;
  auto r = get_(Resolve(uri));
  if (!r) return r;
  // Every resource comes through here, so this is the one place a Redfish error body sent with HTTP 200 is
  // told from a resource: it is what a 404 is (the resource is not there), never a component named "unknown".
  if (auto error = redfish::RedfishError(*r)) {
    return MakeError("GET " + url::Describe(uri) + ": not present (Redfish error body: " + *error + ")");
  }
  cycle_cache_[key] = *r;
  return r;
}

std::string RedfishCollector::Key(const std::string& uri) const { return redfish::PathKey(Resolve(uri)); }

void RedfishCollector::NoteFailure(const std::string& uri, const std::string& error) {
  // A resource that was never there (404, 410, a Redfish error body) is not a failure; one that served data
  // before is, until discovery no longer lists it.
  const std::string key = Key(uri);
  if (NotThere(error) && known_.count(key) == 0) {
    ++not_present_;
    return;
  }
  ++failed_;
  failed_keys_.insert(key);
  if (problems_.size() < 20) problems_.push_back(error);
}

Json RedfishCollector::TryGet(const std::string& uri) {
  if (uri.empty()) return Json();
  auto r = Get(uri);
  if (!r) {
    NoteFailure(uri, r.error());
    return Json();
  }
  return std::move(*r);
}

std::vector<Member> RedfishCollector::ReadMembers(const std::string& collection_uri, int levels,
                                                  bool fetch_bodies) {
  if (collection_uri.empty()) return {};
  std::string uri = Bare(Resolve(collection_uri));
  const int use = std::min(levels, expand_levels_);
  if (use == 1)
    uri += "?$expand=.";
  else if (use > 1)
    uri += "?$expand=.($levels=" + std::to_string(use) + ")";
  Json body = TryGet(uri);
  if (body.is_null()) return {};
  std::vector<Member> members = redfish::Members(body);
  for (auto& m : members) {
    if (!m.body.is_null()) {
      cycle_cache_.emplace(redfish::PathKey(Resolve(m.uri)), m.body);
    } else if (fetch_bodies) {
      m.body = TryGet(m.uri);
    }
  }
  if (fetch_bodies) {
    std::erase_if(members, [](const Member& m) { return m.body.is_null(); });
  }
  return members;
}

Result<Topology> RedfishCollector::Discover(const std::string& api_root) {
  Topology t;
  t.api_root = api_root;
  hp_rest_ = api_root.find("/rest/") != std::string::npos;
  auto root = Get(api_root);
  if (!root) return MakeError("service root: " + root.error());
  t.root = redfish::ParseServiceRoot(*root);
  t.root.hp_rest = t.root.hp_rest || hp_rest_;
  expand_levels_ = options_.use_expand ? t.root.expand_levels : 0;

  // Collections with a conventional fallback: some BMCs (and trimmed captures) lack the collection itself.
  auto members_of = [&](std::string link, const char* name) {
    if (link.empty()) link = Join(api_root, name);
    std::vector<std::string> out;
    auto body = Get(link);
    if (body) {
      for (const auto& m : redfish::Members(*body)) {
        if (!m.body.is_null()) cycle_cache_.emplace(redfish::PathKey(Resolve(m.uri)), m.body);
        out.push_back(m.uri);
      }
    } else {
      // A collection that is not there is guessed at; one that failed makes this discovery incomplete.
      if (!NotThere(body.error())) NoteFailure(link, body.error());
      std::string guess = Join(link, "1");
      if (Get(guess)) out.push_back(guess);
    }
    return out;
  };
  t.systems = members_of(t.root.systems, "Systems");
  t.managers = members_of(t.root.managers, "Managers");
  std::vector<std::string> chassis = members_of(t.root.chassis, "Chassis");
  if (t.systems.empty()) return MakeError("no computer system found under " + api_root);

  for (const auto& uri : chassis) {
    Json body = TryGet(uri);
    if (body.is_null()) continue;
    Topology::Chassis c;
    c.uri = uri;
    c.thermal = redfish::FindLink(body, "Thermal");
    c.power = redfish::FindLink(body, "Power");
    c.thermal_subsystem = redfish::FindLink(body, "ThermalSubsystem");
    c.power_subsystem = redfish::FindLink(body, "PowerSubsystem");
    c.sensors = redfish::FindLink(body, "Sensors");
    t.chassis.push_back(std::move(c));
  }

  auto system_body = Get(t.systems.front());
  if (!system_body) {
    return MakeError("computer system " + url::Describe(t.systems.front()) +
                     " unreadable: " + system_body.error());
  }
  const Json& system = *system_body;
  if (std::string storage = redfish::FindLink(system, "Storage"); !storage.empty()) {
    for (const auto& m : ReadMembers(storage, 0, false)) t.storage.push_back(m.uri);
  }
  std::string smart = redfish::FindLink(system, "SmartStorage");
  const std::string vendor = redfish::GuessVendor(system);
  if (smart.empty() && (vendor == "HPE" || vendor == "HP")) smart = Join(t.systems.front(), "SmartStorage");
  if (!smart.empty()) {
    auto body = Get(smart);  // absent on servers without Smart Array support: not a problem
    if (body) {
      std::string controllers = redfish::FindLink(*body, "ArrayControllers");
      for (const auto& m : ReadMembers(controllers, 0, false)) t.array_controllers.push_back(m.uri);
    }
  }
  t.memory = redfish::FindLink(system, "Memory");
  if (t.memory.empty()) t.memory = redfish::FindLink(system, "MEMORY");
  t.processors = redfish::FindLink(system, "Processors");
  if (!t.root.update_service.empty()) {
    Json update = TryGet(t.root.update_service);
    t.firmware_inventory = redfish::FindLink(update, "FirmwareInventory");
  }

  // Event logs of the system, the managers and the chassis.
  std::vector<std::string> holders = {t.systems.front()};
  for (const auto& m : t.managers) holders.push_back(m);
  for (const auto& c : t.chassis) holders.push_back(c.uri);
  for (const auto& holder : holders) {
    Json body = TryGet(holder);
    std::string services = redfish::FindLink(body, "LogServices");
    if (services.empty()) continue;
    for (const auto& m : ReadMembers(services, 1, true)) {
      std::string entries = redfish::FindLink(m.body, "Entries");
      if (entries.empty()) continue;
      std::string name = redfish::Str(m.body, "Id");
      if (name.empty()) name = redfish::LastSegment(m.uri);
      t.logs.emplace_back(name, entries);
    }
  }
  t.valid = true;
  return t;
}

Result<Findings> RedfishCollector::CollectFast(const Topology& t) {
  hp_rest_ = t.root.hp_rest;
  expand_levels_ = options_.use_expand ? t.root.expand_levels : 0;
  read_unix_ = NowUnixSeconds();
  Findings f;
  if (t.systems.empty()) return MakeError("no computer system known");
  auto system = Get(t.systems.front());
  if (!system) return MakeError("computer system: " + system.error());
  redfish::ParseSystem(*system, f);
  f.batteries.clear();  // batteries belong to the slow (storage) group
  f.has_identity = false;
  f.identity = Identity{};
  // The system's own power redundancy summary (HPE AggregateHealthStatus) stands in only when no Power
  // resource has redundancy groups, which is known once every Power resource has been read.
  std::vector<Redundancy> summary = std::move(f.psu_redundancy);
  f.psu_redundancy.clear();

  bool first = true;
  for (const auto& c : t.chassis) {
    const Mark chassis_mark = MarkOf(f);
    if (first) {
      Json body = TryGet(c.uri);
      if (!body.is_null()) redfish::ParseChassis(body, f);
      f.chassis_origin = Origin{{Key(c.uri)}, read_unix_};
      f.batteries.clear();
      first = false;
    }
    if (!c.thermal.empty()) {
      Mark mark = MarkOf(f);
      Json thermal = TryGet(c.thermal);
      if (!thermal.is_null()) {
        redfish::ParseThermal(thermal, f);
        f.has_thermal = true;
      }
      Stamp(f, mark, {Key(c.thermal)}, read_unix_);
    } else if (!c.thermal_subsystem.empty()) {
      Json ts = TryGet(c.thermal_subsystem);
      const std::string fans = redfish::FindLink(ts, "Fans");
      for (const auto& m : ReadMembers(fans, 1, true)) {
        Mark mark = MarkOf(f);
        f.fans.push_back(redfish::ParseFan(m.body));
        Stamp(f, mark, {Key(c.thermal_subsystem), Key(fans), Key(m.uri)}, read_unix_);
      }
      for (const auto& m : ReadMembers(c.sensors, 1, true)) {
        Mark mark = MarkOf(f);
        if (auto temp = redfish::ParseTemperatureSensor(m.body)) f.temperatures.push_back(std::move(*temp));
        Stamp(f, mark, {Key(c.sensors), Key(m.uri)}, read_unix_);
      }
      f.has_thermal = !ts.is_null();
    }
    if (!c.power.empty()) {
      Mark mark = MarkOf(f);
      Json power = TryGet(c.power);
      if (!power.is_null()) {
        redfish::ParsePower(power, f);
        f.has_power = true;
      }
      Stamp(f, mark, {Key(c.power)}, read_unix_);
      f.power_origin = Origin{{Key(c.power)}, read_unix_};
    } else if (!c.power_subsystem.empty()) {
      Mark mark = MarkOf(f);
      Json ps = TryGet(c.power_subsystem);
      f.power_origin = Origin{{Key(c.power_subsystem)}, read_unix_};
      if (!ps.is_null()) {
        redfish::ParsePowerSubsystem(ps, f);
        Stamp(f, mark, {Key(c.power_subsystem)}, read_unix_);
        const std::string psus = redfish::FindLink(ps, "PowerSupplies");
        for (const auto& m : ReadMembers(psus, 2, true)) {
          Json metrics;
          std::string metrics_uri;
          if (const Json* inline_metrics = redfish::Child(m.body, "Metrics");
              inline_metrics != nullptr && redfish::IsExpanded(*inline_metrics)) {
            metrics = *inline_metrics;
          } else {
            metrics_uri = redfish::FindLink(m.body, "Metrics");
            metrics = TryGet(metrics_uri);
          }
          mark = MarkOf(f);
          f.psus.push_back(redfish::ParsePowerSupply(m.body, metrics));
          std::vector<std::string> deps = {Key(c.power_subsystem), Key(psus), Key(m.uri)};
          if (!metrics_uri.empty()) deps.push_back(Key(metrics_uri));
          Stamp(f, mark, deps, read_unix_);
        }
        f.has_power = true;
      }
    }
    TagChassis(f, chassis_mark, redfish::ChassisKey(c.uri));
  }
  std::vector<std::string> summary_deps = {Key(t.systems.front())};
  bool power_unread = false;
  for (const auto& c : t.chassis) {
    const std::string& power = c.power.empty() ? c.power_subsystem : c.power;
    if (power.empty()) continue;
    summary_deps.push_back(Key(power));
    power_unread = power_unread || failed_keys_.count(Key(power)) != 0;
  }
  if (f.psu_redundancy.empty() && !power_unread && !summary.empty()) {
    // (With a Power resource unread, the groups or the summary of the last good poll are kept instead.)
    Mark mark = MarkOf(f);
    f.psu_redundancy = std::move(summary);
    Stamp(f, mark, summary_deps, read_unix_);
  }
  DedupeKeys(f);
  return f;
}

void RedfishCollector::ReadStorage(const Topology& t, Findings& f) {
  f.has_storage = true;
  if (!t.array_controllers.empty()) {
    // HPE Smart Array: the OEM model carries cache module and backup power source status that the DMTF
    // Storage view of the same controller lacks, so it wins when both exist.
    for (const auto& uri : t.array_controllers) {
      Json body = TryGet(uri);
      if (body.is_null()) continue;
      Mark mark = MarkOf(f);
      auto links = redfish::ParseArrayController(body, f);
      Stamp(f, mark, {Key(uri)}, read_unix_);
      for (const auto& m : ReadMembers(links.disk_drives, 1, true)) {
        mark = MarkOf(f);
        f.drives.push_back(redfish::ParseDrive(m.body, links.controller));
        Stamp(f, mark, {Key(uri), Key(links.disk_drives), Key(m.uri)}, read_unix_);
      }
      for (const auto& m : ReadMembers(links.logical_drives, 1, true)) {
        mark = MarkOf(f);
        f.volumes.push_back(redfish::ParseVolume(m.body, links.controller));
        Stamp(f, mark, {Key(uri), Key(links.logical_drives), Key(m.uri)}, read_unix_);
      }
    }
  } else {
    for (const auto& uri : t.storage) {
      std::string query = Bare(Resolve(uri));
      if (expand_levels_ > 0) query += "?$expand=.";
      Json body = TryGet(query);
      if (body.is_null()) continue;
      Mark mark = MarkOf(f);
      auto links = redfish::ParseStorage(body, f);
      Stamp(f, mark, {Key(uri)}, read_unix_);
      for (auto& d : links.drives) {
        Json drive = d.body.is_null() ? TryGet(d.uri) : d.body;
        if (drive.is_null()) continue;
        mark = MarkOf(f);
        f.drives.push_back(redfish::ParseDrive(drive, links.controller));
        Stamp(f, mark, {Key(uri), Key(d.uri)}, read_unix_);
      }
      for (const auto& m : ReadMembers(links.volumes, 1, true)) {
        mark = MarkOf(f);
        f.volumes.push_back(redfish::ParseVolume(m.body, links.controller));
        Stamp(f, mark, {Key(uri), Key(links.volumes), Key(m.uri)}, read_unix_);
      }
    }
  }
  // DMTF PowerSubsystem batteries (chassis-level energy storage).
  for (const auto& c : t.chassis) {
    if (c.power_subsystem.empty()) continue;
    Json ps = TryGet(c.power_subsystem);
    std::string batteries = redfish::FindLink(ps, "Batteries");
    for (const auto& m : ReadMembers(batteries, 2, true)) {
      Json metrics;
      std::string metrics_uri;
      if (const Json* inline_metrics = redfish::Child(m.body, "Metrics");
          inline_metrics != nullptr && redfish::IsExpanded(*inline_metrics)) {
        metrics = *inline_metrics;
      } else {
        metrics_uri = redfish::FindLink(m.body, "Metrics");
        metrics = TryGet(metrics_uri);
      }
      Mark mark = MarkOf(f);
      f.batteries.push_back(redfish::ParseBattery(m.body, metrics));
      std::vector<std::string> deps = {Key(c.power_subsystem), Key(batteries), Key(m.uri)};
      if (!metrics_uri.empty()) deps.push_back(Key(metrics_uri));
      Stamp(f, mark, deps, read_unix_);
    }
  }
}

void RedfishCollector::ReadLogs(const Topology& t, std::map<std::string, LogCursor>& logs, Findings& f) {
  f.has_logs = true;
  for (const auto& [name, entries_uri] : t.logs) {
    LogCursor& cursor = logs[redfish::PathKey(entries_uri)];
    cursor.totals.log = name;
    std::string uri = Bare(Resolve(entries_uri));
    if (expand_levels_ > 0) uri += "?$expand=.";
    Json body = TryGet(uri);
    if (!body.is_null()) {
      std::vector<Member> members = redfish::Members(body);
      std::set<std::string> current;
      for (const auto& m : members) current.insert(redfish::PathKey(m.uri));
      // A log that was cleared shares no entry with what we saw: start over (the totals stay monotonic).
      bool overlap = std::any_of(current.begin(), current.end(),
                                 [&](const std::string& id) { return cursor.seen.count(id) != 0; });
      if (!overlap) cursor.seen.clear();
      int gets = 0;
      for (const auto& m : members) {
        const std::string id = redfish::PathKey(m.uri);
        if (cursor.seen.count(id) != 0) continue;
        Json entry = m.body;
        if (entry.is_null()) {
          if (gets >= options_.max_log_entry_gets) continue;  // the rest on later polls
          ++gets;
          entry = TryGet(m.uri);
          if (entry.is_null()) continue;
        }
        redfish::AddToLog(redfish::ParseLogEntry(entry), cursor.totals);
        cursor.seen.insert(id);
      }
      // Remember only what is still in the log, so memory stays bounded by the log's size.
      std::erase_if(cursor.seen, [&](const std::string& id) { return current.count(id) == 0; });
    }
    f.logs.push_back(cursor.totals);
  }
}

Result<Findings> RedfishCollector::CollectSlow(const Topology& t, std::map<std::string, LogCursor>& logs) {
  hp_rest_ = t.root.hp_rest;
  expand_levels_ = options_.use_expand ? t.root.expand_levels : 0;
  read_unix_ = NowUnixSeconds();
  Findings f;
  if (t.systems.empty()) return MakeError("no computer system known");
  auto system = Get(t.systems.front());
  if (!system) return MakeError("computer system: " + system.error());
  f.has_identity = true;
  f.identity.bmc_model = t.root.bmc_model;
  f.identity.bmc_firmware = t.root.bmc_firmware;
  Mark mark = MarkOf(f);
  redfish::ParseSystem(*system, f);
  Stamp(f, mark, {Key(t.systems.front())}, read_unix_);
  if (!t.chassis.empty()) {
    mark = MarkOf(f);
    Json chassis = TryGet(t.chassis.front().uri);
    if (!chassis.is_null()) redfish::ParseChassis(chassis, f);
    Stamp(f, mark, {Key(t.chassis.front().uri)}, read_unix_);
    f.chassis_origin = Origin{{Key(t.chassis.front().uri)}, read_unix_};
  }
  if (!t.managers.empty()) {
    Json manager = TryGet(t.managers.front());
    if (!manager.is_null()) redfish::ParseManager(manager, f);
    f.manager_origin = Origin{{Key(t.managers.front())}, read_unix_};
  }
  if (f.identity.vendor.empty()) f.identity.vendor = t.root.vendor;
  if (f.identity.uuid.empty()) f.identity.uuid = t.root.uuid;
  f.identity.protocol = t.root.hp_rest ? "hp_rest" : "redfish";
  f.power = PowerState::kUnknown;  // the fast group owns power state
  // Only the rollups of the fast group are exported; keep the slow copy from overriding them.
  f.psu_redundancy.clear();

  ReadStorage(t, f);
  ReadNetwork(t, f);
  ReadAssemblies(t, f);

  f.has_inventory = true;
  auto read_list = [&](const std::string& collection, auto parse) {
    for (const auto& m : ReadMembers(collection, 1, true)) {
      Mark before = MarkOf(f);
      parse(m.body);
      Stamp(f, before, {Key(collection), Key(m.uri)}, read_unix_);
    }
  };
  read_list(t.memory, [&](const Json& body) { f.dimms.push_back(redfish::ParseMemory(body)); });
  read_list(t.processors, [&](const Json& body) { f.cpus.push_back(redfish::ParseProcessor(body)); });
  read_list(t.firmware_inventory, [&](const Json& body) {
    if (auto fw = redfish::ParseFirmwareItem(body)) f.firmware.push_back(std::move(*fw));
  });
  ReadLogs(t, logs, f);
  DedupeKeys(f);
  return f;
}

// Network adapters and ports. Slow group: NIC health changes rarely and link loss is seen sooner from the
// host side; in the fast group they would add 1 + one per adapter to every fast poll. DMTF
// Chassis/<id>/NetworkAdapters first (one GET per chassis, plus one per adapter for its ports, with $expand).
// Only when no chassis lists an adapter, so that one adapter is never counted twice: HPE's
// BaseNetworkAdapters (iLO 5 has both and often leaves the DMTF collection empty; iLO 4 has only the HPE
// one), else the adapters the system's NetworkInterfaces link to. The chassis and system bodies come from
// discovery.
void RedfishCollector::ReadNetwork(const Topology& t, Findings& f) {
  f.has_network = true;
  // `deps`: the resources read to reach the adapter (for last good data when one of them fails).
  auto add_adapter = [&](const Json& body, const std::string& chassis, const std::vector<std::string>& deps) {
    Mark mark = MarkOf(f);
    const std::string ports = redfish::ParseNetworkAdapter(body, chassis, f);
    Stamp(f, mark, deps, read_unix_);
    const std::string adapter = f.network_adapters.back().key;
    for (const auto& p : ReadMembers(ports, 1, true)) {
      mark = MarkOf(f);
      f.network_ports.push_back(redfish::ParseNetworkPort(p.body, adapter, chassis));
      std::vector<std::string> port_deps = deps;
      port_deps.push_back(Key(ports));
      port_deps.push_back(Key(p.uri));
      Stamp(f, mark, port_deps, read_unix_);
    }
  };
  for (const auto& c : t.chassis) {
    const std::string adapters = redfish::FindLink(TryGet(c.uri), "NetworkAdapters");
    for (const auto& m : ReadMembers(adapters, 1, true)) {
      add_adapter(m.body, redfish::ChassisKey(c.uri), {Key(c.uri), Key(adapters), Key(m.uri)});
    }
  }
  if (!f.network_adapters.empty() || t.systems.empty()) return;
  const Json system = TryGet(t.systems.front());
  const std::string vendor = redfish::GuessVendor(system);
  const std::string chassis = t.chassis.empty() ? std::string() : redfish::ChassisKey(t.chassis.front().uri);
  if (vendor == "HPE" || vendor == "HP") {
    // Oem.Hpe.Links.NetworkAdapters (iLO 5) / Oem.Hp.links.NetworkAdapters (iLO 4) ->
    // .../BaseNetworkAdapters.
    const std::string base = redfish::FindLink(system, "NetworkAdapters");
    for (const auto& m : ReadMembers(base, 1, true)) {
      const Mark mark = MarkOf(f);
      redfish::ParseBaseNetworkAdapter(m.body, chassis, f);  // the adapter and its inline ports
      Stamp(f, mark, {Key(t.systems.front()), Key(base), Key(m.uri)}, read_unix_);
    }
    return;
  }
  // Some BMCs (Supermicro) list adapters only through the system's NetworkInterfaces, whose
  // Links.NetworkAdapter is the adapter (elsewhere it points back into a chassis collection read above).
  const std::string interfaces = redfish::FindLink(system, "NetworkInterfaces");
  for (const auto& m : ReadMembers(interfaces, 1, true)) {
    const std::string link = redfish::FindLink(m.body, "NetworkAdapter");
    const Json adapter = TryGet(link);
    if (!adapter.is_null()) {
      add_adapter(adapter, chassis, {Key(t.systems.front()), Key(interfaces), Key(m.uri), Key(link)});
    }
  }
}

// Chassis/<id>/Assembly: one GET per chassis that links one (the chassis bodies come from discovery).
void RedfishCollector::ReadAssemblies(const Topology& t, Findings& f) {
  f.has_assemblies = true;
  for (const auto& c : t.chassis) {
    const std::string link = redfish::FindLink(TryGet(c.uri), "Assembly");
    if (link.empty()) continue;
    const Mark mark = MarkOf(f);
    const Json body = TryGet(link);
    if (!body.is_null()) redfish::ParseAssembly(body, redfish::ChassisKey(c.uri), f);
    Stamp(f, mark, {Key(c.uri), Key(link)}, read_unix_);
  }
}

// --- transport
// -----------------------------------------------------------------------------------------------

RedfishClient::RedfishClient(http::HttpClient& http, RedfishSettings settings)
    : http_(http), settings_(std::move(settings)) {
  if (settings_.sessions_path.empty()) settings_.sessions_path = "/redfish/v1/SessionService/Sessions";
  basic_ = !settings_.use_sessions;
}

Result<url::Url> RedfishClient::UrlFor(const std::string& link, std::string_view where) const {
  auto u = url::Resolve(settings_.base_url, link);
  if (!u) {
    // A BMC that hands out links to other hosts is misconfigured or compromised; the credentials stay here.
    log::Warn("refused a link from the BMC",
              {{"target", settings_.options.source}, {"where", where}, {"err", u.error()}});
  }
  return u;
}

void RedfishClient::SetSessionsPath(const std::string& path) {
  if (path.empty() || !UrlFor(path, "Links.Sessions")) return;  // the previous (default) path stays
  std::lock_guard<std::mutex> lock(mu_);
  settings_.sessions_path = path;
}

bool RedfishClient::has_session() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !token_.empty();
}

bool RedfishClient::basic_fallback() const {
  std::lock_guard<std::mutex> lock(mu_);
  return basic_;
}

Result<http::Response> RedfishClient::Send(http::Request request, const http::ClientOptions& options,
                                           const Budget& budget) {
  ++requests_;
  return http_.Do(request, options, budget);
}

Result<Ok> RedfishClient::Login(const Budget& budget) {
  auto sessions = UrlFor(settings_.sessions_path, "sessions path");
  if (!sessions) return MakeError("session login: " + sessions.error());
  http::Request req;
  req.method = "POST";
  req.url = sessions->ToString();
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = DumpJson(Json{{"UserName", settings_.username}, {"Password", settings_.password}});
  http::ClientOptions options = settings_.options;
  options.auth = http::Auth{};
  options.max_retries = 0;  // not idempotent: a retry could leave a second session behind
  auto resp = Send(req, options, budget);
  ++logins_;
  if (!resp) return MakeError("session login: " + resp.error());
  if (resp->status == 401 || resp->status == 403) {
    // Some BMCs guard the session service itself with basic auth: ask again with it (a refused POST created
    // no session, so this cannot leave one behind). Only that answer decides between a session, basic auth
    // (no session service behind the guard) and refused credentials.
    options.auth.kind = http::Auth::Kind::kBasic;
    options.auth.username = settings_.username;
    options.auth.password = settings_.password;
    resp = Send(req, options, budget);
    ++logins_;
    if (!resp) return MakeError("session login: " + resp.error());
  }
  if (resp->status == 401 || resp->status == 403) {
    // The credentials were refused. This must not switch the target to basic auth for good: a BMC that is out
    // of sessions or briefly refuses logins would then never be asked for a session again. The poll fails
    // (target down) and the next poll tries a session again.
    return MakeError("session login: HTTP " + std::to_string(resp->status) + " (credentials refused)");
  }
  std::string token = resp->Header("x-auth-token");
  const bool no_session_service = resp->status == 404 || resp->status == 405 || resp->status == 501;
  if (no_session_service || (resp->status >= 200 && resp->status < 300 && token.empty())) {
    // No usable session service: basic auth on every request instead, for the life of this client.
    basic_ = true;
    return Ok{};
  }
  if (resp->status < 200 || resp->status >= 300) {
    return MakeError("session login: HTTP " + std::to_string(resp->status));
  }
  token_ = token;
  // The session's own URI, for the DELETE that ends it (with its token): the Location header, else the body's
  // @odata.id; one that leaves the BMC is refused, and without any the session simply times out on the BMC.
  session_uri_.clear();
  if (std::string location = resp->Header("location");
      !location.empty() && UrlFor(location, "session Location")) {
    session_uri_ = std::move(location);
  } else if (auto body = redfish::ParseBody(resp->body)) {
    std::string self = redfish::Str(*body, "@odata.id");
    if (!self.empty() && UrlFor(self, "session @odata.id")) session_uri_ = std::move(self);
  }
  return Ok{};
}

void RedfishClient::DeleteSession(const std::string& token, const std::string& uri, const Budget& budget) {
  if (token.empty() || uri.empty()) return;
  auto target = UrlFor(uri, "session");
  if (!target) return;
  http::Request req;
  req.method = "DELETE";
  req.url = target->ToString();
  http::ClientOptions options = settings_.options;
  options.auth.kind = http::Auth::Kind::kHeader;
  options.auth.header_name = "X-Auth-Token";
  options.auth.header_value = token;
  options.max_retries = 0;
  (void)Send(req, options, budget);  // best effort: an expired session is already gone
}

Result<redfish::Json> RedfishClient::Get(const std::string& uri, const Budget& budget) {
  auto target = UrlFor(uri, "link");
  if (!target) return MakeError("GET refused: " + target.error());
  const std::string path = target->Target();
  for (int attempt = 0; attempt < 2; ++attempt) {
    http::ClientOptions options = settings_.options;
    std::string used_token;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto authorized = AuthorizeLocked(options, &used_token, budget); !authorized) {
        return MakeError(authorized.error());
      }
    }
    http::Request req;
    req.url = target->ToString();
    req.headers = {{"Accept", "application/json"}};
    auto resp = Send(req, options, budget);
    if (!resp) return MakeError("GET " + path + ": " + resp.error());
    if (resp->status == 401 && attempt == 0) {
      if (used_token.empty()) return MakeError("GET " + path + ": HTTP 401 (credentials refused)");
      // Expired or revoked: log in again once. The old session is deleted first (best effort) so that a 401
      // that did not end it (a BMC hiccup) leaves no session behind on the BMC. Only the request that saw the
      // current token drops it: the other job of this target may already have logged in again.
      std::string old_token, old_uri;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (token_ == used_token) {
          old_token.swap(token_);
          old_uri.swap(session_uri_);
        }
      }
      DeleteSession(old_token, old_uri, budget);
      continue;
    }
    if (resp->status < 200 || resp->status >= 300) {
      return MakeError("GET " + path + ": HTTP " + std::to_string(resp->status));
    }
    auto body = redfish::ParseBody(resp->body);
    if (!body) return MakeError("GET " + path + ": " + body.error());
    return body;
  }
  return MakeError("GET " + path + ": HTTP 401 after a new login");
}

Result<http::Response> RedfishClient::GetAnonymous(const std::string& uri, const Budget& budget) {
  auto target = UrlFor(uri, "API root");
  if (!target) return MakeError("GET refused: " + target.error());
  http::Request req;
  req.url = target->ToString();
  req.headers = {{"Accept", "application/json"}};
  http::ClientOptions options = settings_.options;
  options.auth = http::Auth{};
  return Send(req, options, budget);
}

void RedfishClient::Logout(const Budget& budget) {
  std::string token, uri;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token.swap(token_);
    uri.swap(session_uri_);
  }
  DeleteSession(token, uri, budget);
}

// --- requests for the event channel ------------------------------------------------------------------------

Result<std::pair<url::Url, http::ClientOptions>> RedfishClient::Prepare(const std::string& link,
                                                                        std::string_view where,
                                                                        const Budget& budget,
                                                                        std::string* token) {
  auto target = UrlFor(link, where);
  if (!target) return MakeError("refused: " + target.error());
  http::ClientOptions options = settings_.options;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto authorized = AuthorizeLocked(options, token, budget); !authorized)
    return MakeError(authorized.error());
  return std::make_pair(*target, options);
}

Result<Ok> RedfishClient::AuthorizeLocked(http::ClientOptions& options, std::string* token,
                                          const Budget& budget) {
  if (!basic_ && token_.empty()) {
    auto login = Login(budget);
    if (!login) return MakeError(login.error());
  }
  if (basic_) {
    options.auth.kind = http::Auth::Kind::kBasic;
    options.auth.username = settings_.username;
    options.auth.password = settings_.password;
  } else {
    options.auth.kind = http::Auth::Kind::kHeader;
    options.auth.header_name = "X-Auth-Token";
    options.auth.header_value = token_;
    if (token != nullptr) *token = token_;
  }
  return Ok{};
}

void RedfishClient::ForgetSession(const std::string& token, const Budget& budget) {
  std::string old_token, old_uri;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (token.empty() || token_ != token) return;
    old_token.swap(token_);
    old_uri.swap(session_uri_);
  }
  DeleteSession(old_token, old_uri, budget);
}

Result<http::Response> RedfishClient::Send(const std::string& method, const std::string& link,
                                           const std::string& json_body, const Budget& budget) {
  for (int attempt = 0;; ++attempt) {
    std::string token;
    auto prepared = Prepare(link, method, budget, &token);
    if (!prepared) return MakeError(method + " " + url::Describe(link) + ": " + prepared.error());
    http::Request req;
    req.method = method;
    req.url = prepared->first.ToString();
    req.headers = {{"Accept", "application/json"}};
    if (!json_body.empty()) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = json_body;
    }
    prepared->second.max_retries = 0;  // a POST must not leave two subscriptions behind
    auto resp = Send(req, prepared->second, budget);
    if (!resp) return MakeError(method + " " + prepared->first.Target() + ": " + resp.error());
    if (resp->status == 401 && attempt == 0 && !token.empty()) {
      ForgetSession(token, budget);
      continue;
    }
    return resp;
  }
}

}  // namespace estate::hardware
