// Pure parsers for HPE iLO RIBCL (iLO 2/3/4/5 XML over HTTPS) into the hardware model, and the request builder.
//
// A RIBCL response body is several XML documents concatenated (one <RIBCL> per command block, each with its own
// <?xml?> declaration), not one well-formed document; ParseResponse splits and parses them. The same element
// tree is built from iLO 4's JSON rendering of GET_EMBEDDED_HEALTH (FromJson), so both feed one parser.
// Thread-safe (pure functions). Nothing throws.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"
#include "hardware_model.h"

namespace estate::hardware::ribcl {

// One XML element: name, attributes, children in document order.
struct Node {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::vector<Node> children;

  const Node* Find(std::string_view child) const;
  std::vector<const Node*> All(std::string_view child) const;
  std::string Attr(std::string_view key) const;
  // The VALUE attribute of a child element (<STATUS VALUE="OK"/>), trimmed; "" when absent.
  std::string Value(std::string_view child) const;
  // First element with this name anywhere below (depth-first), or nullptr.
  const Node* FindDeep(std::string_view name) const;
};

struct Response {
  std::vector<Node> documents;        // every top-level element (RIBCL, RIMP) in order
  std::vector<std::string> warnings;  // RESPONSE STATUS != 0 on a command that is not fatal
};

// Splits and parses a RIBCL (or /xmldata RIMP) body. Errors: no XML at all, every document malformed, or a
// RESPONSE that reports a login failure / authentication problem (the message is included, never the
// credentials).
Result<Response> ParseResponse(std::string_view body);
// The first element with this name in any document.
const Node* FindIn(const Response& response, std::string_view name);

// Builds the element tree from iLO 4's JSON rendering: strings become attributes, objects and arrays become
// (repeated) child elements. The top object becomes a <RIBCL> node.
Node FromJson(const nlohmann::json& json);

// GET_EMBEDDED_HEALTH_DATA: fans, temperatures, PSUs (and the Smart Storage battery listed among them),
// redundancy, power reading, processors, memory, storage (controllers, cache modules, logical and physical
// drives), iLO 3 backplane drives, firmware, health at a glance.
void ParseEmbeddedHealth(const Node& data, Findings& f);
void ParseFwVersion(const Node& fw, Findings& f);       // GET_FW_VERSION
void ParseHostData(const Node& host_data, Findings& f);  // GET_HOST_DATA (SMBIOS records 0 and 1)
void ParseRimp(const Node& rimp, Findings& f);           // /xmldata?item=all
void ParseEventLog(const Node& event_log, LogSummary& log);  // GET_EVENT_LOG / EVENT_LOG
// Applies whatever of GET_HOST_POWER, GET_POWER_READINGS, SERVER_NAME, GET_PRODUCT_NAME is in a response.
void ParseMisc(const Response& response, Findings& f);

// "1200 Watts" -> 1200; "279 GB" -> bytes (GiB, as iLO means it); "2097152 KB" -> bytes; "N/A" -> nullopt.
std::optional<double> ParseNumber(std::string_view text);
std::optional<double> ParseBytes(std::string_view text);

// A RIBCL request with one LOGIN and the given command blocks, e.g. {{"SERVER_INFO", {"GET_EMBEDDED_HEALTH"}},
// {"RIB_INFO", {"GET_FW_VERSION"}}}. Attribute values are escaped.
std::string BuildRequest(const std::string& user, const std::string& password,
                         const std::vector<std::pair<std::string, std::vector<std::string>>>& blocks);

}  // namespace estate::hardware::ribcl
