// HTTP client for talking to upstreams (BMCs, OpenStack, arrays, ...), behind an interface tests can replace.
//
// CurlHttpClient (libcurl) gives every request: connect and total timeouts, TLS verification on by default
// with an optional per-target CA file, basic / bearer / custom-header auth, a cap on the response size,
// retries with exponential backoff and jitter for idempotent requests on 5xx, 429 and connection errors
// (honouring Retry-After), keep-alive reuse per host, and bounded concurrency per host and in total.
// It records estate_upstream_requests_total{source,code} and estate_upstream_request_duration_seconds (one
// histogram for all sources, to keep the series count independent of the number of targets).
//
// Thread-safe: one client is shared by all workers; Do() may be called concurrently.
// Errors never contain credentials: URLs carry none, and auth headers are never echoed.
#pragma once

#include <prometheus/registry.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "estate/cancel.h"
#include "estate/result.h"

namespace estate::http {

struct Auth {
  enum class Kind { kNone, kBasic, kBearer, kHeader };
  Kind kind = Kind::kNone;
  std::string username;      // kBasic
  std::string password;      // kBasic (secret)
  std::string token;         // kBearer (secret)
  std::string header_name;   // kHeader, e.g. "X-Auth-Token"
  std::string header_value;  // kHeader (secret)
};

// Per-upstream settings; usually built once from a target's config and reused for every request.
struct ClientOptions {
  std::string source = "default";  // the "source" label on the upstream metrics; keep it low-cardinality
  double connect_timeout_seconds = 5;
  double timeout_seconds = 30;     // total, per attempt; the Budget deadline caps it further
  std::size_t max_body_bytes = 64u << 20;
  int max_retries = 2;             // extra attempts after the first, idempotent methods only
  double backoff_initial_seconds = 0.2;
  double backoff_max_seconds = 5;
  std::string ca_file;             // empty = system CAs
  bool insecure_skip_verify = false;  // explicit opt-in; logged as a warning once per source
  Auth auth;
  int max_concurrent_per_host = 4;
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  int attempts = 1;
  double seconds = 0;  // wall time including retries

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Do() returns a Response for any HTTP status (the caller decides what a 404 means); an Error only when no
// complete response arrived: connection, TLS, timeout, cancel, body over the cap.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<Response> Do(const Request& request, const ClientOptions& options, const Budget& budget) = 0;
};

struct CurlLimits {
  int max_concurrent_total = 32;
};

class CurlHttpClient final : public HttpClient {
 public:
  // registry may be null (no metrics). The registry must outlive the client.
  explicit CurlHttpClient(CurlLimits limits = {}, prometheus::Registry* registry = nullptr);
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  Result<Response> Do(const Request& request, const ClientOptions& options, const Budget& budget) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a Retry-After value (delta-seconds or an HTTP date) into seconds from now; negative when absent/bad.
double ParseRetryAfter(const std::string& value);

}  // namespace estate::http
