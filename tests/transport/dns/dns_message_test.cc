#include "transport/dns/dns_message.h"

#include <gtest/gtest.h>

#include "tests/transport/dns/test_packets.h"

namespace outpost::transport::dns {
namespace {

using testing::PacketBuilder;
constexpr uint16_t kA = 1, kCname = 5, kSoa = 6, kMx = 15, kTxt = 16, kAaaa = 28, kTlsa = 52;

StatusOr<DnsResult> Parse(const std::vector<uint8_t>& p, std::string_view name, DnsType t) {
  return ParseDnsResponse(p, name, t);
}

TEST(BuildDnsQuery, EncodesHeaderQuestionAndOpt) {
  auto q = BuildDnsQuery("Example.ORG.", DnsType::kMx, 0xBEEF);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  const std::string expected_question =
      PacketBuilder::Name("example.org") + PacketBuilder::U16(15) + PacketBuilder::U16(1);
  ASSERT_EQ(q->size(), 12 + expected_question.size() + 11);
  EXPECT_EQ(q->substr(0, 2), "\xBE\xEF");
  EXPECT_EQ(static_cast<uint8_t>((*q)[2]), 0x01);  // RD
  EXPECT_EQ(static_cast<uint8_t>((*q)[3]), 0x20);  // AD
  EXPECT_EQ(q->substr(4, 8), std::string("\0\1\0\0\0\0\0\1", 8));
  EXPECT_EQ(q->substr(12, expected_question.size()), expected_question);
  EXPECT_EQ(q->substr(12 + expected_question.size(), 3), std::string("\0\0\x29", 3));  // OPT
}

TEST(BuildDnsQuery, RefusesNamesThatCannotGoOnTheWire) {
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "", ".", "a..b", "a b.org", "a\\b.org", "x\n.org", std::string_view("nul\0.org", 8)}) {
    EXPECT_FALSE(BuildDnsQuery(bad, DnsType::kA, 1).ok()) << bad;
  }
  EXPECT_FALSE(BuildDnsQuery(std::string(64, 'a') + ".org", DnsType::kA, 1).ok());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  EXPECT_FALSE(BuildDnsQuery(long_name, DnsType::kA, 1).ok());
  EXPECT_TRUE(BuildDnsQuery(std::string(63, 'a') + ".org", DnsType::kA, 1).ok());
}

TEST(ParseDnsResponse, MxRecordsAreCollectedWithSmallestTtl) {
  auto p = PacketBuilder("example.org", kMx)
               .Answer("example.org", kMx, 300, PacketBuilder::Mx(10, "MX1.example.org"))
               .AnswerAtQuestion(kMx, 120, PacketBuilder::Mx(20, "mx2.example.org."))
               .Build();
  auto r = Parse(p, "example.org.", DnsType::kMx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, DnsOutcome::kAnswer);
  EXPECT_EQ(r->ttl_seconds, 120u);
  ASSERT_EQ(r->mx.size(), 2u);
  EXPECT_EQ(r->mx[0], (MxRecord{10, "mx1.example.org"}));
  EXPECT_EQ(r->mx[1], (MxRecord{20, "mx2.example.org"}));
  EXPECT_FALSE(r->authenticated);
}

TEST(ParseDnsResponse, NullMxIsPreferenceZeroAndRootExchange) {
  auto p = PacketBuilder("nomail.example", kMx)
               .Answer("nomail.example", kMx, 60, PacketBuilder::U16(0) + std::string(1, '\0'))
               .Build();
  auto r = Parse(p, "nomail.example", DnsType::kMx);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->mx.size(), 1u);
  EXPECT_EQ(r->mx[0], (MxRecord{0, ""}));
}

TEST(ParseDnsResponse, AAndAaaaBecomeText) {
  auto a = PacketBuilder("h.example", kA)
               .Answer("h.example", kA, 60, PacketBuilder::A({192, 0, 2, 1}))
               .Answer("h.example", kA, 60, PacketBuilder::A({127, 0, 0, 2}))
               .Build();
  auto r = Parse(a, "h.example", DnsType::kA);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->addresses, (std::vector<std::string>{"192.0.2.1", "127.0.0.2"}));

  std::string v6(16, '\0');
  v6[15] = 1;
  auto aaaa = PacketBuilder("h.example", kAaaa).Answer("h.example", kAaaa, 60, v6).Build();
  r = Parse(aaaa, "h.example", DnsType::kAaaa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->addresses, (std::vector<std::string>{"::1"}));
}

