// Pure parsers for the ServiceNow Table API (GET /api/now/table/<table>): a page of records
// ({"result":[...]}), the Link and X-Total-Count paging headers, the X-RateLimit-* headers, the HTML page an
// SSO-fronted instance answers with 200 instead of JSON, and what a record's install_status means.
//
// A field of a record comes back in one of three shapes, depending on sysparm_display_value and
// sysparm_exclude_reference_link: a plain string ("7"), a reference object {"link": "...", "value":
// "<sys_id>"}, or {"display_value": "Retired", "value": "7"} (sysparm_display_value=all). Dot-walked fields
// ("owned_by.user_name") are plain keys with a dot in them, never nested objects.
//
// Nothing here throws, and no error repeats the body it was given: a body may be an HTML login page, binary
// garbage or data that does not belong in a log line. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"

namespace estate::registry {

// One field of one record. For a plain string both are the string; for {"link","value"} display is "";
// a number or a boolean is written out; null or an absent field gives "" for both.
struct SnowField {
  std::string value;
  std::string display;
};

// One record: the values of the requested fields, in the order they were asked for.
using SnowRow = std::vector<SnowField>;

struct SnowPage {
  std::vector<SnowRow> rows;
};

// "ServiceNow answered with an HTML page (SSO login?)" when content_type is text/html (or
// application/xhtml+xml) or the body's first non-blank byte is '<'; ok otherwise.
Result<Ok> CheckNotHtml(std::string_view content_type, std::string_view body);

// Parses a Table API page, keeping only `fields` of each record (in that order). Errors: an HTML page (see
// CheckNotHtml), invalid JSON (with the byte position only), a document without a "result" array, a
// "result" entry that is not an object, a field that is an array or an object without "value". A
// ServiceNow error document ({"error":{"message":..}}) is an error naming that message (at most 120
// printable characters of it).
Result<SnowPage> ParseTablePage(std::string_view content_type, std::string_view body,
                                const std::vector<std::string>& fields);

// The message of a ServiceNow error document ({"error":{"message":"User Not Authenticated",..}}), cut to 120
// printable ASCII characters; "" when the body is not one. Used to say why a request was refused.
std::string ErrorDocumentMessage(std::string_view body);

// One entry of an RFC 8288 Link header: `<url>; rel="next"` (rel may list several relations).
struct LinkEntry {
  std::string url;
  std::vector<std::string> rels;  // lower-cased
};

// Parses a Link header value. URLs may hold commas and semicolons (ServiceNow's hold sysparm_fields=a,b,c);
// only those outside <...> and quotes separate entries and parameters. An empty value is an empty list; an
// entry without <...> or with an unterminated quote is an error.
Result<std::vector<LinkEntry>> ParseLinkHeader(std::string_view value);
// The URL of the first entry with relation `rel`; "" when there is none.
std::string LinkWithRel(const std::vector<LinkEntry>& links, std::string_view rel);

// X-Total-Count: decimal digits only (surrounding blanks allowed), at most 10^12; nullopt otherwise.
std::optional<std::int64_t> ParseTotalCount(std::string_view value);

// Seconds to wait before the next request when the instance says the quota is used up: X-RateLimit-Remaining
// "0" and X-RateLimit-Reset given (epoch seconds; a value below 10^9 is taken as seconds from now). 0 when
// the quota is not used up or either header is absent or not a number.
double RateLimitResetWait(std::string_view remaining, std::string_view reset, double now_unix);

// The name of an install_status value (research note §1.4: 0 Implementing, 1 In Production, 2 Pilot,
// 4 Limited Service, 7 Retired, 21 Archived, 22 Cancelled); "" for any other value.
std::string InstallStatusName(std::string_view install_status);

struct InstallVerdict {
  bool registered = true;
  std::string reason;  // "install_status 7 (Retired)" when not registered; "" when registered
};
// A record counts as registered unless its install_status (trimmed) is one of `unregistered`.
InstallVerdict ClassifyInstallStatus(std::string_view install_status,
                                     const std::vector<std::string>& unregistered);

// Lower-cased and trimmed (the app code a record carries, compared with the VMs' acronyms).
std::string NormaliseCode(std::string_view code);

// The keys a server record's name is found under: the lower-cased name and, for a dotted (FQDN) name, its
// first label too. "" gives none; an IP address is kept whole.
std::vector<std::string> HostKeys(std::string_view name);

// sysparm_query for a table request: the configured encoded query without any ORDERBY/ORDERBYDESC clause of
// its own, then "^ORDERBYsys_id" (the client's paging needs sys_id order). "" gives "ORDERBYsys_id".
std::string OrderedQuery(std::string_view query);

// Table and field names the client puts into a URL: [A-Za-z0-9_] (fields also '.'), 1..80 bytes.
bool ValidTableName(std::string_view name);
bool ValidFieldName(std::string_view name);

}  // namespace estate::registry
