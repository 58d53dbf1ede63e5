#include "ribcl_parse.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <pugixml.hpp>

#include "text_util.h"

namespace estate::hardware::ribcl {
namespace {

using text::Lower;
using text::Trim;

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return Lower(s).rfind(Lower(prefix), 0) == 0;
}

// Real RIBCL is about 6 levels deep. Converting (and later walking and destroying) the tree recurses once a
// level, so a response nested a hundred thousand deep would exhaust the stack: deeper ones are refused.
constexpr int kMaxDepth = 64;

Node Convert(const pugi::xml_node& x, int depth, bool& too_deep) {
  Node n;
  n.name = x.name();
  for (const auto& a : x.attributes()) n.attrs[a.name()] = a.value();
  for (const auto& c : x.children()) {
    if (c.type() != pugi::node_element) continue;
    if (depth >= kMaxDepth) {
      too_deep = true;
      break;
    }
    n.children.push_back(Convert(c, depth + 1, too_deep));
  }
  // Text content (RIMP uses <SBSN>serial</SBSN>) is kept as a "#text" attribute.
  std::string text = Trim(x.text().get());
  if (!text.empty()) n.attrs["#text"] = text;
  return n;
}

void ConvertJson(const std::string& name, const nlohmann::json& j, Node& parent, int depth = 0) {
  if (depth > kMaxDepth) return;  // as Convert: deeper levels are not RIBCL
  if (j.is_array()) {
    for (const auto& item : j) ConvertJson(name, item, parent, depth + 1);
    return;
  }
  if (j.is_object()) {
    Node n;
    n.name = name;
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) n.attrs[k] = v.get<std::string>();
      else if (v.is_number()) n.attrs[k] = v.dump();
      else
        ConvertJson(k, v, n, depth + 1);
    }
    parent.children.push_back(std::move(n));
    return;
  }
  if (j.is_string()) parent.attrs[name] = j.get<std::string>();
}

Status StatusFromText(std::string_view text) {
  Status s;
  if (MeansAbsent(text)) {
    s.state = State::kAbsent;
    return s;
  }
  s.health = ParseHealth(text);
  if (s.health != Health::kUnknown) s.state = State::kEnabled;
  return s;
}

// Health word of a RIBCL element that may carry it as STATUS child or as a STATUS attribute.
std::string StatusText(const Node& n) {
  std::string v = n.Value("STATUS");
  if (v.empty()) v = Trim(n.Attr("STATUS"));
  return v;
}

void ParseStorage(const Node& storage, Findings& f) {
  f.has_storage = true;
  for (const Node* ctrl : storage.All("CONTROLLER")) {
    StorageController c;
    c.key = ctrl->Value("LABEL");
    if (c.key.empty()) c.key = "controller";
    c.model = ctrl->Value("MODEL");
    c.serial = ctrl->Value("SERIAL_NUMBER");
    c.firmware = ctrl->Value("FW_VERSION");
    c.name = c.model;
    // STATUS is the controller with everything below it; CONTROLLER_STATUS the board itself.
    std::string own = ctrl->Value("CONTROLLER_STATUS");
    c.status = StatusFromText(own.empty() ? StatusText(*ctrl) : own);
    const std::string cache = ctrl->Value("CACHE_MODULE_STATUS");
    if (!cache.empty()) {
      Status cs = StatusFromText(cache);
      c.cache_health = cs.health;
    }
    c.cache_bytes = ParseBytes(ctrl->Value("CACHE_MODULE_MEMORY"));
    if (c.cache_bytes && *c.cache_bytes <= 0) c.cache_bytes.reset();

    auto add_drive = [&](const Node& pd) {
      Drive d;
      d.controller = c.key;
      d.location = pd.Value("LOCATION");
      d.key = d.location.empty() ? pd.Value("LABEL") : d.location;
      d.model = pd.Value("MODEL");
      d.serial = pd.Value("SERIAL_NUMBER");
      d.media_type = pd.Value("MEDIA_TYPE");
      const std::string st = StatusText(pd);
      d.status = StatusFromText(st);
      if (d.status.state != State::kAbsent) {
        d.capacity_bytes = ParseBytes(pd.Value("CAPACITY"));
        d.failure_predicted = Lower(st).find("predict") != std::string::npos;
      }
      f.drives.push_back(std::move(d));
    };
    for (const Node* ld : ctrl->All("LOGICAL_DRIVE")) {
      Volume v;
      v.controller = c.key;
      v.key = ld->Value("LABEL");
      v.name = v.key;
      v.raid_type = ld->Value("FAULT_TOLERANCE");
      v.raid_type = NormaliseRaid(v.raid_type);
      v.status = StatusFromText(StatusText(*ld));
      v.capacity_bytes = ParseBytes(ld->Value("CAPACITY"));
      f.volumes.push_back(std::move(v));
      for (const Node* pd : ld->All("PHYSICAL_DRIVE")) add_drive(*pd);
    }
    for (const Node* pd : ctrl->All("PHYSICAL_DRIVE")) add_drive(*pd);  // unassigned drives
    f.controllers.push_back(std::move(c));
  }
}

