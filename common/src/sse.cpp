#include "estate/sse.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>

#include "estate/app.h"

namespace estate::sse {

// --- parser ------------------------------------------------------------------------------------------------

void Parser::Reset() {
  line_.clear();
  skip_line_ = false;
  skip_event_ = false;
  after_cr_ = false;
  has_data_ = false;
  data_.clear();
  type_.clear();
}

void Parser::Dispatch(std::vector<Event>& out) {
  if (!skip_event_ && has_data_) {
    if (emitted_in_feed_ >= limits_.max_events_per_feed) {
      ++dropped_;
    } else {
      Event e;
      if (!type_.empty()) e.type = type_;
      e.data = std::move(data_);
      e.id = last_id_;
      out.push_back(std::move(e));
      ++emitted_in_feed_;
    }
  }
  skip_event_ = false;
  has_data_ = false;
  data_.clear();
  type_.clear();
}

void Parser::Line(std::string_view line, std::vector<Event>& out) {
  if (line.empty()) {
    Dispatch(out);
    return;
  }
  if (line.front() == ':' || skip_event_) return;  // a comment, or the rest of an event already dropped
  std::string_view field = line, value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    const std::size_t grown = data_.size() + (has_data_ ? 1 : 0) + value.size();
    if (grown > limits_.max_event_bytes) {
      ++dropped_;
      skip_event_ = true;
      data_.clear();
      has_data_ = false;
      return;
    }
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (!value.empty() && value.size() <= 9 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      retry_ms_ = std::stol(std::string(value));
    }
  }
}

void Parser::Feed(std::string_view bytes, std::vector<Event>& out) {
  emitted_in_feed_ = 0;
  std::size_t i = 0;
  if (after_cr_ && !bytes.empty() && bytes.front() == '\n') i = 1;  // the LF of a CRLF split across chunks
  after_cr_ = false;
  while (i < bytes.size()) {
    const std::size_t end = bytes.find_first_of("\r\n", i);
    const std::string_view piece =
        bytes.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (!skip_line_) {
      if (line_.size() + piece.size() > limits_.max_line_bytes) {
        // Too long to be a Redfish event: drop the line and the event it belongs to.
        ++dropped_;
        skip_line_ = true;
        skip_event_ = true;
        line_.clear();
        data_.clear();
        has_data_ = false;
      } else {
        line_.append(piece);
      }
    }
    if (end == std::string_view::npos) break;  // the line continues in the next chunk
    if (skip_line_) {
      skip_line_ = false;  // the over-long line ends here; what follows belongs to the dropped event
    } else {
      Line(line_, out);
    }
    line_.clear();
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        after_cr_ = true;
      }
    }
  }
}

// --- streaming GET -----------------------------------------------------------------------------------------

namespace {

using SteadyClock = std::chrono::steady_clock;

struct StreamState {
  const StreamCallbacks* callbacks = nullptr;
  const StreamOptions* options = nullptr;
  const CancelToken* cancel = nullptr;
  long status = 0;
  std::map<std::string, std::string> headers;
  bool opened = false;
  bool aborted = false;
  bool idle = false;
  bool ok_status = false;
  std::string error_body;
  std::size_t bytes = 0;
  SteadyClock::time_point last_byte = SteadyClock::now();
};

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Called before the first body byte (and for an empty body, after the transfer) to deliver on_open once.
bool Open(CURL* easy, StreamState* st) {
  if (st->opened) return !st->aborted;
  st->opened = true;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &st->status);
  st->ok_status = st->status >= 200 && st->status < 300;
  bool go = true;
  try {
    if (st->callbacks->on_open) go = st->callbacks->on_open(st->status, st->headers);
  } catch (const std::exception&) {
    go = false;
  }
  if (!go) st->aborted = true;
  return go;
}