TEST(ParseDnsResponse, AuthenticatedBitIsRecorded) {
  auto p = PacketBuilder("_25._tcp.mx.example", kTlsa, 0, /*ad=*/true)
               .Answer("_25._tcp.mx.example", kTlsa, 60, std::string("\3\1\1\xAB\xCD", 5))
               .Build();
  auto r = Parse(p, "_25._tcp.mx.example", DnsType::kTlsa);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->authenticated);
  ASSERT_EQ(r->tlsa.size(), 1u);
  EXPECT_EQ(r->tlsa[0], (TlsaRecord{3, 1, 1, "\xAB\xCD"}));
}

TEST(ParseDnsResponse, TxtStringsOfOneRecordAreJoined) {
  auto p = PacketBuilder("_mta-sts.example", kTxt)
               .Answer("_mta-sts.example", kTxt, 60, "\x09v=STSv1; \x0cid=20260101;")
               .Build();
  auto r = Parse(p, "_mta-sts.example", DnsType::kTxt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->txt, (std::vector<std::string>{"v=STSv1; id=20260101;"}));
}

TEST(ParseDnsResponse, CnameChainIsFollowed) {
  auto p = PacketBuilder("alias.example", kA)
               .Answer("alias.example", kCname, 50, PacketBuilder::Name("mid.example"))
               .Answer("mid.example", kCname, 500, PacketBuilder::Name("real.example"))
               .Answer("real.example", kA, 400, PacketBuilder::A({10, 0, 0, 1}))
               .Answer("other.example", kA, 400, PacketBuilder::A({10, 0, 0, 9}))
               .Build();
  auto r = Parse(p, "alias.example", DnsType::kA);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, DnsOutcome::kAnswer);
  EXPECT_EQ(r->canonical_name, "real.example");
  EXPECT_EQ(r->addresses, (std::vector<std::string>{"10.0.0.1"}));
  EXPECT_EQ(r->ttl_seconds, 50u);
}

TEST(ParseDnsResponse, CnameLoopIsATemporaryFailureNotAHang) {
  auto p = PacketBuilder("a.example", kA)
               .Answer("a.example", kCname, 50, PacketBuilder::Name("b.example"))
               .Answer("b.example", kCname, 50, PacketBuilder::Name("a.example"))
               .Build();
  auto r = Parse(p, "a.example", DnsType::kA);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, DnsOutcome::kTempFail);
}

struct RcodeCase {
  const char* scenario;
  int rcode;
  DnsOutcome outcome;
  const char* detail;
};

class RcodeTable : public ::testing::TestWithParam<RcodeCase> {};

TEST_P(RcodeTable, MapsToOutcome) {
  const RcodeCase& c = GetParam();
  auto p = PacketBuilder("x.example", kMx, c.rcode).Build();
  auto r = Parse(p, "x.example", DnsType::kMx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, c.outcome);
  EXPECT_EQ(r->detail, c.detail);
}

INSTANTIATE_TEST_SUITE_P(
    ParseDnsResponse, RcodeTable,
    ::testing::Values(RcodeCase{"NoErrorEmptyIsNoData", 0, DnsOutcome::kNoData, "no MX records"},
                      RcodeCase{"NxDomainIsPermanent", 3, DnsOutcome::kNxDomain, "NXDOMAIN"},
                      RcodeCase{"ServFailIsTemporary", 2, DnsOutcome::kTempFail, "SERVFAIL"},
                      RcodeCase{"RefusedIsTemporary", 5, DnsOutcome::kTempFail, "REFUSED"},
                      RcodeCase{"FormErrIsTemporary", 1, DnsOutcome::kTempFail, "FORMERR"},
                      RcodeCase{"NotImpIsTemporary", 4, DnsOutcome::kTempFail, "NOTIMP"}),
    [](const auto& info) { return std::string(info.param.scenario); });

TEST(ParseDnsResponse, NegativeAnswersUseSoaMinimumAsTtl) {
  auto p = PacketBuilder("gone.example", kMx, 3)
               .Authority("example", kSoa, 900, PacketBuilder::Soa(60))
               .Build();
  auto r = Parse(p, "gone.example", DnsType::kMx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, DnsOutcome::kNxDomain);
  EXPECT_EQ(r->ttl_seconds, 60u);

  auto nodata = PacketBuilder("h.example", kAaaa)
                    .Authority("example", kSoa, 30, PacketBuilder::Soa(600))
                    .Build();
  r = Parse(nodata, "h.example", DnsType::kAaaa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, DnsOutcome::kNoData);
  EXPECT_EQ(r->ttl_seconds, 30u);
}

