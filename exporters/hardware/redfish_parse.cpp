#include "redfish_parse.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "estate/json_util.h"
#include "text_util.h"

namespace estate::hardware::redfish {
namespace {

using text::Lower;
using text::Trim;

bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  return Lower(haystack).find(Lower(needle)) != std::string::npos;
}

// Oem.Hpe or Oem.Hp (iLO 4), whichever is there.
const Json* HpeOem(const Json& resource) {
  const Json* oem = Child(resource, "Oem");
  if (oem == nullptr) return nullptr;
  if (const Json* hpe = Child(*oem, "Hpe")) return hpe;
  return Child(*oem, "Hp");
}

const Json* DellOem(const Json& resource) {
  const Json* oem = Child(resource, "Oem");
  return oem == nullptr ? nullptr : Child(*oem, "Dell");
}

// Reading of a DMTF "excerpt" object ({"Reading": 12.3, "DataSourceUri": ...}).
std::optional<double> Reading(const Json& obj, std::string_view key) {
  const Json* r = Child(obj, key);
  if (r == nullptr) return std::nullopt;
  if (r->is_number()) return r->get<double>();
  return Num(*r, "Reading");
}

// Status wrapper for the many places that carry one: effective health with the state rule applied.
Status StatusOf(const Json& resource) { return ParseStatus(resource); }

std::string FirstNonEmpty(std::initializer_list<std::string> values) {
  for (const auto& v : values) {
    if (!v.empty()) return v;
  }
  return std::string();
}

// DMTF Location.PartLocation.ServiceLabel (and the older PhysicalLocation spelling).
std::string ServiceLabel(const Json& resource) {
  for (const char* key : {"Location", "PhysicalLocation"}) {
    const Json* loc = Child(resource, key);
    if (loc == nullptr || !loc->is_object()) continue;
    if (const Json* part = Child(*loc, "PartLocation")) {
      std::string label = Str(*part, "ServiceLabel");
      if (!label.empty()) return label;
    }
    std::string info = Str(*loc, "Info");
    if (!info.empty()) return info;
  }
  return std::string();
}

std::string SelfUri(const Json& resource) {
  std::string uri = Str(resource, "@odata.id");
  if (uri.empty()) {
    if (const Json* links = Child(resource, "links")) {
      if (const Json* self = Child(*links, "self")) uri = Str(*self, "href");
    }
  }
  return NormalisePath(uri);
}

// Id, else the last segment of the resource's own URI.
std::string IdOf(const Json& resource) {
  std::string id = Str(resource, "Id");
  if (id.empty()) id = LastSegment(SelfUri(resource));
  return id;
}

BatteryState BatteryStateFrom(std::string_view text, Health health) {
  const std::string s = Lower(text);
  if (MeansAbsent(text)) return BatteryState::kAbsent;
  if (s.find("discharg") != std::string::npos) return BatteryState::kDischarging;
  if (s.find("charg") != std::string::npos) return BatteryState::kCharging;
  if (s.find("learn") != std::string::npos || s.find("calibrat") != std::string::npos)
    return BatteryState::kLearning;
  if (s.find("fail") != std::string::npos || health == Health::kCritical) return BatteryState::kFailed;
  if (s == "ready" || s == "idle" || s == "present" || s == "ok" || s == "enabled" || s == "charged" ||
      health == Health::kOk || health == Health::kWarning)
    return BatteryState::kReady;
  return BatteryState::kUnknown;
}

}  // namespace

Result<Json> ParseBody(std::string_view body) {
  auto j = ParseJsonText(body);
  if (!j) return MakeError("response is not valid JSON: " + j.error());
  if (!j->is_object() && !j->is_array()) return MakeError("response is not a JSON object");
  return j;
}

std::optional<std::string> RedfishError(const Json& body) {
  const Json* error = Child(body, "error");
  if (error == nullptr || !error->is_object()) return std::nullopt;
  const Json* info = Child(*error, "@Message.ExtendedInfo");
  std::string code = Str(*error, "code");
  std::string message = Str(*error, "message");
  if (code.empty() && message.empty() && info == nullptr) return std::nullopt;
  // The extended info usually says more than the generic "A general error has occurred" message.
  if (info != nullptr && info->is_array() && !info->empty()) {
    const Json& first = (*info)[0];
    code = FirstNonEmpty({Str(first, "MessageId"), code});
    message = FirstNonEmpty({Str(first, "Message"), message});
  }
  std::string out = FirstNonEmpty({code, "Redfish error"});
  if (!message.empty()) out += ": " + message;
  constexpr std::size_t kMaxLength = 200;  // upstream text on its way into logs
  if (out.size() > kMaxLength) out = out.substr(0, kMaxLength) + "...";
  return out;
}

