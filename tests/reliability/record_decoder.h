#pragma once
// Properties of the persisted-record decoders, checked on arbitrary bytes (shared by the
// record_decoder libFuzzer target and record_decoder_test, so gcc/Release runs them too).
#include <cstddef>
#include <cstdint>
#include <string>

namespace outpost::reliability {

// Decodes `data` as every record and key kind of storage/keys.h and proto/outpost_queue.proto,
// and checks: decoding never crashes; a key that parses re-encodes to the same bytes; a
// record that parses survives serialize -> parse unchanged; a decoded message rendered by the
// admin JSON writer (what `outpost queue show --json` prints) is well-formed JSON whatever
// bytes its fields hold. Returns "" when every property holds, else what broke.
std::string CheckRecordDecoders(const uint8_t* data, size_t size);

}  // namespace outpost::reliability
