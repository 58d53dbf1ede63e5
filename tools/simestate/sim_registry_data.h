// The data of the service registry's simulated upstreams (kinds servicenow and gocd), read from YAML files
// written for the demo and the tests (data/registry-demo/cmdb.yml and gocd.yml document the format). Times
// are ages relative to a given `now`, so that "registered yesterday" stays yesterday whenever the demo runs.
// Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "estate/result.h"

namespace estate::simestate {

struct SimBusinessApp {
  std::string tla, name, install_status, owner, support_group;
  double created_unix = 0;
};

struct SimServerRecord {
  std::string name, fqdn, support_group;
};

struct SimCmdbData {
  std::vector<SimBusinessApp> apps;
  std::vector<SimServerRecord> servers;
};

struct SimPipelineRun {
  double scheduled_unix = 0;
  std::string forced_by;
  std::vector<std::string> committers;
  std::string stage_approver;
};

struct SimPipelineData {
  std::string name, group;
  std::vector<SimPipelineRun> runs;  // oldest first
  std::int64_t generate_count = 0;   // > 0: a generated history (newest at now, one every generate_spacing)
  double generate_spacing_seconds = 3600;
  std::vector<std::string> generate_users;
};

Result<SimCmdbData> ParseSimCmdb(const std::string& yaml, const std::string& origin, double now);
Result<std::vector<SimPipelineData>> ParseSimPipelines(const std::string& yaml, const std::string& origin,
                                                       double now);
// Read the file first (config::ReadFile).
Result<SimCmdbData> LoadSimCmdb(const std::string& path, double now);
Result<std::vector<SimPipelineData>> LoadSimPipelines(const std::string& path, double now);

}  // namespace estate::simestate
