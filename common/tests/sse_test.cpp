#include "estate/sse.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "estate/testing/fake_upstream.h"

namespace estate::sse {
namespace {

using namespace std::chrono_literals;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeUpstream;

std::vector<Event> ParseAll(std::string_view text, Parser& p) {
  std::vector<Event> out;
  p.Feed(text, out);
  return out;
}

std::vector<Event> ParseAll(std::string_view text) {
  Parser p;
  return ParseAll(text, p);
}

TEST(SseParser, JoinsDataLinesAndKeepsTypeAndId) {
  auto events = ParseAll("event: alert\nid: 7\ndata: {\"a\":\ndata: 1}\n\ndata: second\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "alert");
  EXPECT_EQ(events[0].data, "{\"a\":\n1}");
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[1].type, "message");
  EXPECT_EQ(events[1].data, "second");
  EXPECT_EQ(events[1].id, "7");  // the last id carries over
}

TEST(SseParser, AcceptsCrLfCrAndLfLineEnds) {
  auto events = ParseAll("data: a\r\n\r\ndata: b\r\rdata: c\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[1].data, "b");
  EXPECT_EQ(events[2].data, "c");
}

TEST(SseParser, ByteByByteGivesTheSameEvents) {
  const std::string text = "id: 1\r\ndata: x\r\n\r\n: comment\r\nevent: e\r\ndata:no space\r\n\r\n";
  Parser whole, bytes;
  auto expected = ParseAll(text, whole);
  std::vector<Event> got;
  for (char c : text) bytes.Feed(std::string_view(&c, 1), got);
  ASSERT_EQ(expected.size(), 2u);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].data, expected[i].data);
    EXPECT_EQ(got[i].type, expected[i].type);
    EXPECT_EQ(got[i].id, expected[i].id);
  }
  EXPECT_EQ(got[1].data, "no space");
}

TEST(SseParser, IgnoresCommentsUnknownFieldsAndEventsWithoutData) {
  Parser p;
  auto events = ParseAll(": keep-alive\n\nevent: ping\n\nfoo: bar\nretry: 1500\nretry: x\n\n", p);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(p.retry_ms(), 1500);
}

TEST(SseParser, DropsAnOverLongLineWithItsEventAndResumes) {
  Parser p(Parser::Limits{64, 256, 100});
  std::string text = "data: " + std::string(100, 'x') + "\ndata: tail\n\ndata: next\n\n";
  auto events = ParseAll(text, p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "next");
  EXPECT_EQ(p.dropped(), 1);
}

TEST(SseParser, DropsAnEventThatGrowsPastTheLimit) {
  Parser p(Parser::Limits{64, 100, 100});
  std::string text;
  for (int i = 0; i < 10; ++i) text += "data: " + std::string(30, 'y') + "\n";
  text += "\ndata: ok\n\n";
  auto events = ParseAll(text, p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "ok");
  EXPECT_EQ(p.dropped(), 1);
}

TEST(SseParser, ResetForgetsAHalfEventAfterADisconnect) {
  Parser p;
  auto events = ParseAll("id: 4\ndata: complete\n\ndata: {\"Events\": [", p);
  ASSERT_EQ(events.size(), 1u);
  p.Reset();  // the connection broke in the middle of the second event
  events = ParseAll("data: fresh\n\n", p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "fresh");
  EXPECT_EQ(p.last_event_id(), "4");  // kept for Last-Event-ID
}

TEST(SseParser, BoundsEventsPerChunk) {
  Parser p(Parser::Limits{1024, 1024, 3});
  std::string text;
  for (int i = 0; i < 10; ++i) text += "data: " + std::to_string(i) + "\n\n";
  EXPECT_EQ(ParseAll(text, p).size(), 3u);
  EXPECT_EQ(p.dropped(), 7);
}

// --- StreamGet against a fake server -----------------------------------------------------------------------

class SseStream : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }
  void TearDown() override { server_.Stop(); }

  StreamEnd Run(const std::string& path, std::vector<Event>& events, StreamOptions options = {},
                CancelToken cancel = {}, long* status = nullptr) {
    Parser parser;
    StreamCallbacks cb;
    cb.on_open = [&](long s, const std::map<std::string, std::string>&) {
      if (status != nullptr) *status = s;
      return s == 200;
    };
    cb.on_data = [&](std::string_view bytes) {
      parser.Feed(bytes, events);
      return true;
    };
    http::Request req;
    req.url = server_.base_url() + path;
    http::ClientOptions co;
    co.auth.kind = http::Auth::Kind::kHeader;
    co.auth.header_name = "X-Auth-Token";
    co.auth.header_value = "tok";
    return StreamGet(req, co, options, cancel, cb);
  }

  FakeUpstream server_{FakeUpstream::Options{}};
};

FakeResponse Streaming(std::function<void(const FakeResponse::Writer&)> fn) {
  FakeResponse resp;
  resp.content_type = "text/event-stream";
  resp.stream = std::move(fn);
  return resp;
}

