#pragma once

// DANE for SMTP (RFC 7672), the DNS half: which TLSA records are usable, and what a TLSA lookup
// means for one MX host. The decision is a pure function (DecideDane) so every row of the
// RFC's table is unit-tested; DaneLookup only adds the asynchronous query.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dispatcher.h"
#include "transport/api/delivery.h"
#include "transport/dns/dns_message.h"
#include "transport/dns/resolver.h"

namespace outpost::transport::tlspolicy {

using dns::TlsaRecord;

// Why a TLSA record can or cannot be used for SMTP (RFC 7672 §3.1, RFC 6698 §2.1).
enum class TlsaUsability {
  kUsable,           // DANE-TA(2) or DANE-EE(3), known selector and matching type
  kPkixUsage,        // PKIX-TA(0) / PKIX-EE(1): not used for SMTP (RFC 7672 §3.1.3)
  kUnknownUsage,     // usage > 3
  kUnknownSelector,  // selector other than Cert(0) / SPKI(1)
  kUnknownMatching,  // matching type other than Full(0) / SHA2-256(1) / SHA2-512(2)
  kBadDataLength,    // digest of the wrong length, or empty data
};
std::string_view TlsaUsabilityName(TlsaUsability u);
TlsaUsability ClassifyTlsa(const TlsaRecord& record);
// The usable subset, order kept.
std::vector<TlsaRecord> UsableTlsaRecords(const std::vector<TlsaRecord>& records);
// Presentation form "3 1 1 a9cf09..." (lower-case hex), as logs and TLS-RPT policy-string use.
std::string TlsaToString(const TlsaRecord& record);

// "_25._tcp.mx.example.org": the TLSA owner name for an MX host and port (RFC 7672 §2.2.3).
std::string TlsaQueryName(std::string_view mx_host, uint16_t port);

// What DANE says about one MX host.
enum class DaneVerdict {
  kNoDane,        // no secure TLSA RRset (or DANE off): deliver as without DANE
  kAuthenticate,  // secure usable TLSA: TLS mandatory, the certificate must match `records`
  kTlsOnly,       // secure TLSA RRset, none usable: TLS mandatory, no authentication (§2.2)
  kDefer,         // the TLSA lookup failed or was bogus: do not use this host now (§2.1.1)
  kFail,          // `dane: require` and the host has no usable secure TLSA: permanent
};
std::string_view DaneVerdictName(DaneVerdict v);

struct DaneDecision {
  DaneVerdict verdict = DaneVerdict::kNoDane;
  std::vector<TlsaRecord> records;           // the usable records (kAuthenticate only)
  std::vector<std::string> reference_names;  // names a DANE-TA chain must match (the MX host)
  std::string reason;                        // for logs and replies ("TLSA lookup: SERVFAIL")

  // kDefer/kFail map to ErrorClass::kDane; the others do not stop delivery.
  bool blocks_host() const {
    return verdict == DaneVerdict::kDefer || verdict == DaneVerdict::kFail;
  }
  bool tls_required() const {
    return verdict == DaneVerdict::kAuthenticate || verdict == DaneVerdict::kTlsOnly;
  }
};

// The RFC 7672 table. `mode` is the TLS strategy's `dane`; `mx_secure` says the MX RRset (and
// the host's address records) came from DNSSEC-authenticated answers; `tlsa` is the answer to
// TlsaQueryName(mx_host, port) (ignored when DANE does not apply). Pure and total.
//   dane disable                       -> kNoDane (no lookup needed)
//   MX insecure                        -> kNoDane, or kFail under require
//   TLSA tempfail (SERVFAIL = bogus,
//     timeout, refused, garbage)       -> kDefer
//   TLSA answer without AD             -> kNoDane (unauthenticated records are ignored),
//                                         or kFail under require
//   authenticated NODATA / NXDOMAIN    -> kNoDane, or kFail under require
//   authenticated, some usable         -> kAuthenticate with the usable records
//   authenticated, none usable         -> kTlsOnly, or kFail under require
DaneDecision DecideDane(TlsMode mode, std::string_view mx_host, bool mx_secure,
                        const dns::DnsResult& tlsa);

// Runs the TLSA query for one MX host and hands back DecideDane's verdict. Loop thread only.
class DaneLookup {
 public:
  using Callback = std::function<void(DaneDecision)>;
  // `dispatcher` and `resolver` are not owned and must outlive this.
  DaneLookup(Dispatcher& dispatcher, dns::Resolver& resolver)
      : dispatcher_(dispatcher), resolver_(resolver) {}
  ~DaneLookup() { *alive_ = false; }
  DaneLookup(const DaneLookup&) = delete;
  DaneLookup& operator=(const DaneLookup&) = delete;

  // Calls `done` exactly once, on the loop thread, never from inside Lookup(), unless this
  // object is destroyed first (then never). No query is sent when DANE cannot apply (mode
  // disable, or an insecure MX); that verdict is posted on the dispatcher.
  void Lookup(std::string_view mx_host, uint16_t port, bool mx_secure, TlsMode mode, Callback done);

 private:
  Dispatcher& dispatcher_;
  dns::Resolver& resolver_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::transport::tlspolicy
