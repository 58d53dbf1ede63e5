#include "estate/config.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace estate::config {

void ConfigErrors::Add(const YAML::Mark& mark, const std::string& path, const std::string& message) {
  std::string line = origin_;
  if (mark.line >= 0) line += ":" + std::to_string(mark.line + 1);
  line += ": ";
  if (!path.empty()) line += path + ": ";
  line += message;
  lines_.push_back(std::move(line));
}

std::string ConfigErrors::Text() const {
  std::string out;
  for (const auto& l : lines_) {
    if (!out.empty()) out.push_back('\n');
    out += l;
  }
  return out;
}

bool ParseDuration(const std::string& text, double* seconds) {
  // Prometheus' model.ParseDuration units, in the order they must appear.
  static const std::pair<const char*, double> kUnits[] = {
      {"y", 365 * 86400.0}, {"w", 7 * 86400.0}, {"d", 86400.0}, {"h", 3600.0},
      {"m", 60.0},          {"s", 1.0},         {"ms", 0.001}};
  if (text.empty()) return false;
  if (text == "0") {
    *seconds = 0;
    return true;
  }
  double total = 0;
  std::size_t i = 0;
  int last_unit = -1;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start) return false;
    double n = std::strtod(text.substr(start, i - start).c_str(), nullptr);
    std::size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(ustart, i - ustart);
    int found = -1;
    for (int u = 0; u < 7; ++u) {
      if (unit == kUnits[u].first) found = u;
    }
    if (found < 0 || found <= last_unit) return false;
    last_unit = found;
    total += n * kUnits[found].second;
  }
  *seconds = total;
  return true;
}

std::string FormatDuration(double seconds) {
  if (seconds <= 0) return "0s";
  std::string out;
  long long ms = std::llround(seconds * 1000);
  long long h = ms / 3600000;
  ms %= 3600000;
  long long m = ms / 60000;
  ms %= 60000;
  long long s = ms / 1000;
  ms %= 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (ms) out += std::to_string(ms) + "ms";
  return out;
}

MapReader::MapReader(const YAML::Node& node, std::string path, ConfigErrors& errors)
    : node_(node), path_(std::move(path)), errors_(&errors) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    errors_->Add(node_.Mark(), path_.empty() ? "(top level)" : path_, "must be a mapping");
    node_ = YAML::Node();
  }
}

