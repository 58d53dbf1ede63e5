// The service-registry exporter's configuration (docs/service-registry.md). YAML is mapped onto these structs
// (defaults live here); unknown keys are errors reported with file, line and path; secrets come from files
// (<name>_file) or the environment (<name>_env), an inline secret is warned about.
//
//   naming:
//     rules: ['^(?P<app>[a-z]{3})-[a-z0-9]+(?:-[a-z0-9]+)*?(?:-(?P<colour>[ab])[0-9]*)?$']   # naming_rule.h
//   inventory:
//     clouds:                     # Nova, all tenants (as the storage-mapping exporter's clouds)
//       - name: prod
//         auth_url: https://keystone.example:5000/v3
//         region: RegionOne
//         interface: internal
//         auth: {method: password, username: monitor, password_file: /etc/estate/os.pass, project_name:
//         admin} interval: 5m
//     files: [/etc/estate/inventory.yml]     # inventory_file.h (.csv or YAML)
//     file_interval: 1m
//   servicenow:
//     url: https://example.service-now.com
//     auth: {basic: {username: monitor, password_file: /etc/estate/snow.pass}}   # or {bearer_token_file:
//     ...} tables: [cmdb_ci_business_app] query: 'operational_status=1' app_code_field: u_app_code
//     name_field: name
//     owner_field: owned_by.user_name
//     support_group_field: support_group.name
//     unregistered_install_status: ['7', '22']
//     page_size: 1000
//     server_table: cmdb_ci_server          # optional: support group of the hypervisors' server records
//     interval: 10m
//   gocd:
//     url: https://gocd.example.com
//     auth: {bearer_token_file: /etc/estate/gocd.token}   # or {basic: {username, password_file}}
//     app_pipeline_patterns: ['^{app}-']    # regex; {app} stands for the app's TLA (a run of letters/digits)
//     window_days: 30
//     page_size: 100
//     interval: 10m
//   teams:
//     order: [file, aggregate, servicenow]  # the first source naming a team for a hypervisor wins
//     file: /etc/estate/hypervisor-teams.yml
//     aggregate_metadata_key: team
//     file_interval: 5m
//   report:
//     top_users: 5
//     state_file: /var/lib/estate-service-registry/first-seen.json
//     forget_after: 30d                     # first-seen entries of apps not seen for this long are dropped
//   request_timeout: 30s
//   allow_empty: false                      # true: no inventory source at all is accepted
//
// Plain values; not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "estate/config.h"
#include "estate/http_client.h"
#include "estate/openstack/auth_config.h"
#include "estate/result.h"
#include "naming_rule.h"

namespace estate::registry {

// name, auth_url, region, interface, auth, ca_file, insecure, page_size and nova_microversion come from
// openstack::CloudSettings (estate/openstack/auth_config.h); the source is "nova:<name>".
struct CloudConfig : openstack::CloudSettings {
  double interval_seconds = 300;
};

// Basic or bearer, from the auth: section of servicenow: and gocd:.
struct UpstreamAuth {
  std::string username;
  std::string password;      // secret
  std::string bearer_token;  // secret
};

struct ServiceNowConfig {
  bool enabled = false;  // the section is present
  std::string url;
  UpstreamAuth auth;
  std::vector<std::string> tables = {"cmdb_ci_business_app"};
  std::string query;
  std::string app_code_field = "u_app_code";
  std::string name_field = "name";
  std::string owner_field = "owned_by.user_name";
  std::string support_group_field = "support_group.name";
  std::vector<std::string> unregistered_install_status = {"7", "22"};
  int page_size = 1000;
  std::string server_table;
  std::string server_name_field = "name";
  std::string server_support_group_field = "support_group.name";
  double interval_seconds = 600;
  std::string ca_file;
  bool insecure = false;
};

struct GocdConfig {
  bool enabled = false;
  std::string url;
  UpstreamAuth auth;
  std::vector<std::string> app_pipeline_patterns = {"^{app}-"};
  double window_days = 30;
  int page_size = 100;
  double interval_seconds = 600;
  std::string ca_file;
  bool insecure = false;
};

struct TeamsConfig {
  std::vector<std::string> order = {"file", "aggregate", "servicenow"};
  std::string file;  // "" = no mapping file
  std::string aggregate_metadata_key = "team";
  double file_interval_seconds = 300;
};

struct RegistryConfig {
  std::vector<std::string> naming_rules = {kDefaultNamingRule};
  std::shared_ptr<const NamingRules> rules;  // compiled naming_rules (set by ParseConfig)
  std::vector<CloudConfig> clouds;
  std::vector<std::string> inventory_files;
  double file_interval_seconds = 60;
  ServiceNowConfig servicenow;
  GocdConfig gocd;
  TeamsConfig teams;
  int top_users = 5;
  std::string state_file;  // "" = first-seen times kept in memory only
  double forget_after_seconds = 30 * 86400.0;
  double request_timeout_seconds = 30;
  double join_interval_seconds = 5;
  bool allow_empty = false;
  // Not settings: what the load noticed (logged by LoadConfig).
  std::vector<std::string> warnings;
  bool inline_secrets = false;
};

// Parses and validates; the error lists every problem, one per line, with file:line and path. Never throws;
// with options.read_files false it touches no file (for fuzzing).
Result<RegistryConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                   const config::ParseOptions& options = {});
// Reads the file, parses it, checks its mode and logs the warnings.
Result<RegistryConfig> LoadConfig(const std::string& path);

// HTTP settings of an upstream (timeouts, TLS, auth) with the given source label.
http::ClientOptions HttpOptions(const RegistryConfig& config, const std::string& source,
                                const std::string& ca_file, bool insecure, const UpstreamAuth& auth);

// Stable digests of what affects a source, for job fingerprints (secrets hashed).
std::string Fingerprint(const RegistryConfig& config, const CloudConfig& cloud);
std::string Fingerprint(const RegistryConfig& config, const ServiceNowConfig& servicenow);
std::string Fingerprint(const RegistryConfig& config, const GocdConfig& gocd);

}  // namespace estate::registry