std::string NormalisePath(std::string_view uri) {
  std::string s(uri);
  if (auto scheme = s.find("://"); scheme != std::string::npos) {
    auto slash = s.find('/', scheme + 3);
    s = slash == std::string::npos ? "/" : s.substr(slash);
  }
  if (auto hash = s.find('#'); hash != std::string::npos) s.resize(hash);
  if (auto q = s.find('?'); q != std::string::npos) s.resize(q);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string PathKey(std::string_view uri) { return Lower(NormalisePath(uri)); }

std::string LastSegment(std::string_view uri) {
  std::string s = NormalisePath(uri);
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

const Json* Child(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Str(const Json& obj, std::string_view key) {
  const Json* v = Child(obj, key);
  if (v == nullptr) return std::string();
  if (v->is_string()) return Trim(v->get<std::string>());
  if (v->is_number_integer()) return std::to_string(v->get<long long>());
  return std::string();
}

std::optional<double> Num(const Json& obj, std::string_view key) {
  const Json* v = Child(obj, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) {
    // Some BMCs quote numbers; accept a clean decimal only.
    const std::string s = Trim(v->get<std::string>());
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    // strtod also reads "nan", "inf" and "1e400" (inf): not readings.
    if (!s.empty() && end != nullptr && *end == '\0' && std::isfinite(d)) return d;
  }
  return std::nullopt;
}

std::optional<bool> Bool(const Json& obj, std::string_view key) {
  const Json* v = Child(obj, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    const std::string s = Lower(Trim(v->get<std::string>()));
    if (s == "true" || s == "yes") return true;
    if (s == "false" || s == "no") return false;
  }
  return std::nullopt;
}

std::string LinkTarget(const Json& link) {
  if (link.is_string()) return link.get<std::string>();
  std::string uri = Str(link, "@odata.id");
  if (uri.empty()) uri = Str(link, "href");
  return uri;
}

std::string FindLink(const Json& resource, std::string_view name) {
  auto look = [&](const Json* holder) -> std::string {
    if (holder == nullptr) return std::string();
    const Json* l = Child(*holder, name);
    if (l == nullptr) return std::string();
    if (l->is_array()) return l->empty() ? std::string() : LinkTarget((*l)[0]);
    return LinkTarget(*l);
  };
  for (const Json* holder : {&resource, Child(resource, "Links"), Child(resource, "links")}) {
    std::string uri = look(holder);
    if (!uri.empty()) return uri;
  }
  if (const Json* oem = HpeOem(resource)) {
    for (const Json* holder : {oem, Child(*oem, "Links"), Child(*oem, "links")}) {
      std::string uri = look(holder);
      if (!uri.empty()) return uri;
    }
  }
  return std::string();
}

bool IsExpanded(const Json& member) {
  // An error in place of a member is no body: the member is fetched, and not found, like any other.
  if (!member.is_object() || RedfishError(member)) return false;
  for (const auto& [k, v] : member.items()) {
    if (k != "@odata.id" && k != "href" && k.rfind("@odata", 0) != 0) return true;
  }
  return false;
}

std::vector<Member> Members(const Json& collection) {
  std::vector<Member> out;
  std::set<std::string> seen;
  auto add = [&](const Json& m) {
    std::string uri = LinkTarget(m);
    if (uri.empty() && m.is_object()) uri = SelfUri(m);
    if (uri.empty()) return;
    if (!seen.insert(PathKey(uri)).second) return;
    out.push_back(Member{uri, IsExpanded(m) ? m : Json()});
  };
  // HP REST (iLO 4 /rest/v1): links.Member is authoritative; its Redfish-style "Members" can disagree.
  if (const Json* links = Child(collection, "links")) {
    if (const Json* member = Child(*links, "Member"); member != nullptr && member->is_array()) {
      for (const auto& m : *member) add(m);
    }
  }
  if (const Json* members = Child(collection, "Members"); out.empty() && members != nullptr && members->is_array()) {
    for (const auto& m : *members) add(m);
  }
  if (const Json* items = Child(collection, "Items"); items != nullptr && items->is_array()) {
    // HP REST inline items; prefer them over the bare links seen above.
    for (const auto& m : *items) {
      std::string uri = SelfUri(m);
      auto it = std::find_if(out.begin(), out.end(), [&](const Member& x) {
        return LastSegment(x.uri) == LastSegment(uri);
      });
      if (it != out.end() && it->body.is_null()) {
        it->body = m;
      } else {
        add(m);
      }
    }
  }
  return out;
}

std::string GuessVendor(const Json& resource) {
  std::string v = Str(resource, "Vendor");
  if (v.empty()) v = Str(resource, "Manufacturer");
  if (const Json* oem = Child(resource, "Oem"); oem != nullptr && v.empty()) {
    if (Child(*oem, "Hpe") != nullptr) v = "HPE";
    else if (Child(*oem, "Hp") != nullptr) v = "HP";
    else if (Child(*oem, "Dell") != nullptr) v = "Dell";
    else if (Child(*oem, "Lenovo") != nullptr) v = "Lenovo";
    else if (Child(*oem, "Supermicro") != nullptr) v = "Supermicro";
  }
  return v;
}

ServiceRoot ParseServiceRoot(const Json& root) {
  ServiceRoot r;
  r.vendor = GuessVendor(root);
  r.product = Str(root, "Product");
  r.uuid = Str(root, "UUID");
  r.hp_rest = Child(root, "links") != nullptr && Child(root, "@odata.id") == nullptr;
  if (const Json* pf = Child(root, "ProtocolFeaturesSupported")) {
    if (const Json* eq = Child(*pf, "ExpandQuery")) {
      // $expand=.($levels=n) needs both "Levels" and "NoLinks" support.
      if (Bool(*eq, "NoLinks").value_or(false) && Bool(*eq, "Levels").value_or(false)) {
        // Clamped before the cast: a double outside int's range (1e300) makes static_cast<int> undefined.
        r.expand_levels = static_cast<int>(std::clamp(Num(*eq, "MaxLevels").value_or(1), 0.0, 6.0));
      }
    }
  }
  if (const Json* hpe = HpeOem(root)) {
    if (const Json* mgr = Child(*hpe, "Manager"); mgr != nullptr && mgr->is_array() && !mgr->empty()) {
      r.bmc_model = Str((*mgr)[0], "ManagerType");
      r.bmc_firmware = Str((*mgr)[0], "ManagerFirmwareVersion");
    }
  }
  r.systems = FindLink(root, "Systems");
  r.chassis = FindLink(root, "Chassis");
  r.managers = FindLink(root, "Managers");
  r.update_service = FindLink(root, "UpdateService");
  r.sessions = FindLink(root, "Sessions");
  return r;
}

// Parses a Status object itself ({"Health","HealthRollup","State"}).
static Status StatusObject(const Json* st) {
  Status s;
  if (st == nullptr || !st->is_object()) return s;
  s.state = ParseState(Str(*st, "State"));
  s.health = EffectiveHealth(ParseHealth(Str(*st, "Health")), s.state);
  std::string rollup = Str(*st, "HealthRollup");
  if (rollup.empty()) rollup = Str(*st, "HealthRollUp");
  s.rollup = ParseHealth(rollup);
  return s;
}

Status ParseStatus(const Json& resource) { return StatusObject(Child(resource, "Status")); }

// The health a resource reports for itself and its children, ignoring State (a powered-off server still
// reports a meaningful rollup).
static void ReportedHealth(const Json& resource, Health& reported) {
  const Json* st = Child(resource, "Status");
  if (st == nullptr) return;
  std::string rollup = Str(*st, "HealthRollup");
  if (rollup.empty()) rollup = Str(*st, "HealthRollUp");
  Health r = ParseHealth(rollup);
  reported = r != Health::kUnknown ? r : ParseHealth(Str(*st, "Health"));
}

static void AddHpeBatteries(const Json& list, Findings& f) {
  if (!list.is_array()) return;
  int n = 0;
  for (const auto& b : list) {
    ++n;
    Battery bat;
    bat.source = BatterySource::kHpeSmartStorageBattery;
    std::string index = Str(b, "Index");
    bat.key = "smart_storage_battery_" + (index.empty() ? std::to_string(n) : index);
    bat.model = FirstNonEmpty({Str(b, "Model"), Str(b, "ProductName")});
    bat.serial = Str(b, "SerialNumber");
    Status st = StatusOf(b);
    Health health = st.health;
    std::string condition = Str(b, "Condition");  // iLO 4: "Ok" / "Failed" / ...
    if (health == Health::kUnknown && !condition.empty()) health = ParseHealth(condition);
    std::optional<bool> present = Bool(b, "Present");
    bool absent = st.state == State::kAbsent || (present.has_value() && !*present) || MeansAbsent(condition);
    if (absent) {
      bat.state = BatteryState::kAbsent;
      bat.health = Health::kUnknown;
    } else {
      bat.health = health;
      bat.charge_percent = Num(b, "ChargeLevelPercent");
      if (health == Health::kCritical) {
        bat.state = BatteryState::kFailed;
      } else if (Num(b, "RemainingChargeTimeSeconds").value_or(0) > 0) {
        bat.state = BatteryState::kCharging;
      } else {
        bat.state = BatteryStateFrom(condition, health);
      }
    }
    f.batteries.push_back(std::move(bat));
  }
}

void ParseSystem(const Json& system, Findings& f) {
  Identity& id = f.identity;
  id.vendor = FirstNonEmpty({Str(system, "Manufacturer"), id.vendor});
  id.model = FirstNonEmpty({Str(system, "Model"), id.model});
  id.serial = FirstNonEmpty({Str(system, "SerialNumber"), id.serial});
  id.uuid = FirstNonEmpty({Str(system, "UUID"), id.uuid});
  id.sku = FirstNonEmpty({Str(system, "SKU"), id.sku});
  id.host_name = FirstNonEmpty({Str(system, "HostName"), id.host_name});
  std::string bios = Str(system, "BiosVersion");
  if (bios.empty()) {
    if (const Json* b = Child(system, "Bios"); b != nullptr) {
      if (const Json* cur = Child(*b, "Current")) bios = Str(*cur, "VersionString");
    }
  }
  if (bios.empty()) {
    if (const Json* hpe = HpeOem(system)) {
      if (const Json* b = Child(*hpe, "Bios")) {
        if (const Json* cur = Child(*b, "Current")) bios = Str(*cur, "VersionString");
      }
    }
  }
  id.bios_version = FirstNonEmpty({bios, id.bios_version});

  std::string power = Str(system, "PowerState");
  if (power.empty()) power = Str(system, "Power");  // HP REST
  f.power = ParsePowerState(power);
  ReportedHealth(system, f.system_reported);
  ParseSubsystemRollups(system, f);

  if (const Json* hpe = HpeOem(system)) {
    if (const Json* batteries = Child(*hpe, "Battery")) AddHpeBatteries(*batteries, f);
    if (const Json* agg = Child(*hpe, "AggregateHealthStatus")) {
      std::string red = Str(*agg, "PowerSupplyRedundancy");
      if (!red.empty() && f.psu_redundancy.empty()) {
        Redundancy r;
        r.key = "system";
        const std::string s = Lower(red);
        if (s == "redundant") r.redundant = true;
        else if (s == "notredundant" || s == "not redundant" || s == "failed") r.redundant = false;
        r.health = r.redundant.has_value() ? (*r.redundant ? Health::kOk : Health::kWarning) : Health::kUnknown;
        if (r.redundant.has_value()) f.psu_redundancy.push_back(r);
      }
    }
  }
}

void ParseChassis(const Json& chassis, Findings& f) {
  ReportedHealth(chassis, f.chassis_reported);
  if (f.identity.serial.empty()) f.identity.serial = Str(chassis, "SerialNumber");
  if (f.identity.model.empty()) f.identity.model = Str(chassis, "Model");
  if (f.identity.vendor.empty()) f.identity.vendor = Str(chassis, "Manufacturer");
  if (const Json* hpe = HpeOem(chassis)) {
    if (const Json* ssb = Child(*hpe, "SmartStorageBattery")) AddHpeBatteries(*ssb, f);
  }
}

void ParseManager(const Json& manager, Findings& f) {
  ReportedHealth(manager, f.manager_reported);
  std::string model = Str(manager, "Model");
  std::string fw = Str(manager, "FirmwareVersion");
  if (fw.empty()) {
    if (const Json* firmware = Child(manager, "Firmware")) {
      if (const Json* cur = Child(*firmware, "Current")) fw = Str(*cur, "VersionString");
    }
  }
  if (!model.empty()) f.identity.bmc_model = model;
  if (!fw.empty()) f.identity.bmc_firmware = fw;
}

void ParseThermal(const Json& thermal, Findings& f) {
  if (const Json* fans = Child(thermal, "Fans"); fans != nullptr && fans->is_array()) {
    for (const auto& j : *fans) {
      Fan fan;
      fan.key = FirstNonEmpty({Str(j, "Name"), Str(j, "FanName"), Str(j, "MemberId")});
      fan.status = StatusOf(j);
      if (fan.status.state != State::kAbsent) {
        std::optional<double> reading = Num(j, "Reading");
        if (!reading) reading = Num(j, "CurrentReading");  // HP REST
        std::string units = Lower(FirstNonEmpty({Str(j, "ReadingUnits"), Str(j, "Units")}));
        if (reading) {
          if (units == "rpm") fan.rpm = reading;
          else fan.percent = reading;  // "Percent" (HPE) and unlabelled readings
        }
      }
      f.fans.push_back(std::move(fan));
    }
  }
  if (const Json* temps = Child(thermal, "Temperatures"); temps != nullptr && temps->is_array()) {
    for (const auto& j : *temps) {
      Temperature t;
      t.key = FirstNonEmpty({Str(j, "Name"), Str(j, "MemberId")});
      t.context = Str(j, "PhysicalContext");
      t.status = StatusOf(j);
      if (t.status.state != State::kAbsent && t.status.state != State::kDisabled) {
        t.celsius = Num(j, "ReadingCelsius");
        if (!t.celsius) t.celsius = Num(j, "CurrentReading");
      }
      auto positive = [](std::optional<double> v) -> std::optional<double> {
        return v && *v > 0 ? v : std::nullopt;  // iLO uses 0 for "no threshold"
      };
      t.upper_critical = positive(Num(j, "UpperThresholdCritical"));
      t.upper_fatal = positive(Num(j, "UpperThresholdFatal"));
      f.temperatures.push_back(std::move(t));
    }
  }
}

// A redundancy group (legacy Power Redundancy[], PowerSubsystem PowerSupplyRedundancy[]) uses both its health
// and its state: only a healthy group in service is redundant. A group whose State is anything but Enabled
// (Offline, UnavailableOffline, StandbyOffline, Disabled, ...) provides no redundancy, whatever its Health
// says. Without a State (iLO 4 and others leave it out) the health decides.
static Redundancy RedundancyOf(const Json& group, std::string key) {
  Redundancy r;
  r.key = std::move(key);
  const Status st = StatusOf(group);
  r.health = st.health;
  std::string state;
  if (const Json* s = Child(group, "Status")) state = Str(*s, "State");
  if (!state.empty() && st.state != State::kEnabled)
    r.redundant = false;
  else if (st.health == Health::kOk)
    r.redundant = true;
  else if (st.health != Health::kUnknown)
    r.redundant = false;
  return r;
}

static std::string PsuKey(const Json& j) {
  if (const Json* hpe = HpeOem(j)) {
    if (auto bay = Num(*hpe, "BayNumber"); bay && *bay >= 0 && *bay < 1e6) {
      return "Bay " + std::to_string(static_cast<int>(*bay));
    }
  }
  std::string label = ServiceLabel(j);
  if (!label.empty()) return label;
  std::string name = Str(j, "Name");
  // iLO names every supply "HpeServerPowerSupply"; that is a type, not a name.
  if (!name.empty() && name.rfind("Hp", 0) != 0) return name;
  return FirstNonEmpty({Str(j, "MemberId"), Str(j, "Id"), name});
}

void ParsePower(const Json& power, Findings& f) {
  if (const Json* psus = Child(power, "PowerSupplies"); psus != nullptr && psus->is_array()) {
    for (const auto& j : *psus) {
      PowerSupply p;
      p.key = PsuKey(j);
      p.model = Str(j, "Model");
      p.serial = Str(j, "SerialNumber");
      p.firmware = Str(j, "FirmwareVersion");
      p.status = StatusOf(j);
      if (p.status.state != State::kAbsent) {
        p.input_watts = Num(j, "PowerInputWatts");
        p.output_watts = Num(j, "PowerOutputWatts");
        if (!p.output_watts) p.output_watts = Num(j, "LastPowerOutputWatts");
        p.capacity_watts = Num(j, "PowerCapacityWatts");
      }
      f.psus.push_back(std::move(p));
    }
  }
  if (const Json* controls = Child(power, "PowerControl"); controls != nullptr && controls->is_array()) {
    for (const auto& c : *controls) {
      if (auto w = Num(c, "PowerConsumedWatts")) {
        f.power_consumed_watts = *w;
        break;
      }
    }
  }
  if (const Json* red = Child(power, "Redundancy"); red != nullptr && red->is_array() && !red->empty()) {
    std::erase_if(f.psu_redundancy, [](const Redundancy& r) { return r.key == "system"; });
    for (const auto& j : *red) {
      f.psu_redundancy.push_back(RedundancyOf(j, FirstNonEmpty({Str(j, "Name"), Str(j, "MemberId")})));
    }
  }
}

Fan ParseFan(const Json& j) {
  Fan fan;
  fan.key = FirstNonEmpty({ServiceLabel(j), Str(j, "Name"), IdOf(j)});
  fan.status = StatusOf(j);
  if (fan.status.state != State::kAbsent) {
    if (const Json* sp = Child(j, "SpeedPercent")) {
      fan.percent = Num(*sp, "Reading");
      fan.rpm = Num(*sp, "SpeedRPM");
    }
  }
  return fan;
}

std::optional<Temperature> ParseTemperatureSensor(const Json& j) {
  const std::string type = Str(j, "ReadingType");
  const std::string units = Str(j, "ReadingUnits");
  if (type != "Temperature" && units != "Cel") return std::nullopt;
  Temperature t;
  t.key = FirstNonEmpty({Str(j, "Name"), IdOf(j)});
  t.context = Str(j, "PhysicalContext");
  t.status = StatusOf(j);
  if (t.status.state != State::kAbsent && t.status.state != State::kDisabled) t.celsius = Num(j, "Reading");
  if (const Json* th = Child(j, "Thresholds")) {
    if (const Json* c = Child(*th, "UpperCritical")) t.upper_critical = Num(*c, "Reading");
    if (const Json* fa = Child(*th, "UpperFatal")) t.upper_fatal = Num(*fa, "Reading");
  }
  return t;
}

PowerSupply ParsePowerSupply(const Json& j, const Json& metrics) {
  PowerSupply p;
  p.key = FirstNonEmpty({ServiceLabel(j), Str(j, "Name"), IdOf(j)});
  p.model = Str(j, "Model");
  p.serial = Str(j, "SerialNumber");
  p.firmware = Str(j, "FirmwareVersion");
  p.status = StatusOf(j);
  if (p.status.state != State::kAbsent) {
    p.capacity_watts = Num(j, "PowerCapacityWatts");
    if (metrics.is_object()) {
      p.input_watts = Reading(metrics, "InputPowerWatts");
      p.output_watts = Reading(metrics, "OutputPowerWatts");
    }
  }
  return p;
}

void ParsePowerSubsystem(const Json& subsystem, Findings& f) {
  const Json* groups = Child(subsystem, "PowerSupplyRedundancy");
  if (groups == nullptr || !groups->is_array()) return;
  int i = 0;
  for (const auto& g : *groups) f.psu_redundancy.push_back(RedundancyOf(g, "group_" + std::to_string(i++)));
}

Battery ParseBattery(const Json& j, const Json& metrics) {
  Battery b;
  b.source = BatterySource::kDmtfBattery;
  b.key = FirstNonEmpty({ServiceLabel(j), Str(j, "Name"), IdOf(j)});
  b.model = Str(j, "Model");
  b.serial = Str(j, "SerialNumber");
  Status st = StatusOf(j);
  if (st.state == State::kAbsent) {
    b.state = BatteryState::kAbsent;
    return b;
  }
  b.health = st.health;
  b.state = BatteryStateFrom(Str(j, "ChargeState"), st.health);
  if (st.health == Health::kCritical) b.state = BatteryState::kFailed;
  if (metrics.is_object()) b.charge_percent = Reading(metrics, "ChargePercent");
  return b;
}

static void AddDellBattery(const Json& holder, const std::string& controller, Findings& f) {
  const Json* dell = DellOem(holder);
  if (dell == nullptr) return;
  const Json* bat = Child(*dell, "DellControllerBattery");
  if (bat == nullptr || !bat->is_object()) return;
  Battery b;
  b.source = BatterySource::kDellControllerBattery;
  b.controller = controller;
  b.key = FirstNonEmpty({Str(*bat, "Id"), Str(*bat, "FQDD"), Str(*bat, "Name"), controller + "_battery"});
  const std::string raid_state = Str(*bat, "RAIDState");
  const Health primary = ParseHealth(Str(*bat, "PrimaryStatus"));
  if (MeansAbsent(raid_state)) {
    b.state = BatteryState::kAbsent;
  } else {
    b.health = primary;
    b.state = BatteryStateFrom(raid_state, primary);
    if (raid_state == "Failed") b.health = Health::kCritical;
  }
  f.batteries.push_back(std::move(b));
}

StorageLinks ParseStorage(const Json& storage, Findings& f) {
  StorageLinks links;
  const std::string storage_id = IdOf(storage);
  const Json* ctrls = Child(storage, "StorageControllers");
  std::size_t count = ctrls != nullptr && ctrls->is_array() ? ctrls->size() : 0;
  if (count == 0) {
    StorageController c;
    c.key = storage_id;
    c.name = Str(storage, "Name");
    c.status = StatusOf(storage);
    links.controller = c.key;
    f.controllers.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < count; ++i) {
    const Json& j = (*ctrls)[i];
    StorageController c;
    c.key = count == 1 ? storage_id : storage_id + "/" + FirstNonEmpty({Str(j, "MemberId"), std::to_string(i)});
    c.name = Str(j, "Name");
    c.model = Str(j, "Model");
    c.serial = Str(j, "SerialNumber");
    c.firmware = Str(j, "FirmwareVersion");
    c.status = StatusOf(j);
    if (const Json* cache = Child(j, "CacheSummary")) {
      Status cs = StatusOf(*cache);
      c.cache_health = cs.health;
      if (auto mib = Num(*cache, "TotalCacheSizeMiB")) c.cache_bytes = *mib * 1048576.0;
    }
    AddDellBattery(j, c.key, f);
    if (links.controller.empty()) links.controller = c.key;
    f.controllers.push_back(std::move(c));
  }
  AddDellBattery(storage, links.controller, f);
  if (const Json* drives = Child(storage, "Drives"); drives != nullptr && drives->is_array()) {
    std::set<std::string> seen;
    for (const auto& d : *drives) {
      std::string uri = LinkTarget(d);
      if (uri.empty() || !seen.insert(PathKey(uri)).second) continue;
      links.drives.push_back(Member{uri, IsExpanded(d) ? d : Json()});
    }
  }
  links.volumes = FindLink(storage, "Volumes");
  return links;
}

Drive ParseDrive(const Json& j, const std::string& controller) {
  Drive d;
  d.controller = controller;
  d.model = Str(j, "Model");
  d.serial = Str(j, "SerialNumber");
  d.media_type = Str(j, "MediaType");
  d.protocol = FirstNonEmpty({Str(j, "Protocol"), Str(j, "InterfaceType")});
  // HPE: "Location": "1I:1:1"; DMTF: Location/PhysicalLocation objects.
  std::string location = Str(j, "Location");
  if (location.empty()) location = ServiceLabel(j);
  if (location.empty()) {
    if (const Json* loc = Child(j, "Location"); loc != nullptr && loc->is_array() && !loc->empty()) {
      location = Str((*loc)[0], "Info");
    }
  }
  d.location = location;
  d.key = FirstNonEmpty({location, IdOf(j)});
  d.status = StatusOf(j);
  if (d.status.state == State::kAbsent) return d;
  if (auto bytes = Num(j, "CapacityBytes")) d.capacity_bytes = *bytes;
  else if (auto mib = Num(j, "CapacityMiB")) d.capacity_bytes = *mib * 1048576.0;
  else if (auto gb = Num(j, "CapacityGB")) d.capacity_bytes = *gb * 1e9;
  d.failure_predicted = Bool(j, "FailurePredicted");
  if (const Json* reasons = Child(j, "DiskDriveStatusReasons"); reasons != nullptr && reasons->is_array()) {
    bool predicted = false;
    for (const auto& r : *reasons) {
      if (r.is_string() && ContainsNoCase(r.get<std::string>(), "predict")) predicted = true;
    }
    d.failure_predicted = d.failure_predicted.value_or(false) || predicted;
  }
  if (auto life = Num(j, "PredictedMediaLifeLeftPercent")) {
    d.life_left_percent = *life;
  } else if (auto used = Num(j, "SSDEnduranceUtilizationPercentage")) {
    d.life_left_percent = std::max(0.0, 100.0 - *used);
  }
  return d;
}

Volume ParseVolume(const Json& j, const std::string& controller) {
  Volume v;
  v.controller = controller;
  v.key = IdOf(j);
  v.name = FirstNonEmpty({Str(j, "LogicalDriveName"), Str(j, "Name")});
  std::string raid = Str(j, "RAIDType");
  if (raid.empty()) raid = Str(j, "Raid");
  if (!raid.empty()) {
    v.raid_type = NormaliseRaid(raid);
  } else {
    static const std::pair<const char*, const char*> kVolumeTypes[] = {
        {"NonRedundant", "RAID0"}, {"Mirrored", "RAID1"}, {"StripedWithParity", "RAID5"},
        {"SpannedMirrors", "RAID10"}, {"SpannedStripesWithParity", "RAID50"}};
    const std::string type = Str(j, "VolumeType");
    for (const auto& [from, to] : kVolumeTypes) {
      if (type == from) v.raid_type = to;
    }
  }
  v.status = StatusOf(j);
  if (auto bytes = Num(j, "CapacityBytes")) v.capacity_bytes = *bytes;
  else if (auto mib = Num(j, "CapacityMiB")) v.capacity_bytes = *mib * 1048576.0;
  return v;
}

ArrayControllerLinks ParseArrayController(const Json& j, Findings& f) {
  ArrayControllerLinks links;
  StorageController c;
  c.key = FirstNonEmpty({Str(j, "Location"), IdOf(j)});
  c.name = Str(j, "Name");
  c.model = Str(j, "Model");
  c.serial = Str(j, "SerialNumber");
  if (const Json* fw = Child(j, "FirmwareVersion")) {
    if (fw->is_string()) c.firmware = Trim(fw->get<std::string>());
    else if (const Json* cur = Child(*fw, "Current")) c.firmware = Str(*cur, "VersionString");
  }
  c.status = StatusOf(j);
  if (const Json* cms = Child(j, "CacheModuleStatus")) {
    // Seen as a bare word and as a Status-like object ({"Health": "OK"}), sometimes wrapped in "Status".
    if (cms->is_string()) c.cache_health = ParseHealth(cms->get<std::string>());
    else if (Child(*cms, "Status") != nullptr) c.cache_health = StatusOf(*cms).health;
    else c.cache_health = StatusObject(cms).health;
  }
  if (auto mib = Num(j, "CacheMemorySizeMiB")) c.cache_bytes = *mib * 1048576.0;
  const std::string bps = Str(j, "BackupPowerSourceStatus");
  if (!bps.empty()) {
    Battery b;
    b.source = BatterySource::kHpeBackupPowerSource;
    b.controller = c.key;
    b.key = c.key + " backup power";
    if (MeansAbsent(bps)) {
      b.state = BatteryState::kAbsent;
    } else {
      Health h = ParseHealth(bps);
      if (bps == "Present" || bps == "PresentAndCharged") h = Health::kOk;
      b.health = h;
      b.state = BatteryStateFrom(bps, h);
    }
    f.batteries.push_back(std::move(b));
  }
  links.controller = c.key;
  links.disk_drives = FindLink(j, "PhysicalDrives");
  links.logical_drives = FindLink(j, "LogicalDrives");
  f.controllers.push_back(std::move(c));
  return links;
}

Component ParseMemory(const Json& j) {
  Component c;
  c.key = FirstNonEmpty({Str(j, "DeviceLocator"), Str(j, "Name"), IdOf(j)});
  c.status = StatusOf(j);
  if (const Json* hpe = HpeOem(j)) {
    const std::string dimm = Str(*hpe, "DIMMStatus");
    if (MeansAbsent(dimm)) {
      c.status.state = State::kAbsent;
      c.status.health = Health::kUnknown;
    }
  }
  if (const Json* st = Child(j, "DIMMStatus")) {  // HP REST
    if (st->is_string() && MeansAbsent(st->get<std::string>())) {
      c.status.state = State::kAbsent;
      c.status.health = Health::kUnknown;
    }
  }
  return c;
}

Component ParseProcessor(const Json& j) {
  Component c;
  c.key = FirstNonEmpty({Str(j, "Socket"), IdOf(j)});
  c.status = StatusOf(j);
  return c;
}

std::optional<Firmware> ParseFirmwareItem(const Json& j) {
  Firmware fw;
  fw.component = FirstNonEmpty({Str(j, "Name"), IdOf(j)});
  fw.version = Str(j, "Version");
  if (fw.version.empty()) return std::nullopt;
  return fw;
}

LogEntry ParseLogEntry(const Json& j) {
  LogEntry e;
  e.id = IdOf(j);
  e.severity = ParseHealth(Str(j, "Severity"));
  if (e.severity == Health::kUnknown) {
    if (const Json* hpe = HpeOem(j)) e.severity = ParseHealth(Str(*hpe, "Severity"));
  }
  e.created_unix = ParseTimestamp(Str(j, "Created"));
  return e;
}

void AddToLog(const LogEntry& e, LogSummary& log) {
  Health sev = e.severity == Health::kUnknown ? Health::kOk : e.severity;
  log.entries[sev] += 1;
  if (sev == Health::kCritical && e.created_unix > 0) {
    log.last_critical_unix = std::max(log.last_critical_unix.value_or(0), e.created_unix);
  }
}

}  // namespace estate::hardware::redfish

// --- components a person would check (issue #13)
// -------------------------------------------------------------

namespace estate::hardware::redfish {
namespace {

// "BiosOrHardwareHealth" -> "bios_or_hardware_health", "SDCard" -> "sd_card", "CPU" -> "cpu".
std::string SnakeCase(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(c)) {
      if (!out.empty() && out.back() != '_') out.push_back('_');
      continue;
    }
    if (std::isupper(c) && i > 0 && !out.empty() && out.back() != '_') {
      const unsigned char prev = static_cast<unsigned char>(name[i - 1]);
      const bool next_lower = i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1]));
      if (std::islower(prev) || std::isdigit(prev) || (std::isupper(prev) && next_lower)) out.push_back('_');
    }
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// One name per subsystem whichever vendor reports it, so a dashboard can put HPE and Dell side by side.
std::string SubsystemName(std::string_view vendor_key) {
  static const std::pair<const char*, const char*> kNames[] = {
      // HPE AggregateHealthStatus
      {"BiosOrHardwareHealth", "bios_hardware"},
      {"Fans", "fans"},
      {"Memory", "memory"},
      {"Network", "network"},
      {"PowerSupplies", "power_supplies"},
      {"Processors", "processors"},
      {"Storage", "storage"},
      {"Temperatures", "temperatures"},
      {"SmartStorageBattery", "battery"},
      // Dell DellSystem
      {"BatteryRollupStatus", "battery"},
      {"CPURollupStatus", "processors"},
      {"CoolingRollupStatus", "cooling"},
      {"FanRollupStatus", "fans"},
      {"MemoryRollupStatus", "memory"},
      {"SysMemPrimaryStatus", "memory"},
      {"PSRollupStatus", "power_supplies"},
      {"StorageRollupStatus", "storage"},
      {"TempRollupStatus", "temperatures"},
      {"VoltRollupStatus", "voltages"},
      {"SDCardRollupStatus", "sd_card"},
      {"SELRollupStatus", "event_log"},
  };
  for (const auto& [from, to] : kNames) {
    if (vendor_key == from) return to;
  }
  std::string_view stem = vendor_key;
  for (std::string_view suffix : {"RollupStatus", "Status"}) {
    if (stem.size() > suffix.size() && stem.substr(stem.size() - suffix.size()) == suffix) {
      stem.remove_suffix(suffix.size());
      break;
    }
  }
  return SnakeCase(stem);
}

constexpr std::size_t kMaxSubsystems = 32;  // vendor schemas have ~10-16; a runaway body stays bounded

void AddSubsystem(std::string name, Health health, Findings& f) {
  if (name.empty() || health == Health::kUnknown || f.reported_subsystems.size() >= kMaxSubsystems) return;
  for (auto& s : f.reported_subsystems) {
    if (s.subsystem == name) {  // Dell's MemoryRollupStatus and SysMemPrimaryStatus: the worst of both
      s.health = Worst(s.health, health);
      return;
    }
  }
  f.reported_subsystems.push_back(SubsystemHealth{std::move(name), health});
}

// The MAC address of a DMTF Port (Ethernet.AssociatedMACAddresses) or NetworkPort
// (AssociatedNetworkAddresses).
std::string PortMac(const Json& port) {
  auto first = [](const Json* list) -> std::string {
    if (list == nullptr || !list->is_array()) return std::string();
    for (const auto& a : *list) {
      if (a.is_string() && !a.get<std::string>().empty()) return Trim(a.get<std::string>());
    }
    return std::string();
  };
  if (const Json* eth = Child(port, "Ethernet")) {
    std::string mac = first(Child(*eth, "AssociatedMACAddresses"));
    if (!mac.empty()) return mac;
  }
  return first(Child(port, "AssociatedNetworkAddresses"));
}

// What the DMTF and the HPE adapter share: identity fields and status.
NetworkAdapter AdapterOf(const Json& j, const std::string& chassis, NetworkSource source) {
  NetworkAdapter a;
  a.source = source;
  a.key = IdOf(j);
  a.chassis = chassis;
  a.name = Str(j, "Name");
  a.serial = Str(j, "SerialNumber");
  a.status = StatusOf(j);
  return a;
}

}  // namespace

