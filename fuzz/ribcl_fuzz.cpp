// RIBCL: any body through ParseResponse (concatenated XML documents), then every section parser on what it
// found, as the RIBCL client does; a JSON body goes through FromJson (iLO 4's JSON health) instead.
#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "ribcl_parse.h"

namespace rb = estate::hardware::ribcl;
using estate::hardware::Findings;

namespace {

void ParseSections(const rb::Node& root, Findings& f) {
  if (const rb::Node* n = root.FindDeep("GET_EMBEDDED_HEALTH_DATA")) rb::ParseEmbeddedHealth(*n, f);
  if (const rb::Node* n = root.FindDeep("GET_FW_VERSION")) rb::ParseFwVersion(*n, f);
  if (const rb::Node* n = root.FindDeep("GET_HOST_DATA")) rb::ParseHostData(*n, f);
  if (const rb::Node* n = root.FindDeep("EVENT_LOG")) {
    estate::hardware::LogSummary log;
    rb::ParseEventLog(*n, log);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  (void)rb::ParseNumber(text);
  (void)rb::ParseBytes(text);
  Findings f;
  if (!text.empty() && (text.front() == '{' || text.front() == '[')) {
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) {
      const rb::Node root = rb::FromJson(j);
      rb::ParseEmbeddedHealth(root, f);
      ParseSections(root, f);
    }
    return 0;
  }
  auto response = rb::ParseResponse(text);
  if (!response) return 0;
  for (const rb::Node& doc : response->documents) {
    ParseSections(doc, f);
    if (doc.name == "RIMP") rb::ParseRimp(doc, f);
  }
  rb::ParseMisc(*response, f);
  estate::hardware::DedupeKeys(f);
  (void)estate::hardware::ComputeHealth(f);
  return 0;
}
