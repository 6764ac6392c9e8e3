#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace outpost::smtp_server::testing {

// A blocking SMTP client for tests: raw bytes out, whole replies in, optional TLS. Every read
// gives up after a few seconds so a broken server fails the test instead of hanging it.
class TestClient {
 public:
  // Connects to 127.0.0.1:port, or [::1]:port with `v6`.
  static std::unique_ptr<TestClient> Connect(int port, bool v6 = false);
  ~TestClient();

  bool Send(std::string_view bytes);
  // One complete (possibly multi-line) reply, CRLFs kept; "" on EOF or timeout.
  std::string ReadReply();
  // The code of the next reply, 0 on EOF/timeout.
  int ReadCode();
  // Sends a line (CRLF added) and returns the reply.
  std::string Command(std::string_view line);
  // TLS handshake over the connection (no certificate verification: the cert is self-signed).
  bool StartTls();
  // True when the server closes the connection (EOF) with no more bytes before it.
  bool WaitForEof();
  // True when a reply (or EOF) is already waiting, without blocking.
  bool HasPendingData();
  void Close();

 private:
  explicit TestClient(int fd) : fd_(fd) {}
  bool Fill();  // reads more bytes into buf_; false on EOF/timeout
  int fd_;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

// Writes a self-signed EC certificate for CN=localhost and its key as PEM files in `dir`.
// Returns false on failure.
bool WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path);

// The three-digit code at the start of a reply read with ReadReply/Command; 0 when too short.
int ReplyCode(const std::string& reply);

// A fresh temporary directory (mkdtemp), removed with RemoveTree.
std::string MakeTempDir();
void RemoveTree(const std::string& dir);

// Polls `pred` every few milliseconds for up to `limit`. For waiting on a condition, never for
// measuring time.
bool WaitFor(const std::function<bool()>& pred,
             std::chrono::milliseconds limit = std::chrono::seconds(10));

}  // namespace outpost::smtp_server::testing
