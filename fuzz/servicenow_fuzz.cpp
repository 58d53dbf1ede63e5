// ServiceNow Table API (exporters/service-registry/servicenow_parse.h): the body as a Table API page under
// both content types the client may see, and the first line as each header the client parses (Link,
// X-Total-Count, X-RateLimit-*, install_status). Besides "no crash", it checks what the client relies on:
// every row of a page has one value per requested field, an HTML-looking body is always refused, and every
// Link entry's URL is the text between its angle brackets (no '>' inside).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "servicenow_parse.h"

namespace reg = estate::registry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  static const std::vector<std::string> kFields = {"sys_id", "name", "u_app_code", "install_status",
                                                   "owned_by.user_name", "support_group.name"};
  for (std::string_view type : {"application/json", "text/html"}) {
    auto page = reg::ParseTablePage(type, text, kFields);
    if (!page) continue;
    if (type == "text/html") {
      std::fprintf(stderr, "servicenow_fuzz: an HTML content type was accepted\n");
      std::abort();
    }
    for (const auto& row : page->rows) {
      if (row.size() != kFields.size()) {
        std::fprintf(stderr, "servicenow_fuzz: a row without one value per field\n");
        std::abort();
      }
      (void)reg::ClassifyInstallStatus(row[3].value, {"7", "22"});
    }
  }
  (void)reg::ErrorDocumentMessage(text);

  const std::string_view line = text.substr(0, text.find('\n'));
  if (auto links = reg::ParseLinkHeader(line)) {
    for (const auto& link : *links) {
      if (link.url.find('>') != std::string::npos) {
        std::fprintf(stderr, "servicenow_fuzz: a Link URL holds '>'\n");
        std::abort();
      }
    }
    (void)reg::LinkWithRel(*links, "next");
  }
  (void)reg::ParseTotalCount(line);
  (void)reg::RateLimitResetWait("0", line, 1.8e9);
  (void)reg::InstallStatusName(line);
  (void)reg::HostKeys(line);
  (void)reg::OrderedQuery(line);
  return 0;
}
