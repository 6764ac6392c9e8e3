#include <gtest/gtest.h>

#include "transport/server/base64.h"
#include "transport/server/ip_address.h"
#include "transport/server/listener_options.h"
#include "transport/server/password_hash.h"
#include "transport/server/received_header.h"
#include "transport/server/recipient_policy.h"
#include "transport/server/socket_address.h"

namespace outpost::smtp_server {
namespace {

bool InNet(const char* net, const char* ip) {
  auto r = CidrRange::Parse(net);
  auto a = IpAddress::Parse(ip);
  EXPECT_TRUE(r.ok()) << net;
  EXPECT_TRUE(a.ok()) << ip;
  return r.ok() && a.ok() && r->Contains(*a);
}

TEST(Cidr, V4AndV6Matching) {
  EXPECT_TRUE(InNet("127.0.0.0/8", "127.1.2.3"));
  EXPECT_FALSE(InNet("127.0.0.0/8", "128.0.0.1"));
  EXPECT_TRUE(InNet("10.1.2.3", "10.1.2.3"));
  EXPECT_FALSE(InNet("10.1.2.3", "10.1.2.4"));
  EXPECT_TRUE(InNet("0.0.0.0/0", "192.0.2.1"));
  EXPECT_FALSE(InNet("0.0.0.0/0", "2001:db8::1"));  // a v4 range never matches native v6
  EXPECT_TRUE(InNet("192.168.0.0/23", "192.168.1.255"));
  EXPECT_FALSE(InNet("192.168.0.0/23", "192.168.2.0"));
  EXPECT_TRUE(InNet("::1/128", "::1"));
  EXPECT_TRUE(InNet("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(InNet("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(InNet("127.0.0.0/8", "::ffff:127.0.0.1"));  // dual-stack socket view
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "x/8",
                          "10.0.0.0/8x", "10.0.0.0/-1"}) {
    EXPECT_FALSE(CidrRange::Parse(bad).ok()) << bad;
  }
  EXPECT_EQ(IpAddress::Parse("::ffff:10.0.0.1")->ToString(), "10.0.0.1");
  EXPECT_EQ(IpAddress::Parse("2001:db8::1")->ToString(), "2001:db8::1");
}

ListenerOptions BaseOptions() {
  ListenerOptions o;
  o.bind = "127.0.0.1:0";
  o.hostname = "mx.example.org";
  o.local_domains = {"example.org", "Example.NET"};
  o.relay_networks = {"10.0.0.0/8"};
  return o;
}

Mailbox Box(std::string local, std::string domain) { return Mailbox{local, domain}; }

TEST(RecipientPolicy, LocalRelayAndUnknownUsers) {
  ListenerOptions o = BaseOptions();
  auto any = RecipientPolicy::Create(o);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->Decide(Box("x", "example.org"), false), RcptDecision::kLocal);
  EXPECT_EQ(any->Decide(Box("x", "EXAMPLE.net"), false), RcptDecision::kLocal);
  EXPECT_EQ(any->Decide(Box("x", "remote.example"), false), RcptDecision::kRelayDenied);
  EXPECT_EQ(any->Decide(Box("x", "remote.example"), true), RcptDecision::kRelay);
  EXPECT_EQ(any->Decide(Box("postmaster", ""), false), RcptDecision::kLocal);
  EXPECT_TRUE(any->IsRelayNetwork(*IpAddress::Parse("10.9.9.9")));
  EXPECT_FALSE(any->IsRelayNetwork(*IpAddress::Parse("127.0.0.1")));

  o.local_users = std::vector<std::string>{"alice", "bob@example.net"};
  auto listed = RecipientPolicy::Create(o);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->Decide(Box("Alice", "example.org"), false), RcptDecision::kLocal);
  EXPECT_EQ(listed->Decide(Box("bob", "example.net"), false), RcptDecision::kLocal);
  EXPECT_EQ(listed->Decide(Box("bob", "example.org"), false), RcptDecision::kUnknownUser);
  EXPECT_EQ(listed->Decide(Box("carol", "example.org"), true), RcptDecision::kUnknownUser);
  EXPECT_EQ(listed->Decide(Box("postmaster", "example.org"), false), RcptDecision::kLocal);
}

