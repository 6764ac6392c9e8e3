#include "tests/transport/tlspolicy/test_pki.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

namespace outpost::transport::tlspolicy::testing {
namespace {

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) abort();
  return key;
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) abort();
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, int days_valid) {
  static std::atomic<long> serial{1};
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  if (days_valid >= 0) {
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * days_valid);
  } else {
    X509_gmtime_adj(X509_getm_notBefore(cert), 86400L * (days_valid - 10));
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * days_valid);
  }
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

std::string Digest(const unsigned char* data, size_t len, int matching_type) {
  if (matching_type == 0) return std::string(reinterpret_cast<const char*>(data), len);
  const EVP_MD* md = matching_type == 1 ? EVP_sha256() : EVP_sha512();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  EVP_Digest(data, len, out, &out_len, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

}  // namespace

TestCert TestCert::MakeCa(const std::string& common_name) {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, common_name, 365);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  AddExt(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExt(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(cert, cert, NID_subject_key_identifier, "hash");
  X509_sign(cert, key, EVP_sha256());
  return TestCert(cert, key);
}

TestCert TestCert::MakeLeaf(const std::string& dns_name, const TestCert* issuer, int days_valid) {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, dns_name, days_valid);
  X509* issuer_cert = issuer ? issuer->cert() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  AddExt(cert, issuer_cert, NID_subject_alt_name, ("DNS:" + dns_name).c_str());
  AddExt(cert, issuer_cert, NID_ext_key_usage, "serverAuth");
  AddExt(cert, issuer_cert, NID_basic_constraints, "CA:FALSE");
  if (issuer) AddExt(cert, issuer_cert, NID_authority_key_identifier, "keyid:always");
  X509_sign(cert, issuer ? issuer->key() : key, EVP_sha256());
  return TestCert(cert, key);
}

TestCert::TestCert(TestCert&& other) noexcept : cert_(other.cert_), key_(other.key_) {
  other.cert_ = nullptr;
  other.key_ = nullptr;
}

TestCert::~TestCert() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

std::string TestCert::CertPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert_);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, len);
  BIO_free(bio);
  return pem;
}

std::string TestCert::TlsaData(int selector, int matching_type) const {
  unsigned char* der = nullptr;
  int len = selector == 0 ? i2d_X509(cert_, &der) : i2d_PUBKEY(key_, &der);
  if (len <= 0) abort();
  std::string out = Digest(der, static_cast<size_t>(len), matching_type);
  OPENSSL_free(der);
  return out;
}

SSL_CTX* MakeServerContext(const TestCert& leaf, const std::vector<const TestCert*>& chain) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_num_tickets(ctx, 0);  // nothing to write after the handshake
  if (SSL_CTX_use_certificate(ctx, leaf.cert()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, leaf.key()) != 1) {
    abort();
  }
  for (const TestCert* c : chain) {
    X509_up_ref(c->cert());
    SSL_CTX_add_extra_chain_cert(ctx, c->cert());
  }
  return ctx;
}

std::string WriteTempFile(const std::string& name, const std::string& contents) {
  std::string path = ::testing::TempDir() + "/" + std::to_string(getpid()) + "_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return path;
}

}  // namespace outpost::transport::tlspolicy::testing
