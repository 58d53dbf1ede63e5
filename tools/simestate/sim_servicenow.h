// kind "servicenow": a ServiceNow Table API (GET /api/now/table/<table>) over an in-memory set of records,
// for the demo and the service-registry exporter's tests. Written fresh; nothing comes from recorded data.
//
// What it does like an instance: sysparm_query (AND of field=v, !=, STARTSWITH, IN, ISEMPTY, ISNOTEMPTY, <,
// <=,
// >, >=, and ORDERBY/ORDERBYDESC), sysparm_fields (dot-walked names are plain keys of a record),
// sysparm_limit and sysparm_offset with X-Total-Count and a Link header (first, prev, next, last),
// sysparm_display_value false/true/all (install_status shows its choice name), Basic or Bearer auth (401 with
// ServiceNow's error document), a rate limit (N requests per window: 429 with Retry-After;
// X-RateLimit-Limit/-Remaining/-Reset/ -Rule on every answer), and an HTML-login mode in which every request
// gets 200 text/html, as an SSO-fronted instance answers a client without a session. An unknown table is 400
// "Invalid table".
//
// Thread-safety: handlers run on civetweb threads; the records and counters are behind one mutex, so records
// may be changed (PutRecord / DeleteRecord) while requests are being served.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "estate/testing/fake_upstream.h"

namespace estate::simestate {

// One record: field name -> value, all strings as the Table API sends them. "sys_id" is its key.
using SnowRecord = std::map<std::string, std::string>;

struct ServiceNowSimOptions {
  std::string username{};  // Basic auth when set (with password)
  std::string password{};
  std::string bearer_token{};   // Bearer auth when set; with both set either is accepted; neither = open
  int default_limit = 10000;    // sysparm_limit when absent (ServiceNow's own default)
  int rate_limit_requests = 0;  // requests per window; 0 = no limit
  double rate_limit_window_seconds = 60;
  bool html_login = false;
};

class SimServiceNow {
 public:
  explicit SimServiceNow(ServiceNowSimOptions options = {});
  SimServiceNow(const SimServiceNow&) = delete;
  SimServiceNow& operator=(const SimServiceNow&) = delete;

  // Registers the routes on server (every table, including tables first given records later). The routes
  // share this sim's state and keep it alive; call once per server, before or after adding records.
  void Install(testing::FakeUpstream& server);

  // Adds a table with no records (so that it answers an empty list instead of 400).
  void AddTable(const std::string& table);
  // Adds or replaces (by sys_id; one is made up from the other fields when absent) a record.
  void PutRecord(const std::string& table, SnowRecord record);
  // Removes a record; false when there was none.
  bool DeleteRecord(const std::string& table, const std::string& sys_id);
  std::vector<SnowRecord> Records(const std::string& table) const;

  void SetHtmlLogin(bool on);
  // Requests served (any answer) and answered 429, since construction.
  long requests() const;
  long rate_limited() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// ---- building a records model (deterministic) -------------------------------------------------------------

// A 32-hex-digit sys_id derived from seed.
std::string SnowSysId(const std::string& seed);
// "YYYY-MM-DD HH:MM:SS" in UTC, as the Table API writes sys_created_on.
std::string SnowDateTime(double unix_seconds);

// A cmdb_ci_business_app record: sys_id, name, u_app_code (the TLA upper-cased), install_status
// ("1" In Production, "7" Retired, ...), owned_by.user_name, support_group.name, sys_created_on.
SnowRecord SnowBusinessApp(const std::string& tla, const std::string& name, const std::string& install_status,
                           const std::string& owner, const std::string& support_group, double created_unix);
// A cmdb_ci_server record: sys_id, name (short), fqdn, support_group.name, sys_class_name.
SnowRecord SnowServer(const std::string& name, const std::string& fqdn, const std::string& support_group);

}  // namespace estate::simestate
