// The `where` filter of a [rule.NAME] section (DESIGN.md section 13.2), parsed
// once by the configuration loader into a small syntax tree; the data path
// evaluates the tree and never sees the text.
//
//   expr   := term ("or" term)*
//   term   := factor ("and" factor)*
//   factor := "not" factor | "(" expr ")" | FIELD OP LITERAL
//           | FIELD ["not"] "in" "(" LITERAL ("," LITERAL)* ")" | "exists(" FIELD ")"
//   OP     := = | != | < | <= | > | >=      LITERAL := number | "string"
//
// Keywords (not, and, or, in, exists) are case-insensitive. FIELD is a dotted
// JSON path, a CSV column or @topic.N, written with letters, digits and
// `_ . - @ $`, not starting with a digit or '-'. Strings are in double quotes;
// `\"` and `\\` stand for a quote and a backslash. Pure functions, any thread.
#ifndef SENSORGATE_GATEWAY_CONFIG_WHERE_H_
#define SENSORGATE_GATEWAY_CONFIG_WHERE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sensorgate {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

// "=", "!=", "<", "<=", ">", ">=".
const char* CompareOpText(CompareOp op);

struct WhereLiteral {
  bool is_string = false;
  double number = 0;  // when !is_string
  std::string text;   // when is_string: the string, unescaped
};

struct WhereExpr {
  enum class Kind {
    kOr,       // children: two or more
    kAnd,      // children: two or more
    kNot,      // children: one
    kCompare,  // field op literals[0]
    kIn,       // field [not] in (literals...); `negated` for "not in"
    kExists,   // exists(field)
  };
  Kind kind = Kind::kAnd;
  std::vector<WhereExpr> children;
  std::string field;
  CompareOp op = CompareOp::kEq;
  bool negated = false;
  std::vector<WhereLiteral> literals;
};

struct WhereError {
  size_t column = 0;  // 1-based, in the text given to ParseWhere
  std::string what;   // e.g. "expected a literal"
};

// Parses a whole expression. Returns false and fills *error (the first fault
// only) if text is not one expression of the grammar. REQUIRES: text not empty.
bool ParseWhere(std::string_view text, WhereExpr* out, WhereError* error);

// The canonical text of an expression: fully parenthesised and/or/not,
// lower-case keywords, numbers in shortest form, e.g.
// `((DstPort in (443, 8000)) and (not exists(x)))`. For tests and logs.
std::string WhereText(const WhereExpr& e);

// Every field the expression reads, in order of first appearance, once each.
std::vector<std::string> WhereFields(const WhereExpr& e);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_CONFIG_WHERE_H_
