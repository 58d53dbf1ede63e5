// Marker paging of OpenStack listings (Nova servers, Cinder volumes, ...): the next link of a page, its
// marker, and the loop that follows markers with the checks every listing needs (a repeated marker, more
// pages than max_items allows, the Budget running out between pages). Pure functions and a function template;
// thread-safe.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "estate/cancel.h"
#include "estate/openstack/upstream_util.h"
#include "estate/result.h"

namespace estate::openstack {

// How a listing is paged. More pages than max_items needs is taken for a paging loop.
struct Paging {
  int page_size = 1000;
  int max_items = 1000000;
  // One page more than the item cap allows, plus slack for pages the server filled only partly.
  int MaxPages() const { return std::max(1, max_items / std::max(1, page_size)) + 10; }
};

// The value of query parameter `name` in a URL or query string (percent-decoded), "" when absent.
std::string QueryParam(std::string_view url, std::string_view name);

// The "next" link of an OpenStack "<resource>_links" array in `body`: whether there is one, and its "marker"
// query parameter ("" when the link has none).
void NextLink(nlohmann::json& body, const char* links_key, bool& has_next, std::string& marker);

// Follows a marker-paged listing: fetch(marker) returns one parsed page (a Result of a type with has_next and
// next_marker; marker "" for the first page), consume(page) takes its records. Stops with an error naming
// `what` on a repeated marker, on more pages than max_pages, on a next link that gives no marker, and when
// the budget runs out between pages; an error from fetch is returned as it is.
template <typename Page, typename Fetch, typename Consume>
Result<Ok> FollowMarkers(const std::string& what, int max_pages, const Budget& budget, Fetch fetch,
                         Consume consume) {
  std::unordered_set<std::string> seen;
  std::string marker;
  for (int pages = 0;; ++pages) {
    if (budget.Expired()) {
      return MakeError(what + ": " + BudgetReason(budget) + " after " + std::to_string(pages) + " pages");
    }
    if (pages >= max_pages) {
      return MakeError(what + ": more than " + std::to_string(max_pages) +
                       " pages (paging loop, or more records than max_items)");
    }
    Result<Page> page = fetch(marker);
    if (!page) return MakeError(page.error());
    const bool has_next = page->has_next;
    std::string next = std::move(page->next_marker);
    consume(std::move(*page));
    if (!has_next) return Ok{};
    if (next.empty()) {
      return MakeError(what + ": page " + std::to_string(pages + 1) + " has a next link but no marker");
    }
    if (!seen.insert(next).second) {
      return MakeError(what + ": marker " + next + " returned twice (paging loop)");
    }
    marker = std::move(next);
  }
}

}  // namespace estate::openstack
