// Helpers for mapping YAML (yaml-cpp) onto plain config structs with defaults in the struct.
// Every problem is collected with its path and line; unknown keys are errors. Not thread-safe (use per load).
// Nothing here throws for any input: odd YAML (non-scalar or duplicate keys, aliases, tags, wrong node kinds,
// out-of-range numbers) is reported as an error with its line.
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
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "estate/result.h"

namespace estate::config {

struct ParseOptions {
  // False: parse the text only, touching no file (secrets named by *_file read as empty, no file is checked).
  // For fuzzing and tests; loading a real config keeps it true.
  bool read_files = true;
};

// The problems (and warnings) of one load, shared by every MapReader of it.
class ConfigErrors {
 public:
  explicit ConfigErrors(std::string origin, ParseOptions options = {})
      : origin_(std::move(origin)), options_(options) {}
  void Add(const YAML::Mark& mark, const std::string& path, const std::string& message);
  bool empty() const { return lines_.empty(); }
  std::size_t size() const { return lines_.size(); }
  // One line per problem: "<origin>:<line>: <path>: <message>"; after kMaxLines, a count of the rest.
  std::string Text() const;
  const std::string& origin() const { return origin_; }
  const ParseOptions& options() const { return options_; }

  // Warnings do not fail the load (inline secrets, loose file permissions); same line format as errors.
  void Warn(const YAML::Mark& mark, const std::string& path, const std::string& message);
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Set by GetSecret when a secret is written in the file itself.
  bool inline_secrets() const { return inline_secrets_; }
  void set_inline_secrets() { inline_secrets_ = true; }

  static constexpr std::size_t kMaxLines = 50;

 private:
  std::string Line(const YAML::Mark& mark, const std::string& path, const std::string& message) const;

  std::string origin_;
  ParseOptions options_;
  std::vector<std::string> lines_;
  std::vector<std::string> warnings_;
  bool inline_secrets_ = false;
};

// Parses Prometheus-style durations: "30s", "5m", "1h30m", "250ms", "2d". False when malformed or longer than
// kMaxDurationSeconds (so that no interval or deadline computed from it can overflow).
constexpr double kMaxDurationSeconds = 10 * 365 * 86400.0;
bool ParseDuration(const std::string& text, double* seconds);
std::string FormatDuration(double seconds);

class MapReader {
 public:
  // node must be a mapping (or null, treated as empty); path is the dotted prefix for messages. Keys that are
  // not scalars, and duplicate keys, are reported here (and otherwise ignored).
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

// The text of a scalar key, or false for a key that is not a scalar (a sequence, mapping or null).
bool KeyText(const YAML::Node& key, std::string* out);

// Loads a YAML file (read with ReadFile); errors carry the file name and line.
Result<YAML::Node> LoadYamlFile(const std::string& path);
// Never throws: syntax errors, too deep nesting and any other failure of the YAML library are errors.
Result<YAML::Node> ParseYaml(const std::string& text, const std::string& origin);

// A secret given either inline (discouraged), as "<name>_file" (read and trimmed of one trailing newline) or
// as "<name>_env" (environment variable name). Reads the keys name, name_file, name_env from reader; at most
// one may be set. Never logs the value. Warns about an inline value and about a secret file that other users
// can read or write.
void GetSecret(MapReader& reader, const std::string& name, std::string& out, bool required);

struct ReadOptions {
  std::size_t max_bytes = 64 << 20;
  // Reads that found the file changing before giving up.
  int attempts = 5;
  // Called after the first read of each attempt, before the file is looked at again (tests rewrite it here).
  std::function<void()> after_first_read;
};

// Reads a whole regular file; error says which file and why (never its content). Safe against a concurrent
// in-place rewrite (an editor saving, a config manager writing): the file is read, then checked again (size,
// mtime, inode and content); if anything changed it is read again after a short pause, and after
// options.attempts changes the error says the file kept changing while being read.
Result<std::string> ReadFile(const std::string& path, const ReadOptions& options = {});

// A warning for a file other users may write (any file) or read (secret = true), or "" when it is private
// enough, e.g. "/etc/estate/bmc.pass is world-readable (chmod o-rwx it)". Also "" when it cannot be stat'ed
// (reading it reports that).
std::string FileModeWarning(const std::string& path, bool secret);

// The warnings about a config file itself, appended to warnings: world-writable always; world-readable when
// it holds secrets (passwords written inline, password hashes).
void CheckConfigFileMode(const std::string& path, bool holds_secrets, std::vector<std::string>& warnings);

// Logs each warning once (level warn), e.g. when a config has been loaded.
void LogWarnings(const std::vector<std::string>& warnings);

// An exporter's --config.file: reads path (ReadFile), parses the text with parse(text, path), which returns a
// Result of a config with `warnings` (and `inline_secrets` when it can hold secrets), then adds the file-mode
// warnings and logs them all. Errors are ReadFile's or the parser's.
template <typename Parse>
auto LoadConfigFile(const std::string& path, Parse&& parse) -> decltype(parse(std::string(), path)) {
  auto text = ReadFile(path);
  if (!text) return MakeError(text.error());
  auto cfg = parse(*text, path);
  if (!cfg) return cfg;
  bool holds_secrets = false;
  if constexpr (requires { cfg->inline_secrets; }) holds_secrets = cfg->inline_secrets;
  CheckConfigFileMode(path, holds_secrets, cfg->warnings);
  LogWarnings(cfg->warnings);
  return cfg;
}

}  // namespace estate::config
