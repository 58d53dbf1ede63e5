#include "estate/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "estate/json_util.h"
#include "estate/log.h"
#include "tls_setup.h"

extern "C" int estate_sslcompat_loaded(void);

namespace estate::web {

std::string HttpRequest::Param(const std::string& name) const {
  if (query.empty()) return {};
  // mg_get_var URL-decodes; values longer than the buffer are treated as absent.
  std::vector<char> buf(query.size() + 1);
  int n = mg_get_var(query.c_str(), query.size(), name.c_str(), buf.data(), buf.size());
  return n < 0 ? std::string() : std::string(buf.data(), static_cast<std::size_t>(n));
}

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string GzipCompress(const std::string& data) { return GzipCompress(std::vector<std::string_view>{data}); }

std::string GzipCompress(const std::vector<std::string_view>& pieces, int level) {
  std::size_t total = 0;
  for (auto p : pieces) total += p.size();
  // Reserved for about the expected size (metrics text compresses 4-25x) rather than by deflateBound: for a
  // 24 MB text that would allocate 24 MB to keep 1 MB.
  std::string out;
  out.reserve(std::max<std::size_t>(4096, total / 16));
  GzipWriter writer(
      [&out](std::string_view p) {
        out.append(p);
        return true;
      },
      level);
  for (auto p : pieces) writer.Add(p);
  if (!writer.Finish()) return {};
  out.shrink_to_fit();  // cached for a while: keep only what is used
  return out;
}

bool GunzipTo(std::string_view gz, const std::function<bool(std::string_view)>& sink) {
  std::string buf(256 << 10, '\0');
  while (!gz.empty()) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return false;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    int rc = Z_OK;
    bool ok = true;
    while (ok && rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(buf.data());
      zs.avail_out = static_cast<uInt>(buf.size());
      rc = inflate(&zs, Z_NO_FLUSH);
      const std::size_t n = buf.size() - zs.avail_out;
      if (rc != Z_OK && rc != Z_STREAM_END) ok = false;
      else if (n > 0) ok = sink(std::string_view(buf.data(), n));
    }
    gz.remove_prefix(gz.size() - zs.avail_in);
    inflateEnd(&zs);
    if (!ok || rc != Z_STREAM_END) return false;
  }
  return true;
}

struct GzipWriter::Stream {
  z_stream zs{};
};

namespace {
constexpr std::size_t kGzipOut = 256 << 10;

// Runs deflate over `in` with `flush`, handing the output to sink and counting it in *bytes_out; false on a
// zlib error or a sink that refused.
bool DeflateInto(z_stream& zs, std::string& out, std::string_view in, int flush,
                 const std::function<bool(std::string_view)>& sink, std::size_t* bytes_out = nullptr) {
  if (out.size() < kGzipOut) out.resize(kGzipOut);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, flush);
    if (rc == Z_STREAM_ERROR) return false;
    const std::size_t n = out.size() - zs.avail_out;
    if (bytes_out != nullptr) *bytes_out += n;
    if (n > 0 && !sink(std::string_view(out.data(), n))) return false;
    // Z_FINISH is done at the stream's end; a flush when deflate left output room (and Z_NO_FLUSH when the
    // input is consumed too).
    if (flush == Z_FINISH ? rc == Z_STREAM_END : zs.avail_out != 0 && zs.avail_in == 0) return true;
  }
}

}  // namespace

