// The storage mapping's HTTP API and lookup page, served from the current published Mapping.
//
// GET /api/cvm/v1.0/volumes[?host=&server=&array=&cloud=&project=&state=]
//   200 {"schema_version":1, "generated_at":"2026-11-21T19:25:10Z", "complete":true, "warnings":["…"],
//        "count":N, "volumes":[<row>…]}
//   Filters are exact matches and combine with AND: host = guest host name, server = server id or name,
//   array, cloud, project = project name or id, state = current|orphan|unmanaged|missing_on_array|unknown|past (default: all).
//   400 {"error":"…"} for an unknown parameter, an empty or repeated value, or an unknown state.
//   The unfiltered body is kept only gzip-compressed, built once per Mapping on the first request that
//   accepts gzip and shared by every such request (~21 MB at 100k rows; the plain ~74 MB is not kept). A
//   client without gzip gets the plain body built for its request (~0.3 s at 100k rows), not cached.
// GET /api/cvm/v1.0/volumes/<id>
//   id = Cinder id, array volume name (with or without "<pod>::"), serial or WWID (any case; "naa.",
//   "3"-less and /dev/disk/by-id/… forms accepted), or what a guest sees: the first 20 characters of the
//   Cinder id (a virtio-blk disk serial, /dev/disk/by-id/virtio-…) or scsi-0QEMU_QEMU_HARDDISK_<Cinder id>
//   200 {"id":"<id as given>", "generated_at":"…", "complete":true, "warnings":[…], "count":N,
//        "volumes":[<row>…]}   (one row per attachment and per array: a multi-attach or ActiveCluster volume
//        has several)
//   404 {"error":"no volume matches this id", "id":"…", "complete":…, "warnings":[…]}
//   complete and warnings are the mapping's, as in the list: an id not found in an incomplete mapping may
//   still exist.
// Both: 503 {"error":"no data yet"} before the first mapping is published. Content-Type application/json.
//
// <row> — every key always present, in this order; strings are "" when unknown:
//   array, array_volume, serial, wwid, pod (strings), destroyed (bool), provisioned_bytes, used_bytes
//   (numbers, bytes), cloud, cinder_id, cinder_name, volume_type, status, project, project_id, server_id,
//   server_name, host_name (guest), hypervisor (compute host), device (strings), bootable (bool), match
//   (provider_id | metadata | name_id | id | tag | none), state (current | orphan | unmanaged | missing_on_array | unknown | past),
//   last_seen (RFC 3339 UTC string, or null when unknown), complete (bool: false when the cloud's listing
//   lacked admin-only fields).
//
// GET /lookup[?id=<id>] — a self-contained HTML page (inline CSS and vanilla JS, no external resources). It
// fetches /api/cvm/v1.0/volumes/<encodeURIComponent(id)> and renders values with textContent only.
// DOM contract (for browser tests):
//   form#lookup-form, input#lookup-id, button#lookup-submit: the query; ?id= pre-fills it and runs it on load
//   #status[data-state]: "idle" | "loading" | "found" | "not-found" | "error"; its text is the message
//     (on not-found: No volume matches "<id>". — followed by " The mapping is incomplete, so it may still
//     exist." when it is)
//   ul#warnings[data-count]: one li per warning of an incomplete mapping ("Incomplete mapping: <warning>"),
//     empty (data-count "0") when the mapping is complete
//   #result[data-count]  the number of rows shown (set when data-state is "found", "0" otherwise)
//   table.volumes > tbody > tr.volume[data-state]   one per row, class "past" added for past rows
//     td[data-field=X] for X in: host_name, cinder_name, device, server_name, hypervisor, project, array,
//     array_volume, space, state, cinder_id, wwid
//     td[data-field=space]: text "<used> used of <provisioned>" in binary units
//       (e.g. "1.5 GiB used of 100 GiB"); attributes data-used-bytes, data-provisioned-bytes (raw numbers)
//     td[data-field=state]: the state; for past rows "past, last seen <RFC 3339>"; attribute data-last-seen
//   Values are shown as the API returns them (an empty string stays empty).
//
// Thread-safety: handlers run on HTTP worker threads; `current` must be thread-safe. The body cache is
// guarded by a mutex and built outside it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "estate/http_server.h"
#include "storage_join.h"

namespace estate::storage {

using MappingSource = std::function<std::shared_ptr<const Mapping>()>;

// Registers GET /api/cvm/v1.0/volumes, GET /api/cvm/v1.0/volumes/* and GET /lookup.
void AddApiRoutes(web::HttpServer& server, MappingSource current);

// Building blocks, exposed for tests.
// One row as the API's JSON object (see <row> above), appended to out.
void AppendRowJson(const VolumeRow& row, std::string& out);
// RFC 3339 in UTC with second precision ("2026-11-21T19:25:10Z").
std::string Rfc3339(double unix_seconds);
// The lookup page's HTML.
const std::string& LookupPageHtml();

}  // namespace estate::storage
