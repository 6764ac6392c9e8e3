#include "router/toml.h"

#include <gtest/gtest.h>

namespace outpost::router {
namespace {

const TomlValue& At(const TomlValue& root, std::initializer_list<std::string_view> path) {
  const TomlValue* v = &root;
  for (std::string_view p : path) {
    v = v->Find(p);
    if (v == nullptr) {
      ADD_FAILURE() << "missing " << p;
      static TomlValue empty;
      return empty;
    }
  }
  return *v;
}

TEST(Toml, TablesDottedAndQuotedKeys) {
  auto t = ParseToml(R"t(
# comment
top = 1
[queue.outbound]
hostname = "mx.example.org"   # trailing comment
limits.mx = 7
[remote."relay.one".tls]
implicit = false
'literal key' = 'x'
)t");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(At(*t, {"top"}).integer, 1);
  EXPECT_EQ(At(*t, {"queue", "outbound", "hostname"}).str, "mx.example.org");
  EXPECT_EQ(At(*t, {"queue", "outbound", "limits", "mx"}).integer, 7);
  EXPECT_FALSE(At(*t, {"remote", "relay.one", "tls", "implicit"}).boolean);
  EXPECT_EQ(At(*t, {"remote", "relay.one", "tls", "literal key"}).str, "x");
  EXPECT_EQ(At(*t, {"queue", "outbound", "hostname"}).line, 5);
}

TEST(Toml, StringsAndEscapes) {
  auto t = ParseToml(
      "a = \"tab\\there \\\"q\\\" \\\\ \\u00e9\"\n"
      "b = 'C:\\path\\no-escape'\n"
      "c = \"\"\"\nline1\nline2\"\"\"\n"
      "d = '''\nraw \\n'''\n"
      "e = \"\"\"joined \\\n    text\"\"\"\n");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(At(*t, {"a"}).str, "tab\there \"q\" \\ \xc3\xa9");
  EXPECT_EQ(At(*t, {"b"}).str, "C:\\path\\no-escape");
  EXPECT_EQ(At(*t, {"c"}).str, "line1\nline2");
  EXPECT_EQ(At(*t, {"d"}).str, "raw \\n");
  EXPECT_EQ(At(*t, {"e"}).str, "joined text");
}

TEST(Toml, NumbersBooleansArraysInlineTables) {
  auto t = ParseToml(R"t(
i = 1_000
n = -5
h = 0xff
f = 1.5
yes = true
arr = [ 1, "two",
        [3], # comment inside
      ]
rules = [ { if = "a", then = "'b'" },
          { else = false } ]
inline = { x.y = 1, z = "w" }
)t");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(At(*t, {"i"}).integer, 1000);
  EXPECT_EQ(At(*t, {"n"}).integer, -5);
  EXPECT_EQ(At(*t, {"h"}).integer, 255);
  EXPECT_DOUBLE_EQ(At(*t, {"f"}).floating, 1.5);
  EXPECT_TRUE(At(*t, {"yes"}).boolean);
  ASSERT_EQ(At(*t, {"arr"}).array.size(), 3u);
  EXPECT_EQ(At(*t, {"arr"}).array[1].str, "two");
  EXPECT_EQ(At(*t, {"arr"}).array[2].array[0].integer, 3);
  const TomlValue& rules = At(*t, {"rules"});
  ASSERT_EQ(rules.array.size(), 2u);
  EXPECT_EQ(rules.array[0].Find("then")->str, "'b'");
  EXPECT_FALSE(rules.array[1].Find("else")->boolean);
  EXPECT_EQ(At(*t, {"inline", "x", "y"}).integer, 1);
}

TEST(Toml, ArraysOfTables) {
  auto t = ParseToml(R"t(
[[server.listener]]
id = "a"
[server.listener.tls]
on = true
[[server.listener]]
id = "b"
)t");
  ASSERT_TRUE(t.ok()) << t.status().message();
  const TomlValue& l = At(*t, {"server", "listener"});
  ASSERT_EQ(l.array.size(), 2u);
  EXPECT_EQ(l.array[0].Find("id")->str, "a");
  EXPECT_TRUE(l.array[0].Find("tls")->Find("on")->boolean);
  EXPECT_EQ(l.array[1].Find("id")->str, "b");
}

struct ErrorCase {
  const char* text;
  const char* want;
};

TEST(Toml, ErrorsCarryLineNumbers) {
  const ErrorCase cases[] = {
      {"a = 1\nb = \"open\n", "line 2: unterminated string"},
      {"a = 1\na = 2\n", "line 2: key 'a' defined twice"},
      {"[t]\n[t]\n", "line 2: table [t] defined twice"},
      {"x = bare\n", "line 1: invalid value 'bare' (strings need quotes)"},
      {"\n\nx = [1, 2\n", "line 4: expected ',' or ']' in array"},
      {"x = 1 2\n", "line 1: unexpected '2' after value"},
      {"[a\n", "line 1: expected ']' to close the table header"},
      {"= 1\n", "line 1: expected a key"},
      {"x = \"\\q\"\n", "line 1: invalid escape '\\q'"},
      {"x = { a = 1\n", "line 1: expected ',' or '}' in inline table"},
      {"a = 1\na.b = 2\n", "line 2: key 'a' is already defined as a value"},
      {"x =\n", "line 1: missing value"},
      {"x = \"\\uD800\"\n", "line 1: invalid unicode escape"},
  };
  for (const ErrorCase& c : cases) {
    auto t = ParseToml(c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.status().message().find(c.want), std::string::npos)
        << c.text << " -> " << t.status().message();
  }
}

TEST(Toml, DeepNestingIsAnError) {
  std::string deep = "x = " + std::string(200, '[') + std::string(200, ']') + "\n";
  auto t = ParseToml(deep);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace outpost::router
