// HPE iLO RIBCL collection (iLO 3, 4 and 5 answer RIBCL XML on HTTPS POST /ribcl; /xmldata?item=all gives
// identity without credentials). Credentials travel only in the POST body's LOGIN element, never in a URL.
//
// RibclCollect* are transport-agnostic (they take the two calls as functions) so tests can drive them from the
// recorded bodies; RibclClient is the transport through estate::http::HttpClient.
//
// Thread-safety: RibclClient is thread-safe. RibclLogState belongs to the caller.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"
#include "hardware_model.h"
#include "ribcl_parse.h"

namespace estate::hardware {

using RibclBlocks = std::vector<std::pair<std::string, std::vector<std::string>>>;
// Sends one RIBCL request with the given command blocks and returns the parsed response.
using RibclPost = std::function<Result<ribcl::Response>(const RibclBlocks& blocks)>;
// GET /xmldata?item=all, parsed.
using RibclXmlData = std::function<Result<ribcl::Response>()>;

// The IML as last counted, so the exported counters only grow (RIBCL can only read the whole log).
struct RibclLogState {
  std::map<Health, double> last_counts;
  LogSummary totals;
};

// One request: GET_EMBEDDED_HEALTH (fans, temperatures, PSUs, battery, storage with cache modules and drives,
// CPUs, DIMMs, firmware, health at a glance), GET_HOST_POWER_STATUS and GET_POWER_READINGS.
Result<Findings> RibclCollectFast(const RibclPost& post);
// /xmldata?item=all plus one request: GET_FW_VERSION, GET_HOST_DATA, GET_SERVER_NAME, GET_EVENT_LOG.
Result<Findings> RibclCollectSlow(const RibclPost& post, const RibclXmlData& xmldata, RibclLogState& log);

struct RibclSettings {
  std::string base_url;
  http::ClientOptions options;
  std::string username;
  std::string password;
};

class RibclClient {
 public:
  RibclClient(http::HttpClient& http, RibclSettings settings);
  Result<ribcl::Response> Command(const RibclBlocks& blocks, const Budget& budget);
  Result<ribcl::Response> XmlData(const Budget& budget);
  int requests() const { return requests_.load(); }

 private:
  http::HttpClient& http_;
  RibclSettings settings_;
  std::atomic<int> requests_{0};
};

}  // namespace estate::hardware
