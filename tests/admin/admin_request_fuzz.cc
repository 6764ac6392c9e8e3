// Hostile input where the admin API and its client meet it: request bodies (JSON objects,
// filters, ids, times, addresses, message text) and HTTP answers. Must never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tools/admin/request_parse.h"
#include "tools/outpost/admin_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace outpost::admin;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)ParseRfc3339(in);
  (void)ParseTimeArg(in, 1767225600000);
  (void)ParseDurationMs(in);
  (void)ParseId(in);
  (void)CheckAddress(in, true);
  (void)ToCrlf(in);
  (void)outpost::cli::ParseHttpResponse(in);
  auto doc = ParseJsonObject(in);
  if (!doc.ok()) return 0;
  const rj::Value& body = **doc;
  if (body.HasMember("ids")) (void)ParseIds(body["ids"]);
  if (body.HasMember("filter")) {
    auto fields = ScalarFields(body["filter"], "filter");
    if (fields.ok()) (void)ParseFilterFields(*fields, 1767225600000);
  }
  auto top = ScalarFields(body, "body");
  if (top.ok()) (void)ParseFilterFields(*top, 1767225600000);
  return 0;
}
