#pragma once

// Certificates made in-process (OpenSSL API, EC P-256) for DANE and MTA-STS tests: a private
// CA, leaves it signs, and self-signed leaves, plus the digests TLSA records carry.

#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace outpost::transport::tlspolicy::testing {

// Owns a key and its certificate.
class TestCert {
 public:
  // A self-signed CA certificate (basicConstraints CA:TRUE).
  static TestCert MakeCa(const std::string& common_name);
  // A leaf for `dns_name` (SAN DNS) signed by `issuer`, or self-signed when issuer is null.
  // `days_valid` < 0 makes a certificate that has already expired.
  static TestCert MakeLeaf(const std::string& dns_name, const TestCert* issuer,
                           int days_valid = 30);

  TestCert(TestCert&& other) noexcept;
  TestCert& operator=(TestCert&&) = delete;
  TestCert(const TestCert&) = delete;
  ~TestCert();

  X509* cert() const { return cert_; }
  EVP_PKEY* key() const { return key_; }
  std::string CertPem() const;
  // TLSA association data (raw bytes) for selector 0 (whole cert) / 1 (SPKI) and matching
  // type 0 (full) / 1 (SHA-256) / 2 (SHA-512).
  std::string TlsaData(int selector, int matching_type) const;

 private:
  TestCert(X509* cert, EVP_PKEY* key) : cert_(cert), key_(key) {}
  X509* cert_;
  EVP_PKEY* key_;
};

// A TLS server context presenting `leaf` followed by `chain` (intermediates / the CA).
// Caller frees it with SSL_CTX_free.
SSL_CTX* MakeServerContext(const TestCert& leaf, const std::vector<const TestCert*>& chain);

// Writes `contents` to a fresh file under the test temp dir and returns its path.
std::string WriteTempFile(const std::string& name, const std::string& contents);

}  // namespace outpost::transport::tlspolicy::testing
