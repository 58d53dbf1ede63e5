// ServiceNow Table API client of the service-registry exporter: every record of the configured CMDB tables
// (cmdb_ci_business_app by default), paged by sysparm_offset/sysparm_limit with ORDERBYsys_id so pages neither
// skip nor repeat while records change, stopping when X-Total-Count or Link rel="next" says it is done; and,
// when configured, the support group of the hypervisors' cmdb_ci_server records.
//
// Rate limits: a 429 waits for Retry-After (bounded by the Budget) and X-RateLimit-Remaining/-Reset slow the
// next request down instead of running into 429s. A 200 whose body is an HTML login page (SSO in front of the
// instance) is an error, never an empty table. Links (Link headers) are followed only on the configured
// scheme, host and port (estate/url.h).
//
// Collect returns a complete snapshot or an Error naming the request; a table that fails fails the collect
// (the caller keeps its last good snapshot).
// Thread-safety: Collect must not run concurrently with itself on one instance.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"
#include "registry_model.h"

namespace estate::registry {

struct ServiceNowOptions {
  std::string url;  // https://<instance>.service-now.com (no path)
  std::vector<std::string> tables = {"cmdb_ci_business_app"};
  std::string query;  // encoded query added to every table request (ORDERBYsys_id is appended)
  std::string app_code_field = "u_app_code";
  std::string name_field = "name";
  std::string owner_field = "owned_by.user_name";           // dot-walked
  std::string support_group_field = "support_group.name";  // dot-walked
  std::vector<std::string> unregistered_install_status = {"7", "22"};  // Retired, Cancelled
  int page_size = 1000;
  // Hypervisor support groups: table and fields of the server records; "" = not looked up.
  std::string server_table;  // e.g. "cmdb_ci_server"
  std::string server_name_field = "name";
  std::string server_support_group_field = "support_group.name";
  int max_records = 1000000;  // per table; more pages than this needs is taken for a paging loop
  double max_retry_after_seconds = 120;
  http::ClientOptions http;  // TLS, timeouts, source label, auth (basic or bearer, read from files by the config)
};

class ServiceNowClient {
 public:
  ServiceNowClient(http::HttpClient& http, ServiceNowOptions options);
  ServiceNowClient(const ServiceNowClient&) = delete;
  ServiceNowClient& operator=(const ServiceNowClient&) = delete;

  Result<CmdbSnapshot> Collect(const Budget& budget);

  int last_requests() const { return requests_.load(); }   // requests of the most recent Collect
  long rate_limited() const { return rate_limited_.load(); }  // 429s seen since construction

 private:
  http::HttpClient& http_;
  ServiceNowOptions options_;
  std::atomic<int> requests_{0};
  std::atomic<long> rate_limited_{0};
};

}  // namespace estate::registry
