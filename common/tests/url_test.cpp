// The URL parser and the resolver of upstream links: every spelling that could carry credentials to another
// host is refused, same-origin forms are accepted, and errors never show userinfo.
#include "estate/url.h"

#include <gtest/gtest.h>

#include <string>

namespace estate::url {
namespace {

Url Base(const std::string& text) {
  auto u = Parse(text);
  EXPECT_TRUE(u.ok()) << text << ": " << (u.ok() ? "" : u.error());
  return u.ok() ? *u : Url{};
}

TEST(Url, ParsesTheParts) {
  auto u = Parse("HTTPS://BMC.Example:8443/redfish/v1/Systems?$expand=.#frag");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "bmc.example");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/redfish/v1/Systems");
  EXPECT_EQ(u->query, "$expand=.");
  EXPECT_EQ(u->Origin(), "https://bmc.example:8443");
  EXPECT_EQ(u->Target(), "/redfish/v1/Systems?$expand=.");

  auto plain = Parse("http://10.0.0.1");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->Origin(), "http://10.0.0.1");
  EXPECT_EQ(plain->Target(), "/");

  auto v6 = Parse("https://[FE80::1]:443/x");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6->host, "[fe80::1]");
  EXPECT_EQ(v6->Origin(), "https://[fe80::1]");
}

TEST(Url, ParseRefusesWhatIsNotAPlainHttpUrl) {
  for (const char* bad : {"",
                          "bmc:443",
                          "/redfish/v1",
                          "//bmc/x",
                          "ftp://bmc/x",
                          "http:/bmc/x",
                          "http:bmc",
                          "http://",
                          "http://:80/x",
                          "http://user@bmc/x",
                          "http://user:pw@bmc/x",
                          "http://@bmc/x",
                          "http://bmc:0/x",
                          "http://bmc:65536/x",
                          "http://bmc:+80/x",
                          "http://bmc:/x",
                          "http://bmc:80:81/x",
                          "http://bmc%40evil/x",
                          "http://bmc%2f%2fevil/x",
                          "http://bm c/x",
                          "http://bmc\\@evil/x",
                          "http://bmc\t/x",
                          "http://[::1/x",
                          "http://[::1]x/",
                          "http://[fe80::1%25eth0]/x",
                          "http://[v1.x]/x",
                          "http://[]/x",
                          "http://[1234]/x",
                          "http://bmc/%zz",
                          "http://bmc/%4",
                          "http://bmc/%2f%2fevil/x",
                          "http://bmc/a%5cb"}) {
    EXPECT_FALSE(Parse(bad).ok()) << bad;
  }
}

TEST(Url, SameOriginIgnoresCaseAndDefaultPorts) {
  EXPECT_TRUE(SameOrigin(Base("http://bmc:80/a"), Base("HTTP://BMC/b")));
  EXPECT_TRUE(SameOrigin(Base("https://bmc/a"), Base("https://bmc:443")));
  EXPECT_FALSE(SameOrigin(Base("https://bmc/a"), Base("http://bmc:443")));
  EXPECT_FALSE(SameOrigin(Base("http://bmc:443/a"), Base("http://bmc/a")));
  EXPECT_FALSE(SameOrigin(Base("http://bmc/a"), Base("http://bmc.example/a")));
  EXPECT_FALSE(SameOrigin(Base("http://127.0.0.1/a"), Base("http://[::1]/a")));
  EXPECT_FALSE(SameOrigin(Base("http://[::1]/a"), Base("http://[::2]/a")));
}

TEST(Url, LinkTargetAcceptsPathsAndSameOriginUrls) {
  const Url base = Base("http://bmc:443");
  struct Case {
    const char* link;
    const char* target;
  };
  for (const Case& c : {Case{"/redfish/v1/Systems", "/redfish/v1/Systems"},
                        Case{"/redfish/v1/Systems/1?$expand=.", "/redfish/v1/Systems/1?$expand=."},
                        Case{"/redfish/v1/Chassis/1/Thermal#/Fans/0", "/redfish/v1/Chassis/1/Thermal"},
                        Case{"/redfish/v1/Chassis/Rack%201", "/redfish/v1/Chassis/Rack%201"},
                        Case{"/a/@evil:25900", "/a/@evil:25900"}, Case{"/", "/"},
                        Case{"http://bmc:443/redfish/v1/Systems", "/redfish/v1/Systems"},
                        Case{"HTTP://BMC:443/x?y=1", "/x?y=1"}, Case{"http://bmc:443", "/"}}) {
    auto t = LinkTarget(base, c.link);
    ASSERT_TRUE(t.ok()) << c.link << ": " << t.error();
    EXPECT_EQ(*t, c.target) << c.link;
  }
  auto https = LinkTarget(Base("https://bmc"), "https://bmc:443/v3/projects?marker=a");
  ASSERT_TRUE(https.ok()) << https.error();
  EXPECT_EQ(*https, "/v3/projects?marker=a");
}

