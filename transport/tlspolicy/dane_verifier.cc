#include "transport/tlspolicy/dane_verifier.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "transport/tlspolicy/dane_policy.h"

namespace outpost::transport::tlspolicy {
namespace {

// The reason of the newest queued OpenSSL error; the queue is cleared so it cannot leak into the
// next connection's error reporting.
std::string TakeOpenSslErrors() {
  const char* reason = ERR_reason_error_string(ERR_peek_last_error());
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

}  // namespace

Status EnableDaneOnContext(SSL_CTX* ctx) {
  if (ctx == nullptr) return Status::InvalidArgument("no SSL_CTX");
  if (SSL_CTX_dane_enable(ctx) <= 0) {
    return Status::Internal("SSL_CTX_dane_enable: " + TakeOpenSslErrors());
  }
  return Status::Ok();
}

Status ConfigureSslForDane(SSL* ssl, const std::vector<dns::TlsaRecord>& records,
                           const std::vector<std::string>& reference_names) {
  if (ssl == nullptr) return Status::InvalidArgument("no SSL");
  if (records.empty()) return Status::InvalidArgument("DANE needs at least one TLSA record");
  if (reference_names.empty() || reference_names.front().empty()) {
    return Status::InvalidArgument("DANE needs the TLSA base domain");
  }
  for (const auto& r : records) {
    if (ClassifyTlsa(r) != TlsaUsability::kUsable) {
      return Status::InvalidArgument("TLSA record not usable for SMTP: " + TlsaToString(r) + " (" +
                                     std::string(TlsaUsabilityName(ClassifyTlsa(r))) + ")");
    }
  }
  // Sets the TLSA base domain as the first reference identifier (and SNI when unset).
  if (SSL_dane_enable(ssl, reference_names.front().c_str()) <= 0) {
    return Status::FailedPrecondition("SSL_dane_enable (is DANE enabled on the context?): " +
                                      TakeOpenSslErrors());
  }
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  for (size_t i = 1; i < reference_names.size(); ++i) {
    if (SSL_add1_host(ssl, reference_names[i].c_str()) != 1) {
      return Status::InvalidArgument("bad DANE reference name: " + reference_names[i]);
    }
  }
  int added = 0;
  for (const auto& r : records) {
    int rc =
        SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type,
                          reinterpret_cast<const unsigned char*>(r.data.data()), r.data.size());
    if (rc > 0) {
      ++added;
    } else if (rc < 0) {
      return Status::Internal("SSL_dane_tlsa_add: " + TakeOpenSslErrors());
    }
    // rc == 0: OpenSSL finds the record unusable (e.g. a digest it does not support); skip it.
    ERR_clear_error();
  }
  if (added == 0) return Status::InvalidArgument("no TLSA record was accepted by OpenSSL");
  return Status::Ok();
}

DaneVerification ClassifyDaneVerification(SSL* ssl) {
  DaneVerification v;
  if (ssl == nullptr) {
    v.detail = "no SSL";
    return v;
  }
  if (SSL_get0_peer_certificate(ssl) == nullptr) {
    v.detail = "peer presented no certificate";
    return v;
  }
  long result = SSL_get_verify_result(ssl);
  if (result != X509_V_OK) {
    v.no_matching_tlsa = result == X509_V_ERR_DANE_NO_MATCH;
    v.detail = std::string("DANE verification failed: ") + X509_verify_cert_error_string(result);
    return v;
  }
  uint8_t usage = 0, selector = 0, mtype = 0;
  const unsigned char* data = nullptr;
  size_t dlen = 0;
  int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);
  if (depth < 0) {
    // Verified, but not by a TLSA record: DANE was not configured on this SSL.
    v.detail = "no TLSA record matched (DANE not enabled on this connection)";
    return v;
  }
  v.ok = true;
  v.matched_usage = usage;
  v.matched_depth = depth;
  v.detail = "DANE " + std::to_string(usage) + " " + std::to_string(selector) + " " +
             std::to_string(mtype) + " matched " + (depth == 0 ? "EE" : "TA") +
             " certificate at depth " + std::to_string(depth);
  return v;
}

}  // namespace outpost::transport::tlspolicy
