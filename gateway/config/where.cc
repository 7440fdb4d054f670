#include "gateway/config/where.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <system_error>

namespace sensorgate {
namespace {

bool IsFieldChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '@' ||
         c == '$';
}

bool IsFieldStart(char c) {
  return IsFieldChar(c) && !std::isdigit(static_cast<unsigned char>(c)) && c != '-';
}

// A field as the loader accepts it elsewhere: a dotted path of non-empty
// parts, or @topic.N with N from 0 to 63.
bool IsGoodField(std::string_view f) {
  if (f.empty() || f.front() == '.' || f.back() == '.' || f.find("..") != std::string_view::npos) {
    return false;
  }
  if (f.front() == '@') {
    constexpr std::string_view kPrefix = "@topic.";
    if (f.substr(0, kPrefix.size()) != kPrefix) return false;
    const std::string_view n = f.substr(kPrefix.size());
    int v = -1;
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    return ec == std::errc() && p == n.data() + n.size() && v >= 0 && v <= 63;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view s, WhereError* error) : s_(s), error_(error) {}

  bool Whole(WhereExpr* out) {
    SkipBlanks();
    if (pos_ == s_.size()) return Fail(pos_, "empty expression");
    if (!Expr(out)) return false;
    SkipBlanks();
    if (pos_ < s_.size()) {
      return Fail(pos_, s_[pos_] == ')' ? "')' without '('" : "expected and, or or the end");
    }
    return true;
  }

 private:
  void SkipBlanks() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool Fail(size_t at, const char* what) {
    error_->column = at + 1;
    error_->what = what;
    return false;
  }
  // The keyword kw (case-insensitive) as a whole word at pos_.
  bool AtKeyword(std::string_view kw) const {
    if (s_.size() - pos_ < kw.size()) return false;
    for (size_t i = 0; i < kw.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(s_[pos_ + i])) != kw[i]) return false;
    }
    return pos_ + kw.size() == s_.size() || !IsFieldChar(s_[pos_ + kw.size()]);
  }
  bool Eat(std::string_view kw) {
    SkipBlanks();
    if (!AtKeyword(kw)) return false;
    pos_ += kw.size();
    return true;
  }

  // Joins the operands of a chain of `kw` (or/and) into one node.
  bool Chain(WhereExpr* out, WhereExpr::Kind kind, std::string_view kw, bool (Parser::*operand)(WhereExpr*)) {
    WhereExpr first;
    if (!(this->*operand)(&first)) return false;
    if (!Eat(kw)) {
      *out = std::move(first);
      return true;
    }
    WhereExpr node;
    node.kind = kind;
    node.children.push_back(std::move(first));
    do {
      WhereExpr next;
      if (!(this->*operand)(&next)) return false;
      node.children.push_back(std::move(next));
    } while (Eat(kw));
    *out = std::move(node);
    return true;
  }
  bool Expr(WhereExpr* out) { return Chain(out, WhereExpr::Kind::kOr, "or", &Parser::Term); }
  bool Term(WhereExpr* out) { return Chain(out, WhereExpr::Kind::kAnd, "and", &Parser::Factor); }

  bool Factor(WhereExpr* out) {
    SkipBlanks();
    if (pos_ == s_.size()) return Fail(pos_, "expected a field, '(', not or exists(");
    if (AtKeyword("not")) {
      pos_ += 3;
      WhereExpr inner;
      if (!Factor(&inner)) return false;
      out->kind = WhereExpr::Kind::kNot;
      out->children.push_back(std::move(inner));
      return true;
    }
    if (s_[pos_] == '(') {
      ++pos_;
      if (!Expr(out)) return false;
      SkipBlanks();
      if (pos_ == s_.size() || s_[pos_] != ')') return Fail(pos_, "expected and, or or ')'");
      ++pos_;
      return true;
    }
    if (AtKeyword("exists")) {
      size_t p = pos_ + 6;
      while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
      if (p < s_.size() && s_[p] == '(') {
        pos_ = p + 1;
        out->kind = WhereExpr::Kind::kExists;
        if (!Field(&out->field)) return false;
        SkipBlanks();
        if (pos_ == s_.size() || s_[pos_] != ')') return Fail(pos_, "expected ')'");
        ++pos_;
        return true;
      }
    }
    if (!Field(&out->field)) return false;
    SkipBlanks();
    const size_t op_at = pos_;
    if (Eat("not")) {
      if (!Eat("in")) return Fail(pos_, "expected in after not");
      out->negated = true;
      return InList(out);
    }
    pos_ = op_at;
    if (Eat("in")) return InList(out);
    pos_ = op_at;
    struct OpText {
      std::string_view text;
      CompareOp op;
    };
    static constexpr OpText kOps[] = {{"!=", CompareOp::kNe}, {"<=", CompareOp::kLe}, {">=", CompareOp::kGe},
                                       {"=", CompareOp::kEq},  {"<", CompareOp::kLt},  {">", CompareOp::kGt}};
    for (const OpText& o : kOps) {
      if (s_.substr(pos_, o.text.size()) == o.text) {
        pos_ += o.text.size();
        out->kind = WhereExpr::Kind::kCompare;
        out->op = o.op;
        out->literals.emplace_back();
        return Literal(&out->literals.back());
      }
    }
    return Fail(pos_, "expected an operator (=, !=, <, <=, >, >=) or in");
  }

  bool InList(WhereExpr* out) {
    out->kind = WhereExpr::Kind::kIn;
    SkipBlanks();
    if (pos_ == s_.size() || s_[pos_] != '(') return Fail(pos_, "expected '(' after in");
    ++pos_;
    while (true) {
      out->literals.emplace_back();
      if (!Literal(&out->literals.back())) return false;
      SkipBlanks();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ')') {
        ++pos_;
        return true;
      }
      return Fail(pos_, "expected ',' or ')'");
    }
  }

  bool Field(std::string* out) {
    SkipBlanks();
    const size_t start = pos_;
    if (pos_ == s_.size() || !IsFieldStart(s_[pos_])) return Fail(pos_, "expected a field");
    while (pos_ < s_.size() && IsFieldChar(s_[pos_])) ++pos_;
    const std::string_view f = s_.substr(start, pos_ - start);
    if (!IsGoodField(f)) return Fail(start, "a field is a dotted path (a.b.c), a CSV column or @topic.N");
    *out = std::string(f);
    return true;
  }

  bool Literal(WhereLiteral* out) {
    SkipBlanks();
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '"') {
      out->is_string = true;
      for (++pos_; pos_ < s_.size(); ++pos_) {
        const char c = s_[pos_];
        if (c == '"') {
          ++pos_;
          return true;
        }
        if (c == '\\') {
          if (pos_ + 1 < s_.size() && (s_[pos_ + 1] == '"' || s_[pos_ + 1] == '\\')) {
            out->text += s_[++pos_];
            continue;
          }
          return Fail(pos_, "a backslash in a string is \\\" or \\\\");
        }
        out->text += c;
      }
      return Fail(start, "string without its closing '\"'");
    }
    while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
    }
    if (pos_ == start) return Fail(start, "expected a literal");
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    double d = 0;
    auto [p, ec] = std::from_chars(b, e, d);
    if (ec != std::errc() || p != e || !std::isfinite(d)) return Fail(start, "not a number");
    out->number = d;
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  WhereError* error_;
};

