// Helpers for mapping YAML (yaml-cpp) onto plain config structs with defaults in the struct.
// Every problem is collected with its path and line; unknown keys are errors. Not thread-safe (use per load).
//
//   ConfigErrors errors("hardware.yml");
//   MapReader root(node, "", errors);
//   root.Get("interval", cfg.interval);          // optional: keeps the struct default when absent
//   root.Require("address", cfg.address);        // required
//   for (auto& [name, sub] : root.Entries("targets")) { ... }
//   root.Finish();                               // reports keys nobody read
//   if (!errors.empty()) return MakeError(errors.Text());
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "estate/result.h"

namespace estate::config {

class ConfigErrors {
 public:
  explicit ConfigErrors(std::string origin) : origin_(std::move(origin)) {}
  void Add(const YAML::Mark& mark, const std::string& path, const std::string& message);
  bool empty() const { return lines_.empty(); }
  std::size_t size() const { return lines_.size(); }
  // One line per problem: "<origin>:<line>: <path>: <message>".
  std::string Text() const;
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::vector<std::string> lines_;
};

// Parses Prometheus-style durations: "30s", "5m", "1h30m", "250ms", "2d". False when malformed.
bool ParseDuration(const std::string& text, double* seconds);
std::string FormatDuration(double seconds);

class MapReader {
 public:
  // node must be a mapping (or null, treated as empty); path is the dotted prefix for messages.
  MapReader(const YAML::Node& node, std::string path, ConfigErrors& errors);

  bool Has(const std::string& key) const;
  // Optional scalar. Types: std::string, bool, int, long, double, std::vector<std::string>,
  // std::map<std::string,std::string>. Wrong types are reported and leave out unchanged.
  template <typename T>
  void Get(const std::string& key, T& out);
  // Duration in seconds ("30s"); must be > 0 unless allow_zero.
  void GetDuration(const std::string& key, double& seconds, bool allow_zero = false);
  template <typename T>
  void Require(const std::string& key, T& out) {
    if (!Has(key)) {
      Missing(key);
      return;
    }
    Get(key, out);
  }
  // A nested mapping (empty reader when absent).
  MapReader Map(const std::string& key);
  // A list of mappings, each with its own reader and path "key[i]".
  std::vector<MapReader> List(const std::string& key);
  // A mapping of name -> mapping, in file order.
  std::vector<std::pair<std::string, MapReader>> Entries(const std::string& key);
  // Reports every key that no Get/Require/Map/List/Entries call read.
  void Finish();

  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }
  YAML::Mark mark() const;
  ConfigErrors& errors() { return *errors_; }
  void Error(const std::string& key, const std::string& message);

 private:
  void Missing(const std::string& key);
  std::string Sub(const std::string& key) const;

  YAML::Node node_;
  std::string path_;
  ConfigErrors* errors_;
  std::map<std::string, bool> read_;
};

// Loads a YAML file; errors carry the file name and line.
Result<YAML::Node> LoadYamlFile(const std::string& path);
Result<YAML::Node> ParseYaml(const std::string& text, const std::string& origin);

// A secret given either inline (discouraged), as "<name>_file" (read and trimmed of one trailing newline) or
// as "<name>_env" (environment variable name). Reads the keys name, name_file, name_env from reader; at most
// one may be set. Never logs the value.
void GetSecret(MapReader& reader, const std::string& name, std::string& out, bool required);

// Reads a whole file; error says which file and why (never its content).
Result<std::string> ReadFile(const std::string& path);

}  // namespace estate::config
