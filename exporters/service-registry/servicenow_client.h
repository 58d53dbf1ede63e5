// ServiceNow Table API client of the service-registry exporter: every record of the configured CMDB tables
// (cmdb_ci_business_app by default), paged by sysparm_offset/sysparm_limit with ORDERBYsys_id so pages
// neither skip nor repeat while records change, stopping when X-Total-Count or Link rel="next" says it is
// done; and, when configured, the support group of the hypervisors' cmdb_ci_server records.
//
// Paging: each page after the first starts one record early, at the last record already held (the anchor). A
// page that begins after the anchor means records before it were deleted and the rest moved down: the client
// steps back a page and reads again, so a record present for the whole collect is never skipped; records that
// moved up (inserts before the cursor) come again and are dropped by sys_id. The page URLs are always built
// from the configured URL; a Link next on another origin is refused (logged) and never requested. Paging
// stops when the Link header has no rel="next", when X-Total-Count is reached, or on a short page (a short
// page while X-Total-Count says more makes one more request to confirm). Pages that bring nothing new (an
// instance that ignores sysparm_offset), records out of sys_id order, or more pages than max_records needs
// are errors (a paging loop), never an endless collect.
//
// Rate limits: a 429 waits for Retry-After (bounded by the Budget) and X-RateLimit-Remaining/-Reset slow the
// next request down instead of running into 429s. This client owns every retry of its requests: it sends
// them with the HTTP client's own retries off (max_retries 0) and repeats 5xx and transport failures itself
// up to http.max_retries times, so that a 429 is waited out once (never by both layers), each one is counted,
// and Retry-After is capped by max_retry_after_seconds. A 429 storm ends in an error after
// max_rate_limit_waits waits, or sooner when the next wait would not fit in the Budget. A 200 whose body is
// an HTML login page (SSO in front of the instance) is an error, never an empty table. Every request goes to
// the configured scheme, host and port (url::Resolve on options.url); nothing an instance returns is
// requested.
//
// Collect returns a complete snapshot or an Error naming the request; a table that fails fails the collect
// (the caller keeps its last good snapshot).
// Thread-safety: Collect must not run concurrently with itself on one instance; the counters
// (last_requests, rate_limited, requests_by_status) may be read from any thread.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"
#include "registry_model.h"
#include "servicenow_parse.h"

namespace estate::registry {

struct ServiceNowOptions {
  std::string url;  // https://<instance>.service-now.com (no path)
  std::vector<std::string> tables = {"cmdb_ci_business_app"};
  std::string query;  // encoded query added to every table request (ORDERBYsys_id is appended)
  std::string app_code_field = "u_app_code";
  std::string name_field = "name";
  std::string owner_field = "owned_by.user_name";                      // dot-walked
  std::string support_group_field = "support_group.name";              // dot-walked
  std::vector<std::string> unregistered_install_status = {"7", "22"};  // Retired, Cancelled
  // sysparm_limit, 2..10000 (more is cut to 10000). Below 2 every Collect fails without a request: each page
  // after the first starts at the previous page's last record (the anchor against records that change between
  // pages), so a page of one record could never move on. The config refuses it too.
  int page_size = 1000;
  // Hypervisor support groups: table and fields of the server records; "" = not looked up.
  std::string server_table;  // e.g. "cmdb_ci_server"
  std::string server_name_field = "name";
  std::string server_support_group_field = "support_group.name";
  std::string server_fqdn_field = "fqdn";  // also a key of server_support_groups; "" = not requested
  std::string display_value = "false";     // sysparm_display_value: false, true or all (parsed either way)
  int max_rate_limit_waits = 10;           // 429s in a row for one request before the collect fails
  int max_records = 1000000;               // per table; more pages than this needs is taken for a paging loop
  double max_retry_after_seconds = 120;
  http::ClientOptions
      http;  // TLS, timeouts, source label, auth (basic or bearer, read from files by the config)
};

class ServiceNowClient {
 public:
  ServiceNowClient(http::HttpClient& http, ServiceNowOptions options);
  ServiceNowClient(const ServiceNowClient&) = delete;
  ServiceNowClient& operator=(const ServiceNowClient&) = delete;

  Result<CmdbSnapshot> Collect(const Budget& budget);

  int last_requests() const { return requests_.load(); }      // requests of the most recent Collect
  long rate_limited() const { return rate_limited_.load(); }  // 429s seen since construction
  // Requests since construction by outcome: the HTTP status ("200", "429", ...) or "error" (no response);
  // for estate_registry_servicenow_requests_total{status}. Any thread.
  std::map<std::string, long> requests_by_status() const;

 private:
  // Every record of `table` matching `query` (fields in that order; fields[0] is sys_id), paged as described
  // above.
  Result<std::vector<SnowRow>> ReadTable(const std::string& table, const std::vector<std::string>& fields,
                                         const std::string& query, const Budget& budget);
  // One GET with the waits and retries described above; `what` names it in errors.
  Result<http::Response> Get(const std::string& target, const std::string& what, const Budget& budget);
  void Count(const std::string& status);

  http::HttpClient& http_;
  ServiceNowOptions options_;
  std::atomic<int> requests_{0};
  std::atomic<long> rate_limited_{0};
  mutable std::mutex status_mu_;
  std::map<std::string, long> by_status_;
  Clock::time_point quota_wait_until_{};  // X-RateLimit-Remaining 0: no request before this
};

}  // namespace estate::registry
