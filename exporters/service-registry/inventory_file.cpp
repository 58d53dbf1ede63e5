#include "inventory_file.h"

#include <map>

#include "estate/config.h"

namespace estate::registry {
namespace {

std::string Trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// One CSV line into fields; false for an unterminated quote.
bool SplitCsv(const std::string& line, std::vector<std::string>& out) {
  out.clear();
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && Trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == ',') {
      out.push_back(was_quoted ? field : Trim(field));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  if (quoted) return false;
  out.push_back(was_quoted ? field : Trim(field));
  return true;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<std::vector<Vm>> ParseInventoryYaml(const std::string& text, const std::string& origin) {
  auto node = config::ParseYaml(text, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin, config::ParseOptions{false});
  config::MapReader root(*node, "", errors);
  std::vector<Vm> vms;
  if (!root.Has("vms")) root.Error("vms", "is required (a list of {name, hypervisor, project})");
  for (auto& r : root.List("vms")) {
    if (vms.size() >= kMaxInventoryFileVms) {
      r.Error("name", "more than " + std::to_string(kMaxInventoryFileVms) + " VMs");
      break;
    }
    Vm vm;
    r.Require("name", vm.name);
    r.Get("id", vm.id);
    r.Get("hypervisor", vm.hypervisor);
    r.Get("project", vm.project);
    r.Finish();
    if (r.Has("name") && vm.name.empty()) r.Error("name", "must not be empty");
    if (vm.id.empty()) vm.id = vm.name;
    vm.source = "file:" + origin;
    vms.push_back(std::move(vm));
  }
  root.Finish();
  if (!errors.empty()) return MakeError(errors.Text());
  return vms;
}

Result<std::vector<Vm>> ParseInventoryCsv(const std::string& text, const std::string& origin) {
  std::vector<Vm> vms;
  std::vector<std::string> errors;
  std::map<std::string, std::size_t> columns;
  std::vector<std::string> fields;
  std::size_t line_no = 0, pos = 0;
  bool header = true;
  auto error = [&](const std::string& message) {
    if (errors.size() < config::ConfigErrors::kMaxLines) {
      errors.push_back(origin + ":" + std::to_string(line_no) + ": " + message);
    }
  };
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (Trim(line).empty() || Trim(line)[0] == '#') continue;
    if (!SplitCsv(line, fields)) {
      error("unterminated quoted field");
      continue;
    }
    if (header) {
      header = false;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string& f = fields[i];
        if (f != "name" && f != "hypervisor" && f != "project" && f != "id") {
          error("unknown column \"" + f + "\" (columns: name, hypervisor, project, id)");
        } else if (!columns.emplace(f, i).second) {
          error("column \"" + f + "\" appears twice");
        }
      }
      if (!columns.count("name")) error("the header has no name column");
      if (!errors.empty()) break;
      continue;
    }
    if (fields.size() != columns.size()) {
      error(std::to_string(fields.size()) + " fields, the header has " + std::to_string(columns.size()));
      continue;
    }
    if (vms.size() >= kMaxInventoryFileVms) {
      error("more than " + std::to_string(kMaxInventoryFileVms) + " VMs");
      break;
    }
    Vm vm;
    auto get = [&](const char* column) {
      auto it = columns.find(column);
      return it == columns.end() ? std::string() : fields[it->second];
    };
    vm.name = get("name");
    vm.id = get("id");
    vm.hypervisor = get("hypervisor");
    vm.project = get("project");
    if (vm.name.empty()) {
      error("empty name");
      continue;
    }
    if (vm.id.empty()) vm.id = vm.name;
    vm.source = "file:" + origin;
    vms.push_back(std::move(vm));
  }
  if (header && errors.empty()) {
    line_no = 0;
    error("no header line (name,hypervisor,project)");
  }
  if (!errors.empty()) {
    std::string text_out;
    for (const auto& e : errors) text_out += (text_out.empty() ? "" : "\n") + e;
    return MakeError(text_out);
  }
  return vms;
}

Result<std::vector<Vm>> LoadInventoryFile(const std::string& path) {
  auto text = config::ReadFile(path);
  if (!text) return MakeError(text.error());
  return EndsWith(path, ".csv") ? ParseInventoryCsv(*text, path) : ParseInventoryYaml(*text, path);
}

}  // namespace estate::registry
