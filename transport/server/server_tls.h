#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace outpost::smtp_server {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// A server context for STARTTLS from PEM files (certificate chain + private key), TLS 1.2+.
// Errors name the file and carry OpenSSL's reason.
StatusOr<SslCtxPtr> CreateServerTlsContext(const std::string& cert_file,
                                           const std::string& key_file);

}  // namespace outpost::smtp_server
