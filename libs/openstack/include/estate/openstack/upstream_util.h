// Small helpers for clients and parsers of JSON upstreams (the OpenStack ones here, and the storage
// exporter's Pure FlashArray client): JSON parsing that never echoes the body, moving strings out of a parsed
// document, percent-encoding, and error messages for HTTP statuses and budgets. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"

namespace estate::openstack {

// Parses a JSON body; never throws (ParseJsonText: a number overflowing a double or nesting deeper than 128
// levels is an error too). Errors give the byte position only: the body may be binary garbage or carry data
// that does not belong in a log line.
Result<nlohmann::json> ParseJson(std::string_view body);
// Moves a string member out of a parsed document that is thrown away afterwards, so large listings are not
// copied string by string. Anything but a string (null, absent, a number) gives "".
std::string Take(nlohmann::json& object, const char* key);

// Typed access to members of a parsed document: a member of the wrong type reads as absent.
inline bool Has(const nlohmann::json& object, const char* key) { return object.find(key) != object.end(); }

// The member `key` when it has this type, else nullptr.
inline nlohmann::json* Member(nlohmann::json& object, const char* key, nlohmann::json::value_t type) {
  auto it = object.find(key);
  return it != object.end() && it->type() == type ? &*it : nullptr;
}

// A copy of a string member; anything else gives "".
inline std::string Copy(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A number member; anything else gives 0.
inline double Number(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

double NowUnix();
// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(const std::string& s);
// "<what>: HTTP <status>[: <first 160 printable characters of the body>]". Upstreams explain refusals there.
std::string StatusError(const std::string& what, const http::Response& response);
inline bool Ok2xx(const http::Response& r) { return r.status >= 200 && r.status < 300; }
inline std::string BudgetReason(const Budget& budget) {
  return budget.cancel.Cancelled() ? "cancelled" : "deadline exceeded";
}

// Gathers pages of items into one vector sized once at the end. Appending page after page to one vector grows
// it by doubling, and while it reallocates it holds the old buffer and one twice as large: up to three times
// the items' size (~100 MB more at 100k Cinder volumes) at the moment every source is refreshing.
template <typename T>
class Pages {
 public:
  void Add(std::vector<T>&& page) {
    size_ += page.size();
    pages_.push_back(std::move(page));
  }
  std::vector<T> Take() {
    std::vector<T> all;
    if (pages_.size() == 1) {
      all = std::move(pages_.front());
    } else {
      all.reserve(size_);
      for (auto& page : pages_) {
        for (auto& item : page) all.push_back(std::move(item));
        std::vector<T>().swap(page);  // freed page by page
      }
    }
    pages_.clear();
    size_ = 0;
    return all;
  }

 private:
  std::vector<std::vector<T>> pages_;
  std::size_t size_ = 0;
};

}  // namespace estate::openstack
