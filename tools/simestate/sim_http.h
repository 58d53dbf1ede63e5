// Small HTTP helpers shared by the simulated upstreams (query strings, JSON answers, random tokens).
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "estate/testing/fake_upstream.h"

namespace estate::simestate {

std::string UrlDecode(const std::string& in);
std::string UrlEncode(const std::string& in);
// The decoded value of `name` in a query string; "" when absent (see HasQueryParam).
std::string QueryParam(const std::string& query, const std::string& name);
bool HasQueryParam(const std::string& query, const std::string& name);
// The query string without `name` (any number of occurrences).
std::string WithoutQueryParam(const std::string& query, const std::string& name);

testing::FakeResponse Json(int status, const nlohmann::json& body);
testing::FakeResponse JsonError(int status, const std::string& message);

// 2*bytes random lower-case hex digits (not for security; unique enough for session tokens).
std::string RandomHex(std::size_t bytes);

}  // namespace estate::simestate
