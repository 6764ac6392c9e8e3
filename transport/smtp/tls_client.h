#pragma once

// Client-side TLS for SMTP sessions: one SSL_CTX per process (or per test), one SSL per
// connection. Verification is decided after the handshake (the handshake itself never aborts on
// a bad certificate), so a failed handshake and a failed verification are told apart: the
// first may fall back to plaintext under startTls=optional, the second never does.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace outpost::transport::smtp {

class TlsClientContext {
 public:
  struct Options {
    // PEM file of trusted CAs; empty = the system store (SSL_CTX_set_default_verify_paths).
    std::string ca_file;
  };
  static StatusOr<std::unique_ptr<TlsClientContext>> Create(const Options& options);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  // A new client SSL for a connection to `peer_name` (the MX or relay name, or an IP literal):
  // SNI is set for host names only; the expected name (or IP) is recorded for VerifyPeer().
  // The caller owns the result (SSL_free, or hand it to a bufferevent that frees it).
  StatusOr<SSL*> NewSsl(std::string_view peer_name) const;

  // After a completed handshake: std::nullopt when the chain verifies against the trusted CAs
  // and matches the name given to NewSsl(), otherwise a readable reason.
  static std::optional<std::string> VerifyPeer(SSL* ssl);

 private:
  explicit TlsClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// True for IPv4/IPv6 literals ("127.0.0.1", "::1"), which get no SNI and an IP check.
bool IsIpLiteral(std::string_view host);

// The last OpenSSL error(s) as text, clearing the queue.
std::string OpenSslErrors();

}  // namespace outpost::transport::smtp
