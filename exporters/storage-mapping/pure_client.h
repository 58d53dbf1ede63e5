// The Pure FlashArray side of the storage exporter for one array, over REST 2.x: the API version (discovered
// from /api/api_version unless configured), a session (POST login with the API token, x-auth-token) kept
// across collects and renewed once on a 401, then every volume (destroyed ones too), the host connections and
// the OpenStack volume tags, into one ArraySnapshot.
//
// Requests go through estate::http::HttpClient, which already retries 429 and 5xx of GETs honouring
// Retry-After. This client adds what it lacks: after a 429 reaches it (any method) it waits for Retry-After,
// or for the array's rate-limit bucket (X-RateLimit-Remaining-minute: 0 = a minute, -second: 0 = a second),
// and tries again; a wait longer than the Budget allows is an error naming the quota. Paging follows
// continuation_token (body, else the x-next-token header) and stops with an error when a token repeats or the
// page count exceeds what max_items allows. A missing tags endpoint (404/400, Purity before 6.x) means no
// tags. Collect returns a complete snapshot or an Error, never a partial listing. Continuation tokens go into
// the query percent-encoded, and every URL is built by url::Resolve on the configured address, so nothing the
// array returns can send the API token or the session elsewhere.
//
// Thread-safety: Collect must not run concurrently with itself on one instance (the refresher never does);
// Logout and last_requests may be called from any thread at any time.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"
#include "estate/url.h"
#include "pure_parse.h"
#include "storage_model.h"

namespace estate::storage {

struct PureOptions {
  std::string array;        // config name, copied into the snapshot
  std::string address;      // "https://host", "http://host:port", or "host[:port]" (https assumed)
  std::string api_token;    // secret
  std::string api_version;  // "" = the highest 2.x the array offers
  int page_size = 500;
  bool read_tags = true;         // GET /volumes/tags for the openstack-integration.purestorage.com namespace
  int max_items = 1000000;       // per listing; more pages than this needs is taken for a paging loop
  int max_rate_limit_waits = 5;  // 429s in a row (after the HTTP client's own retries) before giving up
  http::ClientOptions http;      // TLS, timeouts, source label; auth is set per request
};

class PureClient {
 public:
  PureClient(http::HttpClient& http, PureOptions options);
  PureClient(const PureClient&) = delete;
  PureClient& operator=(const PureClient&) = delete;

  // Array name, volumes with their hosts and tags. Errors name the request (method and path) and what went
  // wrong: transport, HTTP status, refused login, invalid body, paging loop, rate limit beyond the budget.
  Result<ArraySnapshot> Collect(const Budget& budget);
  // Ends the session (POST /api/<v>/logout), best effort; the next Collect logs in again.
  void Logout(const Budget& budget);

  // Requests sent by the most recent (or the running) Collect, including login and retries.
  int last_requests() const { return requests_.load(); }
  // Logins since construction.
  int logins() const { return logins_.load(); }

 private:
  struct Session {
    std::string version;
    std::string token;
  };
  Result<Session> CurrentSession(const Budget& budget);
  Result<Session> Login(const Budget& budget);
  // The URL of `path` on the array (url::Resolve against the address); refused and logged when the path (it
  // holds the API version the array offered) would leave it.
  Result<url::Url> UrlFor(const std::string& path) const;
  // One request through the HTTP client, waiting out 429s as described above; `what` ("GET /api/...") names
  // it in errors.
  Result<http::Response> Send(const http::Request& request, const std::string& what,
                              const http::ClientOptions& options, const Budget& budget);
  // GET of /api/<version><path_query> with the session; logs in again once on 401. Returns any other status;
  // *requested gets "GET <path>" for messages.
  Result<http::Response> Get(const std::string& path_query, const Budget& budget, std::string* requested);
  // Every page of a continuation-token listing; parse(body) gives a page with `next`, consume(page) takes it.
  // With allow_missing, a 404 or 400 on the first page returns false (endpoint absent) instead of an error.
  template <typename Page, typename Parse, typename Consume>
  Result<bool> ListAll(const std::string& what, const std::string& path, bool allow_missing, Parse parse,
                       Consume consume, const Budget& budget);
  int MaxPages() const;

  http::HttpClient& http_;
  PureOptions options_;
  std::string base_url_;  // scheme://host[:port]

  mutable std::mutex mu_;  // guards session_
  Session session_;

  std::atomic<int> requests_{0};
  std::atomic<int> logins_{0};
};

}  // namespace estate::storage