GzipWriter::GzipWriter(std::function<bool(std::string_view)> sink, int level)
    : zs_(std::make_unique<Stream>()), sink_(std::move(sink)) {
  // windowBits 15 + 16 selects the gzip wrapper.
  ok_ = deflateInit2(&zs_->zs, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  if (!ok_) zs_.reset();
}

GzipWriter::~GzipWriter() {
  if (zs_) deflateEnd(&zs_->zs);
}

bool GzipWriter::Deflate(std::string_view in, int flush) {
  return ok_ = DeflateInto(zs_->zs, out_, in, flush, sink_, &bytes_out_);
}

bool GzipWriter::Add(std::string_view piece) {
  // zlib counts in uInt: feed very large pieces in parts.
  constexpr std::size_t kMaxIn = 1u << 30;
  while (ok_ && !finished_ && !piece.empty()) {
    const std::size_t n = std::min(piece.size(), kMaxIn);
    Deflate(piece.substr(0, n), Z_NO_FLUSH);
    piece.remove_prefix(n);
  }
  return ok_ && !finished_;
}

bool GzipWriter::Finish() {
  if (!ok_ || finished_) return ok_;
  finished_ = true;
  Deflate({}, Z_FINISH);
  out_ = std::string();
  return ok_;
}

struct DeflateWriter::Stream {
  z_stream zs{};
};

DeflateWriter::DeflateWriter(std::function<bool(std::string_view)> sink, int level)
    : zs_(std::make_unique<Stream>()), sink_(std::move(sink)) {
  // Negative windowBits: raw deflate, no header or trailer (the stream's are written around the pieces).
  ok_ = deflateInit2(&zs_->zs, std::clamp(level, 1, 9), Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  crc_ = static_cast<std::uint32_t>(crc32(0L, Z_NULL, 0));
  if (!ok_) zs_.reset();
}

DeflateWriter::~DeflateWriter() {
  if (zs_) deflateEnd(&zs_->zs);
}

bool DeflateWriter::Add(std::string_view piece) {
  constexpr std::size_t kMaxIn = 1u << 30;  // zlib counts in uInt
  while (ok_ && !finished_ && !piece.empty()) {
    const std::size_t n = std::min(piece.size(), kMaxIn);
    crc_ = static_cast<std::uint32_t>(
        crc32(crc_, reinterpret_cast<const Bytef*>(piece.data()), static_cast<uInt>(n)));
    length_ += n;
    ok_ = DeflateInto(zs_->zs, out_, piece.substr(0, n), Z_NO_FLUSH, sink_);
    piece.remove_prefix(n);
  }
  return ok_ && !finished_;
}

bool DeflateWriter::Finish() {
  if (!ok_ || finished_) return ok_;
  finished_ = true;
  // A sync flush ends the data on a byte boundary with an empty stored block that is not final.
  ok_ = DeflateInto(zs_->zs, out_, {}, Z_SYNC_FLUSH, sink_);
  out_ = std::string();
  return ok_;
}

std::optional<DeflatePiece> DeflateCompress(const std::vector<std::string_view>& text, int level) {
  std::size_t total = 0;
  for (auto p : text) total += p.size();
  DeflatePiece piece;
  piece.bytes.reserve(std::max<std::size_t>(64, total / 16));
  DeflateWriter writer(
      [&piece](std::string_view p) {
        piece.bytes.append(p);
        return true;
      },
      level);
  for (auto p : text) writer.Add(p);
  if (!writer.Finish()) return std::nullopt;
  piece.bytes.shrink_to_fit();  // cached for a while: keep only what is used
  piece.crc = writer.crc();
  piece.length = writer.length();
  return piece;
}

std::string_view GzipStreamHead() {
  // Magic, deflate, no flags, no mtime, no extra flags, OS unix (RFC 1952).
  static constexpr char kHead[] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3};
  return {kHead, sizeof kHead};
}

std::string GzipStreamTail(const std::vector<const DeflatePiece*>& pieces) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::uint64_t length = 0;
  for (const auto* p : pieces) {
    crc = crc32_combine(crc, p->crc, static_cast<z_off_t>(p->length));
    length += p->length;
  }
  // A final fixed-Huffman block holding only its end code (bits 1, 01, 0000000): 03 00.
  std::string tail = {'\x03', '\x00'};
  for (int i = 0; i < 4; ++i) tail.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  for (int i = 0; i < 4; ++i) tail.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  return tail;
}

