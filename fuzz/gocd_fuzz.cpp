// GoCD (service-registry exporter): the same bytes as a dashboard (ParseDashboard) and as a history page
// (ParseHistoryPage, then RankPipelineUsers over its runs), CursorOf on the page's next link and on the raw
// input, DisplayUser on the raw input. Aborts when a result breaks what the metrics rely on: a user display form
// longer than kMaxUserBytes or holding a comma or a control character, a counter that is not positive, a
// cursor outside [A-Za-z0-9_.-]{1,64}, a dashboard name that is empty, too long or repeated.
#include <cstdlib>
#include <set>
#include <string>

#include "fuzz_common.h"
#include "gocd_client.h"
#include "gocd_parse.h"

namespace gocd = estate::registry::gocd;

namespace {

void CheckUser(const std::string& u) {
  if (u.size() > gocd::kMaxUserBytes) std::abort();
  for (char c : u) {
    if (c == ',' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
  }
}

void CheckCursor(const std::string& c) {
  if (c.size() > 64) std::abort();
  for (char ch : c) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '-';
    if (!ok) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  if (auto dash = gocd::ParseDashboard(text)) {
    std::set<std::string> names;
    for (const auto& p : *dash) {
      if (p.name.empty() || p.name.size() > gocd::kMaxPipelineNameBytes || !names.insert(p.name).second) {
        std::abort();
      }
      if (p.latest_counter < 0) std::abort();
    }
  }
  if (auto page = gocd::ParseHistoryPage(text)) {
    estate::registry::Pipeline pipeline;
    for (auto& run : page->runs) {
      if (run.counter <= 0 || run.scheduled_unix < 0) std::abort();
      for (const auto& u : run.users) CheckUser(u);
    }
    CheckCursor(gocd::CursorOf(page->next_link));
    pipeline.runs = std::move(page->runs);
    for (const auto& uc : estate::registry::RankPipelineUsers({&pipeline}, 0, 5)) CheckUser(uc.user);
  }
  CheckCursor(gocd::CursorOf(text));
  CheckUser(gocd::DisplayUser(text));
  return 0;
}
