//! Expressions over a frame's columns, evaluated a whole column at a time: the language of
//! `filter("age > 30 && city == 'Oslo'")`, `derive("ratio", "income / age")` and the
//! aggregates of `group_by`. A cell's Rhai code runs once per call, never once per row,
//! so these stay fast on a million rows.
//!
//! Null works as in SQL: an operation on a null gives null (`&&`, `||`, `is_null`,
//! `coalesce` and `if` excepted), a filter keeps only rows where the condition is true.
//! Results that a number cannot hold — division by zero, `log(0)`, `sqrt(-1)`, an
//! integer overflow — are null too, so that no NaN or infinity sneaks into a model.
//!
//! Errors are found before any row is computed where possible (unknown columns, type
//! mismatches) and name the character position in the expression and the column.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::column::Values;
use crate::datetime::{format_datetime, parse_datetime};
use crate::frame::{format_float, ColumnData, DType, Frame};

/// How deeply expressions may nest (parentheses, operators, calls), so that neither the
/// parser nor the evaluator can exhaust the (small, in a browser worker) stack.
pub const MAX_DEPTH: usize = 100;

/// An expression that could not be parsed or evaluated: where (1-based character position
/// in the expression) and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("in `{snippet}` at character {position}: {message}")]
pub struct ExprError {
    /// The expression, shortened when long.
    pub snippet: String,
    pub position: usize,
    pub message: String,
}

/// A single value: an expression literal, a fill value, a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lit {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    /// Milliseconds since the epoch, UTC.
    Datetime(i64),
}

impl Lit {
    pub fn dtype(&self) -> Option<DType> {
        match self {
            Lit::Null => None,
            Lit::Int(_) => Some(DType::Int),
            Lit::Float(_) => Some(DType::Float),
            Lit::Bool(_) => Some(DType::Bool),
            Lit::Str(_) => Some(DType::Str),
            Lit::Datetime(_) => Some(DType::Datetime),
        }
    }

    /// The value at `row` of `data`.
    pub fn at(data: &ColumnData, row: usize) -> Lit {
        let lit = match data {
            ColumnData::Float(v) => v.get(row).map(Lit::Float),
            ColumnData::Int(v) => v.get(row).map(Lit::Int),
            ColumnData::Bool(v) => v.get(row).map(Lit::Bool),
            ColumnData::Str(v) => v.get(row).map(|s| Lit::Str(s.to_string())),
            ColumnData::Datetime(v) => v.get(row).map(Lit::Datetime),
        };
        lit.unwrap_or(Lit::Null)
    }

    /// `n` copies of the value as a column (of floats for null, which has no type).
    pub fn repeat(&self, n: usize) -> ColumnData {
        match self {
            Lit::Null => ColumnData::Float(Values::nulls(n)),
            Lit::Int(x) => ColumnData::Int(vec![*x; n].into()),
            Lit::Float(x) => ColumnData::Float(vec![*x; n].into()),
            Lit::Bool(x) => ColumnData::Bool(vec![*x; n].into()),
            Lit::Str(x) => ColumnData::Str(std::iter::repeat_n(Some(x.as_str()), n).collect()),
            Lit::Datetime(x) => ColumnData::Datetime(vec![*x; n].into()),
        }
    }
}

impl std::fmt::Display for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lit::Null => f.write_str("null"),
            Lit::Int(x) => write!(f, "{x}"),
            Lit::Float(x) => f.write_str(&format_float(*x)),
            Lit::Bool(x) => write!(f, "{x}"),
            Lit::Str(x) => write!(f, "{x:?}"),
            Lit::Datetime(x) => f.write_str(&format_datetime(*x)),
        }
    }
}

// ----- syntax --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Lit(Lit),
    Column(String),
    Neg(Box<Node>),
    Not(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Call(String, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// 0-based character position of the node's first (or operator's) character.
    pos: usize,
    depth: usize,
    kind: Kind,
}

/// The functions of the language: name, fewest and most arguments.
const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("is_null", 1, 1),
    ("coalesce", 2, 2),
    ("if", 3, 3),
    ("lower", 1, 1),
    ("upper", 1, 1),
    ("trim", 1, 1),
    ("len", 1, 1),
    ("contains", 2, 2),
    ("starts_with", 2, 2),
    ("ends_with", 2, 2),
    ("abs", 1, 1),
    ("log", 1, 1),
    ("exp", 1, 1),
    ("sqrt", 1, 1),
    ("pow", 2, 2),
    ("round", 1, 2),
    ("floor", 1, 1),
    ("ceil", 1, 1),
    ("min", 2, 2),
    ("max", 2, 2),
    ("year", 1, 1),
    ("month", 1, 1),
    ("day", 1, 1),
    ("weekday", 1, 1),
    ("hour", 1, 1),
    ("int", 1, 1),
    ("float", 1, 1),
    ("str", 1, 1),
    ("bool", 1, 1),
    ("datetime", 1, 1),
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    /// A bare name: a column, a function, or `true`/`false`/`null`.
    Name(String),
    /// A backticked column name.
    Quoted(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
    End,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn snippet(source: &str) -> String {
    const LONGEST: usize = 60;
    if source.chars().count() <= LONGEST {
        source.to_string()
    } else {
        source.chars().take(LONGEST).collect::<String>() + "…"
    }
}

fn error(source: &str, pos: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        snippet: snippet(source),
        position: pos + 1,
        message: message.into(),
    }
}

fn tokenize(source: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '_') {
                i += 1;
            }
            let mut float = false;
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_none_or(|c| c.is_ascii_digit()) {
                float = true;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if matches!(chars.get(i), Some('e' | 'E')) {
                let sign = usize::from(matches!(chars.get(i + 1), Some('+' | '-')));
                if chars.get(i + 1 + sign).is_some_and(char::is_ascii_digit) {
                    float = true;
                    i += 1 + sign;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().filter(|&&c| c != '_').collect();
            if float {
                Tok::Float(
                    text.parse()
                        .map_err(|_| error(source, start, format!("'{text}' is not a number")))?,
                )
            } else {
                Tok::Int(text.parse().map_err(|_| {
                    error(
                        source,
                        start,
                        format!("{text} is too large for an int; write {text}.0 for a float"),
                    )
                })?)
            }
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            Tok::Name(chars[start..i].iter().collect())
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            let mut text = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        let what = if c == '`' { "column name" } else { "string" };
                        return Err(error(source, start, format!("unterminated {what}")));
                    }
                    Some(&d) if d == c => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let escaped = match chars.get(i + 1) {
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some(&d @ ('\\' | '"' | '\'' | '`')) => d,
                            _ => {
                                return Err(error(
                                    source,
                                    i,
                                    "unknown escape (use \\n, \\t, \\\\, \\\", \\' or \\`)",
                                ))
                            }
                        };
                        text.push(escaped);
                        i += 2;
                    }
                    Some(&d) => {
                        text.push(d);
                        i += 1;
                    }
                }
            }
            if c == '`' {
                Tok::Quoted(text)
            } else {
                Tok::Str(text)
            }
        } else {
            let next = chars.get(i + 1).copied();
            let (op, width): (&'static str, usize) = match (c, next) {
                ('=', Some('=')) => ("==", 2),
                ('!', Some('=')) => ("!=", 2),
                ('<', Some('=')) => ("<=", 2),
                ('>', Some('=')) => (">=", 2),
                ('&', Some('&')) => ("&&", 2),
                ('|', Some('|')) => ("||", 2),
                ('<', _) => ("<", 1),
                ('>', _) => (">", 1),
                ('!', _) => ("!", 1),
                ('+', _) => ("+", 1),
                ('-', _) => ("-", 1),
                ('*', _) => ("*", 1),
                ('/', _) => ("/", 1),
                ('%', _) => ("%", 1),
                ('(', _) => ("(", 1),
                (')', _) => (")", 1),
                (',', _) => (",", 1),
                ('=', _) => return Err(error(source, i, "'=' assigns; compare with '=='")),
                ('&', _) => return Err(error(source, i, "'&' is not an operator; use '&&'")),
                ('|', _) => return Err(error(source, i, "'|' is not an operator; use '||'")),
                _ => return Err(error(source, i, format!("unexpected character '{c}'"))),
            };
            i += width;
            match op {
                "(" => Tok::Open,
                ")" => Tok::Close,
                "," => Tok::Comma,
                op => Tok::Op(op),
            }
        };
        tokens.push(Token { tok, pos: start });
    }
    tokens.push(Token {
        tok: Tok::End,
        pos: chars.len(),
    });
    Ok(tokens)
}

struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token>,
    at: usize,
    /// Current recursion depth of the parser.
    nesting: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        token
    }

    fn fail(&self, pos: usize, message: impl Into<String>) -> ExprError {
        error(self.source, pos, message)
    }

    fn describe(tok: &Tok) -> String {
        match tok {
            Tok::Int(x) => format!("the number {x}"),
            Tok::Float(x) => format!("the number {x}"),
            Tok::Str(s) => format!("the string {s:?}"),
            Tok::Name(n) => format!("'{n}'"),
            Tok::Quoted(n) => format!("`{n}`"),
            Tok::Op(op) => format!("'{op}'"),
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::End => "the end".into(),
        }
    }

    fn node(&self, pos: usize, kind: Kind) -> Result<Node, ExprError> {
        let depth = 1 + match &kind {
            Kind::Lit(_) | Kind::Column(_) => 0,
            Kind::Neg(a) | Kind::Not(a) => a.depth,
            Kind::Binary(_, a, b) => a.depth.max(b.depth),
            Kind::Call(_, args) => args.iter().map(|a| a.depth).max().unwrap_or(0),
        };
        if depth > MAX_DEPTH {
            return Err(self.fail(
                pos,
                format!("the expression nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(Node { pos, depth, kind })
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(self.fail(
                self.peek().pos,
                format!("the expression nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let node = self.binary(0);
        self.nesting -= 1;
        node
    }

    /// Operators by precedence level, loosest first.
    const LEVELS: [&'static [(&'static str, BinOp)]; 5] = [
        &[("||", BinOp::Or)],
        &[("&&", BinOp::And)],
        &[
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<", BinOp::Lt),
            ("<=", BinOp::Le),
            (">", BinOp::Gt),
            (">=", BinOp::Ge),
        ],
        &[("+", BinOp::Add), ("-", BinOp::Sub)],
        &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
    ];

    fn binary(&mut self, level: usize) -> Result<Node, ExprError> {
        if level == Self::LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let token = self.peek().clone();
            // `x in (a, b, c)`, at the level of comparisons.
            let comparisons = Self::LEVELS[level][0].0 == "==";
            if matches!(&token.tok, Tok::Name(n) if n == "in") && comparisons {
                self.next();
                left = self.membership(left, token.pos)?;
                continue;
            }
            // `x not in (a, b)` is `!(x in (a, b))`: null when x is null, or when x is in
            // no item but the list holds a null, as SQL's NOT IN.
            if matches!(&token.tok, Tok::Name(n) if n == "not") && comparisons {
                self.next();
                left = self.not_in(left, token.pos)?;
                continue;
            }
            let Tok::Op(symbol) = token.tok else {
                return Ok(left);
            };
            let Some(&(_, op)) = Self::LEVELS[level].iter().find(|(s, _)| *s == symbol) else {
                return Ok(left);
            };
            if let Kind::Binary(previous, ..) = &left.kind {
                if op.is_comparison() && previous.is_comparison() {
                    return Err(self.fail(
                        token.pos,
                        "comparisons cannot be chained; join them with && (a < b && b < c)",
                    ));
                }
            }
            self.next();
            let right = self.binary(level + 1)?;
            left = self.node(token.pos, Kind::Binary(op, Box::new(left), Box::new(right)))?;
        }
    }

    /// `x not in (...)` after `not`, whose position is `pos`. Not inlined: `binary`
    /// recurses once per level of nesting, and its frame must stay small.
    #[inline(never)]
    fn not_in(&mut self, x: Node, pos: usize) -> Result<Node, ExprError> {
        let word = self.next();
        if !matches!(&word.tok, Tok::Name(n) if n == "in") {
            return Err(self.fail(
                word.pos,
                format!(
                    "expected 'in' after 'not' (as in x not in (1, 2)), found {}",
                    Self::describe(&word.tok)
                ),
            ));
        }
        let found = self.membership(x, word.pos)?;
        self.node(pos, Kind::Not(Box::new(found)))
    }

    /// The list of `x in (a, b, ...)` (after `in`), as `x == a || x == b || ...` grouped
    /// as a balanced tree, so that nulls work as in SQL and long lists stay shallow.
    fn membership(&mut self, x: Node, pos: usize) -> Result<Node, ExprError> {
        let open = self.next();
        if open.tok != Tok::Open {
            return Err(self.fail(
                open.pos,
                format!(
                    "expected '(' and a list after 'in', found {}",
                    Self::describe(&open.tok)
                ),
            ));
        }
        let mut items = Vec::new();
        loop {
            items.push(self.expression()?);
            let token = self.next();
            match token.tok {
                Tok::Comma => continue,
                Tok::Close => break,
                other => {
                    return Err(self.fail(
                        token.pos,
                        format!(
                            "expected ',' or ')' in the list after 'in', found {}",
                            Self::describe(&other)
                        ),
                    ))
                }
            }
        }
        let mut level: Vec<Node> = items
            .into_iter()
            .map(|item| {
                self.node(
                    pos,
                    Kind::Binary(BinOp::Eq, Box::new(x.clone()), Box::new(item)),
                )
            })
            .collect::<Result<_, _>>()?;
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut items = level.into_iter();
            while let Some(a) = items.next() {
                next.push(match items.next() {
                    Some(b) => self.node(pos, Kind::Binary(BinOp::Or, Box::new(a), Box::new(b)))?,
                    None => a,
                });
            }
            level = next;
        }
        Ok(level.pop().expect("the list has an item"))
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        let token = self.peek().clone();
        match token.tok {
            Tok::Op("-") | Tok::Op("!") => {
                self.next();
                self.enter()?;
                let operand = self.unary();
                self.nesting -= 1;
                let operand = Box::new(operand?);
                // Fold `-3` into a literal so that `-9223372036854775808`... stays simple.
                let kind = match (&token.tok, &operand.kind) {
                    (Tok::Op("-"), Kind::Lit(Lit::Int(x))) => Kind::Lit(Lit::Int(-x)),
                    (Tok::Op("-"), Kind::Lit(Lit::Float(x))) => Kind::Lit(Lit::Float(-x)),
                    (Tok::Op("-"), _) => Kind::Neg(operand),
                    _ => Kind::Not(operand),
                };
                self.node(token.pos, kind)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let token = self.next();
        let pos = token.pos;
        let kind = match token.tok {
            Tok::Int(x) => Kind::Lit(Lit::Int(x)),
            Tok::Float(x) => Kind::Lit(Lit::Float(x)),
            Tok::Str(s) => Kind::Lit(Lit::Str(s)),
            Tok::Quoted(name) => Kind::Column(name),
            Tok::Name(name) if self.peek().tok == Tok::Open => {
                self.next();
                return self.call(name, pos);
            }
            Tok::Name(name) => {
                match name.as_str() {
                    "true" => Kind::Lit(Lit::Bool(true)),
                    "false" => Kind::Lit(Lit::Bool(false)),
                    "null" => Kind::Lit(Lit::Null),
                    "and" | "or" | "not" => {
                        let symbol = match name.as_str() {
                            "and" => "&&",
                            "or" => "||",
                            _ => "!",
                        };
                        return Err(self.fail(
                        pos,
                        format!("write '{symbol}' for '{name}' (or `{name}` for a column of that name)"),
                    ));
                    }
                    _ => Kind::Column(name),
                }
            }
            Tok::Open => {
                let inner = self.expression()?;
                let close = self.next();
                if close.tok != Tok::Close {
                    return Err(self.fail(
                        close.pos,
                        format!(
                            "expected ')' to close the '(' at character {}, found {}",
                            pos + 1,
                            Self::describe(&close.tok)
                        ),
                    ));
                }
                return Ok(inner);
            }
            other => {
                return Err(self.fail(
                    pos,
                    format!("expected a value, found {}", Self::describe(&other)),
                ))
            }
        };
        self.node(pos, kind)
    }

    fn call(&mut self, name: String, pos: usize) -> Result<Node, ExprError> {
        let Some(&(_, fewest, most)) = FUNCTIONS.iter().find(|(n, ..)| *n == name) else {
            let known: Vec<&str> = FUNCTIONS.iter().map(|(n, ..)| *n).collect();
            return Err(self.fail(
                pos,
                format!(
                    "unknown function '{name}' (functions: {})",
                    known.join(", ")
                ),
            ));
        };
        let mut args = Vec::new();
        if self.peek().tok == Tok::Close {
            self.next();
        } else {
            loop {
                args.push(self.expression()?);
                let token = self.next();
                match token.tok {
                    Tok::Comma => continue,
                    Tok::Close => break,
                    other => {
                        return Err(self.fail(
                            token.pos,
                            format!(
                                "expected ',' or ')' in the call of {name}, found {}",
                                Self::describe(&other)
                            ),
                        ))
                    }
                }
            }
        }
        if args.len() < fewest || args.len() > most {
            let wanted = if fewest == most {
                plural(fewest, "argument")
            } else {
                format!("{fewest} or {most} arguments")
            };
            return Err(self.fail(pos, format!("{name} takes {wanted}, not {}", args.len())));
        }
        self.node(pos, Kind::Call(name, args))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: String,
    root: Node,
}

impl Expr {
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        let mut parser = Parser {
            source,
            tokens: tokenize(source)?,
            at: 0,
            nesting: 0,
        };
        if parser.peek().tok == Tok::End {
            return Err(error(source, 0, "the expression is empty"));
        }
        let root = parser.expression()?;
        let rest = parser.next();
        if rest.tok != Tok::End {
            return Err(error(
                source,
                rest.pos,
                format!(
                    "expected an operator or the end, found {}",
                    Parser::describe(&rest.tok)
                ),
            ));
        }
        Ok(Expr {
            source: source.to_string(),
            root,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The columns the expression reads, in order of first mention.
    pub fn columns(&self) -> Vec<String> {
        fn walk(node: &Node, out: &mut Vec<String>) {
            match &node.kind {
                Kind::Lit(_) => {}
                Kind::Column(name) => {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                Kind::Neg(a) | Kind::Not(a) => walk(a, out),
                Kind::Binary(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Kind::Call(_, args) => args.iter().for_each(|a| walk(a, out)),
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// The expression's value for every row of `frame`, as a column (a constant
    /// expression is repeated on every row).
    pub fn evaluate(&self, frame: &Frame) -> Result<ColumnData, ExprError> {
        let eval = Eval {
            frame,
            rows: frame.row_count(),
            source: &self.source,
        };
        Ok(match eval.node(&self.root)? {
            Val::Const(lit) => lit.repeat(eval.rows),
            Val::Col(data) => data.into_owned(),
        })
    }

    /// Which rows the (bool) expression is true for; null counts as false.
    pub fn evaluate_mask(&self, frame: &Frame) -> Result<Vec<bool>, ExprError> {
        let eval = Eval {
            frame,
            rows: frame.row_count(),
            source: &self.source,
        };
        let value = eval.node(&self.root)?;
        match value.dtype() {
            Some(DType::Bool) | None => Ok((0..eval.rows)
                .map(|i| value.boolean(i) == Some(true))
                .collect()),
            Some(other) => Err(error(
                &self.source,
                self.root.pos,
                format!(
                    "a condition must be true or false, but this is {}",
                    describe(&self.root, Some(other))
                ),
            )),
        }
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

// ----- evaluation ----------------------------------------------------------------------

/// An intermediate value: a constant (not yet repeated per row) or a column.
enum Val<'a> {
    Const(Lit),
    Col(Cow<'a, ColumnData>),
}

impl Val<'_> {
    fn dtype(&self) -> Option<DType> {
        match self {
            Val::Const(lit) => lit.dtype(),
            Val::Col(data) => Some(data.dtype()),
        }
    }

    fn is_const(&self) -> bool {
        matches!(self, Val::Const(_))
    }

    fn is_null(&self, i: usize) -> bool {
        match self {
            Val::Const(lit) => *lit == Lit::Null,
            Val::Col(data) => data.is_null(i),
        }
    }

    /// Int and datetime values as integers.
    fn int(&self, i: usize) -> Option<i64> {
        match self {
            Val::Const(Lit::Int(x) | Lit::Datetime(x)) => Some(*x),
            Val::Col(data) => match data.as_ref() {
                ColumnData::Int(v) | ColumnData::Datetime(v) => v.get(i),
                _ => None,
            },
            _ => None,
        }
    }

    /// Int and float values as floats.
    fn num(&self, i: usize) -> Option<f64> {
        match self {
            Val::Const(Lit::Int(x)) => Some(*x as f64),
            Val::Const(Lit::Float(x)) => Some(*x),
            Val::Col(data) => match data.as_ref() {
                ColumnData::Int(v) => v.get(i).map(|x| x as f64),
                ColumnData::Float(v) => v.get(i),
                _ => None,
            },
            _ => None,
        }
    }

    fn boolean(&self, i: usize) -> Option<bool> {
        match self {
            Val::Const(Lit::Bool(x)) => Some(*x),
            Val::Col(data) => match data.as_ref() {
                ColumnData::Bool(v) => v.get(i),
                _ => None,
            },
            _ => None,
        }
    }

    fn text(&self, i: usize) -> Option<&str> {
        match self {
            Val::Const(Lit::Str(x)) => Some(x),
            Val::Col(data) => match data.as_ref() {
                ColumnData::Str(v) => v.get(i),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value at `i` converted to `dtype` (int to float only; the caller checked the
    /// types agree).
    fn lit(&self, i: usize, dtype: DType) -> Lit {
        let value = match dtype {
            DType::Float => self.num(i).map(Lit::Float),
            DType::Int => self.int(i).map(Lit::Int),
            DType::Datetime => self.int(i).map(Lit::Datetime),
            DType::Bool => self.boolean(i).map(Lit::Bool),
            DType::Str => self.text(i).map(|s| Lit::Str(s.to_string())),
        };
        value.unwrap_or(Lit::Null)
    }
}

/// How to name an operand in an error: the column, or the type of the value.
fn describe(node: &Node, dtype: Option<DType>) -> String {
    let name = dtype.map_or("null", DType::name);
    match &node.kind {
        Kind::Column(column) => format!("column '{column}' ({name})"),
        _ if dtype == Some(DType::Int) => "an int value".to_string(),
        _ => format!("a {name} value"),
    }
}

fn is_numeric(dtype: Option<DType>) -> bool {
    matches!(dtype, Some(DType::Int | DType::Float) | None)
}

/// The type both values can be read as, for `if`, `coalesce`, `min` and `max`: the same
/// type, int with float as float, null with anything.
fn common_type(a: Option<DType>, b: Option<DType>) -> Result<Option<DType>, ()> {
    match (a, b) {
        (None, t) | (t, None) => Ok(t),
        (Some(x), Some(y)) if x == y => Ok(Some(x)),
        (Some(DType::Int | DType::Float), Some(DType::Int | DType::Float)) => {
            Ok(Some(DType::Float))
        }
        _ => Err(()),
    }
}

/// Collects per-row values into a column of `dtype` (`None`: all null, no type).
fn collect(dtype: Option<DType>, n: usize, value: impl Fn(usize) -> Lit) -> ColumnData {
    match dtype {
        Some(DType::Float) | None => ColumnData::Float(
            (0..n)
                .map(|i| match value(i) {
                    Lit::Float(x) => Some(x),
                    Lit::Int(x) => Some(x as f64),
                    _ => None,
                })
                .collect(),
        ),
        Some(DType::Int) => ColumnData::Int(
            (0..n)
                .map(|i| match value(i) {
                    Lit::Int(x) => Some(x),
                    _ => None,
                })
                .collect(),
        ),
        Some(DType::Datetime) => ColumnData::Datetime(
            (0..n)
                .map(|i| match value(i) {
                    Lit::Datetime(x) => Some(x),
                    _ => None,
                })
                .collect(),
        ),
        Some(DType::Bool) => ColumnData::Bool(
            (0..n)
                .map(|i| match value(i) {
                    Lit::Bool(x) => Some(x),
                    _ => None,
                })
                .collect(),
        ),
        Some(DType::Str) => ColumnData::Str(
            (0..n)
                .map(|i| match value(i) {
                    Lit::Str(x) => Some(x),
                    _ => None,
                })
                .collect(),
        ),
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

struct Eval<'a> {
    frame: &'a Frame,
    rows: usize,
    source: &'a str,
}

impl<'a> Eval<'a> {
    fn fail(&self, node: &Node, message: impl Into<String>) -> ExprError {
        error(self.source, node.pos, message)
    }

    /// Rows to compute: one when every operand is a constant (the result is one too).
    fn len(&self, operands: &[&Val]) -> usize {
        if operands.iter().all(|v| v.is_const()) {
            1
        } else {
            self.rows
        }
    }

    fn finish(&self, data: ColumnData, operands: &[&Val]) -> Val<'a> {
        if operands.iter().all(|v| v.is_const()) {
            Val::Const(Lit::at(&data, 0))
        } else {
            Val::Col(Cow::Owned(data))
        }
    }

    fn floats(&self, operands: &[&Val], f: impl Fn(usize) -> Option<f64>) -> Val<'a> {
        let n = self.len(operands);
        let data = ColumnData::Float((0..n).map(|i| f(i).and_then(finite)).collect());
        self.finish(data, operands)
    }

    fn ints(&self, operands: &[&Val], f: impl Fn(usize) -> Option<i64>) -> Val<'a> {
        let n = self.len(operands);
        let data = ColumnData::Int((0..n).map(f).collect());
        self.finish(data, operands)
    }

    fn bools(&self, operands: &[&Val], f: impl Fn(usize) -> Option<bool>) -> Val<'a> {
        let n = self.len(operands);
        let data = ColumnData::Bool((0..n).map(f).collect());
        self.finish(data, operands)
    }

    fn node(&self, node: &Node) -> Result<Val<'a>, ExprError> {
        match &node.kind {
            Kind::Lit(lit) => Ok(Val::Const(lit.clone())),
            Kind::Column(name) => match self.frame.column(name) {
                Ok(column) => Ok(Val::Col(Cow::Borrowed(&column.data))),
                Err(e) => Err(self.fail(node, e.to_string())),
            },
            Kind::Neg(a) => {
                let v = self.node(a)?;
                match v.dtype() {
                    Some(DType::Int) => Ok(self.ints(&[&v], |i| v.int(i)?.checked_neg())),
                    Some(DType::Float) | None => Ok(self.floats(&[&v], |i| v.num(i).map(|x| -x))),
                    other => Err(self.fail(
                        node,
                        format!("'-' needs a number, not {}", describe(a, other)),
                    )),
                }
            }
            Kind::Not(a) => {
                let v = self.node(a)?;
                match v.dtype() {
                    Some(DType::Bool) | None => Ok(self.bools(&[&v], |i| v.boolean(i).map(|b| !b))),
                    other => Err(self.fail(
                        node,
                        format!("'!' needs true or false, not {}", describe(a, other)),
                    )),
                }
            }
            Kind::Binary(op, a, b) => {
                let (va, vb) = (self.node(a)?, self.node(b)?);
                self.binary(node, *op, (a, va), (b, vb))
            }
            Kind::Call(name, args) => {
                let values = args
                    .iter()
                    .map(|a| self.node(a))
                    .collect::<Result<Vec<_>, _>>()?;
                self.call(node, name, args, values)
            }
        }
    }

    fn binary(
        &self,
        node: &Node,
        op: BinOp,
        (an, a): (&Node, Val<'a>),
        (bn, b): (&Node, Val<'a>),
    ) -> Result<Val<'a>, ExprError> {
        use DType::*;
        let (ta, tb) = (a.dtype(), b.dtype());
        let mismatch = |what: &str| {
            self.fail(
                node,
                format!(
                    "'{}' {what}, not {} and {}",
                    op.symbol(),
                    describe(an, ta),
                    describe(bn, tb)
                ),
            )
        };
        let ops = [&a, &b];
        match op {
            BinOp::And | BinOp::Or => {
                if !matches!(ta, Some(Bool) | None) || !matches!(tb, Some(Bool) | None) {
                    return Err(mismatch("needs true or false on both sides"));
                }
                let and = op == BinOp::And;
                // Three-valued logic: false && null is false, true || null is true.
                Ok(self.bools(&ops, |i| match (a.boolean(i), b.boolean(i)) {
                    (Some(x), Some(y)) => Some(if and { x && y } else { x || y }),
                    (Some(x), None) | (None, Some(x)) if x != and => Some(x),
                    _ => None,
                }))
            }
            _ if op.is_comparison() => {
                let accepts = |o: std::cmp::Ordering| match op {
                    BinOp::Eq => o.is_eq(),
                    BinOp::Ne => o.is_ne(),
                    BinOp::Lt => o.is_lt(),
                    BinOp::Le => o.is_le(),
                    BinOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                };
                match (ta, tb) {
                    (Some(Int), Some(Int)) | (Some(Datetime), Some(Datetime)) => {
                        Ok(self.bools(&ops, |i| Some(accepts(a.int(i)?.cmp(&b.int(i)?)))))
                    }
                    (Some(Int | Float), Some(Int | Float)) => {
                        Ok(self.bools(&ops, |i| Some(accepts(a.num(i)?.partial_cmp(&b.num(i)?)?))))
                    }
                    (Some(Str), Some(Str)) => {
                        Ok(self.bools(&ops, |i| Some(accepts(a.text(i)?.cmp(b.text(i)?)))))
                    }
                    (Some(Bool), Some(Bool)) => {
                        Ok(self.bools(&ops, |i| Some(accepts(a.boolean(i)?.cmp(&b.boolean(i)?)))))
                    }
                    (Some(Datetime), Some(Str)) | (Some(Str), Some(Datetime)) => {
                        // `t >= '2024-01-31'`: a constant string reads as a date.
                        let (text, text_node) = if tb == Some(Str) { (&b, bn) } else { (&a, an) };
                        let Val::Const(Lit::Str(s)) = text else {
                            return Err(mismatch(
                                "compares datetimes with datetimes or date strings",
                            ));
                        };
                        let Some(ms) = parse_datetime(s) else {
                            return Err(self.fail(
                                text_node,
                                format!("{s:?} is not an ISO-8601 date or datetime (such as 2024-01-31 or 2024-01-31T09:30)"),
                            ));
                        };
                        let date = Val::Const(Lit::Datetime(ms));
                        let (a, b) = if tb == Some(Str) {
                            (a, date)
                        } else {
                            (date, b)
                        };
                        let ops = [&a, &b];
                        Ok(self.bools(&ops, |i| Some(accepts(a.int(i)?.cmp(&b.int(i)?)))))
                    }
                    (None, _) | (_, None) => Ok(Val::Const(Lit::Null).with_len(&ops, self)),
                    _ => Err(mismatch("compares values of the same kind")),
                }
            }
            BinOp::Add if ta == Some(Str) || tb == Some(Str) => match (ta, tb) {
                (Some(Str) | None, Some(Str) | None) => {
                    let n = self.len(&ops);
                    let data = ColumnData::Str(
                        (0..n)
                            .map(|i| Some(format!("{}{}", a.text(i)?, b.text(i)?)))
                            .collect(),
                    );
                    Ok(self.finish(data, &ops))
                }
                _ => Err(mismatch("joins strings with strings (convert with str(x))")),
            },
            BinOp::Add | BinOp::Sub if ta == Some(Datetime) || tb == Some(Datetime) => {
                match (op, ta, tb) {
                    (BinOp::Sub, Some(Datetime), Some(Datetime)) => {
                        Ok(self.ints(&ops, |i| a.int(i)?.checked_sub(b.int(i)?)))
                    }
                    (_, Some(Datetime), Some(Int) | None) => {
                        let sub = op == BinOp::Sub;
                        let n = self.len(&ops);
                        let data = ColumnData::Datetime(
                            (0..n)
                                .map(|i| {
                                    let (x, y) = (a.int(i)?, b.int(i)?);
                                    if sub {
                                        x.checked_sub(y)
                                    } else {
                                        x.checked_add(y)
                                    }
                                })
                                .collect(),
                        );
                        Ok(self.finish(data, &ops))
                    }
                    (BinOp::Add, Some(Int) | None, Some(Datetime)) => {
                        let n = self.len(&ops);
                        let data = ColumnData::Datetime(
                            (0..n)
                                .map(|i| a.int(i)?.checked_add(b.int(i)?))
                                .collect(),
                        );
                        Ok(self.finish(data, &ops))
                    }
                    _ => Err(mismatch(
                        "works on datetimes as datetime - datetime (milliseconds) or datetime ± int milliseconds",
                    )),
                }
            }
            _ => {
                if !is_numeric(ta) || !is_numeric(tb) {
                    return Err(mismatch("needs numbers"));
                }
                let ints = matches!(ta, Some(Int) | None)
                    && matches!(tb, Some(Int) | None)
                    && (ta, tb) != (None, None)
                    && op != BinOp::Div;
                if ints {
                    let f: fn(i64, i64) -> Option<i64> = match op {
                        BinOp::Add => i64::checked_add,
                        BinOp::Sub => i64::checked_sub,
                        BinOp::Mul => i64::checked_mul,
                        _ => i64::checked_rem,
                    };
                    Ok(self.ints(&ops, |i| f(a.int(i)?, b.int(i)?)))
                } else {
                    let f: fn(f64, f64) -> f64 = match op {
                        BinOp::Add => |x, y| x + y,
                        BinOp::Sub => |x, y| x - y,
                        BinOp::Mul => |x, y| x * y,
                        BinOp::Div => |x, y| x / y,
                        _ => |x, y| x % y,
                    };
                    Ok(self.floats(&ops, |i| Some(f(a.num(i)?, b.num(i)?))))
                }
            }
        }
    }

    fn call(
        &self,
        node: &Node,
        name: &str,
        nodes: &[Node],
        args: Vec<Val<'a>>,
    ) -> Result<Val<'a>, ExprError> {
        use DType::*;
        let types: Vec<Option<DType>> = args.iter().map(Val::dtype).collect();
        let wrong = |k: usize, wanted: &str| {
            self.fail(
                &nodes[k],
                format!(
                    "{name} needs {wanted}, not {}",
                    describe(&nodes[k], types[k])
                ),
            )
        };
        let ops: Vec<&Val> = args.iter().collect();
        let x = &args[0];
        match name {
            "is_null" => {
                let n = self.len(&ops);
                let data = ColumnData::Bool((0..n).map(|i| Some(x.is_null(i))).collect());
                Ok(self.finish(data, &ops))
            }
            "coalesce" | "if" | "min" | "max" => {
                let (first, second) = if name == "if" { (1, 2) } else { (0, 1) };
                if name == "if" && !matches!(types[0], Some(Bool) | None) {
                    return Err(wrong(0, "a condition (true or false)"));
                }
                let dtype = common_type(types[first], types[second]).map_err(|()| {
                    self.fail(
                        node,
                        format!(
                            "{name} needs values of one type, not {} and {}",
                            describe(&nodes[first], types[first]),
                            describe(&nodes[second], types[second])
                        ),
                    )
                })?;
                let (a, b) = (&args[first], &args[second]);
                let n = self.len(&ops);
                let data = match name {
                    "coalesce" => collect(dtype, n, |i| {
                        if a.is_null(i) {
                            b.lit(i, dtype.unwrap_or(Float))
                        } else {
                            a.lit(i, dtype.unwrap_or(Float))
                        }
                    }),
                    "if" => collect(dtype, n, |i| {
                        let pick = if x.boolean(i) == Some(true) { a } else { b };
                        pick.lit(i, dtype.unwrap_or(Float))
                    }),
                    _ => {
                        if !is_numeric(dtype) {
                            return Err(wrong(0, "numbers"));
                        }
                        let max = name == "max";
                        collect(dtype, n, |i| {
                            let d = dtype.unwrap_or(Float);
                            let (la, lb) = (a.lit(i, d), b.lit(i, d));
                            let choose_b = match (&la, &lb) {
                                (Lit::Int(p), Lit::Int(q)) => (q > p) == max,
                                (Lit::Float(p), Lit::Float(q)) => (q > p) == max,
                                _ => return Lit::Null,
                            };
                            if choose_b {
                                lb
                            } else {
                                la
                            }
                        })
                    }
                };
                Ok(self.finish(data, &ops))
            }
            "lower" | "upper" | "trim" | "len" => {
                if !matches!(types[0], Some(Str) | None) {
                    return Err(wrong(0, "a string"));
                }
                let n = self.len(&ops);
                let data = match name {
                    "len" => ColumnData::Int(
                        (0..n)
                            .map(|i| Some(x.text(i)?.chars().count() as i64))
                            .collect(),
                    ),
                    _ => ColumnData::Str(
                        (0..n)
                            .map(|i| {
                                let s = x.text(i)?;
                                Some(match name {
                                    "lower" => s.to_lowercase(),
                                    "upper" => s.to_uppercase(),
                                    _ => s.trim().to_string(),
                                })
                            })
                            .collect(),
                    ),
                };
                Ok(self.finish(data, &ops))
            }
            "contains" | "starts_with" | "ends_with" => {
                if let Some(k) = (0..2).find(|&k| !matches!(types[k], Some(Str) | None)) {
                    return Err(wrong(k, "strings"));
                }
                let y = &args[1];
                let f: fn(&str, &str) -> bool = match name {
                    "contains" => |s, t| s.contains(t),
                    "starts_with" => |s, t| s.starts_with(t),
                    _ => |s, t| s.ends_with(t),
                };
                Ok(self.bools(&ops, |i| Some(f(x.text(i)?, y.text(i)?))))
            }
            "abs" | "floor" | "ceil" | "round" => {
                if !is_numeric(types[0]) {
                    return Err(wrong(0, "a number"));
                }
                let digits = match args.get(1) {
                    None => None,
                    Some(Val::Const(Lit::Int(d))) if (-15..=15).contains(d) => Some(*d as i32),
                    Some(_) => {
                        return Err(self.fail(
                            &nodes[1],
                            "round's digits must be a whole number from -15 to 15",
                        ))
                    }
                };
                if types[0] == Some(Int) && (digits.is_none_or(|d| d >= 0)) {
                    return Ok(match name {
                        "abs" => self.ints(&ops, |i| x.int(i)?.checked_abs()),
                        _ => self.ints(&ops, |i| x.int(i)),
                    });
                }
                let scale = 10f64.powi(digits.unwrap_or(0));
                Ok(self.floats(&ops, |i| {
                    let v = x.num(i)?;
                    Some(match name {
                        "abs" => v.abs(),
                        "floor" => v.floor(),
                        "ceil" => v.ceil(),
                        // Half away from zero, as Rust's `round` (and Excel).
                        _ if digits.is_some() => (v * scale).round() / scale,
                        _ => v.round(),
                    })
                }))
            }
            "log" | "exp" | "sqrt" | "pow" => {
                if let Some(k) = (0..args.len()).find(|&k| !is_numeric(types[k])) {
                    return Err(wrong(k, "numbers"));
                }
                // libm, not std: the same bits natively and in wasm32, so a model's
                // recipe gives the server exactly the notebook's features.
                Ok(match name {
                    "log" => self.floats(&ops, |i| {
                        let v = x.num(i)?;
                        (v > 0.0).then(|| libm::log(v))
                    }),
                    "exp" => self.floats(&ops, |i| Some(libm::exp(x.num(i)?))),
                    "sqrt" => self.floats(&ops, |i| {
                        let v = x.num(i)?;
                        (v >= 0.0).then(|| v.sqrt())
                    }),
                    _ => {
                        let y = &args[1];
                        self.floats(&ops, |i| Some(libm::pow(x.num(i)?, y.num(i)?)))
                    }
                })
            }
            "year" | "month" | "day" | "weekday" | "hour" => {
                if !matches!(types[0], Some(Datetime) | None) {
                    return Err(wrong(0, "a datetime"));
                }
                Ok(self.ints(&ops, |i| date_part(name, x.int(i)?)))
            }
            "int" | "float" | "str" | "bool" | "datetime" => {
                let to = match name {
                    "int" => Int,
                    "float" => Float,
                    "str" => Str,
                    "bool" => Bool,
                    _ => Datetime,
                };
                match x {
                    Val::Const(lit) => {
                        let data = cast_column(&lit.repeat(1), to).data;
                        Ok(Val::Const(Lit::at(&data, 0)))
                    }
                    Val::Col(data) => Ok(Val::Col(Cow::Owned(cast_column(data, to).data))),
                }
            }
            other => Err(self.fail(node, format!("unknown function '{other}'"))),
        }
    }
}

impl<'a> Val<'a> {
    /// A null of no type, as long as the operands (a constant when they all are).
    fn with_len(self, operands: &[&Val], eval: &Eval<'a>) -> Val<'a> {
        if operands.iter().all(|v| v.is_const()) {
            self
        } else {
            Val::Col(Cow::Owned(ColumnData::Bool(Values::nulls(eval.rows))))
        }
    }
}

/// A date part of a datetime (UTC): weekday counts from Monday = 0, as pandas.
fn date_part(part: &str, ms: i64) -> Option<i64> {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms)?.naive_utc();
    Some(match part {
        "year" => i64::from(t.year()),
        "month" => i64::from(t.month()),
        "day" => i64::from(t.day()),
        "weekday" => i64::from(t.weekday().num_days_from_monday()),
        _ => i64::from(t.hour()),
    })
}

/// A column converted to another type, with how many non-null values could not be
/// converted (and became null) and the first of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    pub data: ColumnData,
    pub failed: usize,
    pub first_failure: Option<(usize, String)>,
}

/// Converts `data` to `to`. Numbers to int drop their fraction (as pandas' `astype`);
/// strings are read (trimmed) as the type's text form (`1`, `2.5`, `true`/`false`/`yes`/
/// `no`/`1`/`0` in any case, ISO-8601 dates); numbers to bool are `x != 0`; datetimes to
/// and from numbers are milliseconds since the epoch. Values that cannot be converted
/// become null and are counted.
pub fn cast_column(data: &ColumnData, to: DType) -> Cast {
    let n = data.len();
    if data.dtype() == to {
        return Cast {
            data: data.clone(),
            failed: 0,
            first_failure: None,
        };
    }
    let out = match to {
        DType::Int => ColumnData::Int(
            (0..n)
                .map(|i| {
                    if data.is_null(i) {
                        return None;
                    }
                    let v = match data {
                        ColumnData::Float(v) => v
                            .get(i)
                            .filter(|x| {
                                x.is_finite() && x.trunc() >= -9.2e18 && x.trunc() <= 9.2e18
                            })
                            .map(|x| x.trunc() as i64),
                        ColumnData::Bool(v) => v.get(i).map(i64::from),
                        ColumnData::Datetime(v) => v.get(i),
                        ColumnData::Str(v) => v.get(i).and_then(|s| {
                            let s = s.trim();
                            s.parse::<i64>().ok()
                        }),
                        ColumnData::Int(v) => v.get(i),
                    };
                    v
                })
                .collect(),
        ),
        DType::Float => ColumnData::Float(
            (0..n)
                .map(|i| {
                    if data.is_null(i) {
                        return None;
                    }
                    let v = match data {
                        ColumnData::Datetime(v) => v.get(i).map(|x| x as f64),
                        ColumnData::Str(v) => v
                            .get(i)
                            .and_then(|s| s.trim().parse::<f64>().ok())
                            .filter(|x| x.is_finite()),
                        other => other.f64_at(i),
                    };
                    v
                })
                .collect(),
        ),
        DType::Bool => ColumnData::Bool(
            (0..n)
                .map(|i| {
                    if data.is_null(i) {
                        return None;
                    }
                    let v = match data {
                        ColumnData::Str(v) => {
                            v.get(i)
                                .and_then(|s| match s.trim().to_ascii_lowercase().as_str() {
                                    "true" | "yes" | "1" => Some(true),
                                    "false" | "no" | "0" => Some(false),
                                    _ => None,
                                })
                        }
                        ColumnData::Datetime(_) => None,
                        other => other.f64_at(i).filter(|x| !x.is_nan()).map(|x| x != 0.0),
                    };
                    v
                })
                .collect(),
        ),
        DType::Str => ColumnData::Str(
            (0..n)
                .map(|i| match data {
                    // Shortest text that reads back as the same float, not display's
                    // four decimals: a cast must not lose information.
                    ColumnData::Float(v) => v.get(i).map(|x| format!("{x:?}")),
                    other => other.display_at(i),
                })
                .collect(),
        ),
        DType::Datetime => ColumnData::Datetime(
            (0..n)
                .map(|i| {
                    if data.is_null(i) {
                        return None;
                    }
                    let v = match data {
                        ColumnData::Int(v) => v.get(i),
                        ColumnData::Float(v) => v
                            .get(i)
                            .filter(|x| x.is_finite() && x.abs() <= 9.2e18)
                            .map(|x| x.trunc() as i64),
                        ColumnData::Str(v) => v.get(i).and_then(|s| parse_datetime(s.trim())),
                        _ => None,
                    };
                    v
                })
                .collect(),
        ),
    };
    let failures: Vec<usize> = (0..n)
        .filter(|&i| !data.is_null(i) && out.is_null(i))
        .collect();
    Cast {
        failed: failures.len(),
        first_failure: failures
            .first()
            .map(|&i| (i, data.display_at(i).unwrap_or_default())),
        data: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Column;

    fn frame() -> Frame {
        Frame::new(vec![
            Column {
                name: "a".into(),
                data: ColumnData::Int(vec![Some(1), Some(2), None, Some(4)].into()),
            },
            Column {
                name: "x".into(),
                data: ColumnData::Float(vec![Some(0.5), Some(-1.0), Some(2.0), None].into()),
            },
            Column {
                name: "s".into(),
                data: ColumnData::Str(
                    vec![Some("Oslo"), Some("Bergen"), None, Some("oslo")].into(),
                ),
            },
            Column {
                name: "b".into(),
                data: ColumnData::Bool(vec![Some(true), None, Some(false), Some(true)].into()),
            },
            Column {
                name: "odd name".into(),
                data: ColumnData::Int(vec![Some(7); 4].into()),
            },
        ])
        .unwrap()
    }

    fn eval(source: &str) -> Result<ColumnData, String> {
        Expr::parse(source)
            .and_then(|e| e.evaluate(&frame()))
            .map_err(|e| e.to_string())
    }

    fn shown(source: &str) -> String {
        match eval(source) {
            Ok(data) => {
                let values: Vec<String> = (0..data.len())
                    .map(|i| data.display_at(i).unwrap_or_else(|| "null".into()))
                    .collect();
                format!("{}: {}", data.dtype(), values.join(" "))
            }
            Err(e) => e,
        }
    }

    #[test]
    fn arithmetic_and_types() {
        assert_eq!(shown("a + 1"), "int: 2 3 null 5");
        assert_eq!(shown("a * 2 - -3"), "int: 5 7 null 11");
        assert_eq!(shown("a / 2"), "float: 0.5 1.0 null 2.0");
        assert_eq!(shown("a % 3"), "int: 1 2 null 1");
        assert_eq!(shown("a + x"), "float: 1.5 1.0 null null");
        assert_eq!(shown("1 + 2 * 3"), "int: 7 7 7 7");
        assert_eq!(shown("(1 + 2) * 3"), "int: 9 9 9 9");
        assert_eq!(shown("x / 0"), "float: null null null null");
        assert_eq!(shown("a % 0"), "int: null null null null");
        assert_eq!(shown("9223372036854775807 + a"), "int: null null null null");
        assert_eq!(shown("`odd name` - 1_000"), "int: -993 -993 -993 -993");
        assert_eq!(shown("1.5e1 + .5"), "float: 15.5 15.5 15.5 15.5");
    }

    #[test]
    fn comparisons_and_logic_follow_sql_nulls() {
        assert_eq!(shown("a > 1"), "bool: false true null true");
        assert_eq!(shown("a >= x"), "bool: true true null null");
        assert_eq!(shown("s == 'Oslo'"), "bool: true false null false");
        assert_eq!(shown("s < \"C\""), "bool: false true null false");
        assert_eq!(shown("b && a > 1"), "bool: false null false true");
        assert_eq!(shown("b || a > 1"), "bool: true true null true");
        assert_eq!(shown("!b"), "bool: false null true false");
        assert_eq!(shown("a == null"), "bool: null null null null");
        assert_eq!(
            shown("is_null(a) || is_null(s)"),
            "bool: false false true false"
        );
        assert_eq!(
            shown("s in ('Oslo', 'Lima')"),
            "bool: true false null false"
        );
        assert_eq!(
            shown("a in (4, 1 + 1) && true"),
            "bool: false true null true"
        );
        assert_eq!(shown("a in (4, null)"), "bool: null null null true");
        assert_eq!(
            shown("!(lower(s) in ('oslo'))"),
            "bool: false true null false"
        );
    }

    #[test]
    fn not_in_is_the_negation_of_in_with_sql_nulls() {
        assert_eq!(
            shown("s not in ('Oslo', 'Lima')"),
            "bool: false true null true"
        );
        assert_eq!(
            shown("lower(s) not in ('oslo')"),
            "bool: false true null false"
        );
        assert_eq!(shown("a not in (4, 1 + 1)"), "bool: true false null false");
        // No item matches but one is null: unknown, so null (as SQL's NOT IN).
        assert_eq!(shown("a not in (4, null)"), "bool: null null null false");
        // Binds as a comparison: looser than +, tighter than &&.
        assert_eq!(
            shown("a + 1 not in (2, 3) && b"),
            "bool: false false false true"
        );
        assert_eq!(
            shown("`odd name` not in (7)"),
            "bool: false false false false"
        );
        let cases = [
            ("a not 3", "in `a not 3` at character 7: expected 'in' after 'not' (as in x not in (1, 2)), found the number 3"),
            ("a not", "in `a not` at character 6: expected 'in' after 'not' (as in x not in (1, 2)), found the end"),
            ("a not in 3", "in `a not in 3` at character 10: expected '(' and a list after 'in', found the number 3"),
            ("s not in (1)", "in `s not in (1)` at character 7: '==' compares values of the same kind, not column 's' (str) and an int value"),
            ("not a in (1)", "in `not a in (1)` at character 1: write '!' for 'not' (or `not` for a column of that name)"),
        ];
        for (source, expected) in cases {
            assert_eq!(eval(source).unwrap_err(), expected, "{source}");
        }
        let mask = Expr::parse("a not in (1, 4)")
            .unwrap()
            .evaluate_mask(&frame())
            .unwrap();
        assert_eq!(mask, [false, true, false, false]);
    }

    #[test]
    fn functions() {
        assert_eq!(shown("lower(s) == 'oslo'"), "bool: true false null true");
        assert_eq!(shown("upper(s) + '!'"), "str: OSLO! BERGEN! null OSLO!");
        assert_eq!(shown("len(s)"), "int: 4 6 null 4");
        assert_eq!(shown("contains(s, 'e')"), "bool: false true null false");
        assert_eq!(
            shown("starts_with(lower(s), 'o')"),
            "bool: true false null true"
        );
        assert_eq!(shown("abs(x)"), "float: 0.5 1.0 2.0 null");
        assert_eq!(shown("sqrt(x)"), "float: 0.7071 null 1.4142 null");
        assert_eq!(shown("log(x)"), "float: -0.6931 null 0.6931 null");
        assert_eq!(shown("round(x * 3.33, 1)"), "float: 1.7 -3.3 6.7 null");
        assert_eq!(shown("round(2.5)"), "float: 3.0 3.0 3.0 3.0");
        assert_eq!(shown("max(a, x)"), "float: 1.0 2.0 null null");
        assert_eq!(shown("min(a, 2)"), "int: 1 2 null 2");
        assert_eq!(
            shown("if(a > 1, 'big', 'small')"),
            "str: small big small big"
        );
        assert_eq!(shown("if(b, a, x)"), "float: 1.0 -1.0 2.0 4.0");
        assert_eq!(shown("coalesce(a, 0)"), "int: 1 2 0 4");
        assert_eq!(
            shown("str(a) + '/' + str(x)"),
            "str: 1/0.5 2/-1.0 null null"
        );
        assert_eq!(shown("int(x)"), "int: 0 -1 2 null");
        assert_eq!(shown("bool(a - 1)"), "bool: false true null true");
        assert_eq!(shown("float('2.5') * 2"), "float: 5.0 5.0 5.0 5.0");
    }

    #[test]
    fn dates() {
        let f = Frame::new(vec![Column {
            name: "t".into(),
            data: ColumnData::Datetime(
                vec![
                    parse_datetime("2024-02-29T13:45:00"),
                    None,
                    parse_datetime("1969-12-31T23:00"),
                ]
                .into(),
            ),
        }])
        .unwrap();
        let run = |s: &str| {
            let data = Expr::parse(s).unwrap().evaluate(&f).unwrap();
            (0..data.len())
                .map(|i| data.display_at(i).unwrap_or_else(|| "null".into()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(run("year(t)"), "2024 null 1969");
        assert_eq!(run("month(t) * 100 + day(t)"), "229 null 1231");
        assert_eq!(run("weekday(t)"), "3 null 2");
        assert_eq!(run("hour(t)"), "13 null 23");
        assert_eq!(run("t >= datetime('2000-01-01')"), "true null false");
        assert_eq!(run("'2000-01-01' > t"), "false null true");
        assert_eq!(
            run("(t - datetime('1969-12-31')) / 3600000"),
            "474805.75 null 23.0"
        );
        assert_eq!(
            run("t + 86400000"),
            "2024-03-01T13:45:00 null 1970-01-01T23:00:00"
        );
    }

    #[test]
    fn errors_name_the_position_and_the_column() {
        let cases = [
            ("a > ", "in `a > ` at character 5: expected a value, found the end"),
            ("age > 3", "in `age > 3` at character 1: no column named 'age' (columns: a, x, s, b, odd name)"),
            ("a + s", "in `a + s` at character 3: '+' joins strings with strings (convert with str(x)), not column 'a' (int) and column 's' (str)"),
            ("s * 2", "in `s * 2` at character 3: '*' needs numbers, not column 's' (str) and an int value"),
            ("a < x < 3", "in `a < x < 3` at character 7: comparisons cannot be chained; join them with && (a < b && b < c)"),
            ("a = 1", "in `a = 1` at character 3: '=' assigns; compare with '=='"),
            ("lower(a)", "in `lower(a)` at character 7: lower needs a string, not column 'a' (int)"),
            ("nope(a)", "in `nope(a)` at character 1: unknown function 'nope' (functions: is_null, coalesce, if, lower, upper, trim, len, contains, starts_with, ends_with, abs, log, exp, sqrt, pow, round, floor, ceil, min, max, year, month, day, weekday, hour, int, float, str, bool, datetime)"),
            ("round(x, a)", "in `round(x, a)` at character 10: round's digits must be a whole number from -15 to 15"),
            ("'open", "in `'open` at character 1: unterminated string"),
            ("(a + 1", "in `(a + 1` at character 7: expected ')' to close the '(' at character 1, found the end"),
            ("a b", "in `a b` at character 3: expected an operator or the end, found 'b'"),
            ("a and b", "in `a and b` at character 3: expected an operator or the end, found 'and'"),
            ("a in 3", "in `a in 3` at character 6: expected '(' and a list after 'in', found the number 3"),
            ("a in ()", "in `a in ()` at character 7: expected a value, found ')'"),
            ("s in (1, 2)", "in `s in (1, 2)` at character 3: '==' compares values of the same kind, not column 's' (str) and an int value"),
            ("if(a, 1, 2)", "in `if(a, 1, 2)` at character 4: if needs a condition (true or false), not column 'a' (int)"),
            ("if(b, 1, 'x')", "in `if(b, 1, 'x')` at character 1: if needs values of one type, not an int value and a str value"),
            ("", "in `` at character 1: the expression is empty"),
            ("99999999999999999999", "in `99999999999999999999` at character 1: 99999999999999999999 is too large for an int; write 99999999999999999999.0 for a float"),
        ];
        for (source, expected) in cases {
            assert_eq!(eval(source).unwrap_err(), expected, "{source}");
        }
        let mask = Expr::parse("a + 1").unwrap().evaluate_mask(&frame());
        assert_eq!(
            mask.unwrap_err().to_string(),
            "in `a + 1` at character 3: a condition must be true or false, but this is an int value"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "(".repeat(10_000) + "1" + ")".repeat(10_000).as_str();
        assert!(eval(&deep).unwrap_err().contains("nests more than 100"));
        let list = (0..5000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(
            shown(&format!("a in ({list})")),
            "bool: true true null true"
        );
        let long = vec!["a"; 10_000].join(" + ");
        assert!(eval(&long).unwrap_err().contains("nests more than 100"));
        assert!(eval(&vec!["a"; 90].join(" + ")).is_ok());
        let negations = "!".repeat(10_000) + "b";
        assert!(eval(&negations)
            .unwrap_err()
            .contains("nests more than 100"));
    }

    #[test]
    fn mask_and_columns() {
        let e = Expr::parse("a > 1 && contains(s, 'l') || `odd name` < a").unwrap();
        assert_eq!(e.columns(), ["a", "s", "odd name"]);
        let mask = Expr::parse("b").unwrap().evaluate_mask(&frame()).unwrap();
        assert_eq!(mask, [true, false, false, true]);
    }
}
