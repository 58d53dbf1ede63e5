// Server-Sent Events (the WHATWG "text/event-stream" format) from an untrusted upstream: a framing parser and
// a long-lived streaming GET over libcurl.
//
// SseParser turns bytes, in chunks of any size, into events. Lines end with CRLF, LF or CR (also when the CR
// and LF arrive in different chunks); "data" lines are joined with '\n'; "event", "id" and "retry" are kept;
// comment lines (":...") and unknown fields are ignored; a blank line dispatches the event, and an event with
// no data is dropped, as the standard says. The input is untrusted: a line longer than max_line_bytes, or an
// event whose data grows past max_event_bytes, is dropped whole (counted in dropped()) and parsing resumes at
// the next event; memory stays bounded by the two limits. Never throws (short of std::bad_alloc).
//
// StreamGet() runs one GET and hands the body to a callback as it arrives, until the server closes, an error,
// an idle timeout (no byte for that long) or a cancel. It uses the same TLS and auth settings as the common
// HTTP client (http::ClientOptions), refuses to follow redirects, and never retries: reconnecting (with
// backoff) is the caller's decision.
//
// StreamLoop runs many such streams on one thread.
//
// Thread-safety: a Parser belongs to one stream. StreamGet() may run on many threads at once (one curl handle
// each). StreamLoop is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"

namespace estate::sse {

struct Event {
  std::string type = "message";  // the "event" field; "message" when absent
  std::string data;              // "data" lines joined with '\n'
  std::string id;                // the last "id" seen on the stream (it carries over to later events)
};

class Parser {
 public:
  struct Limits {
    std::size_t max_line_bytes = 64u << 10;
    std::size_t max_event_bytes = 1u << 20;
    std::size_t max_events_per_feed = 1024;  // the rest of a chunk's events are dropped (and counted)
  };
  Parser() : Parser(Limits{}) {}
  explicit Parser(Limits limits) : limits_(limits) {}

  // Parses a chunk; complete events are appended to `out`.
  void Feed(std::string_view bytes, std::vector<Event>& out);
  // Forgets a half-received event and line (after a disconnect); the last event id and retry stay.
  void Reset();

  const std::string& last_event_id() const { return last_id_; }
  // The last valid "retry" field, in milliseconds.
  std::optional<long> retry_ms() const { return retry_ms_; }
  // Lines and events dropped for their size, or events beyond max_events_per_feed.
  long dropped() const { return dropped_; }

 private:
  void Line(std::string_view line, std::vector<Event>& out);
  void Dispatch(std::vector<Event>& out);

  Limits limits_;
  std::string line_;
  bool skip_line_ = false;   // the current line is over the limit: discard up to its end
  bool skip_event_ = false;  // the current event is over the limit: discard up to the blank line
  bool after_cr_ = false;    // the previous chunk ended with CR: a leading LF belongs to it
  bool has_data_ = false;
  std::string data_;
  std::string type_;
  std::string last_id_;
  std::optional<long> retry_ms_;
  long dropped_ = 0;
  std::size_t emitted_in_feed_ = 0;
};

struct StreamCallbacks {
  // The status line and headers (names lower-cased) arrived; return false to end the stream (e.g. a non-200).
  std::function<bool(long status, const std::map<std::string, std::string>& headers)> on_open;
  // A chunk of the body; return false to end the stream.
  std::function<bool(std::string_view bytes)> on_data;
};

struct StreamOptions {
  double idle_timeout_seconds = 0;          // 0 = none: a silent but open stream stays open
  std::size_t max_error_body_bytes = 4096;  // of a non-2xx answer, kept for the error message
};

// How a stream ended.
struct StreamEnd {
  enum class Reason { kClosed, kIdle, kCancelled, kAborted, kError };
  Reason reason = Reason::kClosed;
  long status = 0;         // 0 when no response arrived
  std::string error;       // for kError: what failed (never credentials)
  std::string error_body;  // for a non-2xx: the start of its body
  std::size_t bytes = 0;   // body bytes received
};

// Runs the GET until it ends; see StreamEnd. `request.url` must already be checked by the caller
// (url::Resolve).
StreamEnd StreamGet(const http::Request& request, const http::ClientOptions& options,
                    const StreamOptions& stream, const CancelToken& cancel, const StreamCallbacks& callbacks);

// Many streams on one thread (a curl multi handle): what StreamGet does, for thousands of streams without a
// thread and a private connection cache each. The callbacks (on_open, on_data, on_end) run on the loop's
// thread and must not block: hand work elsewhere. A cancelled token, an idle timeout or Cancel() ends a
// stream within about 250 ms; on_end runs exactly once per stream that Open() accepted (kCancelled when the
// loop is destroyed first).
class StreamLoop {
 public:
  using EndCallback = std::function<void(const StreamEnd& end)>;
  StreamLoop();
  ~StreamLoop();
  StreamLoop(const StreamLoop&) = delete;
  StreamLoop& operator=(const StreamLoop&) = delete;

  // Starts a stream; its id for Cancel (0 when it could not start: on_end has then already run).
  std::uint64_t Open(const http::Request& request, const http::ClientOptions& options,
                     const StreamOptions& stream, const CancelToken& cancel, StreamCallbacks callbacks,
                     EndCallback on_end);
  void Cancel(std::uint64_t id);
  std::size_t open() const;  // streams started and not ended

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace estate::sse
