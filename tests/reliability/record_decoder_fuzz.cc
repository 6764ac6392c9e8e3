// libFuzzer target: persisted records and storage keys from arbitrary bytes
// (tests/reliability/record_decoder.h lists the properties). Corpus:
// tests/fuzz/corpus/record_decoder/.
#include <cstdio>
#include <cstdlib>

#include "tests/reliability/record_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string broken = outpost::reliability::CheckRecordDecoders(data, size);
  if (!broken.empty()) {
    std::fprintf(stderr, "record decoder property broken: %s\n", broken.c_str());
    std::abort();
  }
  return 0;
}
