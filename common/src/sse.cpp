#include "estate/sse.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

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

// One stream's curl handle and everything its callbacks point to; it stays at one address while curl runs.
class Transfer {
 public:
  Transfer(const http::Request& request, const http::ClientOptions& options, const StreamOptions& stream,
           CancelToken cancel, StreamCallbacks callbacks)
      : request_(request),
        options_(options),
        stream_(stream),
        cancel_(std::move(cancel)),
        callbacks_(std::move(callbacks)) {}
  ~Transfer() {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // The easy handle, ready to run; nullptr with *error set when it cannot be made.
  CURL* Setup(std::string* error) {
    easy_ = curl_easy_init();
    if (easy_ == nullptr) {
      *error = "libcurl: cannot create a handle";
      return nullptr;
    }
    st_.callbacks = &callbacks_;
    st_.options = &stream_;
    st_.cancel = &cancel_;
    body_ = BodyContext{easy_, &st_};
    errbuf_[0] = '\0';
    static const std::string user_agent = std::string("estate-exporters/") + Version();
    bool ok = AppendHeader(headers_, "Accept: text/event-stream");
    if (options_.auth.kind == http::Auth::Kind::kHeader) {
      ok = ok && AppendHeader(headers_, options_.auth.header_name + ": " + options_.auth.header_value);
    } else if (options_.auth.kind == http::Auth::Kind::kBearer) {
      ok = ok && AppendHeader(headers_, "Authorization: Bearer " + options_.auth.token);
    }
    for (const auto& [name, value] : request_.headers) ok = ok && AppendHeader(headers_, name + ": " + value);
    if (!ok) {
      *error = "invalid request header";
      return nullptr;
    }
    CURL* easy = easy_;
    curl_easy_setopt(easy, CURLOPT_URL, request_.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_seconds * 1000));
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body_);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &body_);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &st_);
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 4096L);  // events are small; 1,000 open streams
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.insecure_skip_verify ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.insecure_skip_verify ? 0L : 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (options_.auth.kind == http::Auth::Kind::kBasic) {
      curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(easy, CURLOPT_USERNAME, options_.auth.username.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, options_.auth.password.c_str());
    }
    return easy;
  }

  // How it ended, once curl is done with it (code) or it was cancelled (code unused).
  StreamEnd Finish(CURLcode code, bool cancelled) {
    StreamEnd end;
    if (!cancelled && code == CURLE_OK) (void)Open(easy_, &st_);  // an empty body: on_open still runs once
    long status = st_.status;
    if (easy_ != nullptr) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    end.status = status;
    end.bytes = st_.bytes;
    end.error_body = std::move(st_.error_body);
    if (cancelled) {
      end.reason = StreamEnd::Reason::kCancelled;
    } else if (code == CURLE_OK) {
      end.reason = StreamEnd::Reason::kClosed;
    } else if (st_.aborted) {
      end.reason = StreamEnd::Reason::kAborted;
    } else if (st_.idle) {
      end.reason = StreamEnd::Reason::kIdle;
    } else if (cancel_.Cancelled()) {
      end.reason = StreamEnd::Reason::kCancelled;
    } else {
      end.reason = StreamEnd::Reason::kError;
      end.error = errbuf_[0] != '\0' ? std::string(errbuf_) : std::string(curl_easy_strerror(code));
    }
    return end;
  }

  CURL* easy() const { return easy_; }

 private:
  http::Request request_;
  http::ClientOptions options_;
  StreamOptions stream_;
  CancelToken cancel_;
  StreamCallbacks callbacks_;
  StreamState st_;
  BodyContext body_{nullptr, nullptr};
  char errbuf_[CURL_ERROR_SIZE] = {};
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
};

}  // namespace

StreamEnd StreamGet(const http::Request& request, const http::ClientOptions& options,
                    const StreamOptions& stream, const CancelToken& cancel,
                    const StreamCallbacks& callbacks) {
  Transfer t(request, options, stream, cancel, callbacks);
  std::string error;
  CURL* easy = t.Setup(&error);
  if (easy == nullptr) {
    StreamEnd end;
    end.reason = StreamEnd::Reason::kError;
    end.error = error;
    return end;
  }
  return t.Finish(curl_easy_perform(easy), false);
}

