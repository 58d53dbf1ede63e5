// An in-process fake upstream HTTP(S) server on civetweb, for tests and the simulated estate.
// It serves a directory of recorded responses (Redfish layout: "<root>/<path>/index.json", or the file at
// "<root>/<path>" itself) plus programmable routes, and injects faults on purpose: latency, status codes,
// truncated / garbage / huge / slow-drip bodies, dropped (FIN) and reset (RST) connections.
// Thread-safe: routes, faults and the request log may be changed while requests are being served.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"

namespace estate::testing {

struct FakeRequest {
  std::string method;
  std::string path;  // without query
  std::string query;
  std::map<std::string, std::string> headers{};  // lower-cased names
  std::string body{};
  bool tls = false;  // arrived over https
  int local_port = 0;  // the port it arrived on (a server may listen on several)
};

struct FakeResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  // A body produced while it is sent (e.g. Server-Sent Events), instead of `body`: sent without a
  // Content-Length, the connection closing when the function returns. `write` sends a piece and returns false
  // once the client went away or the server is stopping; an empty piece sends nothing and only asks that. The
  // function runs on the connection's worker thread and must return soon after `write` returned false.
  using Writer = std::function<bool(std::string_view)>;
  std::function<void(const Writer& write)> stream{};
};

struct Fault {
  enum class Kind {
    kNone,
    kStatus,           // answer `status` with a small JSON error body
    kTruncated,        // send half of the real body with a Content-Length for all of it, then close
    kGarbage,          // 200 with a non-JSON, non-UTF-8 body
    kHuge,             // 200 with `huge_bytes` of filler
    kSlowDrip,         // the real body, a few bytes at a time, `drip_interval_ms` apart
    kDropConnection,   // close the connection without answering (a clean FIN: the client sees an empty reply)
    kResetConnection,  // read the request, then abort the connection with a TCP RST (SO_LINGER 0), no answer
  };
  Kind kind = Kind::kNone;
  double latency_seconds = 0;  // added before answering (applies with any kind, also kNone)
  int status = 500;
  std::vector<std::pair<std::string, std::string>> headers{};  // e.g. Retry-After for 429
  std::size_t huge_bytes = 80u << 20;
  int drip_interval_ms = 200;
  std::size_t drip_bytes = 8;  // bytes per drip for kSlowDrip
  std::string path_prefix{};   // only requests whose path starts with this ("" = all)
  int remaining = -1;          // how many matching requests it applies to; -1 = until cleared
};

class FakeUpstream {
 public:
  struct Options {
    std::string root_dir{};              // "" = routes only
    std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
    std::string tls_cert_pem{};          // cert+key PEM file; empty = plain HTTP
    int threads = 32;
    // Basic auth required on every request when set (user:password).
    std::string basic_auth{};
    // Path lookups ignore a trailing slash and letter case (real BMCs differ on both).
    bool lenient_paths = true;
  };
  using RouteHandler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeUpstream(Options options);
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // Binds and starts serving. Fails (with civetweb's reason) when the address cannot be bound, the root
  // directory is missing, or the TLS certificate cannot be loaded. The directory tree is indexed here for
  // lenient lookups: files added later are found only by their exact path.
  Result<Ok> Start();
  // Stops serving; returns promptly even while slow or delayed answers are in flight (they are cut off).
  void Stop();

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>" (https when TLS)

  // Exact-path route for a method ("*" = any); takes priority over the directory tree.
  void Route(const std::string& method, const std::string& path, RouteHandler handler);
  void AddFault(Fault fault);
  void ClearFaults();

  // The most recent requests (at most 100000), oldest first, recorded before any fault or auth check.
  std::vector<FakeRequest> Requests() const;
  // Requests received since start or the last ClearRequests() (not capped).
  std::size_t RequestCount() const;
  void ClearRequests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace estate::testing
