// The service-registry exporter's YAML config (what --config.file and a reload read), and the static files it
// reads beside it: the inventory file (YAML and CSV) and the hypervisor teams file. A config that parses has
// its naming rules tried on a few host names (the translated regexes must neither throw nor run away) and its
// fingerprints computed.
#include "fuzz_common.h"
#include "inventory_file.h"
#include "registry_config.h"
#include "registry_join.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string text(estate::fuzz::AsText(data, size));
  estate::config::ParseOptions options;
  options.read_files = false;
  auto config = estate::registry::ParseConfig(text, "fuzz.yml", options);
  if (config) {
    for (const char* host : {"xyz-web-a01", "iex-fokpp01.estate.example", "pgdb-main01", ""}) {
      (void)config->rules->Match(host);
    }
    (void)config->rules->Match(text.substr(0, 300));
    for (const auto& c : config->clouds) (void)estate::registry::Fingerprint(*config, c);
    (void)estate::registry::Fingerprint(*config, config->servicenow);
    (void)estate::registry::Fingerprint(*config, config->gocd);
  }
  (void)estate::registry::ParseInventoryYaml(text, "fuzz.yml");
  (void)estate::registry::ParseInventoryCsv(text, "fuzz.csv");
  (void)estate::registry::ParseTeamsFile(text, "teams.yml");
  return 0;
}