std::string ChassisKey(std::string_view chassis_uri) { return LastSegment(chassis_uri); }

std::string ParseNetworkAdapter(const Json& j, const std::string& chassis, Findings& f) {
  NetworkAdapter a = AdapterOf(j, chassis, NetworkSource::kDmtfNetworkAdapter);
  a.model = FirstNonEmpty({Str(j, "Model"), Str(j, "PartNumber")});
  if (const Json* ctrls = Child(j, "Controllers"); ctrls != nullptr && ctrls->is_array()) {
    for (const auto& c : *ctrls) {
      a.firmware = Str(c, "FirmwarePackageVersion");
      if (!a.firmware.empty()) break;
    }
  }
  f.network_adapters.push_back(std::move(a));
  std::string ports = FindLink(j, "Ports");
  return ports.empty() ? FindLink(j, "NetworkPorts") : ports;
}

NetworkPort ParseNetworkPort(const Json& j, const std::string& adapter, const std::string& chassis) {
  NetworkPort p;
  p.key = FirstNonEmpty({Str(j, "Id"), Str(j, "PortId"), Str(j, "PhysicalPortNumber"), IdOf(j)});
  p.adapter = adapter;
  p.chassis = chassis;
  p.name = Str(j, "Name");
  p.mac = PortMac(j);
  p.status = StatusOf(j);
  // The link is shown whatever the state: a port that is offline still has a (down) link worth seeing.
  p.link = ParseLinkState(Str(j, "LinkStatus"));
  return p;
}