std::string NumberText(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, p);
}

std::string LiteralText(const WhereLiteral& l) {
  if (!l.is_string) return NumberText(l.number);
  std::string out = "\"";
  for (char c : l.text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void CollectFields(const WhereExpr& e, std::vector<std::string>* out) {
  if (!e.field.empty()) {
    bool seen = false;
    for (const std::string& f : *out) seen = seen || f == e.field;
    if (!seen) out->push_back(e.field);
  }
  for (const WhereExpr& c : e.children) CollectFields(c, out);
}

}  // namespace

const char* CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
  }
  return "?";
}

bool ParseWhere(std::string_view text, WhereExpr* out, WhereError* error) {
  WhereExpr e;
  Parser p(text, error);
  if (!p.Whole(&e)) return false;
  *out = std::move(e);
  return true;
}

std::string WhereText(const WhereExpr& e) {
  switch (e.kind) {
    case WhereExpr::Kind::kOr:
    case WhereExpr::Kind::kAnd: {
      std::string out = "(";
      for (size_t i = 0; i < e.children.size(); ++i) {
        if (i > 0) out += e.kind == WhereExpr::Kind::kOr ? " or " : " and ";
        out += WhereText(e.children[i]);
      }
      return out + ")";
    }
    case WhereExpr::Kind::kNot:
      return "(not " + WhereText(e.children.at(0)) + ")";
    case WhereExpr::Kind::kCompare:
      return "(" + e.field + " " + CompareOpText(e.op) + " " + LiteralText(e.literals.at(0)) + ")";
    case WhereExpr::Kind::kIn: {
      std::string out = "(" + e.field + (e.negated ? " not in (" : " in (");
      for (size_t i = 0; i < e.literals.size(); ++i) out += (i ? ", " : "") + LiteralText(e.literals[i]);
      return out + "))";
    }
    case WhereExpr::Kind::kExists:
      return "exists(" + e.field + ")";
  }
  return "";
}

std::vector<std::string> WhereFields(const WhereExpr& e) {
  std::vector<std::string> out;
  CollectFields(e, &out);
  return out;
}

}  // namespace sensorgate
