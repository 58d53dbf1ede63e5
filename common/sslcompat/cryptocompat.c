/* "libcrypto.so" companion of the libssl.so shim (see sslcompat.c).
 *
 * Why this exists: civetweb 1.15 also does dlopen("libcrypto.so"). That unversioned name only exists on disk
 * as the libssl-dev symlink, so on a machine without the -dev package the dlopen fails and civetweb refuses
 * to start TLS. This library has the SONAME "libcrypto.so" and depends on the real libcrypto.so.3; the
 * libssl.so shim depends on it, so it is always loaded and civetweb's dlopen matches it by SONAME. dlsym() on
 * its handle then finds every libcrypto function in libcrypto.so.3. No OpenSSL 1.1 crypto name that civetweb
 * uses is missing from OpenSSL 3, so there is nothing else in here. */
#include <openssl/crypto.h>

/* A marker TlsShimPresent() looks up to tell this shim from the system's libcrypto.so. Calling into OpenSSL
 * also pins our DT_NEEDED on libcrypto.so.3, which is what makes dlsym() on this handle find the real
 * functions. */
int estate_cryptocompat_loaded(void) { return OpenSSL_version_num() != 0 ? 1 : 0; }
