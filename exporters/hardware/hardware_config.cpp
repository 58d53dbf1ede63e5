#include "hardware_config.h"

#include <functional>
#include <set>

#include "estate/config.h"
#include "estate/metrics.h"
#include "estate/url.h"

namespace estate::hardware {

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kRedfish:
      return "redfish";
    case Protocol::kRibcl:
      return "ribcl";
    case Protocol::kAuto:
      break;
  }
  return "auto";
}

const AuthSet* HardwareConfig::FindAuth(const std::string& name) const {
  for (const auto& a : auths) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const TargetConfig* HardwareConfig::FindTarget(const std::string& name) const {
  for (const auto& t : targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

namespace {

void ReadDuration(config::MapReader& r, const std::string& key, double& out) {
  if (r.Has(key)) r.GetDuration(key, out);
}

}  // namespace

Result<HardwareConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                   const config::ParseOptions& options) {
  auto node = config::ParseYaml(yaml, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin, options);
  HardwareConfig cfg;
  config::MapReader root(*node, "", errors);

  config::MapReader defaults = root.Map("defaults");
  ReadDuration(defaults, "fast_interval", cfg.fast_interval_seconds);
  ReadDuration(defaults, "slow_interval", cfg.slow_interval_seconds);
  ReadDuration(defaults, "request_timeout", cfg.request_timeout_seconds);
  ReadDuration(defaults, "last_good_max_age", cfg.last_good_max_age_seconds);
  defaults.Get("max_requests_per_bmc", cfg.max_requests_per_bmc);
  defaults.Get("use_expand", cfg.use_expand);
  defaults.Finish();
  root.Get("max_concurrent_polls", cfg.max_concurrent_polls);
  root.Get("allow_empty", cfg.allow_empty);
  if (root.Has("events")) {
    config::MapReader ev = root.Map("events");
    EventsConfig& e = cfg.events;
    ev.Get("sse", e.sse);
    ev.Get("push", e.push);
    ev.Get("receiver_url", e.receiver_url);
    ev.Get("max_streams", e.max_streams);
    ReadDuration(ev, "idle_timeout", e.idle_timeout_seconds);
    ReadDuration(ev, "reconnect_min", e.reconnect_min_seconds);
    ReadDuration(ev, "reconnect_max", e.reconnect_max_seconds);
    ReadDuration(ev, "resync_min_interval", e.resync_min_interval_seconds);
    ReadDuration(ev, "fallback_min_interval", e.fallback_min_interval_seconds);
    ev.Finish();
    if (e.max_streams < 0) ev.Error("max_streams", "must not be negative");
    if (e.reconnect_min_seconds <= 0) ev.Error("reconnect_min", "must be positive");
    if (e.reconnect_max_seconds < e.reconnect_min_seconds)
      ev.Error("reconnect_max", "must be at least reconnect_min");
    if (e.push && e.receiver_url.empty()) ev.Error("receiver_url", "is required when push is on");
    if (!e.receiver_url.empty()) {
      auto u = url::Parse(ReceiverUrlForShard(e.receiver_url, 0));  // as shard 0 would use it
      if (!u)
        ev.Error("receiver_url", u.error());
      else if (u->has_query)
        ev.Error("receiver_url", "must not carry a query (the exporter adds ?target=)");
    }
  }
  if (cfg.max_requests_per_bmc < 1) defaults.Error("max_requests_per_bmc", "must be at least 1");
  if (cfg.max_concurrent_polls < 1) root.Error("max_concurrent_polls", "must be at least 1");

  for (auto& [name, reader] : root.Entries("auths")) {
    AuthSet a;
    a.name = name;
    reader.Require("username", a.username);
    config::GetSecret(reader, "password", a.password, /*required=*/true);
    reader.Finish();
    cfg.auths.push_back(std::move(a));
  }

  std::set<std::string> names;
  for (auto& reader : root.List("targets")) {
    TargetConfig t;
    reader.Require("name", t.name);
    reader.Require("address", t.address);
    std::string protocol = "auto";
    reader.Get("protocol", protocol);
    if (protocol == "redfish")
      t.protocol = Protocol::kRedfish;
    else if (protocol == "ribcl")
      t.protocol = Protocol::kRibcl;
    else if (protocol != "auto")
      reader.Error("protocol", "must be auto, redfish or ribcl, not \"" + protocol + "\"");
    reader.Require("auth", t.auth);
    reader.Get("ca_file", t.ca_file);
    reader.Get("insecure", t.insecure);
    reader.Get("labels", t.labels);
    ReadDuration(reader, "fast_interval", t.fast_interval_seconds);
    ReadDuration(reader, "slow_interval", t.slow_interval_seconds);
    reader.Get("api_root", t.api_root);
    reader.Get("sessions", t.sessions);
    reader.Get("events", t.events);
    reader.Finish();

    if (!t.name.empty() && !names.insert(t.name).second)
      reader.Error("name", "duplicate target \"" + t.name + "\"");
    if (reader.Has("address") && t.address.empty()) reader.Error("address", "must not be empty");
    if (t.address.find('@') != std::string::npos) {
      reader.Error("address", "must not carry credentials; use an auth set");
    }
    if (!t.auth.empty() && cfg.FindAuth(t.auth) == nullptr) {
      reader.Error("auth", "no auth set named \"" + t.auth + "\" under auths");
    }
    if (t.insecure && !t.ca_file.empty())
      reader.Error("insecure", "set either ca_file or insecure, not both");
    for (const auto& [k, v] : t.labels) {
      if (!metrics::ValidLabelName(k) || k.rfind("__", 0) == 0) {
        reader.Error("labels", "\"" + k + "\" is not a valid label name");
      }
      static const std::set<std::string> kReserved = {
          "target", "group", "controller", "drive",    "volume", "battery", "fan", "sensor",
          "psu",    "dimm",  "cpu",        "resource", "kind",   "state",   "log", "severity"};
      if (kReserved.count(k) != 0)
        reader.Error("labels", "\"" + k + "\" is used by the exporter's own series");
    }
    if (!t.api_root.empty() && t.api_root[0] != '/') reader.Error("api_root", "must start with /");
    cfg.targets.push_back(std::move(t));
  }
  root.Finish();
  // An empty or truncated file (an editor saving in place, a template with an empty inventory) must not
  // silently stop monitoring every BMC.
  if (cfg.targets.empty() && !cfg.allow_empty && errors.empty()) {
    root.Error("targets",
               "no targets configured (an empty or truncated file?); set allow_empty: true to run "
               "with none");
  }
  if (!errors.empty()) return MakeError(errors.Text());
  cfg.warnings = errors.warnings();
  cfg.inline_secrets = errors.inline_secrets();
  return cfg;
}

Result<HardwareConfig> LoadConfig(const std::string& path) {
  return config::LoadConfigFile(
      path, [](const std::string& text, const std::string& name) { return ParseConfig(text, name); });
}

std::string ReceiverUrlForShard(const std::string& receiver_url, int shard_ordinal) {
  static constexpr std::string_view kPlaceholder = "{shard}";
  const std::string ordinal = std::to_string(shard_ordinal);
  std::string out;
  std::size_t from = 0;
  for (std::size_t at; (at = receiver_url.find(kPlaceholder, from)) != std::string::npos;
       from = at + kPlaceholder.size()) {
    out.append(receiver_url, from, at - from);
    out += ordinal;
  }
  out.append(receiver_url, from);
  return out;
}

std::string BaseUrl(const std::string& address) {
  std::string a = address;
  while (!a.empty() && a.back() == '/') a.pop_back();
  if (a.rfind("https://", 0) == 0 || a.rfind("http://", 0) == 0) return a;
  return "https://" + a;
}

std::string Fingerprint(const HardwareConfig& config, const TargetConfig& t) {
  std::string s = t.address + "|" + ProtocolName(t.protocol) + "|" + t.auth + "|" + t.ca_file + "|" +
                  (t.insecure ? "1" : "0") + "|" + t.api_root + "|" + (t.sessions ? "1" : "0") + "|" +
                  std::to_string(t.fast_interval_seconds) + "|" + std::to_string(t.slow_interval_seconds) +
                  "|" + std::to_string(config.fast_interval_seconds) + "|" +
                  std::to_string(config.slow_interval_seconds) + "|" +
                  std::to_string(config.request_timeout_seconds) + "|" +
                  std::to_string(config.last_good_max_age_seconds) + "|" +
                  std::to_string(config.max_requests_per_bmc) + "|" + (config.use_expand ? "1" : "0");
  for (const auto& [k, v] : t.labels) s += "|" + k + "=" + v;
  if (config.events.Enabled() && t.events) {
    const EventsConfig& e = config.events;
    s += "|events|" + std::to_string(e.sse) + std::to_string(e.push) + "|" + e.receiver_url + "|" +
         std::to_string(e.idle_timeout_seconds) + "|" + std::to_string(e.reconnect_min_seconds) + "|" +
         std::to_string(e.reconnect_max_seconds) + "|" + std::to_string(e.resync_min_interval_seconds) + "|" +
         std::to_string(e.fallback_min_interval_seconds);
  }
  if (const AuthSet* a = config.FindAuth(t.auth)) {
    // Hashed so that a password change restarts the target without the password appearing anywhere.
    s += "|" + a->username + "|" + std::to_string(std::hash<std::string>{}(a->password));
  }
  return std::to_string(std::hash<std::string>{}(s));
}

}  // namespace estate::hardware
