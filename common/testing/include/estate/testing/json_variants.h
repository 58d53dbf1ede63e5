// Wrong-type variants of a valid JSON document, for tests that parsers of upstream data never throw.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "estate/json_util.h"

namespace estate::testing {

// The document's text with one value (the document itself, each member, each element) replaced by another
// type: null, booleans, huge, negative and unsigned-max numbers, a number that overflows a double (1e400),
// strings ("", "nan"), and empty or odd containers. Several hundred variants for a page-sized sample.
inline std::vector<std::string> WrongTypeVariants(const nlohmann::json& doc) {
  using json = nlohmann::json;
  static const std::string kOverflow = "\"\\u0000overflow\"";  // replaced by 1e400 in the text
  const std::vector<json> values = {nullptr, true, false, 0, -1, 1e300, -1e300, 18446744073709551615ULL, "", "nan",
                                    std::string(1, '\0') + "overflow", json::array(), json::array({nullptr}),
                                    json::object(), json{{"x", json::object()}}};
  std::vector<json::json_pointer> paths;
  std::vector<std::pair<json::json_pointer, const json*>> todo = {{json::json_pointer(), &doc}};
  while (!todo.empty()) {
    auto [ptr, node] = todo.back();
    todo.pop_back();
    paths.push_back(ptr);
    if (node->is_object()) {
      for (const auto& [k, v] : node->items()) todo.emplace_back(ptr / k, &v);
    } else if (node->is_array()) {
      for (std::size_t i = 0; i < node->size(); ++i) todo.emplace_back(ptr / i, &(*node)[i]);
    }
  }
  std::vector<std::string> out;
  for (const auto& ptr : paths) {
    for (const auto& v : values) {
      json copy = doc;
      copy[ptr] = v;
      std::string text = DumpJson(copy);
      for (auto at = text.find(kOverflow); at != std::string::npos; at = text.find(kOverflow)) {
        text.replace(at, kOverflow.size(), "1e400");
      }
      out.push_back(std::move(text));
    }
  }
  return out;
}

}  // namespace estate::testing
