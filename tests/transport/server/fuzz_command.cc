// libFuzzer: the command parser and the line splitter must be total on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transport/server/smtp_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace outpost::smtp_server;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CommandLineReader reader;
  bool sasl = size > 0 && (data[0] & 1) != 0;
  while (!in.empty()) {
    CommandLineReader::Result r = reader.Next(in, sasl);
    if (r.kind == CommandLineReader::Result::Kind::kLine) {
      ParsedCommand p = ParseCommand(r.line);
      if (auto* reply = std::get_if<SmtpReply>(&p)) {
        if (reply->code < 500 && reply->code != 0) __builtin_trap();  // refusals are 5xx
        (void)FormatReply(*reply);
      }
    }
    if (r.consumed == 0) break;
    in.remove_prefix(r.consumed);
  }
  return 0;
}