std::string GzipStream(const std::vector<const DeflatePiece*>& pieces) {
  std::string out(GzipStreamHead());
  for (const auto* p : pieces) out.append(p->bytes);
  out.append(GzipStreamTail(pieces));
  return out;
}

bool InflatePieceTo(const DeflatePiece& piece, const std::function<bool(std::string_view)>& sink) {
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) return false;
  std::string buf(std::min<std::uint64_t>(256 << 10, std::max<std::uint64_t>(1, piece.length)), '\0');
  std::string_view in = piece.bytes;
  std::uint64_t produced = 0;
  bool ok = true;
  while (ok) {
    constexpr std::size_t kMaxIn = 1u << 30;
    const std::size_t feed = std::min(in.size(), kMaxIn);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(feed);
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&zs, Z_SYNC_FLUSH);
    in.remove_prefix(feed - zs.avail_in);
    const std::size_t n = buf.size() - zs.avail_out;
    produced += n;
    if (n > 0 && !sink(std::string_view(buf.data(), n))) ok = false;
    // A piece has no final block: it is whole once its input is consumed and nothing more comes out. A final
    // block (Z_STREAM_END) or an error means it is not a piece.
    if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR)) {
      ok = false;
    } else if (in.empty() && n == 0) {
      break;
    }
  }
  inflateEnd(&zs);
  return ok && produced == piece.length;
}

struct RouteEntry {
  std::vector<std::string> methods;
  Handler handler;
  RouteOptions options;
};

struct HttpServer::Impl {
  std::mutex mu;
  std::map<std::string, RouteEntry> routes;
  mg_context* ctx = nullptr;
  ServerOptions options;
  std::unique_ptr<BasicAuthChecker> auth;
  bool tls = false;
  std::string tls_error;
  // Graceful stop: civetweb refuses writes once mg_stop() begins, so Stop() first waits for requests that are
  // being handled (in_flight) to finish, answering new ones with 503 meanwhile.
  std::mutex drain_mu;
  std::condition_variable drained;
  int in_flight = 0;
  bool draining = false;
  // Admission: at most options.max_requests handlers run at once (guarded by drain_mu, signalled by drained).
  int handling = 0;

  // Waits for a handler slot; false when none freed within admission_timeout_ms or the server is stopping.
  bool AcquireHandlerSlot();
  void ReleaseHandlerSlot();
  static int BeginRequest(mg_connection* conn);
  static int InitSsl(void* ssl_ctx, void* user_data);
  static int LogMessage(const mg_connection* conn, const char* message);
  void Serve(mg_connection* conn);
};

