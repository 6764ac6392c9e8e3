#include "transport/smtp/dot_stuffer.h"

namespace outpost::transport::smtp {

void DotStuffer::Append(std::string_view chunk, const Emit& emit) {
  size_t run = 0;  // start of the input run not yet emitted
  size_t i = 0;
  auto flush = [&](size_t end) {
    if (end > run) emit(chunk.substr(run, end - run));
  };
  if (pending_cr_ && !chunk.empty()) {
    pending_cr_ = false;
    emit("\r\n");
    at_line_start_ = true;
    if (chunk[0] == '\n') run = i = 1;  // the CR and this LF were one CRLF
  }
  while (i < chunk.size()) {
    char c = chunk[i];
    if (at_line_start_ && c == '.') {
      flush(i);
      emit(".");
      run = i;
      at_line_start_ = false;
      ++i;
    } else if (c == '\r') {
      if (i + 1 < chunk.size() && chunk[i + 1] == '\n') {
        i += 2;  // a proper CRLF stays inside the run
        at_line_start_ = true;
        continue;
      }
      flush(i);
      run = ++i;
      if (i == chunk.size()) {
        pending_cr_ = true;  // decided by the next chunk
      } else {
        emit("\r\n");  // bare CR
        at_line_start_ = true;
      }
    } else if (c == '\n') {  // bare LF
      flush(i);
      emit("\r\n");
      run = ++i;
      at_line_start_ = true;
    } else {
      at_line_start_ = false;
      ++i;
    }
  }
  flush(i);
}

void DotStuffer::Finish(const Emit& emit) {
  if (pending_cr_) {
    pending_cr_ = false;
    emit("\r\n");
    at_line_start_ = true;
  }
  if (!at_line_start_) emit("\r\n");
  emit(".\r\n");
  at_line_start_ = true;
}

}  // namespace outpost::transport::smtp