// iLO 3 lists backplane drives as flat sibling runs: DRIVE_BAY, PRODUCT_ID, STATUS, UID_LED, DRIVE_BAY, ...
void ParseBackplanes(const Node& drives, Findings& f) {
  f.has_storage = true;
  int index = 0;
  for (const Node* bp : drives.All("BACKPLANE")) {
    std::string enclosure = bp->Value("ENCLOSURE_ADDR");
    std::string controller = "backplane " + (enclosure.empty() ? std::to_string(index) : enclosure);
    ++index;
    Drive* current = nullptr;
    for (const Node& c : bp->children) {
      if (c.name == "DRIVE_BAY") {
        Drive d;
        d.controller = controller;
        d.location = "Bay " + Trim(c.Attr("VALUE"));
        d.key = d.location;
        f.drives.push_back(std::move(d));
        current = &f.drives.back();
      } else if (current != nullptr && c.name == "PRODUCT_ID") {
        std::string model = Trim(c.Attr("VALUE"));
        if (model != "N/A") current->model = model;
      } else if (current != nullptr && c.name == "STATUS") {
        current->status = StatusFromText(Trim(c.Attr("VALUE")));
        if (current->status.state != State::kAbsent) {
          current->failure_predicted = Lower(c.Attr("VALUE")).find("predict") != std::string::npos;
        }
      }
    }
  }
}

void AddBattery(const Node& n, Findings& f) {
  Battery b;
  b.source = BatterySource::kRibclBattery;
  b.key = n.Value("LABEL");
  if (b.key.empty()) b.key = "Battery";
  b.model = n.Value("MODEL");
  b.serial = n.Value("SERIAL_NUMBER");
  const std::string present = Lower(n.Value("PRESENT"));
  const std::string status = StatusText(n);
  if (present == "no" || MeansAbsent(status)) {
    b.state = BatteryState::kAbsent;  // iLO 5 says "Not Installed" on servers without one: not a fault
  } else {
    b.health = ParseHealth(status);
    const std::string s = Lower(status);
    if (s.find("charg") != std::string::npos) {
      b.state = BatteryState::kCharging;
      b.health = Health::kOk;
    } else if (b.health == Health::kCritical) {
      b.state = BatteryState::kFailed;
    } else if (b.health != Health::kUnknown) {
      b.state = BatteryState::kReady;
    }
  }
  f.batteries.push_back(std::move(b));
}

