#include "storage_api.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <vector>

#include "estate/json_util.h"

namespace estate::storage {
namespace {

constexpr std::string_view kListPath = "/api/cvm/v1.0/volumes";
constexpr std::size_t kMaxIdLength = 1024;
// Lists of more rows than this are streamed (chunked) rather than built whole.
constexpr std::size_t kStreamAbove = 2000;
constexpr std::array<std::string_view, 6> kFilters = {"host", "server", "array", "cloud", "project", "state"};
constexpr std::array<std::string_view, 6> kStates = {"current",          "orphan",  "unmanaged",
                                                     "missing_on_array", "unknown", "past"};

void AppendNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  char buf[32];
  int n = v == std::floor(v) && std::fabs(v) < 1e18 ? std::snprintf(buf, sizeof buf, "%.0f", v)
                                                    : std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(buf, static_cast<std::size_t>(n));
}

void Field(std::string& out, const char* name, std::string_view value, bool first = false) {
  if (!first) out.push_back(',');
  out.push_back('"');
  out.append(name);
  out.append("\":");
  AppendJsonString(out, value);
}

void FieldRaw(std::string& out, const char* name, std::string_view raw) {
  out.push_back(',');
  out.push_back('"');
  out.append(name);
  out.append("\":");
  out.append(raw);
}

void FieldNumber(std::string& out, const char* name, double v) {
  out.push_back(',');
  out.push_back('"');
  out.append(name);
  out.append("\":");
  AppendNumber(out, v);
}

web::HttpResponse Json(int status, std::string body) {
  web::HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = std::move(body);
  return r;
}

// "complete" and "warnings": whether the mapping these rows come from is complete, and why not.
void AppendCompleteness(std::string& out, const Mapping& m) {
  FieldRaw(out, "complete", m.complete() ? "true" : "false");
  out.append(",\"warnings\":[");
  for (std::size_t i = 0; i < m.warnings.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(out, m.warnings[i]);
  }
  out.push_back(']');
}

// With a mapping, the error also says whether it was complete: an id not found in an incomplete mapping may
// still exist.
web::HttpResponse JsonError(int status, std::string_view message, const std::string* id = nullptr,
                            const Mapping* m = nullptr) {
  std::string body = "{";
  Field(body, "error", message, true);
  if (id != nullptr) Field(body, "id", Utf8Excerpt(*id));
  if (m != nullptr) AppendCompleteness(body, *m);
  body.append("}\n");
  return Json(status, std::move(body));
}

// Writes the list envelope of `rows` (all of m's when null) to `write` in pieces of ~128 KiB, so that a list
// of 100k rows (~75 MB) is never held whole. Stops early when write returns false (the client went away).
void WriteEnvelope(const Mapping& m, const std::vector<const VolumeRow*>* rows,
                   const web::HttpResponse::Writer& write) {
  constexpr std::size_t kPiece = 128 << 10;
  std::string out;
  out.reserve(kPiece + 4096);
  const std::size_t count = rows ? rows->size() : m.rows.size();
  out.append("{\"schema_version\":1");
  Field(out, "generated_at", Rfc3339(m.generated_unix));
  AppendCompleteness(out, m);
  FieldNumber(out, "count", static_cast<double>(count));
  out.append(",\"volumes\":[");
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back(',');
    AppendRowJson(rows ? *(*rows)[i] : m.rows[i], out);
    if (out.size() >= kPiece) {
      if (!write(out)) return;
      out.clear();
    }
  }
  out.append("]}\n");
  write(out);
}

std::string Envelope(const Mapping& m, const std::vector<const VolumeRow*>* rows) {
  std::string all;
  WriteEnvelope(m, rows, [&all](std::string_view p) {
    all.append(p);
    return true;
  });
  return all;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool UrlDecode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return true;
}

struct Filters {
  std::map<std::string, std::string, std::less<>> values;
  std::string error;  // non-empty: a 400
};