TEST(Url, LinkTargetRefusesEveryWayToAnotherHost) {
  const Url base = Base("http://bmc:443");
  for (const char* bad :
       {"",
        // userinfo, with and without a scheme
        "@evil:25900/redfish/v1/Systems", "user@evil/x", "user:pw@evil:1/x", "http://bmc:443@evil/x",
        "http://user:pw@bmc:443/x", "http://@bmc:443/x", "http://evil#@bmc:443/x",
        // scheme-relative
        "//evil:25900/redfish/v1/Systems", "///evil/x", "//bmc:443/x",
        // other scheme, host or port
        "http://evil:25900/redfish/v1/Systems", "https://bmc:443/x", "http://bmc/x", "http://bmc:4430/x",
        "http://bmc.:443/x", "http://bmc.evil:443/x", "ftp://bmc:443/x", "file:///etc/passwd",
        "javascript:alert(1)",
        // backslashes
        "\\\\evil\\x", "/\\evil/x", "\\/evil/x", "http:\\\\evil/x", "http://bmc:443\\@evil/x", "/a\\b",
        // control characters and spaces
        "/x\r\nHost: evil", "/x y", "\t/x", "/x\x7f",
        // percent-encoded tricks
        "%40evil:25900/x", "%2f%2fevil:25900/x", "/%2f%2fevil/x", "/%2F%5Cevil/x", "/%5cevil/x",
        "http://bmc%40evil:443/x", "http://%40evil@bmc:443/x", "http:%2f%2fevil/x", "/x%zz", "/x%4",
        // relative paths that do not start with '/'
        "redfish/v1/Systems", "evil:25900/x", "?x=1", "#frag", ".", "../x",
        // IPv6 hosts
        "http://[::1]:443/x", "http://[::1]/x", "http://[fe80::1%25eth0]:443/x"}) {
    EXPECT_FALSE(LinkTarget(base, bad).ok()) << bad;
  }
  EXPECT_FALSE(LinkTarget(base, std::string_view("/x\0@evil/y", 11)).ok());
  const Url v6 = Base("http://[::1]:8000");
  EXPECT_TRUE(LinkTarget(v6, "http://[::1]:8000/x").ok());
  EXPECT_FALSE(LinkTarget(v6, "http://[::2]:8000/x").ok());
  EXPECT_FALSE(LinkTarget(v6, "http://127.0.0.1:8000/x").ok());
  EXPECT_FALSE(LinkTarget(v6, "http://[0::1]:8000/x").ok());
}

TEST(Url, ResolveKeepsTheConfiguredBase) {
  auto r = Resolve("https://bmc.example:443/", "/redfish/v1/Systems");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->ToString(), "https://bmc.example/redfish/v1/Systems");
  EXPECT_EQ(r->Target(), "/redfish/v1/Systems");
  auto prefixed = Resolve("https://proxy/bmc1", "https://PROXY/redfish/v1?x");
  ASSERT_TRUE(prefixed.ok()) << prefixed.error();
  EXPECT_EQ(prefixed->ToString(), "https://proxy/bmc1/redfish/v1?x");
  auto port = Resolve("http://127.0.0.1:8080", "/v3/projects?marker=a%20b");
  ASSERT_TRUE(port.ok()) << port.error();
  EXPECT_EQ(port->ToString(), "http://127.0.0.1:8080/v3/projects?marker=a%20b");
  auto root = Resolve("http://[::1]:8080/identity/", "http://[::1]:8080");
  ASSERT_TRUE(root.ok()) << root.error();
  EXPECT_EQ(root->ToString(), "http://[::1]:8080/identity/");
  auto refused = Resolve("http://bmc:443", "@evil:25900/redfish/v1/Systems");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("userinfo"), std::string::npos) << refused.error();
  auto bad_base = Resolve("http://bmc name", "/x");
  ASSERT_FALSE(bad_base.ok());
  EXPECT_NE(bad_base.error().find("configured"), std::string::npos) << bad_base.error();
}

TEST(Url, ErrorsNeverShowUserinfo) {
  const Url base = Base("http://bmc:443");
  for (const char* link : {"user:hunter2@evil/x", "http://admin:hunter2@evil/x", "//admin:hunter2@evil/x",
                           "hunter2@evil:25900/redfish", "http://hunter2@bmc:443/x"}) {
    auto t = LinkTarget(base, link);
    ASSERT_FALSE(t.ok()) << link;
    EXPECT_EQ(t.error().find("hunter2"), std::string::npos) << t.error();
    EXPECT_NE(t.error().find("...@"), std::string::npos) << t.error();
  }
  auto other = LinkTarget(base, "http://evil:25900/redfish/v1/Systems");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().find("leaves http://bmc:443 for http://evil:25900"), std::string::npos)
      << other.error();
  EXPECT_EQ(Describe("/a\r\nb"), "\"/a??b\"");
  EXPECT_EQ(Describe(std::string(200, 'a')).size(), 96u + 3u + 1u);
}

TEST(Url, EncodeComponentLeavesOnlyUnreservedCharacters) {
  EXPECT_EQ(EncodeComponent("web-01.example_a~b"), "web-01.example_a~b");
  EXPECT_EQ(EncodeComponent("a/b c?d#e&f=g%h"), "a%2Fb%20c%3Fd%23e%26f%3Dg%25h");
  EXPECT_EQ(EncodeComponent("caf\xC3\xA9\xFF"), "caf%C3%A9%FF");
  EXPECT_EQ(EncodeComponent(std::string("\0<\"", 3)), "%00%3C%22");
}

}  // namespace
}  // namespace estate::url