void ParsePowerSupplies(const Node& ps, Findings& f) {
  f.has_power = true;
  if (const Node* summary = ps.Find("POWER_SUPPLY_SUMMARY")) {
    f.power_consumed_watts = ParseNumber(summary->Value("PRESENT_POWER_READING"));
    const std::string red = summary->Value("POWER_SYSTEM_REDUNDANCY");
    const std::string r = Lower(red);
    if (r == "redundant" || r == "not redundant" || r == "failed redundant") {
      Redundancy red_group;
      red_group.key = "power supplies";
      red_group.redundant = r == "redundant";
      red_group.health = r == "redundant" ? Health::kOk : Health::kWarning;
      f.psu_redundancy.push_back(red_group);
    }
  }
  for (const Node& c : ps.children) {
    if (c.name == "POWER_SUPPLY_SUMMARY") continue;
    const std::string label = c.Value("LABEL");
    if (c.name.find("BATTERY") != std::string::npos || StartsWithNoCase(label, "Battery")) {
      AddBattery(c, f);
      f.has_storage = true;  // batteries are part of the storage tree
      continue;
    }
    if (c.name != "SUPPLY") continue;
    PowerSupply p;
    p.key = label.empty() ? "Power Supply" : label;
    p.model = c.Value("MODEL");
    p.serial = c.Value("SERIAL_NUMBER");
    p.firmware = c.Value("FIRMWARE_VERSION");
    if (p.model == "N/A") p.model.clear();
    if (p.serial == "N/A") p.serial.clear();
    if (p.firmware == "N/A") p.firmware.clear();
    const std::string present = Lower(c.Value("PRESENT"));
    if (present == "no") {
      p.status.state = State::kAbsent;
    } else {
      p.status = StatusFromText(StatusText(c));
      p.capacity_watts = ParseNumber(c.Value("CAPACITY"));
    }
    f.psus.push_back(std::move(p));
  }
}

void ParseMemory(const Node& mem, Findings& f) {
  // iLO 4/5: MEMORY_DETAILS/<CPU_n | Memory_Board_n>* with SOCKET and STATUS.
  if (const Node* details = mem.Find("MEMORY_DETAILS")) {
    for (const Node& board : details->children) {
      Component c;
      c.key = board.name + " socket " + board.Value("SOCKET");
      c.status = StatusFromText(board.Value("STATUS"));
      f.dimms.push_back(std::move(c));
    }
  }
  // iLO 2/3: MEMORY_COMPONENTS/MEMORY_COMPONENT with location and size only: presence, no health.
  if (const Node* comps = mem.Find("MEMORY_COMPONENTS")) {
    for (const Node* m : comps->All("MEMORY_COMPONENT")) {
      Component c;
      c.key = m->Value("MEMORY_LOCATION");
      c.status.state = MeansAbsent(m->Value("MEMORY_SIZE")) ? State::kAbsent : State::kEnabled;
      f.dimms.push_back(std::move(c));
    }
  }
}

}  // namespace

const Node* Node::Find(std::string_view child) const {
  for (const auto& c : children) {
    if (c.name == child) return &c;
  }
  return nullptr;
}

std::vector<const Node*> Node::All(std::string_view child) const {
  std::vector<const Node*> out;
  for (const auto& c : children) {
    if (c.name == child) out.push_back(&c);
  }
  return out;
}

std::string Node::Attr(std::string_view key) const {
  auto it = attrs.find(std::string(key));
  return it == attrs.end() ? std::string() : it->second;
}

std::string Node::Value(std::string_view child) const {
  const Node* c = Find(child);
  return c == nullptr ? std::string() : Trim(c->Attr("VALUE"));
}

const Node* Node::FindDeep(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
    if (const Node* d = c.FindDeep(n)) return d;
  }
  return nullptr;
}

