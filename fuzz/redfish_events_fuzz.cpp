// Redfish events from an untrusted BMC: the SSE framing parser (fed in chunks whose sizes come from the
// input, so CR/LF and lines split across chunks are covered), then each event's data as an Event payload, and
// the resource bodies it could lead to through PatchFindings.
#include <string>
#include <vector>

#include "estate/sse.h"
#include "fuzz_common.h"
#include "redfish_events.h"
#include "redfish_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::string_view text = estate::fuzz::AsText(data + 1, size - 1);
  estate::sse::Parser parser(estate::sse::Parser::Limits{4096, 65536, 64});
  std::vector<estate::sse::Event> events;
  for (std::size_t i = 0; i < text.size(); i += chunk) parser.Feed(text.substr(i, chunk), events);
  parser.Reset();
  for (const auto& e : events) {
    std::string context;
    (void)estate::hardware::ParseEventPayload(e.data, &context);
    if (auto body = estate::hardware::redfish::ParseBody(e.data)) {
      estate::hardware::Findings fast, slow;
      slow.drives.push_back({});
      slow.batteries.push_back({});
      fast.psus.push_back({});
      fast.fans.push_back({});
      (void)estate::hardware::PatchFindings(*body, fast, slow);
    }
  }
  // The whole input as one payload too.
  (void)estate::hardware::ParseEventPayload(text);
  return 0;
}
