// `outpost inject --from A --to B [--to C] [FILE|-]`: submits a message through the admin
// API (POST /api/messages). The daemon answers only after the durable write.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "router/json.h"
#include "tools/outpost/admin_client.h"
#include "tools/outpost/args.h"
#include "tools/outpost/cli.h"

namespace outpost::cli {
namespace {

namespace rj = ::outpost::router::rj;

constexpr const char* kUsage =
    "usage: outpost inject --from A --to B [--to C ...] [FILE|-] [--json]\n"
    "         [--admin-url URL] [--token T]\n"
    "       (the message is read from FILE, or from stdin without FILE or with -;\n"
    "        --from \"\" sends with the null return path)\n";

int Usage(Io& io, const std::string& why) {
  if (!why.empty()) io.err << "outpost inject: " << why << "\n";
  io.err << kUsage;
  return kExitUsage;
}

}  // namespace

int RunInjectCommand(std::span<const std::string> args, Io& io) {
  // --to repeats; Args keeps one value per name, so recipients are collected here first.
  std::vector<std::string> to;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--to") {
      if (i + 1 >= args.size()) return Usage(io, "--to needs a value");
      to.push_back(args[++i]);
    } else if (args[i].rfind("--to=", 0) == 0) {
      to.push_back(args[i].substr(5));
    } else {
      rest.push_back(args[i]);
    }
  }
  auto parsed = Args::Parse(rest, {"from", "admin-url", "token"}, {"json"});
  if (!parsed.ok()) return Usage(io, parsed.status().message());
  const Args& a = *parsed;
  auto from = a.Get("from");
  if (!from) return Usage(io, "--from is required (use --from \"\" for the null sender)");
  if (to.empty()) return Usage(io, "at least one --to is required");
  if (a.positional().size() > 1) return Usage(io, "at most one FILE");

  std::string message;
  const std::string file = a.positional().empty() ? "-" : a.positional()[0];
  if (file == "-") {
    message.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      io.err << "outpost inject: cannot read " << file << "\n";
      return kExitFailure;
    }
    message.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (message.empty()) {
    io.err << "outpost inject: the message is empty\n";
    return kExitFailure;
  }

  rj::StringBuffer buf;
  rj::StringWriter w(buf);
  w.StartObject();
  w.Key("from");
  w.String(from->c_str(), static_cast<rj::SizeType>(from->size()));
  w.Key("to");
  w.StartArray();
  for (const auto& t : to) w.String(t.c_str(), static_cast<rj::SizeType>(t.size()));
  w.EndArray();
  w.Key("message");
  w.String(message.data(), static_cast<rj::SizeType>(message.size()));
  w.EndObject();

  auto client = AdminClientFor(a.Get("admin-url"), a.Get("token"));
  if (!client.ok()) return Usage(io, client.status().message());
  auto reply = client->Post("/api/messages", std::string_view(buf.GetString(), buf.GetSize()));
  if (!reply.ok()) {
    io.err << "outpost inject: " << reply.status().message() << "\n";
    return kExitFailure;
  }
  if (reply->status != 200) {
    io.err << "outpost inject: " << DescribeFailure(*reply) << "\n";
    return reply->status == 400 ? kExitUsage : kExitFailure;
  }
  if (a.Has("json")) {
    io.out << reply->body;
    return kExitOk;
  }
  rj::Document d;
  d.Parse(reply->body.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("id") || !d["id"].IsString()) {
    io.err << "outpost inject: unreadable answer: " << reply->body.substr(0, 200) << "\n";
    return kExitFailure;
  }
  io.out << "queued as " << d["id"].GetString() << "\n";
  return kExitOk;
}

}  // namespace outpost::cli