TEST(ParseDnsResponse, RecordsOfOtherTypesMeanNoData) {
  auto p = PacketBuilder("h.example", kAaaa)
               .Answer("h.example", kA, 60, PacketBuilder::A({1, 2, 3, 4}))
               .Build();
  auto r = Parse(p, "h.example", DnsType::kAaaa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, DnsOutcome::kNoData);
}

TEST(ParseDnsResponse, TruncatedAnswerWithoutRecordsIsTemporary) {
  auto p = PacketBuilder("big.example", kMx, 0, false, /*tc=*/true).Build();
  auto r = Parse(p, "big.example", DnsType::kMx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, DnsOutcome::kTempFail);
}

TEST(ParseDnsResponse, LabelsWithDotsOrControlsAreEscaped) {
  auto p = PacketBuilder("example.org", kMx)
               .Answer("example.org", kMx, 60,
                       PacketBuilder::U16(10) + std::string("\x05"
                                                            "a.b\n1\x03org\x00",
                                                            11))
               .Build();
  auto r = Parse(p, "example.org", DnsType::kMx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->mx.size(), 1u);
  EXPECT_EQ(r->mx[0].exchange, "a\\046b\\0101.org");
  EXPECT_FALSE(BuildDnsQuery(r->mx[0].exchange, DnsType::kA, 1).ok());
}

struct GarbageCase {
  const char* scenario;
  std::vector<uint8_t> packet;
};

std::vector<uint8_t> Cut(std::vector<uint8_t> p, size_t drop) {
  p.resize(p.size() - drop);
  return p;
}

std::vector<GarbageCase> GarbageCases() {
  auto good = PacketBuilder("example.org", kMx)
                  .Answer("example.org", kMx, 300, PacketBuilder::Mx(10, "mx.example.org"))
                  .Build();
  std::vector<uint8_t> query_bit = good;
  query_bit[2] &= 0x7F;
  std::vector<uint8_t> self_pointer = PacketBuilder("example.org", kMx).Build();
  // An answer whose owner is a pointer to itself.
  std::vector<uint8_t> loop = self_pointer;
  loop[7] = 1;
  size_t at = loop.size();
  loop.push_back(0xC0);
  loop.push_back(static_cast<uint8_t>(at));
  std::vector<uint8_t> forward = self_pointer;
  forward[7] = 1;
  forward.push_back(0xC0);
  forward.push_back(0xFF);
  std::vector<uint8_t> bad_mx_len =
      PacketBuilder("example.org", kMx).Answer("example.org", kMx, 1, "\0").Build();
  return {
      {"Empty", {}},
      {"ShortHeader", {0x12, 0x34, 0x81}},
      {"NotAResponse", query_bit},
      {"CutInsideRecord", Cut(good, 3)},
      {"CutInsideQuestion", Cut(PacketBuilder("example.org", kMx).Build(), 2)},
      {"PointerLoop", loop},
      {"ForwardPointer", forward},
      {"MxRdataTooShort", bad_mx_len},
  };
}

class GarbageTable : public ::testing::TestWithParam<GarbageCase> {};

TEST_P(GarbageTable, IsCorruptionNotACrash) {
  auto r = Parse(GetParam().packet, "example.org", DnsType::kMx);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Status::Code::kCorruption)) << r.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(ParseDnsResponse, GarbageTable, ::testing::ValuesIn(GarbageCases()),
                         [](const auto& info) { return std::string(info.param.scenario); });

TEST(ParseDnsResponse, AddressWithWrongLengthIsCorruption) {
  auto p = PacketBuilder("h.example", kA).Answer("h.example", kA, 1, "\1\2\3").Build();
  EXPECT_FALSE(Parse(p, "h.example", DnsType::kA).ok());
}

TEST(ParseDnsResponse, AnswerToAnotherQuestionIsRejected) {
  auto p = PacketBuilder("evil.example", kMx)
               .Answer("evil.example", kMx, 300, PacketBuilder::Mx(10, "mx.evil.example"))
               .Build();
  EXPECT_FALSE(Parse(p, "example.org", DnsType::kMx).ok());
  EXPECT_FALSE(Parse(p, "evil.example", DnsType::kA).ok());
}

}  // namespace
}  // namespace outpost::transport::dns
