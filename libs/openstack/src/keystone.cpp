#include "estate/openstack/keystone.h"

#include <nlohmann/json.hpp>

#include "estate/json_util.h"
#include "estate/openstack/upstream_util.h"
#include "estate/time_util.h"

namespace estate::openstack {

using Json = nlohmann::json;

std::string BuildKeystoneAuthRequest(const KeystoneAuth& auth) {
  Json identity;
  Json scope;
  if (auth.method == "application_credential") {
    Json cred;
    if (!auth.application_credential_id.empty()) {
      cred["id"] = auth.application_credential_id;
    } else {
      cred["name"] = auth.application_credential_name;
      cred["user"] = {{"name", auth.username}, {"domain", {{"name", auth.user_domain_name}}}};
    }
    cred["secret"] = auth.application_credential_secret;
    identity = {{"methods", {"application_credential"}}, {"application_credential", std::move(cred)}};
  } else {
    Json user = {
        {"name", auth.username}, {"domain", {{"name", auth.user_domain_name}}}, {"password", auth.password}};
    identity = {{"methods", {"password"}}, {"password", {{"user", std::move(user)}}}};
    if (!auth.project_id.empty()) {
      scope = {{"project", {{"id", auth.project_id}}}};
    } else if (!auth.project_name.empty()) {
      scope = {{"project", {{"name", auth.project_name}, {"domain", {{"name", auth.project_domain_name}}}}}};
    }
  }
  Json body = {{"auth", {{"identity", std::move(identity)}}}};
  if (!scope.is_null()) body["auth"]["scope"] = std::move(scope);
  return DumpJson(body);  // user names and passwords from the config: not necessarily UTF-8
}

Result<KeystoneToken> ParseKeystoneToken(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  Json* token = Member(*doc, "token", Json::value_t::object);
  if (token == nullptr) return MakeError("no \"token\" object");
  KeystoneToken out;
  out.expires_at = Take(*token, "expires_at");
  if (!out.expires_at.empty()) {
    auto when = estate::ParseIsoTimestamp(out.expires_at);
    if (when) out.expires_unix = *when;
  }
  if (Json* project = Member(*token, "project", Json::value_t::object)) out.project_id = Take(*project, "id");
  if (Json* roles = Member(*token, "roles", Json::value_t::array)) {
    for (auto& role : *roles) {
      if (role.is_object()) out.roles.push_back(Take(role, "name"));
    }
  }
  if (Json* catalog = Member(*token, "catalog", Json::value_t::array)) {
    for (auto& service : *catalog) {
      if (!service.is_object()) continue;
      const std::string type = Copy(service, "type");
      Json* endpoints = Member(service, "endpoints", Json::value_t::array);
      if (endpoints == nullptr) continue;
      for (auto& e : *endpoints) {
        if (!e.is_object()) continue;
        CatalogEndpoint ep;
        ep.type = type;
        ep.interface = Take(e, "interface");
        ep.region = Take(e, "region_id");
        if (ep.region.empty()) ep.region = Take(e, "region");
        ep.url = Take(e, "url");
        out.catalog.push_back(std::move(ep));
      }
    }
  }
  return out;
}

Result<std::string> SelectEndpoint(const std::vector<CatalogEndpoint>& catalog,
                                   const std::vector<std::string>& types, const std::string& interface,
                                   const std::string& region) {
  std::string want = interface.empty() ? std::string("public") : interface;
  if (want.size() > 3 && want.compare(want.size() - 3, 3, "URL") == 0) want.resize(want.size() - 3);
  for (const auto& type : types) {
    for (const auto& ep : catalog) {
      if (ep.type != type || ep.interface != want || ep.url.empty()) continue;
      if (!region.empty() && ep.region != region) continue;
      std::string url = ep.url;
      while (!url.empty() && url.back() == '/') url.pop_back();
      return url;
    }
  }
  std::string names;
  for (const auto& type : types) names += (names.empty() ? "" : "/") + type;
  return MakeError("no " + names + " endpoint with interface " + want +
                   (region.empty() ? std::string() : " in region " + region) + " in the catalog");
}

Result<ProjectsPage> ParseProjectsPage(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object()) return MakeError("body is not a JSON object");
  Json* projects = Member(*doc, "projects", Json::value_t::array);
  if (projects == nullptr) return MakeError("no \"projects\" array");
  ProjectsPage page;
  page.projects.reserve(projects->size());
  for (auto& p : *projects) {
    if (!p.is_object()) continue;
    std::string id = Take(p, "id");
    if (id.empty()) continue;
    page.projects.emplace_back(std::move(id), Take(p, "name"));
  }
  if (Json* links = Member(*doc, "links", Json::value_t::object)) page.next = Take(*links, "next");
  return page;
}

}  // namespace estate::openstack
