// The hardware exporter's configuration: named credential sets kept apart from the BMC targets, per-target
// protocol, TLS trust, labels and polling intervals, and the concurrency limits. YAML is mapped onto these
// structs (defaults live here); unknown keys are errors reported with file, line and path.
//
//   defaults: {fast_interval: 60s, slow_interval: 10m, request_timeout: 20s, max_requests_per_bmc: 2,
//              last_good_max_age: 1h}
//   max_concurrent_polls: 64
//   auths:
//     ilo: {username: monitor, password_file: /etc/estate/ilo.pass}
//   targets:
//     - {name: hv01-ilo, address: https://10.0.0.11, auth: ilo, ca_file: /etc/estate/bmc-ca.pem,
//        labels: {host: hv01}}
//   allow_empty: false     # true: no targets is fine (otherwise an empty or truncated file is refused)
//   events: {sse: true, push: false, receiver_url: https://exporter.example:9840/events/redfish,
//            max_streams: 2000, idle_timeout: 0s, reconnect_min: 1s, reconnect_max: 5m}
//
// Plain values; not thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "estate/config.h"
#include "estate/result.h"

namespace estate::hardware {

enum class Protocol { kAuto, kRedfish, kRibcl };
const char* ProtocolName(Protocol p);

struct AuthSet {
  std::string name;
  std::string username;
  std::string password;  // secret: from password_file / password_env (inline discouraged)
};

struct TargetConfig {
  std::string name;     // the `target` label and the /probe?target= value
  std::string address;  // "bmc.example", "10.0.0.5:8443" or "https://bmc.example"
  Protocol protocol = Protocol::kAuto;
  std::string auth;       // name of an AuthSet
  std::string ca_file;    // PEM bundle to verify the BMC's certificate; empty = system CAs
  bool insecure = false;  // skip TLS verification: explicit opt-in only
  std::map<std::string, std::string> labels;  // extra labels on every series, e.g. host
  double fast_interval_seconds = 0;           // 0 = defaults
  double slow_interval_seconds = 0;
  std::string api_root;  // Redfish API root override, e.g. "/rest/v1" for iLO 4 HP REST; "" = detect
  bool sessions = true;  // Redfish sessions; false = basic auth on every request
  bool events = true;    // Redfish events for this BMC when events.sse or events.push is on
};

// Redfish events (redfish_events.h, docs/hardware.md). Both modes are off by default.
struct EventsConfig {
  bool sse = false;          // keep one SSE stream per BMC whose EventService offers ServerSentEventUri
  bool push = false;         // else create a push subscription (EventDestination) to receiver_url
  // How BMCs reach this exporter's POST /events/redfish (required for push). "{shard}" stands for the
  // instance's --shard.index (ReceiverUrlForShard), so that one config serves every shard.
  std::string receiver_url;
  int max_streams = 2000;    // SSE streams open at once across all BMCs
  double idle_timeout_seconds = 0;   // reconnect a stream silent this long; 0 = only on close/error
  double reconnect_min_seconds = 1;  // backoff after a failed or closed stream, doubling, with jitter
  double reconnect_max_seconds = 300;
  // After a break in the stream, an early slow poll at most this often.
  double resync_min_interval_seconds = 600;
  // An event for a resource that cannot be mapped runs its group early at most this often.
  double fallback_min_interval_seconds = 30;
  bool Enabled() const { return sse || push; }
};

struct HardwareConfig {
  double fast_interval_seconds = 60;    // sensors and power
  double slow_interval_seconds = 600;   // inventory, storage, firmware, logs (and topology rediscovery)
  double request_timeout_seconds = 20;  // per HTTP request
  // How long a resource whose reads fail keeps being served as it was last read (a partial poll).
  double last_good_max_age_seconds = 3600;
  int max_requests_per_bmc = 2;   // concurrent requests to one BMC
  int max_concurrent_polls = 64;  // polls in flight across all BMCs
  bool use_expand = true;         // use $expand where the service advertises it
  bool allow_empty = false;       // no targets is an error unless set
  EventsConfig events;
  std::vector<AuthSet> auths;
  std::vector<TargetConfig> targets;
  // Not settings: what the load noticed. Warnings (inline passwords, loose file modes) are logged by
  // LoadConfig.
  std::vector<std::string> warnings;
  bool inline_secrets = false;

  const AuthSet* FindAuth(const std::string& name) const;
  const TargetConfig* FindTarget(const std::string& name) const;
};

// Parses and validates; the error lists every problem, one per line, with file:line and path. Never throws;
// with options.read_files false it touches no file (for fuzzing). Warnings are returned, not logged.
Result<HardwareConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                   const config::ParseOptions& options = {});
// Reads the file (config::ReadFile), parses it and logs its warnings (and the file's own, e.g.
// world-writable).
Result<HardwareConfig> LoadConfig(const std::string& path);

// events.receiver_url with every "{shard}" replaced by this instance's shard ordinal, e.g.
// "https://estate-hardware-{shard}.estate-hardware.monitoring.svc:9840/events/redfish" on shard 2 gives
// "https://estate-hardware-2.estate-hardware.monitoring.svc:9840/events/redfish".
std::string ReceiverUrlForShard(const std::string& receiver_url, int shard_ordinal);

// "https://host[:port]" for a configured address ("host", "host:port" or a URL; http:// is kept as given).
std::string BaseUrl(const std::string& address);

// A stable digest of everything that affects how a target is polled (credentials included, hashed), used as
// the job fingerprint so a reload restarts only targets whose settings changed.
std::string Fingerprint(const HardwareConfig& config, const TargetConfig& target);

}  // namespace estate::hardware