namespace {

bool AcceptsGzip(const HttpRequest& req) {
  std::string ae = req.Header("accept-encoding");
  std::transform(ae.begin(), ae.end(), ae.begin(), [](unsigned char c) { return std::tolower(c); });
  return ae.find("gzip") != std::string::npos;
}

bool WriteAll(mg_connection* conn, std::string_view data) {
  std::size_t off = 0;
  while (off < data.size()) {
    std::size_t n = std::min<std::size_t>(data.size() - off, 1 << 20);
    if (mg_write(conn, data.data() + off, n) <= 0) return false;  // client went away
    off += n;
  }
  return true;
}

// Writes many views, copying the small ones into one buffer so a body of tens of thousands of pieces costs a
// few hundred writes rather than one each.
void WriteViews(mg_connection* conn, const std::vector<const std::vector<std::string_view>*>& lists) {
  constexpr std::size_t kBuffer = 256 << 10;
  std::string buf;
  buf.reserve(kBuffer);
  auto flush = [&] {
    bool ok = WriteAll(conn, buf);
    buf.clear();
    return ok;
  };
  for (const auto* views : lists) {
    for (auto v : *views) {
      if (buf.size() + v.size() > kBuffer) {
        if (!flush()) return;  // client went away
      }
      if (v.size() >= kBuffer / 4) {
        // Written as it is, after what is buffered.
        if (!flush() || !WriteAll(conn, v)) return;
        continue;
      }
      buf.append(v);
    }
  }
  flush();
}

std::string Head(mg_connection* conn, const HttpResponse& resp, const std::map<std::string, std::string>& extra_headers,
                 std::string_view framing, bool gzip) {
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                     mg_get_response_code_text(conn, resp.status) + "\r\n";
  head += "Content-Type: " + resp.content_type + "\r\n";
  head.append(framing).append("\r\n");
  if (gzip) head += "Content-Encoding: gzip\r\n";
  if (resp.gzip_allowed) head += "Vary: Accept-Encoding\r\n";
  for (const auto& [k, v] : extra_headers) head += k + ": " + v + "\r\n";
  for (const auto& [k, v] : resp.headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  return head;
}

void Send(mg_connection* conn, const HttpRequest& req, const HttpResponse& resp,
          const std::map<std::string, std::string>& extra_headers);

// A streamed body (HttpResponse::stream): chunked transfer encoding, in chunks of ~256 KiB, gzipped on the fly
// if the client accepts it. An HTTP/1.0 client, which cannot read chunks, gets the body joined first.
void SendStream(mg_connection* conn, const HttpRequest& req, const HttpResponse& resp,
                const std::map<std::string, std::string>& extra_headers) {
  const bool gzip = resp.gzip_allowed && AcceptsGzip(req);
  const mg_request_info* ri = mg_get_request_info(conn);
  const bool chunked = ri == nullptr || ri->http_version == nullptr || std::strcmp(ri->http_version, "1.0") != 0;
  if (!chunked) {
    std::string body;
    resp.stream([&body](std::string_view p) {
      body.append(p);
      return true;
    });
    HttpResponse joined = resp;
    joined.stream = nullptr;
    joined.body = std::move(body);
    Send(conn, req, joined, extra_headers);
    return;
  }
  std::string head = Head(conn, resp, extra_headers, "Transfer-Encoding: chunked", gzip);
  if (mg_write(conn, head.data(), head.size()) <= 0 || req.method == "HEAD") return;
  constexpr std::size_t kChunk = 256 << 10;
  std::string buf;
  buf.reserve(kChunk + 64);
  bool alive = true;
  auto flush = [&]() {
    if (buf.empty() || !alive) return alive;
    char size[24];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", buf.size());
    alive = mg_write(conn, size, static_cast<std::size_t>(n)) > 0 && WriteAll(conn, buf) && mg_write(conn, "\r\n", 2) > 0;
    buf.clear();
    return alive;
  };
  auto put = [&](std::string_view p) {
    while (alive && !p.empty()) {
      std::size_t n = std::min(p.size(), kChunk - std::min(kChunk, buf.size()));
      buf.append(p.substr(0, n));
      p.remove_prefix(n);
      if (buf.size() >= kChunk) flush();
    }
    return alive;
  };
  if (gzip) {
    GzipWriter writer(put);
    resp.stream([&writer](std::string_view p) { return writer.Add(p); });
    writer.Finish();
  } else {
    resp.stream(put);
  }
  if (flush()) mg_write(conn, "0\r\n\r\n", 5);
}

void Send(mg_connection* conn, const HttpRequest& req, const HttpResponse& resp,
          const std::map<std::string, std::string>& extra_headers) {
  if (resp.stream) {
    SendStream(conn, req, resp, extra_headers);
    return;
  }
  std::vector<std::string_view> out;
  std::vector<const std::vector<std::string_view>*> lists;
  if (!resp.body_views.empty()) {
    for (const auto& l : resp.body_views) lists.push_back(l.get());
  } else if (!resp.body_parts.empty()) {
    for (const auto& p : resp.body_parts) out.emplace_back(*p);
    lists = {&out};
  } else {
    out.emplace_back(resp.shared_body ? *resp.shared_body : resp.body);
    lists = {&out};
  }
  std::string compressed;
  std::string tail;
  bool gzip = false;
  if (resp.gzip_allowed && AcceptsGzip(req)) {
    if (!resp.gzip_pieces.empty()) {
      // One gzip stream around the pieces: nothing is compressed or copied here.
      std::vector<const DeflatePiece*> pieces;
      pieces.reserve(resp.gzip_pieces.size());
      for (const auto& p : resp.gzip_pieces) pieces.push_back(p.get());
      tail = GzipStreamTail(pieces);
      out.clear();
      out.push_back(GzipStreamHead());
      for (const auto* p : pieces) out.emplace_back(p->bytes);
      out.emplace_back(tail);
      lists = {&out};
      gzip = true;
    } else if (!resp.shared_gzip_parts.empty()) {
      out.clear();
      for (const auto& p : resp.shared_gzip_parts) out.emplace_back(*p);
      lists = {&out};
      gzip = true;
    } else if (resp.shared_gzip_body) {
      out = {*resp.shared_gzip_body};
      lists = {&out};
      gzip = true;
    } else {
      std::vector<std::string_view> all;
      std::size_t size = 0;
      for (const auto* l : lists) {
        for (auto v : *l) {
          all.push_back(v);
          size += v.size();
        }
      }
      if (size >= 1024) {
        compressed = GzipCompress(all);
        if (!compressed.empty()) {
          out = {compressed};
          lists = {&out};
          gzip = true;
        }
      }
    }
  }
  std::size_t length = 0;
  for (const auto* l : lists) {
    for (auto v : *l) length += v.size();
  }
  std::string head = Head(conn, resp, extra_headers, "Content-Length: " + std::to_string(length), gzip);
  mg_write(conn, head.data(), head.size());
  if (req.method != "HEAD") WriteViews(conn, lists);
}

// Request framing that two HTTP parsers could read differently, which lets a request be smuggled past a
// proxy in front of us (RFC 9112 6.1 and 6.3): returns why the request must be refused, or "" when its
// framing is unambiguous. civetweb 1.15 keeps every header line as it came (a repeated header is a second
// entry in http_headers), reads "+38" and "0, 38" as numbers, and lets Transfer-Encoding win over
// Content-Length; we refuse all of these before any handler runs.
std::string AmbiguousFraming(const mg_request_info& ri) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  int lengths = 0, encodings = 0;
  for (int i = 0; i < ri.num_headers; ++i) {
    const char* name = ri.http_headers[i].name;
    std::string_view value = trim(ri.http_headers[i].value != nullptr ? ri.http_headers[i].value : "");
    if (name == nullptr) continue;
    if (mg_strcasecmp(name, "Content-Length") == 0) {
      ++lengths;
      // Digits only: no sign, no list, no spaces inside; at most 18 so it cannot overflow.
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
        return "invalid Content-Length";
      }
    } else if (mg_strcasecmp(name, "Transfer-Encoding") == 0) {
      ++encodings;
      // Only chunked, alone (the coding name is case-insensitive, as civetweb compares it): a list such as
      // "gzip, chunked" or "chunked, chunked" is read differently by different parsers.
      if (value.size() != 7 || mg_strncasecmp(value.data(), "chunked", 7) != 0) {
        return "unsupported Transfer-Encoding";
      }
    }
  }
  if (lengths > 1) return "repeated Content-Length";
  if (encodings > 1) return "repeated Transfer-Encoding";
  if (lengths > 0 && encodings > 0) return "both Content-Length and Transfer-Encoding";
  return {};
}

