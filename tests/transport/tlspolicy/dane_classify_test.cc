// The SMTP client's classification of a DANE mismatch (SessionConfig::dane_tlsa hook).
#include <gtest/gtest.h>

#include "transport/smtp/classify.h"

namespace outpost::transport::smtp {
namespace {

TEST(DaneClassify, MismatchIsDaneNextHostNeverPlaintext) {
  SessionFailure f;
  f.stage = Stage::kTls;
  f.kind = FailureKind::kDaneVerify;
  f.detail = "DANE verification failed: no matching DANE TLSA records";
  FailureContext optional_tls;  // startTls optional: a handshake failure would retry plaintext
  FailureVerdict v = ClassifyFailure(f, optional_tls);
  EXPECT_EQ(v.next, NextStep::kNextHost);
  EXPECT_EQ(v.kind, OutcomeKind::kTempFail);
  EXPECT_EQ(v.error, ErrorClass::kDane);
  EXPECT_EQ(v.reply.code, 451);
  EXPECT_EQ(v.reply.enhanced, "4.7.5");
  EXPECT_STREQ(FailureKindName(FailureKind::kDaneVerify), "dane-verify");
}

}  // namespace
}  // namespace outpost::transport::smtp
