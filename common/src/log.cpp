#include "estate/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "estate/json_util.h"

namespace estate::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kLogfmt)};
std::mutex g_write_mu;

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// logfmt: quote when the value has spaces, quotes, '=' or control characters.
void AppendLogfmtValue(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) quote = true;
  }
  if (!quote) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug") *out = Level::kDebug;
  else if (text == "info") *out = Level::kInfo;
  else if (text == "warn") *out = Level::kWarn;
  else if (text == "error") *out = Level::kError;
  else return false;
  return true;
}

bool ParseFormat(std::string_view text, Format* out) {
  if (text == "logfmt") *out = Format::kLogfmt;
  else if (text == "json") *out = Format::kJson;
  else return false;
  return true;
}

void Configure(Level level, Format format) {
  g_level.store(static_cast<int>(level));
  g_format.store(static_cast<int>(format));
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

std::string FormatRecord(Level level, std::string_view msg, Fields fields, Format format) {
  std::string out;
  out.reserve(128);
  if (format == Format::kJson) {
    out.append("{\"time\":");
    AppendJsonString(out, Timestamp());
    out.append(",\"level\":");
    AppendJsonString(out, LevelName(level));
    out.append(",\"msg\":");
    AppendJsonString(out, msg);
    for (const auto& [k, v] : fields) {
      out.push_back(',');
      AppendJsonString(out, k);
      out.push_back(':');
      AppendJsonString(out, v);
    }
    out.append("}\n");
  } else {
    out.append("time=").append(Timestamp()).append(" level=").append(LevelName(level)).append(" msg=");
    AppendLogfmtValue(out, msg);
    for (const auto& [k, v] : fields) {
      out.push_back(' ');
      out.append(k);
      out.push_back('=');
      AppendLogfmtValue(out, v);
    }
    out.push_back('\n');
  }
  return out;
}

void Write(Level level, std::string_view msg, Fields fields) {
  if (!Enabled(level)) return;
  std::string line = FormatRecord(level, msg, fields, static_cast<Format>(g_format.load()));
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace estate::log
