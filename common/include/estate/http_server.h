// HTTP server on civetweb with exact path matching, basic auth and TLS from the web-config, extra headers,
// many cheap connection threads with header and idle timeouts (so idle or slow clients cannot starve a
// scrape), a bounded number of requests handled at once, and refusal of ambiguous request framing
// (Content-Length / Transfer-Encoding) with 400 before any handler runs.
// Handlers run on civetweb worker threads and must be thread-safe; exceptions they throw become a 500.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"
#include "estate/web_config.h"

namespace estate::web {

// A piece of a gzip stream compressed on its own, so that a stream can be assembled from pieces compressed at
// different times (a large family once when it is published, the small ones at each rebuild) and still be ONE
// gzip member, which every client reads whole (curl --compressed, browsers and wget stop after the first
// member of a file of several). `bytes` is raw deflate (no header) ended by a sync flush: byte-aligned, no
// final block, so pieces may follow one another; crc and length are those of its text.
struct DeflatePiece {
  std::string bytes;
  std::uint32_t crc = 0;     // CRC-32 of the text
  std::uint64_t length = 0;  // bytes of text
};

struct HttpRequest {
  std::string method;
  std::string path;          // without the query string
  std::string query;         // raw query string
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;  // read only for POST/PUT, up to the route's max_body_bytes (1 MiB by default)
  // The body was longer than the route's max_body_bytes (by its Content-Length, refused before reading any
  // of it, or while reading): `body` holds at most the first max_body_bytes and the rest is never read (the
  // connection then closes after the answer).
  bool body_too_large = false;
  // Fewer bytes than the Content-Length arrived (the client went away or stalled past the request timeout).
  bool body_incomplete = false;

  // Value of a query parameter (URL-decoded), or empty.
  std::string Param(const std::string& name) const;
  std::string Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  // The body may be shared with a cache (e.g. a pre-rendered /metrics body); exactly one of these is used.
  std::string body;
  std::shared_ptr<const std::string> shared_body;
  // Or a body sent as several shared pieces in order, without joining them (a large cached body plus a small
  // fresh tail); takes precedence over body / shared_body. Without shared_gzip_parts, a gzip is made per
  // request.
  std::vector<std::shared_ptr<const std::string>> body_parts;
  // The parts of ONE gzip stream (one member), sent one after another (e.g. a gzip stream cut in pieces).
  std::vector<std::shared_ptr<const std::string>> shared_gzip_parts;
  // Or pre-compressed deflate pieces, sent as one gzip stream (see GzipStreamHead / GzipStreamTail): takes
  // precedence over shared_gzip_parts.
  std::vector<std::shared_ptr<const DeflatePiece>> gzip_pieces;
  // Or a body given as lists of views (e.g. each source's pre-rendered text, interleaved by family), sent list
  // after list: a large body is then never joined into one copy, nor its list of views copied per request.
  // Each pointer must keep alive what its views point into (an aliasing shared_ptr can). Takes precedence
  // over body_parts; small views are coalesced into larger writes.
  std::vector<std::shared_ptr<const std::vector<std::string_view>>> body_views;
  bool gzip_allowed = false;  // compress when the client accepts gzip and the body is large enough
  std::shared_ptr<const std::string> shared_gzip_body;  // pre-compressed body, if the handler has one
  // Or a body produced while it is sent, so that a large one is never held whole: the function calls `write`
  // with successive pieces (any size; they are buffered) and should stop when it returns false (the client
  // went away). Sent with chunked transfer encoding (HTTP/1.1; an HTTP/1.0 client gets the pieces joined),
  // gzipped on the fly when gzip_allowed and the client accepts it. Takes precedence over every other body.
  // It runs on the worker thread after the handler returned, so it must own (capture) what it reads.
  using Writer = std::function<bool(std::string_view)>;
  std::function<void(const Writer& write)> stream;
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct RouteOptions {
  // Bytes of a POST/PUT body read before the handler runs (HttpRequest::body_too_large beyond).
  std::size_t max_body_bytes = std::size_t{1} << 20;
  // Runs on the headers alone, before any of a POST/PUT body is read and without taking a handler slot (so it
  // must be cheap: e.g. check a token), with req.body empty. An answer it returns is sent as it is, the body
  // is never read and the connection closes; nullopt goes on to read the body and run the handler. Must not
  // throw (an exception becomes a 500).
  std::function<std::optional<HttpResponse>(const HttpRequest&)> precheck;
};

struct ServerOptions {
  std::vector<std::string> listen_addresses = {":9100"};  // host:port or :port; port 0 picks a free one
  // Connections served at once (--web.max-connections). civetweb gives each connection a thread of its own
  // from accept to close, also while it waits for a request's headers or sits idle between keep-alive
  // requests, so this must be well above the number of idle or slow clients one expects: the threads mostly
  // sleep and cost little. Further connections wait in the listen backlog.
  int worker_threads = 512;
  // Requests handled at once (--web.max-requests): handlers running (rendering /metrics, a /probe). Others
  // wait for a free slot up to admission_timeout_ms, then get 503. Sending a response is not counted, so a
  // slow reader does not hold a slot.
  int max_requests = 16;
  int admission_timeout_ms = 10000;
  // A request's line and headers must arrive within this time of the connection being taken up (civetweb's
  // request_timeout_ms); it also bounds each read of a body and each write that makes no progress.
  int request_timeout_ms = 5000;
  // A kept-alive connection is closed when no next request has fully arrived within this time.
  int idle_timeout_ms = 15000;
  int shutdown_grace_ms = 4000;  // Stop() waits this long for requests being handled
  WebConfig web_config;
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes match the path exactly (so "/metricsfoo" is a 404). methods e.g. {"GET"}; others get 405.
  // A path ending in "/*" matches every longer path under it ("/api/v/*" matches "/api/v/x" but not "/api/v/");
  // exact routes win over it, and the longest such prefix wins. The handler reads the rest from req.path.
  void Route(const std::string& path, std::vector<std::string> methods, Handler handler,
             RouteOptions route_options = {});