std::string ListeningPort(const std::string& address, bool tls) {
  // ":9100" means every interface, which civetweb spells "9100".
  std::string a = address;
  if (!a.empty() && a[0] == ':') a = a.substr(1);
  if (a.rfind("0.0.0.0:", 0) == 0) a = a.substr(8);
  return tls ? a + "s" : a;
}

// Reads a POST/PUT body up to `limit` bytes; a longer one (by its Content-Length, then nothing is read, or as
// it arrives) sets body_too_large, and fewer bytes than the Content-Length set body_incomplete.
void ReadBody(mg_connection* conn, const mg_request_info& ri, std::size_t limit, HttpRequest& req) {
  if (ri.content_length > 0 && static_cast<unsigned long long>(ri.content_length) > limit) {
    req.body_too_large = true;
    return;
  }
  if (ri.content_length > 0) req.body.reserve(static_cast<std::size_t>(ri.content_length));
  char buf[16384];
  int n = 0;
  while ((n = mg_read(conn, buf, sizeof buf)) > 0) {
    const auto got = static_cast<std::size_t>(n);
    if (req.body.size() + got > limit) {
      req.body.append(buf, limit - req.body.size());
      req.body_too_large = true;
      return;
    }
    req.body.append(buf, got);
  }
  if (ri.content_length >= 0 ? req.body.size() < static_cast<std::size_t>(ri.content_length) : n < 0) {
    req.body_incomplete = true;
  }
}

}  // namespace

