// The static inventory file of the service-registry exporter: VMs for estates without OpenStack (or beside
// it). Two formats, told apart by the file name:
//
//   *.csv — a header line naming the columns (name required; hypervisor, project and id optional, any order),
//           then one VM per line. Fields may be double-quoted ("" is a quote inside one); blank lines and
//           lines starting with '#' are skipped.
//       name,hypervisor,project
//       xyz-web-a01,hv-01.example,xyz-prod
//   anything else — YAML:
//       vms:
//         - {name: xyz-web-a01, hypervisor: hv-01.example, project: xyz-prod}
//         - name: iex-fokpp01        # id defaults to the name
//
// Every problem is reported with file and line; unknown keys and columns are errors. Pure functions (the Load
// function reads one file); thread-safe.
#pragma once

#include <string>
#include <vector>

#include "estate/result.h"
#include "registry_model.h"

namespace estate::registry {

// At most this many VMs per file (a file that size is a mistake, not an inventory).
inline constexpr std::size_t kMaxInventoryFileVms = 1000000;

// Each VM's source is "file:<origin>".
Result<std::vector<Vm>> ParseInventoryYaml(const std::string& text, const std::string& origin);
Result<std::vector<Vm>> ParseInventoryCsv(const std::string& text, const std::string& origin);
// Reads the file (config::ReadFile) and parses it by its extension (.csv, else YAML).
Result<std::vector<Vm>> LoadInventoryFile(const std::string& path);

}  // namespace estate::registry
