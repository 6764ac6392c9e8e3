#pragma once

// A self-signed certificate for "localhost" / 127.0.0.1 made in-process for TLS tests.
#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace outpost::transport::smtp::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};
TestCert MakeSelfSignedCert(const std::string& common_name);

// A server SSL_CTX using `cert`. Caller frees it with SSL_CTX_free.
SSL_CTX* MakeServerContext(const TestCert& cert);

// Writes `contents` to a fresh file under the test's temp dir and returns its path.
std::string WriteTempFile(const std::string& name, const std::string& contents);

}  // namespace outpost::transport::smtp::testing