  // Starts listening; fails with a clear message when a port cannot be bound or TLS cannot be set up.
  Result<Ok> Start(const ServerOptions& options);
  // Stops accepting and waits for in-flight requests to finish.
  void Stop();

  // The ports actually bound, in listen_addresses order (useful with port 0).
  std::vector<int> Ports() const;
  bool tls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Compresses with gzip (used for /metrics when the client sends Accept-Encoding: gzip) at zlib level 1, or
// `level`; "" when zlib fails.
std::string GzipCompress(const std::string& data);
// The same for a text given as pieces, compressed as one stream (one gzip member) without joining them.
std::string GzipCompress(const std::vector<std::string_view>& pieces, int level = 1);

// Compresses a text given as pieces into one DeflatePiece, at zlib level 1 or `level`. nullopt when zlib
// fails.
std::optional<DeflatePiece> DeflateCompress(const std::vector<std::string_view>& text, int level = 1);
// The gzip stream made of `pieces` in order is GzipStreamHead(), the pieces' bytes, then
// GzipStreamTail(pieces): an empty final block and the trailer (CRC-32 combined over the pieces, total length
// mod 2^32). No piece is copied or compressed again.
std::string_view GzipStreamHead();
std::string GzipStreamTail(const std::vector<const DeflatePiece*>& pieces);
// The whole stream in one string (for tests and small uses).
std::string GzipStream(const std::vector<const DeflatePiece*>& pieces);
// Inflates one piece, handing the text to sink in pieces of up to 256 KiB. False when the bytes are not a
// valid piece (or do not give `length` bytes of text) or the sink returned false.
bool InflatePieceTo(const DeflatePiece& piece, const std::function<bool(std::string_view)>& sink);

// Decompresses gzip (every member), handing the text to sink in pieces of up to 256 KiB. False when the data is
// not valid gzip or the sink returned false.
bool GunzipTo(std::string_view gz, const std::function<bool(std::string_view)>& sink);

// Gzip compression of a text given piece by piece, for a text too large to hold whole: Add() each piece, then
// Finish(). The compressed bytes go to `sink` in pieces of up to ~256 KiB as they are produced; a sink that
// returns false stops the writer (ok() is then false and later calls do nothing).
class GzipWriter {
 public:
  // level: zlib's 1 (fastest, the default here) to 9 (smallest).
  explicit GzipWriter(std::function<bool(std::string_view)> sink, int level = 1);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  bool Add(std::string_view piece);
  // Ends the gzip member and hands the rest to the sink. Returns ok().
  bool Finish();
  bool ok() const { return ok_; }
  std::size_t bytes_out() const { return bytes_out_; }

 private:
  bool Deflate(std::string_view in, int flush);

  struct Stream;
  std::unique_ptr<Stream> zs_;
  std::function<bool(std::string_view)> sink_;
  std::string out_;
  bool ok_ = false;
  bool finished_ = false;
  std::size_t bytes_out_ = 0;
};

// The same for one DeflatePiece: Add() each piece of text, then Finish(); the raw deflate bytes go to `sink`
// as they are produced, and crc() and length() then complete the piece.
class DeflateWriter {
 public:
  explicit DeflateWriter(std::function<bool(std::string_view)> sink, int level = 1);
  ~DeflateWriter();
  DeflateWriter(const DeflateWriter&) = delete;
  DeflateWriter& operator=(const DeflateWriter&) = delete;

  bool Add(std::string_view piece);
  // Ends the piece with a sync flush (not a final block). Returns ok().
  bool Finish();
  bool ok() const { return ok_; }
  std::uint32_t crc() const { return crc_; }
  std::uint64_t length() const { return length_; }

 private:
  struct Stream;
  std::unique_ptr<Stream> zs_;
  std::function<bool(std::string_view)> sink_;
  std::string out_;
  bool ok_ = false;
  bool finished_ = false;
  std::uint32_t crc_ = 0;
  std::uint64_t length_ = 0;
};

// s as HTML text or as a quoted attribute value: & < > " ' become entities; bytes that are not well-formed
// UTF-8 and control characters other than tab, line feed and carriage return (NUL included) become U+FFFD,
// so that a page stays valid UTF-8 whatever the upstream or report sent.
std::string HtmlEscape(std::string_view s);
void AppendHtmlEscaped(std::string& out, std::string_view s);

}  // namespace estate::web