void HttpServer::Impl::Serve(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  HttpRequest req;
  req.method = ri->request_method ? ri->request_method : "";
  req.path = ri->local_uri ? ri->local_uri : "";
  req.query = ri->query_string ? ri->query_string : "";
  for (int i = 0; i < ri->num_headers; ++i) {
    std::string name = ri->http_headers[i].name;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    req.headers[name] = ri->http_headers[i].value ? ri->http_headers[i].value : "";
  }

  if (auth && auth->enabled() && !auth->Check(req.Header("authorization"))) {
    HttpResponse r;
    r.status = 401;
    r.body = "Unauthorized\n";
    r.headers.push_back({"WWW-Authenticate", "Basic realm=\"estate-exporters\", charset=\"UTF-8\""});
    Send(conn, req, r, options.web_config.headers);
    return;
  }

  RouteEntry route;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = routes.find(req.path);
    if (it != routes.end()) {
      route = it->second;
    } else {
      // "<prefix>/*" routes match any longer path under the prefix; the longest prefix wins.
      std::size_t best = 0;
      for (const auto& [pattern, entry] : routes) {
        if (pattern.size() < 2 || pattern.compare(pattern.size() - 2, 2, "/*") != 0) continue;
        std::string_view prefix(pattern.data(), pattern.size() - 1);
        if (req.path.size() > prefix.size() && req.path.compare(0, prefix.size(), prefix) == 0 &&
            prefix.size() > best) {
          best = prefix.size();
          route = entry;
        }
      }
    }
  }
  HttpResponse resp;
  bool early_answer = false;
  if (!route.handler) {
    resp.status = 404;
    resp.body = "404 page not found\n";
  } else {
    const std::string& m = req.method == "HEAD" ? std::string("GET") : req.method;
    bool allowed = std::find(route.methods.begin(), route.methods.end(), m) != route.methods.end();
    if (!allowed) {
      resp.status = 405;
      std::string allow;
      for (const auto& am : route.methods) allow += (allow.empty() ? "" : ", ") + am;
      resp.headers.push_back({"Allow", allow});
      resp.body = "405 method not allowed\n";
    } else {
      std::optional<HttpResponse> early;
      if (req.method == "POST" || req.method == "PUT") {
        if (route.options.precheck) {
          try {
            early = route.options.precheck(req);
          } catch (...) {
            early = HttpResponse{};
            early->status = 500;
            early->body = "internal error\n";
          }
        }
        if (!early) ReadBody(conn, *ri, route.options.max_body_bytes, req);
      }
      if (early || req.body_too_large) {
        // The body is left (partly) unread: close the connection after the answer rather than let civetweb
        // read and discard the rest (or take it for the next request).
        mg_disable_connection_keep_alive(conn);
      }
      if (early) {
        early_answer = true;
        resp = std::move(*early);
      } else if (!AcquireHandlerSlot()) {
        resp.status = 503;
        resp.body = "too many requests in flight\n";
        resp.headers.push_back({"Retry-After", "1"});
      } else {
        try {
          resp = route.handler(req);
        } catch (const std::exception& e) {
          log::Error("request handler failed", {{"path", req.path}, {"err", e.what()}});
          resp = HttpResponse{};
          resp.status = 500;
          resp.body = "internal error\n";
        } catch (...) {
          resp = HttpResponse{};
          resp.status = 500;
          resp.body = "internal error\n";
        }
        ReleaseHandlerSlot();
      }
    }
  }
  if (req.body_too_large || early_answer) resp.headers.push_back({"Connection", "close"});
  Send(conn, req, resp, options.web_config.headers);
}