Filters ParseFilters(std::string_view query) {
  Filters f;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string key;
    std::string value;
    if (!UrlDecode(part.substr(0, eq), key) ||
        (eq != std::string_view::npos && !UrlDecode(part.substr(eq + 1), value))) {
      f.error = "malformed query string";
      return f;
    }
    bool known = false;
    for (auto k : kFilters) known = known || k == key;
    if (!known) {
      f.error = "unknown query parameter \"" + Utf8Excerpt(key, 64) +
                "\" (known: host, server, array, cloud, project, state)";
      return f;
    }
    if (value.empty()) {
      f.error = "query parameter \"" + key + "\" needs a value";
      return f;
    }
    if (key == "state") {
      bool valid = false;
      for (auto s : kStates) valid = valid || s == value;
      if (!valid) {
        f.error = "invalid state \"" + Utf8Excerpt(value, 64) +
                  "\" (valid: current, orphan, unmanaged, missing_on_array, unknown, past)";
        return f;
      }
    }
    if (!f.values.emplace(key, value).second) {
      f.error = "query parameter \"" + key + "\" given more than once";
      return f;
    }
  }
  return f;
}

bool Matches(const VolumeRow& r, const Filters& f) {
  for (const auto& [k, v] : f.values) {
    bool ok = true;
    if (k == "host")
      ok = r.host_name == v;
    else if (k == "server")
      ok = r.server_id == v || r.server_name == v;
    else if (k == "array")
      ok = r.array == v;
    else if (k == "cloud")
      ok = r.cloud == v;
    else if (k == "project")
      ok = r.project == v || r.project_id == v;
    else if (k == "state")
      ok = r.state == v;
    if (!ok) return false;
  }
  return true;
}

// As the server decides (case-insensitive), so a gzip-only response is never sent to a client without gzip.
bool AcceptsGzip(const web::HttpRequest& req) {
  std::string ae = req.Header("accept-encoding");
  for (char& c : ae) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ae.find("gzip") != std::string::npos;
}

// The unfiltered list body of one Mapping, kept only as gzip (about a quarter of the plain body: ~21 MB
// instead of ~74 + 21 MB at 100k rows), built on the first gzip request by compressing the rows as they are
// written, in pieces of 1 MiB (one gzip stream cut in pieces: sent one after another, they are the whole), so
// the plain list is never held and the gzip never copied. Requests for the same Mapping wait for the one
// build; the registry's mutex is held only to find or replace the entry. A client without gzip gets the plain
// list streamed as it is written (see AddApiRoutes).
class ListCache {
 public:
  struct Bodies {
    std::once_flag gzip_once;
    std::vector<std::shared_ptr<const std::string>> gzip;  // empty when compression failed
  };

  std::shared_ptr<Bodies> For(const std::shared_ptr<const Mapping>& m) {
    std::lock_guard<std::mutex> lock(mu_);
    // Owner comparison is safe against a new Mapping reusing a freed one's address.
    const bool same = !key_.owner_before(m) && !m.owner_before(key_) && !key_.expired();
    if (!same || !bodies_) {
      key_ = m;
      bodies_ = std::make_shared<Bodies>();
    }
    return bodies_;
  }

  static std::vector<std::shared_ptr<const std::string>> Compress(const Mapping& m) {
    constexpr std::size_t kPiece = 1 << 20;
    std::vector<std::shared_ptr<const std::string>> pieces;
    auto piece = std::make_shared<std::string>();
    piece->reserve(kPiece);
    web::GzipWriter gz([&](std::string_view p) {
      while (!p.empty()) {
        std::size_t n = std::min(p.size(), kPiece - piece->size());
        piece->append(p.substr(0, n));
        p.remove_prefix(n);
        if (piece->size() == kPiece) {
          pieces.push_back(std::move(piece));
          piece = std::make_shared<std::string>();
          piece->reserve(kPiece);
        }
      }
      return true;
    });
    WriteEnvelope(m, nullptr, [&gz](std::string_view p) { return gz.Add(p); });
    if (!gz.Finish()) return {};
    piece->shrink_to_fit();
    pieces.push_back(std::move(piece));
    return pieces;
  }

