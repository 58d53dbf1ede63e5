// Private to estate_common: turns a web-config TlsServerConfig into OpenSSL settings on civetweb's SSL_CTX.
//
// Contract with civetweb 1.15 (used by http_server.cpp):
//   - listening_ports gets the "s" suffix ("127.0.0.1:9100s"); no ssl_* options are needed. civetweb only
//     insists on ssl_certificate when no init_ssl callback is set.
//   - mg_callbacks.init_ssl(ssl_ctx, user_data) calls ConfigureServerTls(ssl_ctx, tls, &error) and returns
//   its
//     result: 1 means "done, do not load certificates yourself", -1 makes mg_start() fail.
//   - Call TlsShimPresent() before mg_start(): without the sslcompat shim civetweb crashes on the first
//     handshake instead of failing cleanly.
// Both functions are thread-safe (they touch only the SSL_CTX they are given and the dynamic loader).
#pragma once

#include <string>

#include "estate/web_config.h"

namespace estate::web {

// Configures the server SSL_CTX (an SSL_CTX*, passed as void* so this header needs no OpenSSL): certificate
// chain and key (checked to match), protocol versions, client certificate policy and TLS<=1.2 cipher list.
// Returns 1 on success; -1 on failure with a message naming the file or setting in *error.
int ConfigureServerTls(void* ssl_ctx, const TlsServerConfig& tls, std::string* error);

// True when civetweb's dlopen("libssl.so") / dlopen("libcrypto.so") will get our shims and every OpenSSL 1.1
// name civetweb needs resolves. Otherwise false with the reason in *why (e.g. the shim was not linked).
bool TlsShimPresent(std::string* why);

// Helpers shared with web-config validation, so --config.check rejects what ConfigureServerTls would.
// "TLS10".."TLS13" -> OpenSSL's TLS1_x_VERSION; 0 when unknown.
int TlsVersionNumber(const std::string& name);
// Maps a cipher suite name as the exporter-toolkit writes it (the IANA/RFC name, e.g.
// "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") to OpenSSL's name. TLS 1.3 suites map to "" (accepted but, as in
// Go, not configurable). False when OpenSSL does not know the name.
bool CipherSuiteToOpenSsl(const std::string& iana_name, std::string* openssl_name);

}  // namespace estate::web