bool HttpServer::Impl::AcquireHandlerSlot() {
  std::unique_lock<std::mutex> lock(drain_mu);
  const int limit = std::max(1, options.max_requests);
  const bool got =
      drained.wait_for(lock, std::chrono::milliseconds(std::max(0, options.admission_timeout_ms)),
                       [&] { return draining || handling < limit; });
  if (!got || draining) return false;
  ++handling;
  return true;
}

void HttpServer::Impl::ReleaseHandlerSlot() {
  {
    std::lock_guard<std::mutex> lock(drain_mu);
    --handling;
  }
  drained.notify_all();
}

int HttpServer::Impl::BeginRequest(mg_connection* conn) {
  auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
  if (const mg_request_info* ri = mg_get_request_info(conn); ri != nullptr) {
    if (std::string why = AmbiguousFraming(*ri); !why.empty()) {
      log::Debug("refused a request with ambiguous framing", {{"why", why}});
      // The body, whatever its length, is never read, so the connection must close after this answer:
      // mg_send_http_error marks it so (a 400 written by hand would leave it open, and civetweb would then
      // read the smuggled bytes as the next request).
      mg_send_http_error(conn, 400, "%s\n", why.c_str());
      return 400;
    }
  }
  {
    std::lock_guard<std::mutex> lock(self->drain_mu);
    if (self->draining) {
      mg_printf(conn, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
                      "shutting down\n");
      return 503;
    }
    ++self->in_flight;
  }
  int status = 500;
  try {
    self->Serve(conn);
    status = 200;
  } catch (...) {
    // Nothing may escape into civetweb's C code.
  }
  {
    std::lock_guard<std::mutex> lock(self->drain_mu);
    --self->in_flight;
  }
  self->drained.notify_all();
  return status;
}

int HttpServer::Impl::InitSsl(void* ssl_ctx, void* user_data) {
  auto* self = static_cast<Impl*>(user_data);
  std::string error;
  int rc = ConfigureServerTls(ssl_ctx, self->options.web_config.tls, &error);
  if (rc < 0) self->tls_error = error;
  return rc;
}

int HttpServer::Impl::LogMessage(const mg_connection*, const char* message) {
  log::Debug("civetweb", {{"message", message ? message : ""}});
  return 1;
}

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& path, std::vector<std::string> methods, Handler handler,
                       RouteOptions route_options) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->routes[path] = RouteEntry{std::move(methods), std::move(handler), std::move(route_options)};
}

