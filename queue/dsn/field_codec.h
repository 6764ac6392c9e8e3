#pragma once

// Encoders and decoders for the text that goes into DSN header fields. Everything that comes
// from a peer or an envelope passes through here before it is written, so that no input can
// add a header line, break a MIME boundary or exceed the 998-octet line limit of RFC 5322.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace outpost::dsn {

// RFC 5322 §2.1.1: lines must not exceed 998 octets (plus CRLF); 78 is the polite width.
inline constexpr size_t kMaxLineOctets = 998;
inline constexpr size_t kFoldWidth = 78;

// Makes untrusted text safe as a single header value: CR, LF, TAB and other control
// characters become spaces, runs of white space collapse to one, the ends are trimmed.
// Bytes >= 0x80 are kept only when `allow_utf8` and they form valid UTF-8; otherwise '?'.
std::string SanitizeFieldText(std::string_view in, bool allow_utf8);

// True when every byte is < 0x80.
bool IsAscii(std::string_view s);
// Well-formed UTF-8: outpost::IsValidUtf8 (common/utf8.h).
using ::outpost::IsValidUtf8;

// "Name: value\r\n", folded before white space so lines stay within kFoldWidth where a
// break exists. A run without white space longer than allowed is split hard (a space is
// inserted at the fold), so no line ever exceeds kMaxLineOctets. `value` must already be
// sanitized (no CR/LF).
std::string FoldField(std::string_view name, std::string_view value);

// RFC 3461 §4 xtext: "+HH" becomes the byte 0xHH. Anything that is not a valid "+HH" is
// kept as it is (peers are sloppy; the result is sanitized by the caller anyway).
std::string XtextDecode(std::string_view in);

// RFC 6533 §3 utf-8-addr-unitext: characters that are not QUCHAR ('+', '=', '\\', space,
// controls) and invalid UTF-8 bytes become "\x{HEX}"; valid UTF-8 is kept.
std::string EncodeUtf8AddrUnitext(std::string_view addr);
// Inverse of the above, also accepting utf-8-addr-xtext: every "\x{HEX}" (1-6 hex digits, a
// valid scalar value) becomes its UTF-8 encoding; anything else is kept literally.
std::string DecodeUtf8Addr(std::string_view in);

// RFC 3463 status-code syntax: class ("2", "4" or "5") "." subject (1-3 digits) "." detail
// (1-3 digits).
bool IsValidEnhancedStatus(std::string_view s);

// Splits "type; value" (RFC 3464 address-type / diagnostic-type / mta-name-type): the type is
// lower-cased and trimmed, the value trimmed. nullopt when there is no ';'.
struct TypedValue {
  std::string type;
  std::string value;
};
std::optional<TypedValue> SplitTypedValue(std::string_view field);

// Lower-cases ASCII letters.
std::string AsciiLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Trims spaces and tabs (and CR/LF) from both ends.
std::string_view TrimWhitespace(std::string_view s);

}  // namespace outpost::dsn
