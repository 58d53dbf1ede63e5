// Test support for the hardware exporter: reading the shared fixtures and serving a Redfish fixture tree to the
// collector without a network (the way a BMC would, including $expand when asked to emulate it).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "estate/result.h"

namespace estate::hardware::testing {

// "<FixturesDir()>/hardware".
std::string HardwareFixtures();
bool HaveHardwareFixtures(const std::string& set);
std::string ReadText(const std::string& path);
nlohmann::json LoadJson(const std::string& path);
// A Redfish resource of a set: "<set>/<path>/index.json".
nlohmann::json LoadResource(const std::string& set, const std::string& path);

// Serves "<root><path>/index.json" for GETs, matching paths without regard to case, trailing slashes or the
// query, over one or more roots (the first that has the path wins). Overrides replace or add resources.
class TreeGetter {
 public:
  explicit TreeGetter(std::vector<std::string> roots, bool emulate_expand = false);
  Result<nlohmann::json> Get(const std::string& uri);
  void Override(const std::string& path, nlohmann::json body);
  int requests() const { return requests_; }
  std::vector<std::string> log() const { return log_; }

 private:
  const nlohmann::json* Find(const std::string& path);
  nlohmann::json Expand(const nlohmann::json& body, int levels);

  std::map<std::string, std::string> files_;  // lower-cased path -> file
  std::map<std::string, nlohmann::json> cache_;
  bool emulate_expand_;
  int requests_ = 0;
  std::vector<std::string> log_;
};

}  // namespace estate::hardware::testing
