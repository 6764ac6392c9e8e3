#include "transport/smtp/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "transport/tlspolicy/dane_verifier.h"

namespace outpost::transport::smtp {

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

StatusOr<std::unique_ptr<TlsClientContext>> TlsClientContext::Create(const Options& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::Internal("SSL_CTX_new: " + OpenSslErrors());
  std::unique_ptr<TlsClientContext> out(new TlsClientContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Verification runs during the handshake but never aborts it; VerifyPeer() reads the result.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // Lets a session authenticate its peer by TLSA records (SessionConfig::dane_tlsa).
  OUTPOST_RETURN_IF_ERROR(tlspolicy::EnableDaneOnContext(ctx));
  int ok = options.ca_file.empty()
               ? SSL_CTX_set_default_verify_paths(ctx)
               : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
  if (ok != 1) return Status::InvalidArgument("loading trusted CAs: " + OpenSslErrors());
  return out;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

StatusOr<SSL*> TlsClientContext::NewSsl(std::string_view peer_name) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return Status::Internal("SSL_new: " + OpenSslErrors());
  std::string name(peer_name);
  bool ok;
  if (IsIpLiteral(name)) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  } else {
    ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 && SSL_set1_host(ssl, name.c_str()) == 1;
  }
  if (!ok) {
    SSL_free(ssl);
    return Status::InvalidArgument("cannot use TLS peer name \"" + name + "\": " + OpenSslErrors());
  }
  return ssl;
}

std::optional<std::string> TlsClientContext::VerifyPeer(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::string("peer sent no certificate");
  X509_free(cert);
  long result = SSL_get_verify_result(ssl);
  if (result != X509_V_OK) {
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(result);
  }
  return std::nullopt;
}

}  // namespace outpost::transport::smtp
