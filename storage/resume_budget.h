#pragma once

namespace outpost::storage {

// When the store stops trying to leave a write error and gives up (the owner restarts, which
// replays the WAL). Counts failed attempts since the last successful write, so the count
// survives an error that Resume() clears but the next write hits again; disk full never
// counts (it clears once space returns, however long that takes). Each outcome is classified
// on its own status, not on the error the episode began with: ENOSPC then EIO is EIO.
// Not thread-safe: the store's writer uses it under its mutex.
class ResumeBudget {
 public:
  explicit ResumeBudget(int give_up_after) : give_up_after_(give_up_after) {}

  void WriteSucceeded() {
    failed_ = 0;
    resumed_ = false;
  }
  // A write failed; `io`: an I/O error other than disk full. A resume that reported success
  // but did not let the next write through counts as a failed one.
  void WriteFailed(bool io) {
    if (resumed_ && io) ++failed_;
    resumed_ = false;
  }
  void ResumeSucceeded() { resumed_ = true; }
  // Resume() failed; `io` as above.
  void ResumeFailed(bool io) {
    if (io) ++failed_;
  }

  bool exhausted() const { return failed_ >= give_up_after_; }
  int failed() const { return failed_; }

 private:
  const int give_up_after_;
  int failed_ = 0;
  bool resumed_ = false;
};

}  // namespace outpost::storage
