#include "tls_setup.h"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <string_view>

// Exported by the libssl.so shim (common/sslcompat). Calling it also keeps the shim in DT_NEEDED under
// --as-needed, which is what makes civetweb's dlopen("libssl.so") find it.
extern "C" int estate_sslcompat_loaded(void);

namespace estate::web {
namespace {

// The message of the most recent OpenSSL error (and clears the queue so the next call starts clean).
std::string OpenSslError() {
  std::string text;
  unsigned long code = 0;  // NOLINT(google-runtime-int): OpenSSL's type
  while ((code = ERR_get_error()) != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    if (!text.empty()) text += "; ";
    text += buf.data();
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

int Fail(std::string* error, const std::string& message) {
  if (error != nullptr) *error = message;
  return -1;
}

// The key file must never make OpenSSL prompt on the terminal for a pass phrase (it would block start-up of a
// daemon); an encrypted key simply fails to load with a clear error.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return 0; }

// For RequestClientCert / RequireAnyClientCert: ask for a certificate but, like Go's crypto/tls, do not
// verify it against any CA.
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

constexpr std::array<std::string_view, 5> kTls13Suites = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"};

}  // namespace

int TlsVersionNumber(const std::string& name) {
  if (name == "TLS10") return TLS1_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  if (name == "TLS12") return TLS1_2_VERSION;
  if (name == "TLS13") return TLS1_3_VERSION;
  return 0;
}

bool CipherSuiteToOpenSsl(const std::string& iana_name, std::string* openssl_name) {
  for (std::string_view tls13 : kTls13Suites) {
    if (iana_name == tls13) {
      openssl_name->clear();
      return true;
    }
  }
  // OPENSSL_cipher_name() maps RFC names to OpenSSL's own and answers "(NONE)" for names it does not know.
  const char* name = OPENSSL_cipher_name(iana_name.c_str());
  if (name == nullptr || std::string_view(name) == "(NONE)") return false;
  *openssl_name = name;
  return true;
}

int ConfigureServerTls(void* ssl_ctx, const TlsServerConfig& tls, std::string* error) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (ctx == nullptr) return Fail(error, "no SSL context");
  ERR_clear_error();

  SSL_CTX_set_default_passwd_cb(ctx, &NoPassphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return Fail(error, "cannot load cert_file " + tls.cert_file + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate while loading it; name that case plainly.
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      return Fail(error, "key_file " + tls.key_file + " does not match cert_file " + tls.cert_file + ": " +
                             OpenSslError());
    }
    return Fail(error, "cannot load key_file " + tls.key_file +
                           " (it must be an unencrypted PEM key): " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Fail(error, "key_file " + tls.key_file + " does not match cert_file " + tls.cert_file + ": " +
                           OpenSslError());
  }

  // civetweb already applied its own ssl_protocol_version as SSL_OP_NO_* flags; clear them so that the
  // web-config's min/max versions are the only thing deciding. (TLS 1.0/1.1 additionally need the system's
  // OpenSSL security level to allow them; Debian's default does not.)
  SSL_CTX_clear_options(ctx, SSL_OP_NO_SSL_MASK);
  const int min_version = TlsVersionNumber(tls.min_version.empty() ? "TLS12" : tls.min_version);
  if (min_version == 0 || SSL_CTX_set_min_proto_version(ctx, min_version) != 1) {
    return Fail(error, "unsupported min_version " + tls.min_version);
  }
  if (!tls.max_version.empty()) {
    const int max_version = TlsVersionNumber(tls.max_version);
    if (max_version == 0 || SSL_CTX_set_max_proto_version(ctx, max_version) != 1) {
      return Fail(error, "unsupported max_version " + tls.max_version);
    }
  }

  if (!tls.cipher_suites.empty()) {
    std::string list;
    for (const auto& suite : tls.cipher_suites) {
      std::string name;
      if (!CipherSuiteToOpenSsl(suite, &name)) return Fail(error, "unknown cipher suite " + suite);
      if (name.empty()) continue;  // a TLS 1.3 suite: not configurable, as in Go
      if (!list.empty()) list += ':';
      list += name;
    }
    if (!list.empty() && SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
      return Fail(error, "none of cipher_suites can be used: " + OpenSslError());
    }
  }

  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      return Fail(error, "cannot load client_ca_file " + tls.client_ca_file + ": " + OpenSslError());
    }
    // The CA names sent in the CertificateRequest, so clients with several certificates pick the right one.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr) {
      return Fail(error, "no certificates in client_ca_file " + tls.client_ca_file + ": " + OpenSslError());
    }
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  }

  const std::string& auth = tls.client_auth_type;
  if (auth.empty() || auth == "NoClientCert") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else if (auth == "RequestClientCert") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &AcceptAnyCertificate);
  } else if (auth == "RequireAnyClientCert" || auth == "RequireClientCert") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, &AcceptAnyCertificate);
  } else if (auth == "VerifyClientCertIfGiven") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else if (auth == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    return Fail(error, "unknown client_auth_type " + auth);
  }

  // With peer verification on, OpenSSL refuses to resume a session unless a session id context is set
  // (civetweb only sets one when it configures the context itself, which our callback replaces).
  static constexpr unsigned char kSessionContext[] = "estate-exporters";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return 1;
}

bool TlsShimPresent(std::string* why) {
  auto fail = [why](const std::string& message) {
    if (why != nullptr) *why = message;
    return false;
  };
  if (estate_sslcompat_loaded() != 1)
    return fail("the libssl.so/libcrypto.so compatibility shims are not loaded");

  // RTLD_NOLOAD: find what civetweb's dlopen() would get without loading anything new. If our shim were not
  // loaded, this could return the system libssl.so (the libssl-dev symlink), which lacks the 1.1 name: the
  // dlsym below is the real test.
  void* ssl = dlopen("libssl.so", RTLD_NOW | RTLD_NOLOAD);
  if (ssl == nullptr) return fail("libssl.so (estate sslcompat shim) is not loaded");
  const bool has_peer_cert = dlsym(ssl, "SSL_get_peer_certificate") != nullptr;
  const bool has_ssl_new = dlsym(ssl, "SSL_new") != nullptr;
  dlclose(ssl);  // drops the reference the NOLOAD dlopen took
  if (!has_peer_cert || !has_ssl_new) {
    return fail(
        "libssl.so does not provide the OpenSSL 1.1 names civetweb needs (the estate sslcompat shim "
        "is not the libssl.so in use; civetweb would crash on the first TLS handshake)");
  }

  void* crypto = dlopen("libcrypto.so", RTLD_NOW | RTLD_NOLOAD);
  if (crypto == nullptr) return fail("libcrypto.so (estate cryptocompat shim) is not loaded");
  const bool is_shim = dlsym(crypto, "estate_cryptocompat_loaded") != nullptr;
  const bool has_err = dlsym(crypto, "ERR_get_error") != nullptr;
  dlclose(crypto);
  if (!is_shim || !has_err) {
    return fail("libcrypto.so is not the estate cryptocompat shim (or does not resolve OpenSSL functions)");
  }
  return true;
}

}  // namespace estate::web