Result<Response> ParseResponse(std::string_view body) {
  // Split at every XML declaration; bodies without any are parsed whole (RIMP).
  std::vector<std::string_view> parts;
  std::size_t pos = body.find("<?xml");
  if (pos == std::string_view::npos) {
    parts.push_back(body);
  } else {
    while (pos != std::string_view::npos) {
      std::size_t next = body.find("<?xml", pos + 5);
      parts.push_back(body.substr(pos, next == std::string_view::npos ? body.size() - pos : next - pos));
      pos = next;
    }
  }
  Response out;
  int malformed = 0;
  bool too_deep = false;
  for (std::string_view part : parts) {
    pugi::xml_document doc;
    pugi::xml_parse_result r =
        doc.load_buffer(part.data(), part.size(), pugi::parse_default | pugi::parse_fragment, pugi::encoding_utf8);
    if (!r) {
      ++malformed;
      continue;
    }
    for (const auto& top : doc.children()) {
      if (top.type() == pugi::node_element) out.documents.push_back(Convert(top, 0, too_deep));
    }
  }
  if (too_deep)
    return MakeError("RIBCL response nested deeper than " + std::to_string(kMaxDepth) + " levels");
  if (out.documents.empty()) {
    return MakeError(malformed > 0 ? "RIBCL response is not valid XML" : "RIBCL response is empty");
  }
  for (const Node& d : out.documents) {
    for (const Node* resp : d.All("RESPONSE")) {
      const std::string status = resp->Attr("STATUS");
      const std::string message = Trim(resp->Attr("MESSAGE"));
      if (status.empty() || std::strtol(status.c_str(), nullptr, 16) == 0) continue;
      const std::string m = Lower(message);
      if (status == "0x005F" || m.find("login") != std::string::npos || m.find("password") != std::string::npos ||
          m.find("authenticat") != std::string::npos) {
        return MakeError("RIBCL login failed: " + message + " (" + status + ")");
      }
      out.warnings.push_back("RIBCL " + status + ": " + message);
    }
  }
  return out;
}

const Node* FindIn(const Response& response, std::string_view name) {
  for (const Node& d : response.documents) {
    if (d.name == name) return &d;
    if (const Node* n = d.FindDeep(name)) return n;
  }
  return nullptr;
}

Node FromJson(const nlohmann::json& json) {
  Node root;
  root.name = "ROOT";
  ConvertJson("RIBCL", json, root);
  if (root.children.size() == 1) return root.children.front();
  return root;
}

std::optional<double> ParseNumber(std::string_view text) {
  const std::string s = Trim(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v)) return std::nullopt;  // "nan", "inf", "1e400" are not readings
  return v;
}

std::optional<double> ParseBytes(std::string_view text) {
  auto v = ParseNumber(text);
  if (!v) return std::nullopt;
  const std::string s = Lower(text);
  double mult = 1;
  if (s.find("tb") != std::string::npos || s.find("tib") != std::string::npos) mult = 1099511627776.0;
  else if (s.find("gb") != std::string::npos || s.find("gib") != std::string::npos) mult = 1073741824.0;
  else if (s.find("mb") != std::string::npos || s.find("mib") != std::string::npos) mult = 1048576.0;
  else if (s.find("kb") != std::string::npos || s.find("kib") != std::string::npos) mult = 1024.0;
  return *v * mult;
}

