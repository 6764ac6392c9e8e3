#pragma once

// DANE for SMTP (RFC 7672), the TLS half, on OpenSSL's own DANE support: configure an SSL for
// a set of usable TLSA records before the handshake, read the verdict after it. The handshake
// itself is left to the SMTP session (tls_client.h decides verification after the handshake,
// and so does this: a DANE mismatch is reported, never silently accepted).
//
//   EnableDaneOnContext(ctx);                                  // once per SSL_CTX
//   SSL* ssl = ...;                                            // per connection
//   ConfigureSslForDane(ssl, decision.records, decision.reference_names);
//   ... handshake ...
//   DaneVerification v = ClassifyDaneVerification(ssl);        // v.ok, v.detail

#include <string>
#include <vector>

#include "common/status.h"
#include "transport/dns/dns_message.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace outpost::transport::tlspolicy {

// SSL_CTX_dane_enable: required once on any context whose connections may use DANE. Harmless
// for connections that never call ConfigureSslForDane(). Idempotent.
Status EnableDaneOnContext(SSL_CTX* ctx);

// Makes `ssl` authenticate its peer by `records` (usable ones, see UsableTlsaRecords; others are
// refused with InvalidArgument) instead of the WebPKI: DANE-EE(3) matches skip name and expiry
// checks (DANE_FLAG_NO_DANE_EE_NAMECHECKS), DANE-TA(2) chains must name one of
// `reference_names` (the first is the TLSA base domain and also becomes the SNI name when none is
// set, RFC 7672 §8.1). PKIX usages never reach here. Call before the handshake.
Status ConfigureSslForDane(SSL* ssl, const std::vector<dns::TlsaRecord>& records,
                           const std::vector<std::string>& reference_names);

// The DANE result of a completed handshake.
struct DaneVerification {
  bool ok = false;
  std::string detail;             // "DANE 3 1 1 matched EE certificate at depth 0" or the reason
  int matched_usage = -1;         // usage of the matching record (2 or 3) when ok
  int matched_depth = -1;         // chain depth the record matched at when ok
  bool no_matching_tlsa = false;  // X509_V_ERR_DANE_NO_MATCH: none of the records matched
};
DaneVerification ClassifyDaneVerification(SSL* ssl);

}  // namespace outpost::transport::tlspolicy