Result<Ok> HttpServer::Start(const ServerOptions& options) {
  if (impl_->ctx != nullptr) return MakeError("server already started");
  impl_->options = options;
  impl_->draining = false;
  impl_->tls = options.web_config.tls.enabled();
  impl_->auth = std::make_unique<BasicAuthChecker>(options.web_config.basic_auth_users);

  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(MG_FEATURES_TLS); });

  if (impl_->tls) {
    std::string why;
    // Referencing the shim keeps it linked in; TlsShimPresent checks civetweb will resolve through it.
    if (estate_sslcompat_loaded() != 1 || !TlsShimPresent(&why)) {
      return MakeError("TLS is not available: " + why);
    }
  }

  std::string ports;
  for (const auto& a : options.listen_addresses) {
    if (!ports.empty()) ports += ",";
    ports += ListeningPort(a, impl_->tls);
  }
  // Each connection holds a civetweb thread until it closes; see ServerOptions. request_timeout_ms bounds the
  // wait for a first request's headers (from when a thread takes the connection up, whether bytes trickle in
  // or not), keep_alive_timeout_ms the wait for each later one on a kept-alive connection.
  std::string threads = std::to_string(std::max(2, options.worker_threads));
  std::string timeout = std::to_string(std::max(100, options.request_timeout_ms));
  std::string idle = std::to_string(std::max(100, options.idle_timeout_ms));
  std::vector<std::string> opts = {
      "listening_ports", ports, "num_threads", threads, "request_timeout_ms", timeout, "enable_keep_alive",
      "yes", "keep_alive_timeout_ms", idle, "decode_url", "yes",
      // Headers and body go out in separate writes; without TCP_NODELAY a small body waits ~40 ms for the
      // client's delayed ACK on a kept-alive connection.
      "tcp_nodelay", "1"};
  if (impl_->tls) {
    // civetweb insists on a certificate option for "s" ports; the init_ssl callback then does the real setup.
    opts.insert(opts.end(), {"ssl_certificate", options.web_config.tls.cert_file});
  }
  std::vector<const char*> copts;
  for (const auto& o : opts) copts.push_back(o.c_str());
  copts.push_back(nullptr);

  mg_callbacks cb{};
  cb.begin_request = &Impl::BeginRequest;
  cb.log_message = &Impl::LogMessage;
  if (impl_->tls) cb.init_ssl = &Impl::InitSsl;
  impl_->ctx = mg_start(&cb, impl_.get(), copts.data());
  if (impl_->ctx == nullptr) {
    std::string why = impl_->tls_error.empty() ? "cannot listen on " + ports + " (address in use or invalid?)"
                                               : "TLS setup failed: " + impl_->tls_error;
    return MakeError(why);
  }
  return Ok{};
}

void HttpServer::Stop() {
  if (impl_->ctx != nullptr) {
    {
      std::unique_lock<std::mutex> lock(impl_->drain_mu);
      impl_->draining = true;
      impl_->drained.notify_all();  // requests waiting for a handler slot give up with 503
      impl_->drained.wait_for(lock, std::chrono::milliseconds(impl_->options.shutdown_grace_ms),
                              [this] { return impl_->in_flight == 0; });
    }
    // civetweb's accept loop polls with a 2 s timeout; a connection to each listening port wakes it at once.
    // Connect until mg_stop() returns (it sets its stop flag first, then waits for the accept loop).
    std::vector<int> ports = Ports();
    std::atomic<bool> stopped{false};
    std::thread waker([ports, &stopped] {
      while (!stopped.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (int p : ports) {
          int fd = socket(AF_INET, SOCK_STREAM, 0);
          if (fd < 0) continue;
          sockaddr_in addr{};
          addr.sin_family = AF_INET;
          addr.sin_port = htons(static_cast<uint16_t>(p));
          addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          (void)connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
          close(fd);
        }
      }
    });
    mg_stop(impl_->ctx);
    stopped = true;
    waker.join();
    impl_->ctx = nullptr;
  }
}

std::vector<int> HttpServer::Ports() const {
  std::vector<int> out;
  if (impl_->ctx == nullptr) return out;
  mg_server_port ports[16];
  int n = mg_get_server_ports(impl_->ctx, 16, ports);
  for (int i = 0; i < n; ++i) out.push_back(ports[i].port);
  return out;
}

bool HttpServer::tls() const { return impl_->tls; }

void AppendHtmlEscaped(std::string& out, std::string_view s) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  out.reserve(out.size() + s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Report and upstream text may be any bytes; the page stays valid UTF-8.
      const std::size_t n = Utf8SequenceLength(s, i);
      out.append(n == 0 ? kReplacement : s.substr(i, n));
      i += n == 0 ? 1 : n;
      continue;
    }
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      case '\t':
      case '\n':
      case '\r':
        out.push_back(static_cast<char>(c));
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out.append(kReplacement);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  AppendHtmlEscaped(out, s);
  return out;
}

}  // namespace estate::web