void ParseEmbeddedHealth(const Node& data, Findings& f) {
  if (const Node* fans = data.Find("FANS")) {
    f.has_thermal = true;
    for (const Node* fan : fans->All("FAN")) {
      Fan x;
      x.key = fan->Value("LABEL");
      x.status = StatusFromText(fan->Value("STATUS"));
      if (x.status.state != State::kAbsent) {
        if (const Node* speed = fan->Find("SPEED")) {
          auto v = ParseNumber(speed->Attr("VALUE"));
          if (Lower(speed->Attr("UNIT")) == "rpm") x.rpm = v;
          else x.percent = v;
        }
      }
      f.fans.push_back(std::move(x));
    }
  }
  if (const Node* temps = data.Find("TEMPERATURE")) {
    f.has_thermal = true;
    for (const Node* t : temps->All("TEMP")) {
      Temperature x;
      x.key = t->Value("LABEL");
      x.context = t->Value("LOCATION");
      x.status = StatusFromText(t->Value("STATUS"));
      if (x.status.state != State::kAbsent) x.celsius = ParseNumber(t->Value("CURRENTREADING"));
      // iLO's CAUTION is Redfish's UpperThresholdCritical and its CRITICAL is UpperThresholdFatal.
      x.upper_critical = ParseNumber(t->Value("CAUTION"));
      x.upper_fatal = ParseNumber(t->Value("CRITICAL"));
      if (x.upper_critical && *x.upper_critical <= 0) x.upper_critical.reset();
      if (x.upper_fatal && *x.upper_fatal <= 0) x.upper_fatal.reset();
      f.temperatures.push_back(std::move(x));
    }
  }
  if (const Node* ps = data.Find("POWER_SUPPLIES")) ParsePowerSupplies(*ps, f);
  if (const Node* procs = data.Find("PROCESSORS")) {
    f.has_inventory = true;
    for (const Node* p : procs->All("PROCESSOR")) {
      Component c;
      c.key = p->Value("LABEL");
      c.status = StatusFromText(p->Value("STATUS"));
      if (c.status.state == State::kUnknown) c.status.state = State::kEnabled;
      f.cpus.push_back(std::move(c));
    }
  }
  if (const Node* mem = data.Find("MEMORY")) {
    f.has_inventory = true;
    ParseMemory(*mem, f);
  }
  if (const Node* storage = data.Find("STORAGE")) ParseStorage(*storage, f);
  if (const Node* drives = data.Find("DRIVES")) ParseBackplanes(*drives, f);
  if (const Node* fw = data.Find("FIRMWARE_INFORMATION")) {
    f.has_inventory = true;
    for (const Node& idx : fw->children) {
      Firmware x;
      x.component = idx.Value("FIRMWARE_NAME");
      x.version = idx.Value("FIRMWARE_VERSION");
      if (!x.component.empty() && !x.version.empty()) f.firmware.push_back(std::move(x));
    }
  }
  if (const Node* haag = data.Find("HEALTH_AT_A_GLANCE")) {
    Health system = Health::kUnknown;
    Health chassis = Health::kUnknown;
    for (const Node& c : haag->children) {
      Health h = ParseHealth(c.Attr("STATUS"));
      system = Worst(system, h);
      if (c.name == "FANS" || c.name == "TEMPERATURE" || c.name == "POWER_SUPPLIES" || c.name == "VRM") {
        chassis = Worst(chassis, h);
      }
      const std::string red = Lower(c.Attr("REDUNDANCY"));
      if (c.name == "POWER_SUPPLIES" && !red.empty() && f.psu_redundancy.empty() &&
          (red == "redundant" || red == "not redundant")) {
        Redundancy r;
        r.key = "power supplies";
        r.redundant = red == "redundant";
        r.health = *r.redundant ? Health::kOk : Health::kWarning;
        f.psu_redundancy.push_back(r);
      }
    }
    f.system_reported = system;
    f.chassis_reported = chassis;
  }
}

void ParseFwVersion(const Node& fw, Findings& f) {
  const std::string mp = Trim(fw.Attr("MANAGEMENT_PROCESSOR"));
  const std::string version = Trim(fw.Attr("FIRMWARE_VERSION"));
  if (!mp.empty()) f.identity.bmc_model = mp;
  if (!version.empty()) f.identity.bmc_firmware = version;
}

void ParseHostData(const Node& host_data, Findings& f) {
  for (const Node* rec : host_data.All("SMBIOS_RECORD")) {
    const std::string type = rec->Attr("TYPE");
    std::map<std::string, std::string> fields;
    for (const Node* field : rec->All("FIELD")) fields[field->Attr("NAME")] = Trim(field->Attr("VALUE"));
    if (type == "0") {
      std::string bios = fields["Family"];
      if (!fields["Date"].empty()) bios += (bios.empty() ? "" : " ") + fields["Date"];
      if (!bios.empty()) f.identity.bios_version = bios;
    } else if (type == "1") {
      if (!fields["Product Name"].empty()) f.identity.model = fields["Product Name"];
      if (!fields["Serial Number"].empty()) f.identity.serial = fields["Serial Number"];
      if (!fields["cUUID"].empty()) f.identity.uuid = fields["cUUID"];
    }
  }
}

