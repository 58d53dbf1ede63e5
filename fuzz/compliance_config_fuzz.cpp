// The compliance exporter's YAML config, from text (what --config.file and a reload read).
#include "compliance_config.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  estate::config::ParseOptions options;
  options.read_files = false;
  auto config =
      estate::compliance::ParseConfig(std::string(estate::fuzz::AsText(data, size)), "fuzz.yml", options);
  if (config) (void)estate::compliance::ScanFingerprint(*config);
  return 0;
}