TEST_F(SseStream, DeliversEventsUntilTheServerCloses) {
  std::string token;
  server_.Route("GET", "/sse", [&](const FakeRequest& req) {
    token = req.headers.count("x-auth-token") ? req.headers.at("x-auth-token") : "";
    return Streaming([](const FakeResponse::Writer& write) {
      write("id: 1\ndata: one\n\n");
      write("id: 2\ndata: two\n\n");
    });
  });
  std::vector<Event> events;
  StreamEnd end = Run("/sse", events);
  EXPECT_EQ(end.reason, StreamEnd::Reason::kClosed);
  EXPECT_EQ(end.status, 200);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "two");
  EXPECT_EQ(token, "tok");
}

TEST_F(SseStream, DisconnectInTheMiddleOfAnEventDeliversNoHalfEvent) {
  server_.Route("GET", "/sse", [](const FakeRequest&) {
    return Streaming([](const FakeResponse::Writer& write) {
      write("id: 1\ndata: {\"Events\": []}\n\n");
      write("id: 2\ndata: {\"Events\": [{\"MessageId\": \"Trunc");  // and the connection goes
    });
  });
  std::vector<Event> events;
  StreamEnd end = Run("/sse", events);
  EXPECT_EQ(end.reason, StreamEnd::Reason::kClosed);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "1");
}

TEST_F(SseStream, SilentStreamStaysOpenUntilCancelled) {
  std::atomic<bool> open{false};
  server_.Route("GET", "/sse", [&](const FakeRequest&) {
    return Streaming([&](const FakeResponse::Writer& write) {
      open = true;
      while (write("")) std::this_thread::sleep_for(20ms);
    });
  });
  CancelToken cancel;
  long status = 0;
  std::vector<Event> events;
  std::thread canceller([&] {
    for (auto until = std::chrono::steady_clock::now() + 5s;
         !open && std::chrono::steady_clock::now() < until;)
      std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(1500ms);  // silent for over a second: still open
    cancel.Cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  StreamEnd end = Run("/sse", events, {}, cancel, &status);
  canceller.join();
  EXPECT_EQ(end.reason, StreamEnd::Reason::kCancelled);
  EXPECT_EQ(status, 200);  // reported open on the headers, without any body byte
  EXPECT_TRUE(events.empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_F(SseStream, IdleTimeoutEndsASilentStream) {
  server_.Route("GET", "/sse", [](const FakeRequest&) {
    return Streaming([](const FakeResponse::Writer& write) {
      while (write("")) std::this_thread::sleep_for(20ms);
    });
  });
  std::vector<Event> events;
  StreamOptions options;
  options.idle_timeout_seconds = 0.5;
  StreamEnd end = Run("/sse", events, options);
  EXPECT_EQ(end.reason, StreamEnd::Reason::kIdle);
}

TEST_F(SseStream, NonOkAnswerEndsTheStreamWithItsStatus) {
  server_.Route("GET", "/sse", [](const FakeRequest&) {
    FakeResponse resp;
    resp.status = 401;
    resp.body = "{\"error\": {}}";
    return resp;
  });
  std::vector<Event> events;
  long status = 0;
  StreamEnd end = Run("/sse", events, {}, {}, &status);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(end.status, 401);
  EXPECT_NE(end.reason, StreamEnd::Reason::kClosed);
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace estate::sse

namespace estate::sse {
namespace {

TEST(SseLoop, RunsManyStreamsOnOneThreadAndCancelsThem) {
  FakeUpstream server{FakeUpstream::Options{"", "127.0.0.1:0", "", 64}};
  ASSERT_TRUE(server.Start());
  server.Route("GET", "/sse", [](const FakeRequest&) {
    return Streaming([](const FakeResponse::Writer& write) {
      write("data: hello\n\n");
      while (write("")) std::this_thread::sleep_for(20ms);
    });
  });
  StreamLoop loop;
  constexpr int kStreams = 40;
  std::atomic<int> opened{0}, events{0}, ended{0};
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < kStreams; ++i) {
    auto parser = std::make_shared<Parser>();
    StreamCallbacks cb;
    cb.on_open = [&](long status, const std::map<std::string, std::string>&) {
      if (status == 200) ++opened;
      return status == 200;
    };
    cb.on_data = [&, parser](std::string_view bytes) {
      std::vector<Event> out;
      parser->Feed(bytes, out);
      events += static_cast<int>(out.size());
      return true;
    };
    http::Request req;
    req.url = server.base_url() + "/sse";
    ids.push_back(loop.Open(req, {}, {}, {}, std::move(cb), [&](const StreamEnd& end) {
      EXPECT_EQ(end.reason, StreamEnd::Reason::kCancelled);
      ++ended;
    }));
  }
  for (auto until = std::chrono::steady_clock::now() + 10s;
       events < kStreams && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(opened, kStreams);
  EXPECT_EQ(events, kStreams);
  EXPECT_EQ(loop.open(), static_cast<std::size_t>(kStreams));
  for (auto id : ids) loop.Cancel(id);
  for (auto until = std::chrono::steady_clock::now() + 5s;
       ended < kStreams && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ended, kStreams);
  EXPECT_EQ(loop.open(), 0u);
  server.Stop();
}

}  // namespace
}  // namespace estate::sse