void ParseBaseNetworkAdapter(const Json& j, const std::string& chassis, Findings& f) {
  NetworkAdapter a = AdapterOf(j, chassis, NetworkSource::kHpeBaseNetworkAdapter);
  a.model = FirstNonEmpty({Str(j, "PartNumber"), Str(j, "StructuredName")});
  if (const Json* fw = Child(j, "Firmware")) {
    if (const Json* cur = Child(*fw, "Current")) a.firmware = Str(*cur, "VersionString");
  }
  f.network_adapters.push_back(a);
  const Json* ports = Child(j, "PhysicalPorts");
  if (ports == nullptr || !ports->is_array()) return;
  int n = 0;
  for (const auto& pj : *ports) {
    ++n;
    if (!pj.is_object()) continue;
    NetworkPort p;
    p.key = std::to_string(n);  // the Name is the OS interface name ("bond0"), which the OS may change
    p.adapter = a.key;
    p.chassis = chassis;
    p.name = Str(pj, "Name");
    p.mac = Str(pj, "MacAddress");
    p.status = StatusOf(pj);
    p.link = ParseLinkState(Str(pj, "LinkStatus"));
    f.network_ports.push_back(std::move(p));
  }
}

void ParseAssembly(const Json& j, const std::string& chassis, Findings& f) {
  const Json* list = Child(j, "Assemblies");
  if (list == nullptr || !list->is_array()) return;
  int n = 0;
  for (const auto& e : *list) {
    ++n;
    if (Child(e, "Status") == nullptr) continue;  // inventory only: no health to watch
    Assembly a;
    a.key = FirstNonEmpty({Str(e, "MemberId"), Str(e, "Name"), std::to_string(n - 1)});
    a.chassis = chassis;
    a.name = Str(e, "Name");
    a.model = Str(e, "Model");
    a.part_number = Str(e, "PartNumber");
    a.serial = Str(e, "SerialNumber");
    a.status = StatusOf(e);
    f.assemblies.push_back(std::move(a));
  }
}

