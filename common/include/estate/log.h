// Structured logging to stderr in logfmt or JSON, one line per record, like the Go exporters' go-kit/slog output.
// Thread-safe: records from several threads never interleave.
// Never pass secrets as values: nothing here can tell a password from any other string.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace estate::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

// Parses "debug|info|warn|error" / "logfmt|json"; false when the text is not one of them.
bool ParseLevel(std::string_view text, Level* out);
bool ParseFormat(std::string_view text, Format* out);

void Configure(Level level, Format format);
bool Enabled(Level level);

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void Write(Level level, std::string_view msg, Fields fields = {});
inline void Debug(std::string_view msg, Fields f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, Fields f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, Fields f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, Fields f = {}) { Write(Level::kError, msg, f); }

// Formats one record without writing it (for tests).
std::string FormatRecord(Level level, std::string_view msg, Fields fields, Format format);

}  // namespace estate::log