std::string MapReader::Sub(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

YAML::Mark MapReader::mark() const { return node_ ? node_.Mark() : YAML::Mark::null_mark(); }

bool MapReader::Has(const std::string& key) const {
  return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
}

void MapReader::Missing(const std::string& key) {
  read_[key] = true;
  errors_->Add(mark(), Sub(key), "is required");
}

void MapReader::Error(const std::string& key, const std::string& message) {
  YAML::Mark m = mark();
  if (node_ && node_.IsMap() && node_[key]) m = node_[key].Mark();
  errors_->Add(m, Sub(key), message);
}

namespace {

template <typename T>
bool Convert(const YAML::Node& n, T& out) {
  if (!n.IsScalar()) return false;
  try {
    out = n.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

const char* TypeWord(const std::string*) { return "a string"; }
const char* TypeWord(const bool*) { return "true or false"; }
const char* TypeWord(const int*) { return "an integer"; }
const char* TypeWord(const long*) { return "an integer"; }
const char* TypeWord(const double*) { return "a number"; }

}  // namespace

template <typename T>
void MapReader::Get(const std::string& key, T& out) {
  read_[key] = true;
  if (!Has(key)) return;
  const YAML::Node n = node_[key];
  T value{};
  if (!Convert(n, value)) {
    errors_->Add(n.Mark(), Sub(key), std::string("must be ") + TypeWord(&out));
    return;
  }
  out = value;
}

template <>
void MapReader::Get(const std::string& key, std::vector<std::string>& out) {
  read_[key] = true;
  if (!Has(key)) return;
  const YAML::Node n = node_[key];
  if (!n.IsSequence()) {
    errors_->Add(n.Mark(), Sub(key), "must be a list of strings");
    return;
  }
  std::vector<std::string> values;
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string v;
    if (!Convert(n[i], v)) {
      errors_->Add(n[i].Mark(), Sub(key) + "[" + std::to_string(i) + "]", "must be a string");
      return;
    }
    values.push_back(v);
  }
  out = std::move(values);
}

template <>
void MapReader::Get(const std::string& key, std::map<std::string, std::string>& out) {
  read_[key] = true;
  if (!Has(key)) return;
  const YAML::Node n = node_[key];
  if (!n.IsMap()) {
    errors_->Add(n.Mark(), Sub(key), "must be a mapping of strings");
    return;
  }
  std::map<std::string, std::string> values;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {  // as<std::string>() would throw
      errors_->Add(kv.first.Mark(), Sub(key), "keys must be strings");
      return;
    }
    std::string k = kv.first.as<std::string>();
    std::string v;
    if (!Convert(kv.second, v)) {
      errors_->Add(kv.second.Mark(), Sub(key) + "." + k, "must be a string");
      return;
    }
    values[k] = v;
  }
  out = std::move(values);
}

template void MapReader::Get(const std::string&, std::string&);
template void MapReader::Get(const std::string&, bool&);
template void MapReader::Get(const std::string&, int&);
template void MapReader::Get(const std::string&, long&);
template void MapReader::Get(const std::string&, double&);

void MapReader::GetDuration(const std::string& key, double& seconds, bool allow_zero) {
  read_[key] = true;
  if (!Has(key)) return;
  const YAML::Node n = node_[key];
  std::string text;
  double value = 0;
  if (!Convert(n, text) || !ParseDuration(text, &value)) {
    errors_->Add(n.Mark(), Sub(key), "must be a duration such as 30s, 5m or 1h30m");
    return;
  }
  if (value <= 0 && !allow_zero) {
    errors_->Add(n.Mark(), Sub(key), "must be greater than 0");
    return;
  }
  seconds = value;
}

MapReader MapReader::Map(const std::string& key) {
  read_[key] = true;
  if (!Has(key)) return MapReader(YAML::Node(), Sub(key), *errors_);
  return MapReader(node_[key], Sub(key), *errors_);
}

std::vector<MapReader> MapReader::List(const std::string& key) {
  read_[key] = true;
  std::vector<MapReader> out;
  if (!Has(key)) return out;
  const YAML::Node n = node_[key];
  if (!n.IsSequence()) {
    errors_->Add(n.Mark(), Sub(key), "must be a list");
    return out;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    out.emplace_back(n[i], Sub(key) + "[" + std::to_string(i) + "]", *errors_);
  }
  return out;
}

std::vector<std::pair<std::string, MapReader>> MapReader::Entries(const std::string& key) {
  read_[key] = true;
  std::vector<std::pair<std::string, MapReader>> out;
  if (!Has(key)) return out;
  const YAML::Node n = node_[key];
  if (!n.IsMap()) {
    errors_->Add(n.Mark(), Sub(key), "must be a mapping of names to settings");
    return out;
  }
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      errors_->Add(kv.first.Mark(), Sub(key), "names must be strings");
      continue;
    }
    std::string name = kv.first.as<std::string>();
    out.emplace_back(name, MapReader(kv.second, Sub(key) + "." + name, *errors_));
  }
  return out;
}

void MapReader::Finish() {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {
      errors_->Add(kv.first.Mark(), path_.empty() ? "(top level)" : path_, "keys must be strings");
      continue;
    }
    std::string k = kv.first.as<std::string>();
    if (read_.count(k) == 0) errors_->Add(kv.first.Mark(), Sub(k), "unknown key");
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<YAML::Node> ParseYaml(const std::string& text, const std::string& origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return MakeError(origin + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    return MakeError(origin + ": " + e.what());
  }
}

Result<YAML::Node> LoadYamlFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return MakeError(text.error());
  return ParseYaml(*text, path);
}

void GetSecret(MapReader& reader, const std::string& name, std::string& out, bool required) {
  std::string inline_value, file, env;
  reader.Get(name, inline_value);
  reader.Get(name + "_file", file);
  reader.Get(name + "_env", env);
  int set = !inline_value.empty() + !file.empty() + !env.empty();
  if (set > 1) {
    reader.Error(name, "set only one of " + name + ", " + name + "_file and " + name + "_env");
    return;
  }
  if (!file.empty()) {
    auto content = ReadFile(file);
    if (!content) {
      reader.Error(name + "_file", content.error());
      return;
    }
    std::string v = *content;
    if (!v.empty() && v.back() == '\n') v.pop_back();
    if (!v.empty() && v.back() == '\r') v.pop_back();
    out = v;
  } else if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr) {
      reader.Error(name + "_env", "environment variable " + env + " is not set");
      return;
    }
    out = v;
  } else if (!inline_value.empty()) {
    out = inline_value;
  } else if (required) {
    reader.Error(name, "is required (as " + name + "_file or " + name + "_env)");
  }
}

}  // namespace estate::config