 private:
  std::mutex mu_;
  std::weak_ptr<const Mapping> key_;
  std::shared_ptr<Bodies> bodies_;
};

const char kPage[] = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Volume lookup</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
form { margin-bottom: 1em; }
input#lookup-id { width: 40em; max-width: 90%; padding: .3em; font-family: monospace; }
#status { margin: .5em 0; }
#status[data-state="not-found"], #status[data-state="error"] { color: #a00; font-weight: bold; }
#warnings { color: #8a5a00; background: #fdf6e3; margin: .5em 0; }
#warnings:empty { display: none; }
table.volumes { border-collapse: collapse; }
table.volumes th, table.volumes td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
table.volumes th { background: #f0f0f0; }
table.volumes td { font-family: monospace; }
tr.volume.past { color: #777; background: #f8f3e6; }
tr.volume.past td[data-field="state"] { font-weight: bold; color: #8a5a00; }
tr.volume[data-state="orphan"] td[data-field="state"], tr.volume[data-state="missing_on_array"] td[data-field="state"] { color: #a00; font-weight: bold; }
.hint { color: #666; font-size: .9em; }
</style>
</head>
<body>
<h1>Volume lookup</h1>
<form id="lookup-form">
<input id="lookup-id" name="id" autocomplete="off" autofocus placeholder="Cinder volume id, array volume name, serial or WWID">
<button id="lookup-submit" type="submit">Look up</button>
</form>
<p class="hint">Accepts a Cinder volume id, a Pure array volume name (with or without its pod), a volume serial, a multipath WWID (3624a9370&hellip;, naa.624a9370&hellip;) or a disk serial as the guest sees it (lsblk -o NAME,SERIAL, /dev/disk/by-id/virtio-&hellip;).</p>
<div id="status" data-state="idle"></div>
<ul id="warnings" data-count="0"></ul>
<div id="result" data-count="0"></div>
<script>
(function () {
  'use strict';
  var COLUMNS = [
    ['host_name', 'Guest host'], ['cinder_name', 'Cinder volume'], ['device', 'Device'],
    ['server_name', 'Server'], ['hypervisor', 'Hypervisor'], ['project', 'Project'], ['array', 'Array'],
    ['array_volume', 'Array volume'], ['space', 'Space'], ['state', 'State'], ['cinder_id', 'Cinder id'],
    ['wwid', 'WWID']
  ];
  var form = document.getElementById('lookup-form');
  var input = document.getElementById('lookup-id');
  var statusEl = document.getElementById('status');
  var result = document.getElementById('result');
  var warningsEl = document.getElementById('warnings');
  var seq = 0;

  function setStatus(state, text) {
    statusEl.setAttribute('data-state', state);
    statusEl.textContent = text;
  }
  // An incomplete mapping: rows may be missing or lack fields, and the page says why.
  function showWarnings(body) {
    var list = body && body.complete === false && Array.isArray(body.warnings) ? body.warnings : [];
    if (body && body.complete === false && list.length === 0) list = ['The mapping is incomplete.'];
    warningsEl.replaceChildren();
    list.forEach(function (w) {
      var li = document.createElement('li');
      li.textContent = 'Incomplete mapping: ' + w;
      warningsEl.appendChild(li);
    });
    warningsEl.setAttribute('data-count', String(list.length));
  }
  function bytes(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    var s = i === 0 ? String(Math.round(n)) : n.toFixed(1).replace(/\.0$/, '');
    return s + ' ' + units[i];
  }
  function cell(tr, field, text) {
    var td = document.createElement('td');
    td.setAttribute('data-field', field);
    td.textContent = text == null ? '' : String(text);
    tr.appendChild(td);
    return td;
  }
  function render(volumes) {
    var table = document.createElement('table');
    table.className = 'volumes';
    var head = table.createTHead().insertRow();
    COLUMNS.forEach(function (c) {
      var th = document.createElement('th');
      th.textContent = c[1];
      head.appendChild(th);
    });
    var body = document.createElement('tbody');
    volumes.forEach(function (v) {
      var tr = document.createElement('tr');
      tr.className = 'volume' + (v.state === 'past' ? ' past' : '');
      tr.setAttribute('data-state', v.state || '');
      COLUMNS.forEach(function (c) {
        var f = c[0];
        if (f === 'space') {
          var td = cell(tr, f, v.array ? bytes(v.used_bytes) + ' used of ' + bytes(v.provisioned_bytes) : '');
          td.setAttribute('data-used-bytes', String(v.used_bytes));
          td.setAttribute('data-provisioned-bytes', String(v.provisioned_bytes));
        } else if (f === 'state') {
          var text = v.state || '';
          if (v.state === 'past') text = 'past, last seen ' + (v.last_seen || 'unknown');
          if (v.destroyed) text += ' (destroyed on the array)';
          var st = cell(tr, f, text);
          st.setAttribute('data-last-seen', v.last_seen || '');
        } else {
          cell(tr, f, v[f]);
        }
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    result.replaceChildren(table);
    result.setAttribute('data-count', String(volumes.length));
  }
  function lookup(id) {
    id = id.trim();
    var mine = ++seq;
    result.replaceChildren();
    result.setAttribute('data-count', '0');
    showWarnings(null);
    if (!id) { setStatus('idle', ''); return; }
    setStatus('loading', 'Looking up ' + id + '\u2026');
    fetch('/api/cvm/v1.0/volumes/' + encodeURIComponent(id), {headers: {'Accept': 'application/json'}})
      .then(function (resp) {
        return resp.json().then(function (body) { return {status: resp.status, body: body}; },
                                function () { return {status: resp.status, body: {}}; });
      })
      .then(function (r) {
        if (mine !== seq) return;
        showWarnings(r.body);
        if (r.status === 200 && r.body && Array.isArray(r.body.volumes)) {
          render(r.body.volumes);
          setStatus('found', r.body.volumes.length + (r.body.volumes.length === 1 ? ' row' : ' rows') +
                    ' for "' + id + '"' + (r.body.generated_at ? ' (data of ' + r.body.generated_at + ')' : ''));
        } else if (r.status === 404) {
          setStatus('not-found', 'No volume matches "' + id + '".' +
                    (r.body && r.body.complete === false ? ' The mapping is incomplete, so it may still exist.' : ''));
        } else {
          setStatus('error', 'Lookup failed (HTTP ' + r.status + ')' +
                    (r.body && r.body.error ? ': ' + r.body.error : '') + '.');
        }
      })
      .catch(function (e) {
        if (mine !== seq) return;
        setStatus('error', 'Lookup failed: ' + e);
      });
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var id = input.value;
    try {
      var url = new URL(window.location.href);
      url.searchParams.set('id', id.trim());
      window.history.replaceState(null, '', url.toString());
    } catch (e) { /* the lookup works without it */ }
    lookup(id);
  });
  var initial = new URLSearchParams(window.location.search).get('id');
  if (initial) {
    input.value = initial;
    lookup(initial);
  }
})();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string Rfc3339(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void AppendRowJson(const VolumeRow& r, std::string& out) {
  out.push_back('{');
  Field(out, "array", r.array, true);
  Field(out, "array_volume", r.array_volume);
  Field(out, "serial", r.serial);
  Field(out, "wwid", r.wwid);
  Field(out, "pod", r.pod);
  FieldRaw(out, "destroyed", r.destroyed ? "true" : "false");
  FieldNumber(out, "provisioned_bytes", r.provisioned_bytes);
  FieldNumber(out, "used_bytes", r.used_bytes);
  Field(out, "cloud", r.cloud);
  Field(out, "cinder_id", r.cinder_id);
  Field(out, "cinder_name", r.cinder_name);
  Field(out, "volume_type", r.volume_type);
  Field(out, "status", r.status);
  Field(out, "project", r.project);
  Field(out, "project_id", r.project_id);
  Field(out, "server_id", r.server_id);
  Field(out, "server_name", r.server_name);
  Field(out, "host_name", r.host_name);
  Field(out, "hypervisor", r.hypervisor);
  Field(out, "device", r.device);
  FieldRaw(out, "bootable", r.bootable ? "true" : "false");
  Field(out, "match", r.match);
  Field(out, "state", r.state);
  if (r.last_seen_unix > 0) {
    Field(out, "last_seen", Rfc3339(r.last_seen_unix));
  } else {
    FieldRaw(out, "last_seen", "null");
  }
  FieldRaw(out, "complete", r.complete ? "true" : "false");
  out.push_back('}');
}

const std::string& LookupPageHtml() {
  static const std::string page(kPage);
  return page;
}

void AddApiRoutes(web::HttpServer& server, MappingSource current) {
  auto cache = std::make_shared<ListCache>();

  server.Route(std::string(kListPath), {"GET"}, [current, cache](const web::HttpRequest& req) {
    Filters filters = ParseFilters(req.query);
    if (!filters.error.empty()) return JsonError(400, filters.error);
    std::shared_ptr<const Mapping> m = current();
    if (!m) return JsonError(503, "no data yet");
    if (!filters.values.empty()) {
      auto rows = std::make_shared<std::vector<const VolumeRow*>>();
      for (const auto& r : m->rows) {
        if (Matches(r, filters)) rows->push_back(&r);
      }
      if (rows->size() <= kStreamAbove) {
        web::HttpResponse resp = Json(200, Envelope(*m, rows.get()));
        resp.gzip_allowed = true;
        return resp;
      }
      // A large selection (state=current is nearly everything) is written as it is sent.
      web::HttpResponse resp = Json(200, {});
      resp.gzip_allowed = true;
      resp.stream = [m, rows](const web::HttpResponse::Writer& write) {
        WriteEnvelope(*m, rows.get(), write);
      };
      return resp;
    }
    web::HttpResponse resp = Json(200, {});
    resp.gzip_allowed = true;
    if (AcceptsGzip(req)) {
      auto bodies = cache->For(m);
      std::call_once(bodies->gzip_once, [&] { bodies->gzip = ListCache::Compress(*m); });
      if (!bodies->gzip.empty()) {
        resp.shared_gzip_parts = bodies->gzip;
        return resp;
      }
    }
    // Without gzip (rare: scripts, curl without --compressed) the plain list is written as it is sent.
    resp.stream = [m](const web::HttpResponse::Writer& write) { WriteEnvelope(*m, nullptr, write); };
    return resp;
  });

  const std::string prefix = std::string(kListPath) + "/";
  server.Route(prefix + "*", {"GET"}, [current, prefix](const web::HttpRequest& req) {
    std::string id = req.path.substr(prefix.size());
    if (id.size() > kMaxIdLength) return JsonError(400, "id too long", &id);
    std::shared_ptr<const Mapping> m = current();
    if (!m) return JsonError(503, "no data yet");
    std::vector<const VolumeRow*> rows = m->Lookup(id);
    if (rows.empty()) return JsonError(404, "no volume matches this id", &id, m.get());
    std::string out;
    out.reserve(256 + rows.size() * 700);
    out.push_back('{');
    Field(out, "id", Utf8Excerpt(id), true);
    Field(out, "generated_at", Rfc3339(m->generated_unix));
    AppendCompleteness(out, *m);
    FieldNumber(out, "count", static_cast<double>(rows.size()));
    out.append(",\"volumes\":[");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendRowJson(*rows[i], out);
    }
    out.append("]}\n");
    return Json(200, std::move(out));
  });

  auto page = std::make_shared<const std::string>(LookupPageHtml());
  server.Route("/lookup", {"GET"}, [page](const web::HttpRequest&) {
    web::HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "connect-src 'self'; base-uri 'none'; form-action 'self'");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.shared_body = page;
    return r;
  });
}

}  // namespace estate::storage
