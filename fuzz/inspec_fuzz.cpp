// The InSpec JSON family (exec JSON, Automate, HDF, json-min): ParseInspecFamily on the bytes, with the
// default limits and with a small nesting limit; a parsed report must keep the model's bounds.
#include <cstdlib>

#include "fuzz_common.h"
#include "report_parse.h"

namespace cp = estate::compliance;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  auto report = cp::ParseInspecFamily(text, {});
  if (report.ok()) {
    for (const cp::Control& c : report->controls) {
      // At most 8 messages of at most 1 KiB each: a property, not only "no crash".
      if (c.messages.size() > 8) std::abort();
      for (const std::string& m : c.messages) {
        if (m.size() > 1024) std::abort();
      }
      (void)cp::StatusName(c.status);
      (void)cp::SeverityName(c.severity);
    }
    (void)cp::FormatName(report->format);
  }
  cp::ParseLimits shallow;
  shallow.max_depth = 6;
  shallow.max_bytes = 1 << 16;
  (void)cp::ParseInspecFamily(text, shallow);
  return 0;
}
