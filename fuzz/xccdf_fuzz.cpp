// XCCDF / ARF: any body through DetectFormat and ParseReport (bzip2 included; JSON bodies go to the inspec
// harness's parser and are skipped here), and through ParseXccdfFamily directly. Aborts when a parsed report
// breaks what the parser promises: no waived status (XCCDF has none), at most 8 messages of at most 1 KiB.
#include <cstdlib>

#include "fuzz_common.h"
#include "report_parse.h"

namespace ec = estate::compliance;

namespace {

void Check(const estate::Result<ec::Report>& r) {
  if (!r) return;
  for (const ec::Control& c : r->controls) {
    if (c.status == ec::Status::kWaived || c.messages.size() > 8) std::abort();
    for (const std::string& m : c.messages) {
      if (m.size() > 1024) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  ec::ParseLimits limits;
  limits.max_bytes = std::size_t{16} << 20;  // a bzip2 bomb stops here, well under libFuzzer's RSS limit
  limits.max_depth = 64;
  (void)ec::DetectFormat(text);
  std::size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
  if (i < text.size() && (text[i] == '{' || text[i] == '[')) return 0;
  // ParseReport reaches ParseXccdfFamily for XML (and for bzip2 holding XML); other bodies take it directly.
  Check(ec::ParseReport(text, limits));
  if (i >= text.size() || text[i] != '<') Check(ec::ParseXccdfFamily(text, limits));
  return 0;
}
