// Python's smtplib as a real, independent SMTP client against the listener: EHLO, STARTTLS,
// AUTH LOGIN/PLAIN, pipelined-or-not sendmail, dot-stuffing, relay refusal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/transport/server/server_fixture.h"
#include "tests/transport/server/test_client.h"
#include "transport/server/password_hash.h"

namespace outpost::smtp_server {
namespace {

constexpr char kScript[] = R"PY(
import smtplib, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

# 1. Untrusted, unauthenticated: relaying is refused, local delivery is fine.
with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
    try:
        s.sendmail("a@remote.example", ["x@elsewhere.example"], "Subject: no\r\n\r\nno\r\n")
        sys.exit("relay was accepted")
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients["x@elsewhere.example"]
        assert code == 554 and b"5.7.1" in text, (code, text)
    refused = s.sendmail("a@remote.example", ["local@example.org"], "Subject: local\r\n\r\nhi\r\n")
    assert refused == {}, refused

# 2. STARTTLS + AUTH, then relay with a dot-stuffed body and 8-bit text.
with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
    s.ehlo()
    assert s.has_extn("starttls") and s.has_extn("pipelining") and s.has_extn("size")
    assert not s.has_extn("auth")
    s.starttls(context=ctx)
    s.ehlo()
    assert "PLAIN" in s.esmtp_features["auth"].upper()
    s.login("alice", "correct horse")
    body = "Subject: from python\r\n\r\nline one\r\n.leading dot\r\n\u00e9t\u00e9\r\n".encode("utf-8")
    refused = s.sendmail("alice@example.org", ["r1@remote.example", "r2@example.org"], body,
                         mail_options=["BODY=8BITMIME"], rcpt_options=["NOTIFY=FAILURE"])
    assert refused == {}, refused

# 3. A wrong password is refused with 535 5.7.8.
with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
    s.starttls(context=ctx)
    try:
        s.login("alice", "wrong")
        sys.exit("wrong password accepted")
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535 and b"5.7.8" in e.smtp_error, e
print("smtplib ok")
)PY";

// Runs python3 on the script; kills it by PID if it does not finish in time.
int RunPython(const std::string& script, int port) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string p = std::to_string(port);
    execl("/usr/bin/python3", "python3", script.c_str(), p.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid < 0) return -1;
  int status = 0;
  bool exited = testing::WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                                 std::chrono::seconds(60));
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -2;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -3;
}

TEST(SmtplibIntegration, StartTlsAuthAndRelayPolicy) {
  std::string dir = testing::MakeTempDir();
  ASSERT_FALSE(dir.empty());
  ASSERT_TRUE(testing::WriteSelfSignedCert(dir + "/cert.pem", dir + "/key.pem"));
  std::string script = dir + "/client.py";
  std::ofstream(script) << kScript;

  ListenerOptions o;
  o.hostname = "mx.example.org";
  o.local_domains = {"example.org"};
  o.relay_networks = {"192.0.2.0/24"};  // not loopback
  o.tls_cert_file = dir + "/cert.pem";
  o.tls_key_file = dir + "/key.pem";
  o.users = {{"alice", *MakePasswordHash("correct horse", 1000)}};
  {
    testing::ServerFixture s(o);
    ASSERT_TRUE(s.error().ok()) << s.error().ToString();
    EXPECT_EQ(RunPython(script, s.port()), 0);
    auto msgs = s.sink().messages();
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].source, "unauthenticated");
    EXPECT_EQ(msgs[0].recipients.size(), 1u);
    EXPECT_EQ(msgs[1].source, "authenticated");
    EXPECT_TRUE(msgs[1].eight_bit);
    ASSERT_EQ(msgs[1].recipients.size(), 2u);
    EXPECT_TRUE(msgs[1].recipients[0].notify.failure);
    EXPECT_NE(msgs[1].body.find("\r\nline one\r\n.leading dot\r\n\xc3\xa9t\xc3\xa9\r\n"),
              std::string::npos)
        << msgs[1].body;
    EXPECT_NE(msgs[1].body.find("from py.example ([127.0.0.1])"), std::string::npos);
  }
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace outpost::smtp_server