TEST(ListenerOptions, ValidationListsEveryProblem) {
  EXPECT_TRUE(ValidateListenerOptions(BaseOptions()).ok());
  ListenerOptions o = BaseOptions();
  o.bind = "localhost:25";
  o.hostname = "";
  o.tls_cert_file = "cert.pem";
  o.relay_networks = {"10.0.0.0/8", "10.0.0.0/33"};
  o.users = {{"alice", "plaintext"}};
  o.max_recipients = 0;
  o.idle_timeout = Millis(0);
  Status s = ValidateListenerOptions(o);
  ASSERT_FALSE(s.ok());
  for (const char* field : {"bind", "hostname", "tls", "relayNetworks[1]", "users[0].passwordHash",
                            "maxRecipients", "idleTimeout"}) {
    EXPECT_NE(s.message().find(field), std::string::npos) << field << " in " << s.message();
  }
  ListenerOptions r = BaseOptions();
  r.require_auth = true;
  EXPECT_NE(ValidateListenerOptions(r).message().find("requireAuth"), std::string::npos);
}

TEST(SocketAddress, Parsing) {
  EXPECT_TRUE(ParseSocketAddress("127.0.0.1:25").ok());
  EXPECT_TRUE(ParseSocketAddress("[::1]:2525").ok());
  EXPECT_TRUE(ParseSocketAddress("0.0.0.0:0").ok());
  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "host:25", "[::1]25", "::1:25x", ""}) {
    EXPECT_FALSE(ParseSocketAddress(bad).ok()) << bad;
  }
}

TEST(PasswordHash, RoundTripAndWrongPassword) {
  auto h = MakePasswordHash("s3cret pass", 1000);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$pbkdf2-sha256$1000$", 0), 0u) << *h;
  EXPECT_TRUE(ValidatePasswordHash(*h).ok());
  EXPECT_TRUE(*VerifyPassword("s3cret pass", *h));
  EXPECT_FALSE(*VerifyPassword("s3cret pasS", *h));
  EXPECT_FALSE(*VerifyPassword("", *h));
  // A fresh salt each time.
  EXPECT_NE(*MakePasswordHash("s3cret pass", 1000), *h);
  auto d = MakePasswordHash("x");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rfind("$pbkdf2-sha256$100000$", 0), 0u);
}

TEST(PasswordHash, MalformedHashesAreErrors) {
  for (const char* bad : {"", "plain", "$pbkdf2-sha256$", "$pbkdf2-sha256$1000$c2FsdA==",
                          "$pbkdf2-sha256$0$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$pbkdf2-sha256$x$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$pbkdf2-sha256$1000$!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$pbkdf2-sha256$1000$c2FsdA==$AAAA", "$md5$1000$c2FsdA==$AAAA"}) {
    EXPECT_FALSE(VerifyPassword("x", bad).ok()) << bad;
    EXPECT_FALSE(ValidatePasswordHash(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidatePasswordHash(
                  "$pbkdf2-sha256$1000$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                  .ok());
}

TEST(Base64, RoundTripAndStrictness) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff", 2)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*Base64Decode("AHVzZXIAcGFzcw=="), std::string("\0user\0pass", 10));
  for (const char* bad : {"Zm9", "Zm9v!", "Z=9v", "Zm==Zm9v", "Zm 9v"}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

TEST(ReceivedHeader, Format) {
  ReceivedInfo i;
  i.helo = "client.example";
  i.client_ip = "127.0.0.1";
  i.hostname = "mx.example.org";
  i.tls = true;
  i.authenticated = true;
  i.trace_id = "00000000000000ab";
  i.single_recipient = "a@example.org";
  i.unix_ms = 1767225600000;
  EXPECT_EQ(FormatReceivedHeader(i),
            "Received: from client.example ([127.0.0.1])\r\n\tby mx.example.org with ESMTPSA id "
            "00000000000000ab\r\n\tfor <a@example.org>; Thu, 01 Jan 2026 00:00:00 +0000\r\n");
  i.tls = false;
  i.authenticated = false;
  i.esmtp = false;
  i.single_recipient.clear();
  i.client_ip = "::1";
  EXPECT_EQ(FormatReceivedHeader(i),
            "Received: from client.example ([IPv6:::1])\r\n\tby mx.example.org with SMTP id "
            "00000000000000ab; Thu, 01 Jan 2026 00:00:00 +0000\r\n");
  i.esmtp = true;
  EXPECT_EQ(ReceivedProtocol(i), "ESMTP");
  i.tls = true;
  EXPECT_EQ(ReceivedProtocol(i), "ESMTPS");
}

}  // namespace
}  // namespace outpost::smtp_server
