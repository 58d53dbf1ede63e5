// The storage-mapping exporter's configuration: any number of OpenStack clouds and Pure FlashArrays, each
// refreshed in the background on its own interval, plus the history of past mappings. YAML is mapped onto
// these structs (defaults live here); unknown keys are errors reported with file, line and path.
//
//   defaults: {openstack_interval: 5m, array_interval: 2m, request_timeout: 30s}
//   history: {state_file: /var/lib/estate-storage-mapping/history.json, retention: 7d}
//   clouds:
//     - name: prod
//       auth_url: https://keystone.example:5000/v3
//       region: RegionOne
//       interface: internal
//       auth: {method: password, username: monitor, password_file: /etc/estate/os.pass,
//              project_name: admin}
//       array_backends: [pure-a]          # Cinder backends whose volumes must exist on an array
//   arrays:
//     - {name: pure-a, address: https://pure-a.example, api_token_file: /etc/estate/pure-a.token}
//   allow_empty: false     # true: no clouds and no arrays is fine (otherwise an empty file is refused)
//
// Plain values; not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "estate/config.h"
#include "estate/openstack/auth_config.h"
#include "estate/openstack/keystone.h"
#include "estate/result.h"

namespace estate::storage {

// The cloud's `auth` section: Keystone credentials as the estate::openstack library takes them.
using CloudAuthConfig = openstack::KeystoneAuth;

// name, auth_url, region, interface, auth, ca_file, insecure, page_size and nova_microversion come from
// openstack::CloudSettings (estate/openstack/auth_config.h).
struct CloudConfig : openstack::CloudSettings {
  double interval_seconds = 0;  // 0 = defaults.openstack_interval
  std::string cinder_microversion = "3.21";  // >= 3.21 so that provider_id is returned
  std::vector<std::string> array_backends;  // Cinder backend names expected on an array; empty = all volumes
};

struct ArrayConfig {
  std::string name;     // the `array` label
  std::string address;  // "pure-a.example", "host:port" or a URL (http:// kept as given)
  std::string api_token;  // secret
  double interval_seconds = 0;  // 0 = defaults.array_interval
  std::string ca_file;
  bool insecure = false;
  int page_size = 500;
  std::string api_version;  // "" = the highest 2.x the array offers
  bool read_tags = true;    // the openstack-integration.purestorage.com volume tags
};

struct StorageConfig {
  double openstack_interval_seconds = 300;
  double array_interval_seconds = 120;
  double request_timeout_seconds = 30;
  double join_interval_seconds = 5;  // how often the join checks for new source data
  std::string history_state_file;     // "" = history kept in memory only
  double history_retention_seconds = 7 * 86400;
  bool allow_empty = false;  // no clouds and no arrays is an error unless set
  std::vector<CloudConfig> clouds;
  std::vector<ArrayConfig> arrays;
  // Not settings: what the load noticed. Warnings (inline secrets, loose file modes) are logged by
  // LoadConfig.
  std::vector<std::string> warnings;
  bool inline_secrets = false;

  double CloudInterval(const CloudConfig& c) const {
    return c.interval_seconds > 0 ? c.interval_seconds : openstack_interval_seconds;
  }
  double ArrayInterval(const ArrayConfig& a) const {
    return a.interval_seconds > 0 ? a.interval_seconds : array_interval_seconds;
  }
};

// Parses and validates; the error lists every problem, one per line, with file:line and path. Never throws;
// with options.read_files false it touches no file (for fuzzing). Warnings are returned, not logged.
Result<StorageConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                  const config::ParseOptions& options = {});
// Reads the file (config::ReadFile), parses it and logs its warnings (and the file's own, e.g.
// world-writable).
Result<StorageConfig> LoadConfig(const std::string& path);

// A stable digest of everything that affects how a source is polled (secrets hashed), used as the job
// fingerprint so a reload restarts only sources whose settings changed.
std::string Fingerprint(const StorageConfig& config, const CloudConfig& cloud);
std::string Fingerprint(const StorageConfig& config, const ArrayConfig& array);

}  // namespace estate::storage
