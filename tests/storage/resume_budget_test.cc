// ResumeBudget: when the store gives up on a write error (storage/store.cc's writer).
#include "storage/resume_budget.h"

#include <gtest/gtest.h>

namespace outpost::storage {
namespace {

TEST(ResumeBudget, FailedIoResumesGiveUpAfterTheLimit) {
  ResumeBudget b(3);
  b.WriteFailed(true);
  b.ResumeFailed(true);
  b.ResumeFailed(true);
  EXPECT_FALSE(b.exhausted());
  b.ResumeFailed(true);
  EXPECT_TRUE(b.exhausted());
  EXPECT_EQ(b.failed(), 3);
}

TEST(ResumeBudget, AnErrorThatResumeClearsButTheNextWriteHitsAgainCounts) {
  // Was reset at every new write error: an I/O error that Resume() "cleared" and the next
  // write hit again never gave up.
  ResumeBudget b(3);
  b.WriteFailed(true);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(b.exhausted()) << i;
    b.ResumeSucceeded();
    b.WriteFailed(true);
  }
  EXPECT_TRUE(b.exhausted());
}

TEST(ResumeBudget, FlappingResumesAddUpUntilAWriteSucceeds) {
  ResumeBudget b(3);
  b.WriteFailed(true);
  b.ResumeFailed(true);
  b.ResumeSucceeded();
  b.WriteFailed(true);  // counts: the resume did not help
  b.ResumeFailed(true);
  EXPECT_TRUE(b.exhausted());

  ResumeBudget ok(3);
  ok.WriteFailed(true);
  ok.ResumeFailed(true);
  ok.ResumeFailed(true);
  ok.ResumeSucceeded();
  ok.WriteSucceeded();  // the error is over
  ok.WriteFailed(true);
  ok.ResumeFailed(true);
  EXPECT_FALSE(ok.exhausted());
  EXPECT_EQ(ok.failed(), 1);
}

TEST(ResumeBudget, DiskFullNeverCountsButALaterIoErrorDoes) {
  ResumeBudget b(2);
  b.WriteFailed(false);  // ENOSPC
  for (int i = 0; i < 10; ++i) b.ResumeFailed(false);
  b.ResumeSucceeded();
  b.WriteFailed(false);
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(b.failed(), 0);
  // The episode began with ENOSPC; the disk now answers EIO: classified by the latest status.
  b.ResumeFailed(true);
  b.ResumeFailed(true);
  EXPECT_TRUE(b.exhausted());
}

}  // namespace
}  // namespace outpost::storage