void ParseSubsystemRollups(const Json& system, Findings& f) {
  f.reported_subsystems.clear();
  if (const Json* hpe = HpeOem(system)) {
    if (const Json* agg = Child(*hpe, "AggregateHealthStatus"); agg != nullptr && agg->is_object()) {
      for (const auto& [key, value] : agg->items()) {
        // Members with a Status ({"Status": {"Health": "Warning"}}); redundancy words and the AMS state are
        // not healths (power supply redundancy is read as a redundancy group).
        const Json* st = Child(value, "Status");
        if (st == nullptr) continue;
        AddSubsystem(SubsystemName(key), ParseHealth(Str(*st, "Health")), f);
      }
    }
  }
  if (const Json* dell = DellOem(system)) {
    if (const Json* ds = Child(*dell, "DellSystem"); ds != nullptr && ds->is_object()) {
      for (const auto& [key, value] : ds->items()) {
        const bool rollup = key.size() > 12 && key.substr(key.size() - 12) == "RollupStatus";
        if (!(rollup || key == "SysMemPrimaryStatus") || !value.is_string()) continue;
        if (key == "RollupStatus" || key == "SystemHealthRollupStatus") continue;  // the system rollup itself
        AddSubsystem(SubsystemName(key), ParseHealth(value.get<std::string>()), f);
      }
    }
  }
}

}  // namespace estate::hardware::redfish
