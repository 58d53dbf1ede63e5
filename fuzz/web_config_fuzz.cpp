// The --web.config.file (exporter-toolkit web config), from text.
#include "estate/web_config.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  (void)estate::web::ParseWebConfig(std::string(estate::fuzz::AsText(data, size)), "web.yml");
  return 0;
}
