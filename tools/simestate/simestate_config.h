// The simulated estate's config: a list of named fake upstreams, each serving a directory of recorded
// responses on its own port, with optional basic auth and faults. Plain structs with defaults; loading
// reports every problem with its line. Not thread-safe (load once, then read).
//
//   upstreams:
//     - name: example-a          # unique; [A-Za-z0-9_.-], not starting with "_"
//       kind: example            # free text for tools and later generators
//       port: 0                  # 0 = pick a free one (see --ports.file)
//       data: data/example       # relative to this file; omit for an empty tree
//       lenient_paths: true
//       threads: 16
//       basic_auth: {username: monitor, password: monitor}   # or password_file / password_env
//       tls_cert_file: pki/bmc.pem   # certificate + key in one PEM, relative to this file; serves https
//       faults:
//         - {kind: status, status: 503, path_prefix: /api, remaining: 3, latency: 100ms}
//       events: true             # kind redfish: an EventService with SSE and push subscriptions
//
// Kinds "openstack" and "pure" serve a storage model instead of a data directory:
//       model: data/storage-demo/model.yml      # or generate: {servers: 50000, volumes: 100000, arrays: 2,
//       seed: 1} openstack: {region: RegionOne, token_ttl: 1h, users: [...], application_credentials: [...]}
//       pure: {array: pure-a, api_token: ..., requests_per_second: 10, requests_per_minute: 600}
//
// Kinds "servicenow" and "gocd" (the service registry's upstreams) serve records and pipelines from a file
// (sim_registry_data.h; a relative path is taken in the upstream's data directory, else next to this file);
// basic_auth is checked by the simulator itself, the way the real service answers:
//       data: data/registry-demo
//       servicenow: {records: cmdb.yml, bearer_token: ..., default_limit: 10000,
//                    rate_limit: {requests: 50, window: 10s}, html_login: false}
//       gocd: {pipelines: gocd.yml, bearer_token: ...}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "estate/config.h"
#include "estate/result.h"
#include "estate/testing/fake_upstream.h"
#include "sim_openstack.h"
#include "sim_pure.h"
#include "sim_storage_model.h"

namespace estate::simestate {

// Kinds servicenow and gocd.
struct RegistrySimConfig {
  std::string data_file;     // absolute: servicenow records / gocd pipelines (the data directory serves nothing)
  std::string bearer_token;  // "" = no bearer auth (basic_auth of the upstream may be set)
  int default_limit = 10000;        // servicenow: sysparm_limit when absent
  int rate_limit_requests = 0;      // servicenow: requests per window; 0 = none
  double rate_limit_window_seconds = 60;
  bool html_login = false;          // servicenow: answer 200 with an HTML login page (SSO)
};

struct UpstreamConfig {
  std::string name;
  std::string kind;
  int port = 0;
  std::string data_dir;  // absolute (resolved against the config file's directory); "" = routes only
  bool lenient_paths = true;
  int threads = 16;
  std::string username;
  std::string password;
  std::string tls_cert_file;  // absolute; combined certificate + key PEM; "" = plain HTTP
  std::vector<testing::Fault> faults;
  bool events = false;  // kind redfish: serve an EventService (sim_events.h)
  // kinds openstack and pure
  std::string model_file;                // absolute; "" = none
  std::optional<GenerateSpec> generate;  // instead of model_file
  OpenStackOptions openstack;
  PureOptions pure;
  RegistrySimConfig registry;  // kinds servicenow and gocd
  // The key under which upstreams share one model ("" when the kind needs none).
  std::string ModelKey() const { return generate ? generate->Key() : model_file; }
};

struct Config {
  std::vector<UpstreamConfig> upstreams;
};

// Loads and validates a config file. The error lists every problem, one "file:line: path: message" per line.
Result<Config> LoadConfig(const std::string& path);
// Same, from text; relative data directories are resolved against base_dir.
Result<Config> ParseConfig(const std::string& text, const std::string& origin, const std::string& base_dir);

// Reads one fault (the keys listed in README.md) from a mapping; problems go to the reader's errors.
testing::Fault ReadFault(config::MapReader& reader);
// Parses a fault given as JSON (or YAML) text, as sent to the control API.
Result<testing::Fault> ParseFault(const std::string& text);

// "none", "status", "truncated", "garbage", "huge", "slow_drip", "drop_connection",
// "reset_connection"; false when unknown.
bool ParseFaultKind(const std::string& text, testing::Fault::Kind* out);
const char* FaultKindName(testing::Fault::Kind kind);

}  // namespace estate::simestate