// --- many streams on one thread ----------------------------------------------------------------------------

struct StreamLoop::Impl {
  struct Entry {
    std::unique_ptr<Transfer> transfer;
    EndCallback on_end;
  };
  CURLM* multi = nullptr;
  std::thread thread;
  std::mutex mu;
  bool stopping = false;
  std::uint64_t next_id = 1;
  std::vector<std::pair<std::uint64_t, Entry>> to_add;
  std::vector<std::uint64_t> to_cancel;
  std::map<std::uint64_t, Entry> running;  // loop thread only
  std::map<CURL*, std::uint64_t> by_easy;  // loop thread only
  std::atomic<std::size_t> open{0};

  void End(std::uint64_t id, CURLcode code, bool cancelled) {
    auto it = running.find(id);
    if (it == running.end()) return;
    Entry entry = std::move(it->second);
    running.erase(it);
    CURL* easy = entry.transfer->easy();
    curl_multi_remove_handle(multi, easy);
    by_easy.erase(easy);
    StreamEnd end = entry.transfer->Finish(code, cancelled);
    entry.transfer.reset();
    --open;
    if (entry.on_end) {
      try {
        entry.on_end(end);
      } catch (const std::exception&) {
        // a callback must not take the loop down
      }
    }
  }

  void Loop() {
    for (;;) {
      std::vector<std::pair<std::uint64_t, Entry>> adds;
      std::vector<std::uint64_t> cancels;
      bool stop;
      {
        std::lock_guard<std::mutex> lock(mu);
        adds.swap(to_add);
        cancels.swap(to_cancel);
        stop = stopping;
      }
      for (auto& [id, entry] : adds) {
        CURL* easy = entry.transfer->easy();
        if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
          running.emplace(id, std::move(entry));
          by_easy[easy] = id;
          End(id, CURLE_FAILED_INIT, false);
          continue;
        }
        by_easy[easy] = id;
        running.emplace(id, std::move(entry));
      }
      for (auto id : cancels) End(id, CURLE_OK, true);
      if (stop) {
        while (!running.empty()) End(running.begin()->first, CURLE_OK, true);
        return;
      }
      int still = 0;
      curl_multi_perform(multi, &still);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        auto it = by_easy.find(msg->easy_handle);
        if (it != by_easy.end()) End(it->second, msg->data.result, false);
      }
      curl_multi_poll(multi, nullptr, 0, 250, nullptr);  // curl_multi_wakeup ends it early
    }
  }
};

StreamLoop::StreamLoop() : impl_(std::make_unique<Impl>()) {
  impl_->multi = curl_multi_init();
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

StreamLoop::~StreamLoop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  if (impl_->thread.joinable()) impl_->thread.join();
  curl_multi_cleanup(impl_->multi);
}

std::uint64_t StreamLoop::Open(const http::Request& request, const http::ClientOptions& options,
                               const StreamOptions& stream, const CancelToken& cancel,
                               StreamCallbacks callbacks, EndCallback on_end) {
  auto transfer = std::make_unique<Transfer>(request, options, stream, cancel, std::move(callbacks));
  std::string error;
  if (transfer->Setup(&error) == nullptr) {
    StreamEnd end;
    end.reason = StreamEnd::Reason::kError;
    end.error = error;
    if (on_end) on_end(end);
    return 0;
  }
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    id = impl_->next_id++;
    impl_->to_add.emplace_back(id, Impl::Entry{std::move(transfer), std::move(on_end)});
    ++impl_->open;
  }
  curl_multi_wakeup(impl_->multi);
  return id;
}

void StreamLoop::Cancel(std::uint64_t id) {
  if (id == 0) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->to_cancel.push_back(id);
  }
  curl_multi_wakeup(impl_->multi);
}

std::size_t StreamLoop::open() const { return impl_->open.load(); }

}  // namespace estate::sse
