#include "estate/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include "estate/log.h"

namespace estate::config {

namespace {

// A key or value echoed in a message is cut here, so that one huge key cannot make a huge error.
constexpr std::size_t kMaxLineBytes = 512;

}  // namespace

std::string ConfigErrors::Line(const YAML::Mark& mark, const std::string& path,
                               const std::string& message) const {
  std::string line = origin_;
  if (mark.line >= 0) line += ":" + std::to_string(mark.line + 1);
  line += ": ";
  if (!path.empty()) line += path + ": ";
  line += message;
  if (line.size() > kMaxLineBytes) line = line.substr(0, kMaxLineBytes) + "...";
  return line;
}

void ConfigErrors::Add(const YAML::Mark& mark, const std::string& path, const std::string& message) {
  lines_.push_back(Line(mark, path, message));
}

void ConfigErrors::Warn(const YAML::Mark& mark, const std::string& path, const std::string& message) {
  warnings_.push_back(Line(mark, path, message));
}

std::string ConfigErrors::Text() const {
  std::string out;
  for (std::size_t i = 0; i < lines_.size() && i < kMaxLines; ++i) {
    if (!out.empty()) out.push_back('\n');
    out += lines_[i];
  }
  if (lines_.size() > kMaxLines) {
    out += "\n" + origin_ + ": ... and " + std::to_string(lines_.size() - kMaxLines) + " more problems";
  }
  return out;
}

bool KeyText(const YAML::Node& key, std::string* out) {
  if (!key.IsScalar()) return false;
  *out = key.Scalar();
  return true;
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
    if (!(total <= kMaxDurationSeconds)) return false;
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
    return;
  }
  if (!node_ || !node_.IsMap()) return;
  // yaml-cpp keeps both entries of a duplicate key and finds only the first: a second "targets:" would be
  // silently ignored.
  std::set<std::string> seen;
  for (const auto& kv : node_) {
    std::string k;
    if (!KeyText(kv.first, &k)) {
      errors_->Add(kv.first.Mark(), path_.empty() ? "(top level)" : path_, "keys must be strings");
    } else if (!seen.insert(k).second) {
      errors_->Add(kv.first.Mark(), Sub(k), "duplicate key");
    }
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
    std::string k;
    if (!KeyText(kv.first, &k)) {
      errors_->Add(kv.first.Mark(), Sub(key), "keys must be strings");
      return;
    }
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
    std::string name;
    if (!KeyText(kv.first, &name)) {
      errors_->Add(kv.first.Mark(), Sub(key), "names must be strings");
      continue;
    }
    out.emplace_back(name, MapReader(kv.second, Sub(key) + "." + name, *errors_));
  }
  return out;
}

void MapReader::Finish() {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    std::string k;
    if (!KeyText(kv.first, &k)) continue;  // reported by the constructor
    if (read_.count(k) == 0) errors_->Add(kv.first.Mark(), Sub(k), "unknown key");
  }
}

namespace {

struct FileState {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};
  bool operator==(const FileState& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
           ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

FileState StateOf(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

// One read of the whole file with its state before and after; "" error on success.
std::string ReadOnce(const std::string& path, std::size_t max_bytes, std::string* text, FileState* before,
                     FileState* after) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return "cannot read " + path + ": " + std::strerror(errno);
  struct stat st {};
  std::string error;
  if (fstat(fd, &st) != 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    // A FIFO or device could block or never end.
    error = "cannot read " + path + ": not a regular file";
  } else if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    error = "cannot read " + path + ": larger than " + std::to_string(max_bytes) + " bytes";
  }
  if (!error.empty()) {
    close(fd);
    return error;
  }
  *before = StateOf(st);
  // Straight into the string: reloads run on civetweb workers, whose stacks are too small for a big buffer.
  text->clear();
  constexpr std::size_t kChunk = 64 * 1024;
  for (;;) {
    const std::size_t have = text->size();
    text->resize(have + kChunk);
    ssize_t n = read(fd, text->data() + have, kChunk);
    const int read_errno = errno;
    text->resize(have + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && read_errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(read_errno);
      break;
    }
    if (n == 0) break;
    // Files under /proc say size 0: the limit holds for what is really read.
    if (text->size() > max_bytes) {
      error = "cannot read " + path + ": larger than " + std::to_string(max_bytes) + " bytes";
      break;
    }
  }
  if (error.empty() && fstat(fd, &st) != 0) error = "cannot read " + path + ": " + std::strerror(errno);
  close(fd);
  if (error.empty()) *after = StateOf(st);
  return error;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, const ReadOptions& options) {
  const int attempts = std::max(1, options.attempts);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 << std::min(attempt, 5)));
    std::string first, second;
    FileState before{}, after{}, before2{}, after2{};
    if (std::string e = ReadOnce(path, options.max_bytes, &first, &before, &after); !e.empty())
      return MakeError(e);
    if (options.after_first_read) options.after_first_read();
    // A writer that truncates and rewrites in place can be caught half way: the first read may be empty or
    // cut short. Read once more (by name, so a file replaced meanwhile is seen too) and accept only when
    // nothing moved in between: same inode, size, times and bytes.
    if (std::string e = ReadOnce(path, options.max_bytes, &second, &before2, &after2); !e.empty()) {
      return MakeError(e);
    }
    if (before == after && after == before2 && before2 == after2 && first == second &&
        first.size() == static_cast<std::size_t>(after.size)) {
      return first;
    }
  }
  return MakeError("cannot read " + path + ": the file changed while it was being read (" +
                   std::to_string(attempts) + " attempts); is it being written? try again");
}

Result<YAML::Node> ParseYaml(const std::string& text, const std::string& origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return MakeError(origin + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    return MakeError(origin + ": " + e.what());
  } catch (const std::exception& e) {
    return MakeError(origin + ": cannot parse: " + e.what());
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
  auto where = [&](const std::string& key) {
    return reader.node().IsMap() && reader.node()[key] ? reader.node()[key].Mark() : reader.mark();
  };
  const std::string path = reader.path().empty() ? name : reader.path() + "." + name;
  if (!inline_value.empty()) {
    reader.errors().set_inline_secrets();
    reader.errors().Warn(where(name), path,
                         "secret written in the config file; prefer " + name + "_file or " + name + "_env");
  }
  if (!file.empty() && !reader.errors().options().read_files) {
    out.clear();
  } else if (!file.empty()) {
    if (std::string w = FileModeWarning(file, /*secret=*/true); !w.empty()) {
      reader.errors().Warn(where(name + "_file"), path + "_file", w);
    }
    ReadOptions small;
    small.max_bytes = 1 << 20;
    auto content = ReadFile(file, small);
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

std::string FileModeWarning(const std::string& path, bool secret) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  if (st.st_mode & S_IWOTH) return path + " is world-writable (chmod o-w it)";
  if (secret && (st.st_mode & S_IROTH)) return path + " is world-readable (chmod o-r it)";
  return {};
}

void CheckConfigFileMode(const std::string& path, bool holds_secrets, std::vector<std::string>& warnings) {
  std::string w = FileModeWarning(path, holds_secrets);
  if (w.empty()) return;
  if (w.find("world-readable") != std::string::npos) w = "holds secrets and " + w;
  warnings.push_back(path + ": config file " + w);
}

void LogWarnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) log::Warn("configuration warning", {{"warning", w}});
}

}  // namespace estate::config
