#include "ribcl_client.h"

#include <algorithm>

namespace estate::hardware {

Result<Findings> RibclCollectFast(const RibclPost& post) {
  auto r = post({{"SERVER_INFO", {"GET_EMBEDDED_HEALTH", "GET_HOST_POWER_STATUS", "GET_POWER_READINGS"}}});
  if (!r) return MakeError(r.error());
  const ribcl::Node* data = ribcl::FindIn(*r, "GET_EMBEDDED_HEALTH_DATA");
  if (data == nullptr) return MakeError("RIBCL response has no GET_EMBEDDED_HEALTH_DATA");
  Findings f;
  ribcl::ParseEmbeddedHealth(*data, f);
  ribcl::ParseMisc(*r, f);
  f.warnings = r->warnings;
  DedupeKeys(f);
  return f;
}

Result<Findings> RibclCollectSlow(const RibclPost& post, const RibclXmlData& xmldata, RibclLogState& log) {
  Findings f;
  f.has_identity = true;
  f.identity.vendor = "HPE";
  if (xmldata) {
    auto x = xmldata();
    if (x) {
      if (const ribcl::Node* rimp = ribcl::FindIn(*x, "RIMP")) ribcl::ParseRimp(*rimp, f);
    } else {
      f.warnings.push_back("xmldata: " + x.error());
    }
  }
  auto r = post({{"RIB_INFO", {"GET_FW_VERSION"}},
                 {"SERVER_INFO", {"GET_HOST_DATA", "GET_SERVER_NAME", "GET_EVENT_LOG"}}});
  if (!r) return MakeError(r.error());
  if (const ribcl::Node* fw = ribcl::FindIn(*r, "GET_FW_VERSION")) ribcl::ParseFwVersion(*fw, f);
  if (const ribcl::Node* host = ribcl::FindIn(*r, "GET_HOST_DATA")) ribcl::ParseHostData(*host, f);
  Findings misc;
  ribcl::ParseMisc(*r, misc);
  if (!misc.identity.host_name.empty()) f.identity.host_name = misc.identity.host_name;
  f.identity.vendor = "HPE";
  f.identity.protocol = "ribcl";
  for (auto& w : r->warnings) f.warnings.push_back(w);

  if (const ribcl::Node* events = ribcl::FindIn(*r, "EVENT_LOG")) {
    LogSummary now;
    ribcl::ParseEventLog(*events, now);
    log.totals.log = "IML";
    for (Health sev : {Health::kOk, Health::kWarning, Health::kCritical}) {
      const double current = now.entries.count(sev) != 0 ? now.entries[sev] : 0;
      const double last = log.last_counts.count(sev) != 0 ? log.last_counts[sev] : 0;
      // A shrinking count means the log was cleared: everything in it now is new.
      log.totals.entries[sev] += current >= last ? current - last : current;
      log.last_counts[sev] = current;
    }
    if (now.last_critical_unix) log.totals.last_critical_unix = now.last_critical_unix;
    f.has_logs = true;
    f.logs.push_back(log.totals);
  }
  return f;
}

RibclClient::RibclClient(http::HttpClient& http, RibclSettings settings)
    : http_(http), settings_(std::move(settings)) {}

Result<ribcl::Response> RibclClient::Command(const RibclBlocks& blocks, const Budget& budget) {
  http::Request req;
  req.method = "POST";
  req.url = settings_.base_url + "/ribcl";
  req.headers = {{"Content-Type", "text/xml"}};
  req.body = ribcl::BuildRequest(settings_.username, settings_.password, blocks);
  http::ClientOptions options = settings_.options;
  options.auth = http::Auth{};
  ++requests_;
  auto resp = http_.Do(req, options, budget);
  if (!resp) return MakeError("POST /ribcl: " + resp.error());
  if (resp->status < 200 || resp->status >= 300) {
    return MakeError("POST /ribcl: HTTP " + std::to_string(resp->status));
  }
  return ribcl::ParseResponse(resp->body);
}

Result<ribcl::Response> RibclClient::XmlData(const Budget& budget) {
  http::Request req;
  req.url = settings_.base_url + "/xmldata?item=all";
  http::ClientOptions options = settings_.options;
  options.auth = http::Auth{};
  ++requests_;
  auto resp = http_.Do(req, options, budget);
  if (!resp) return MakeError("GET /xmldata: " + resp.error());
  if (resp->status != 200) return MakeError("GET /xmldata: HTTP " + std::to_string(resp->status));
  return ribcl::ParseResponse(resp->body);
}

}  // namespace estate::hardware
