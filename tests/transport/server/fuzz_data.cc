// libFuzzer: the DATA reader on arbitrary bytes and arbitrary chunking. Properties: it never
// crashes, never keeps more than the limit, and an accepted body has no bare CR/LF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/server/data_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace outpost::smtp_server;
  if (size < 1) return 0;
  size_t chunk = 1 + (data[0] % 17);
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  DataReader reader({/*max_size=*/4096, /*max_received_headers=*/3});
  while (!in.empty() && !reader.done()) {
    size_t used = reader.Consume(in.substr(0, chunk));
    in.remove_prefix(used);
  }
  std::string body = reader.TakeBody();
  if (body.size() > 4096) __builtin_trap();
  if (reader.done() && reader.verdict() == DataVerdict::kAccepted) {
    for (size_t i = 0; i < body.size(); ++i) {
      bool cr_ok = body[i] != '\r' || (i + 1 < body.size() && body[i + 1] == '\n');
      bool lf_ok = body[i] != '\n' || (i > 0 && body[i - 1] == '\r');
      if (!cr_ok || !lf_ok) __builtin_trap();
    }
  }
  return 0;
}
