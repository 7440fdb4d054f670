// Tests of the `where` parser (gateway/config/where.h): precedence, keywords,
// literals, and the column of the first fault.
#include "gateway/config/where.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sensorgate {
namespace {

std::string Canonical(const std::string& text) {
  WhereExpr e;
  WhereError err;
  if (!ParseWhere(text, &e, &err)) return "error at " + std::to_string(err.column) + ": " + err.what;
  return WhereText(e);
}

TEST(Where, AndBindsTighterThanOrAndNotTighterThanAnd) {
  EXPECT_EQ(Canonical("a = 1 or b = 2 and not c in (\"x\", 3)"),
            "((a = 1) or ((b = 2) and (not (c in (\"x\", 3)))))");
  EXPECT_EQ(Canonical("(a = 1 or b = 2) and c != -2.5"), "(((a = 1) or (b = 2)) and (c != -2.5))");
  EXPECT_EQ(Canonical("a < 1 and b <= 2 and c > 3 and d >= 4e3"), "((a < 1) and (b <= 2) and (c > 3) and (d >= 4000))");
}

TEST(Where, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(Canonical("NOT Exists(x) AND y Not IN (1) Or z = 1"),
            "(((not exists(x)) and (y not in (1))) or (z = 1))");
  EXPECT_EQ(Canonical("exists ( a.b )"), "exists(a.b)");
}

TEST(Where, FieldsMayBePathsColumnsAndTopicLevels) {
  EXPECT_EQ(Canonical("padrao.leitura.temperatura > 75"), "(padrao.leitura.temperatura > 75)");
  EXPECT_EQ(Canonical("@topic.2 = \"line-2\""), "(@topic.2 = \"line-2\")");
  EXPECT_EQ(Canonical("Src_Port-x = 1"), "(Src_Port-x = 1)");
  EXPECT_EQ(Canonical("@topic.64 = 1"), "error at 1: a field is a dotted path (a.b.c), a CSV column or @topic.N");
}

TEST(Where, StringsKeepTheirBytesAndEscapes) {
  WhereExpr e;
  WhereError err;
  ASSERT_TRUE(ParseWhere("name = \"a \\\"b\\\" \\\\ c, (d) and or\"", &e, &err));
  ASSERT_EQ(e.kind, WhereExpr::Kind::kCompare);
  ASSERT_EQ(e.literals.size(), 1u);
  EXPECT_TRUE(e.literals[0].is_string);
  EXPECT_EQ(e.literals[0].text, "a \"b\" \\ c, (d) and or");
  EXPECT_EQ(Canonical("a = \"\\x\""), "error at 6: a backslash in a string is \\\" or \\\\");
}

TEST(Where, ListsEveryFieldOnce) {
  WhereExpr e;
  WhereError err;
  ASSERT_TRUE(ParseWhere("a = 1 and (b = 2 or a = 3) and exists(c)", &e, &err));
  EXPECT_EQ(WhereFields(e), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Where, ReportsTheFirstFaultWithItsColumn) {
  EXPECT_EQ(Canonical(""), "error at 1: empty expression");
  EXPECT_EQ(Canonical("   "), "error at 4: empty expression");
  EXPECT_EQ(Canonical("a ="), "error at 4: expected a literal");
  EXPECT_EQ(Canonical("a = 1 and"), "error at 10: expected a field, '(', not or exists(");
  EXPECT_EQ(Canonical("((a = 1)"), "error at 9: expected and, or or ')'");
  EXPECT_EQ(Canonical("a in ()"), "error at 7: expected a literal");
  EXPECT_EQ(Canonical("not"), "error at 4: expected a field, '(', not or exists(");
  EXPECT_EQ(Canonical("a = inf"), "error at 5: expected a literal");
}

}  // namespace
}  // namespace sensorgate
