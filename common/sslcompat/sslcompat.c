/* OpenSSL 1.1 name shim for Debian's civetweb 1.15 on OpenSSL 3.
 *
 * Why this exists: libcivetweb.so.1 (Debian 12) does not link OpenSSL. On the first TLS use it does
 * dlopen("libssl.so") / dlopen("libcrypto.so") and looks every function up by its OpenSSL 1.1 name with
 * dlsym(). OpenSSL 3 still exports all of those names but one: SSL_get_peer_certificate, which became a macro
 * for SSL_get1_peer_certificate. civetweb does not check the lookup result, so it calls a NULL pointer and
 * the process dies on the first handshake (civetweb#1316, #1334). Checked against libcivetweb.so.1.15.0: that
 * is the only name of its ~60 OpenSSL names missing from libssl.so.3 + libcrypto.so.3.
 *
 * How it works: this file is built as a shared library whose SONAME is "libssl.so" and which depends on the
 * real libssl.so.3 (and on the "libcrypto.so" companion shim, see cryptocompat.c). Every binary that links
 * estate_common gets it as a DT_NEEDED entry, so it is loaded at start-up. glibc's dlopen() first compares
 * the requested name with the SONAMEs of objects already loaded, so civetweb's dlopen("libssl.so") returns
 * this object, and dlsym() on that handle searches this object first and then its dependencies: the names
 * below come from here, everything else from the real libssl.so.3/libcrypto.so.3 -- the same instance the
 * rest of the process uses, so SSL_CTX pointers can be shared with our own OpenSSL calls (see tls_setup.cpp).
 *
 * Keep this file tiny: it is C, not sanitized, and must not need anything but OpenSSL. */
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Referenced by the C++ code (tls_setup.cpp, http_server.cpp) so that --as-needed cannot drop this library
 * from the executables. (The DT_NEEDED on the libcrypto.so shim is kept by linking this library with
 * --no-as-needed; it cannot be kept by a symbol reference, because when an executable is linked, GNU ld
 * takes the system's libcrypto.so on its command line as satisfying a need for "libcrypto.so".) */
int estate_sslcompat_loaded(void) { return 1; }

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
/* In OpenSSL 3 this name is a macro; remove it so we can define the real symbol civetweb looks up. */
#undef SSL_get_peer_certificate
X509* SSL_get_peer_certificate(const SSL* ssl);

/* Same contract as in OpenSSL 1.1: the caller owns one reference to the returned certificate and frees it
 * with X509_free (civetweb does). SSL_get1_peer_certificate has exactly that contract. */
X509* SSL_get_peer_certificate(const SSL* ssl) { return SSL_get1_peer_certificate(ssl); }
#endif