void ParseRimp(const Node& rimp, Findings& f) {
  if (const Node* hsi = rimp.Find("HSI")) {
    auto text = [&](const char* name) {
      const Node* n = hsi->Find(name);
      return n == nullptr ? std::string() : Trim(n->Attr("#text"));
    };
    if (!text("SBSN").empty()) f.identity.serial = text("SBSN");
    if (!text("SPN").empty()) f.identity.model = text("SPN");
    if (!text("cUUID").empty()) f.identity.uuid = text("cUUID");
  }
  if (const Node* mp = rimp.Find("MP")) {
    auto text = [&](const char* name) {
      const Node* n = mp->Find(name);
      return n == nullptr ? std::string() : Trim(n->Attr("#text"));
    };
    std::string pn = text("PN");  // "Integrated Lights-Out 3 (iLO 3)"
    if (auto open = pn.rfind('('); open != std::string::npos && pn.back() == ')') {
      pn = pn.substr(open + 1, pn.size() - open - 2);
    }
    if (!pn.empty()) f.identity.bmc_model = pn;
    if (!text("FWRI").empty()) f.identity.bmc_firmware = text("FWRI");
  }
  if (f.identity.vendor.empty()) f.identity.vendor = "HPE";
}

void ParseEventLog(const Node& event_log, LogSummary& log) {
  for (const Node* e : event_log.All("EVENT")) {
    LogEntry entry;
    entry.severity = ParseHealth(e->Attr("SEVERITY"));
    std::string when = e->Attr("LAST_UPDATE");
    if (when.empty()) when = e->Attr("INITIAL_UPDATE");
    entry.created_unix = ParseTimestamp(when);
    Health sev = entry.severity == Health::kUnknown ? Health::kOk : entry.severity;
    log.entries[sev] += 1;
    if (sev == Health::kCritical && entry.created_unix > 0) {
      log.last_critical_unix = std::max(log.last_critical_unix.value_or(0), entry.created_unix);
    }
  }
}

void ParseMisc(const Response& response, Findings& f) {
  if (const Node* p = FindIn(response, "GET_HOST_POWER")) f.power = ParsePowerState(p->Attr("HOST_POWER"));
  if (const Node* r = FindIn(response, "GET_POWER_READINGS")) {
    if (const Node* present = r->Find("PRESENT_POWER_READING")) {
      if (auto w = ParseNumber(present->Attr("VALUE"))) f.power_consumed_watts = w;
    }
  }
  if (const Node* n = FindIn(response, "SERVER_NAME")) {
    std::string name = Trim(n->Attr("VALUE"));
    if (!name.empty()) f.identity.host_name = name;
  }
  if (const Node* n = FindIn(response, "GET_PRODUCT_NAME")) {
    std::string name = n->Value("PRODUCT_NAME");
    if (!name.empty()) f.identity.model = name;
  }
}

std::string BuildRequest(const std::string& user, const std::string& password,
                         const std::vector<std::pair<std::string, std::vector<std::string>>>& blocks) {
  auto escape = [](const std::string& in) {
    std::string out;
    for (char c : in) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out.push_back(c);
      }
    }
    return out;
  };
  std::string xml = "<?xml version=\"1.0\"?>\r\n<RIBCL VERSION=\"2.0\">\r\n<LOGIN USER_LOGIN=\"" + escape(user) +
                    "\" PASSWORD=\"" + escape(password) + "\">\r\n";
  for (const auto& [block, commands] : blocks) {
    xml += "<" + block + " MODE=\"read\">\r\n";
    for (const auto& cmd : commands) xml += "<" + cmd + " />\r\n";
    xml += "</" + block + ">\r\n";
  }
  xml += "</LOGIN>\r\n</RIBCL>\r\n";
  return xml;
}

}  // namespace estate::hardware::ribcl