struct BodyContext {
  CURL* easy;
  StreamState* st;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<BodyContext*>(user);
  StreamState* st = ctx->st;
  const std::string_view line(data, size * n);
  st->last_byte = SteadyClock::now();
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a 1xx): start over
    st->headers.clear();
    return size * n;
  }
  if (line == "\r\n" || line == "\n") {
    // The end of the headers: a stream that then stays silent is open all the same. 1xx answers go on.
    long status = 0;
    curl_easy_getinfo(ctx->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && !Open(ctx->easy, st)) return 0;
    return size * n;
  }
  if (auto colon = line.find(':'); colon != std::string_view::npos && st->headers.size() < 100) {
    std::string name = Trim(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    st->headers[name] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<BodyContext*>(user);
  StreamState* st = ctx->st;
  const std::size_t len = size * n;
  st->last_byte = SteadyClock::now();
  st->bytes += len;
  if (!Open(ctx->easy, st)) return CURL_WRITEFUNC_ERROR;
  if (!st->ok_status) {
    // Kept for the message only; the stream ends at the end of this (short) answer.
    const std::size_t room = st->options->max_error_body_bytes -
                             std::min(st->options->max_error_body_bytes, st->error_body.size());
    st->error_body.append(data, std::min(room, len));
    return len;
  }
  bool go = true;
  try {
    if (st->callbacks->on_data) go = st->callbacks->on_data(std::string_view(data, len));
  } catch (const std::exception&) {
    go = false;
  }
  if (!go) {
    st->aborted = true;
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<StreamState*>(user);
  if (st->cancel->Cancelled()) return 1;
  const double idle = st->options->idle_timeout_seconds;
  if (idle > 0 && std::chrono::duration<double>(SteadyClock::now() - st->last_byte).count() > idle) {
    st->idle = true;
    return 1;
  }
  return 0;
}

bool AppendHeader(curl_slist*& list, const std::string& line) {
  if (line.find_first_of("\r\n") != std::string::npos) return false;  // no header injection
  curl_slist* next = curl_slist_append(list, line.c_str());
  if (next == nullptr) return false;
  list = next;
  return true;
}

}  // namespace

StreamEnd StreamGet(const http::Request& request, const http::ClientOptions& options,
                    const StreamOptions& stream, const CancelToken& cancel,
                    const StreamCallbacks& callbacks) {
  StreamEnd end;
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    end.reason = StreamEnd::Reason::kError;
    end.error = "libcurl: cannot create a handle";
    return end;
  }
  StreamState st;
  st.callbacks = &callbacks;
  st.options = &stream;
  st.cancel = &cancel;
  BodyContext body{easy, &st};
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';
  static const std::string user_agent = std::string("estate-exporters/") + Version();

  curl_slist* headers = nullptr;
  bool headers_ok = AppendHeader(headers, "Accept: text/event-stream");
  if (options.auth.kind == http::Auth::Kind::kHeader) {
    headers_ok =
        headers_ok && AppendHeader(headers, options.auth.header_name + ": " + options.auth.header_value);
  } else if (options.auth.kind == http::Auth::Kind::kBearer) {
    headers_ok = headers_ok && AppendHeader(headers, "Authorization: Bearer " + options.auth.token);
  }
  for (const auto& [name, value] : request.headers)
    headers_ok = headers_ok && AppendHeader(headers, name + ": " + value);
  if (!headers_ok) {
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
    end.reason = StreamEnd::Reason::kError;
    end.error = "invalid request header";
    return end;
  }
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout_seconds * 1000));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &body);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &st);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 16384L);  // 1,000 open streams: small buffers
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options.insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options.insecure_skip_verify ? 0L : 2L);
  if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
  if (options.auth.kind == http::Auth::Kind::kBasic) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, options.auth.username.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, options.auth.password.c_str());
  }

  const CURLcode code = curl_easy_perform(easy);
  if (code == CURLE_OK) (void)Open(easy, &st);  // an empty body: on_open still runs once
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &st.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);

  end.status = st.status;
  end.bytes = st.bytes;
  end.error_body = std::move(st.error_body);
  if (code == CURLE_OK) {
    end.reason = StreamEnd::Reason::kClosed;
  } else if (st.aborted) {
    end.reason = StreamEnd::Reason::kAborted;
  } else if (st.idle) {
    end.reason = StreamEnd::Reason::kIdle;
  } else if (cancel.Cancelled()) {
    end.reason = StreamEnd::Reason::kCancelled;
  } else {
    end.reason = StreamEnd::Reason::kError;
    end.error = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(code));
  }
  return end;
}

}  // namespace estate::sse
