//! Typed columns built value by value as a file streams in, each column's type inferred
//! from the values seen so far and widened when a value does not fit.
//!
//! A column starts untyped (only nulls). Its first value picks the narrowest type that
//! holds it: `int`, then `float`, `bool` (`true`/`false` in any case), `datetime`
//! (ISO-8601), else `str`. Later values keep the type when they fit; an int column meeting
//! a float becomes a float column; any other misfit turns the column into `str`, with the
//! values already read written back as text (in their canonical form: `007` comes back as
//! `7`, so a column meant as text is best loaded with a `str` type override). A column
//! without any value is `float`, as in pandas.
//!
//! With a type override the column has that type from the start, and values that do not
//! parse as it become nulls; both cases are reported as [`Diagnostic`]s.

use crate::column::{StringsBuilder, Values};
use crate::datetime::{format_datetime, parse_datetime};
use crate::frame::{Column, ColumnData, DType};

use super::Diagnostic;

/// The default null markers, compared ignoring ASCII case.
pub const DEFAULT_NULLS: [&str; 5] = ["", "NA", "N/A", "null", "NaN"];

/// Which field texts are nulls.
#[derive(Debug, Clone)]
pub(crate) struct Nulls {
    /// Non-empty markers.
    markers: Vec<Vec<u8>>,
    /// Whether the empty text is a null.
    empty: bool,
    max_len: usize,
    /// The first bytes of markers, in both cases: most values are rejected by this alone.
    first: [bool; 256],
}

impl Nulls {
    pub(crate) fn new<S: AsRef<str>>(markers: &[S]) -> Nulls {
        let empty = markers.iter().any(|m| m.as_ref().is_empty());
        let markers: Vec<Vec<u8>> = markers
            .iter()
            .map(|m| m.as_ref().as_bytes().to_vec())
            .filter(|m| !m.is_empty())
            .collect();
        let mut first = [false; 256];
        for marker in &markers {
            first[usize::from(marker[0].to_ascii_lowercase())] = true;
            first[usize::from(marker[0].to_ascii_uppercase())] = true;
        }
        Nulls {
            empty,
            max_len: markers.iter().map(Vec::len).max().unwrap_or(0),
            markers,
            first,
        }
    }

    #[inline(always)]
    pub(crate) fn is_null(&self, text: &[u8]) -> bool {
        match text.first() {
            None => self.empty,
            Some(&b) if !self.first[usize::from(b)] => false,
            Some(_) => {
                text.len() <= self.max_len
                    && self.markers.iter().any(|m| m.eq_ignore_ascii_case(text))
            }
        }
    }
}

/// An integer as CSV writes it: optional sign, then digits only.
#[inline]
pub(crate) fn parse_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 18 {
        // 18 digits cannot overflow an i64: no checks in the loop.
        let mut value: i64 = 0;
        for &d in digits {
            let d = d.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            value = value * 10 + i64::from(d);
        }
        return Some(if negative { -value } else { value });
    }
    let mut value: i64 = 0;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(i64::from(d))?
        } else {
            value.checked_add(i64::from(d))?
        };
    }
    Some(value)
}

/// A float as CSV writes it: digits with optional sign, point and exponent. The float
/// parser alone would also take `inf`, `nan` and `infinity`, which are more likely words.
#[inline]
pub(crate) fn parse_float(text: &[u8]) -> Option<f64> {
    // Fast path: up to 15 digits with an optional point and no exponent. The digits are
    // then an exact integer below 2^53 and the divisor an exact power of ten, so the one
    // division rounds correctly: the same f64 as the full parser gives.
    let (negative, body) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.len() <= 16 {
        let mut mantissa: u64 = 0;
        let mut digits = 0;
        let mut decimals = 0;
        let mut point = false;
        let mut simple = true;
        for &b in body {
            let d = b.wrapping_sub(b'0');
            if d <= 9 {
                mantissa = mantissa * 10 + u64::from(d);
                digits += 1;
                decimals += usize::from(point);
            } else if b == b'.' && !point {
                point = true;
            } else {
                simple = false;
                break;
            }
        }
        if simple && digits > 0 && digits <= 15 {
            let x = mantissa as f64 / POW10[decimals];
            return Some(if negative { -x } else { x });
        }
    }
    parse_float_slow(text)
}

const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

#[cold]
fn parse_float_slow(text: &[u8]) -> Option<f64> {
    let mut digit = false;
    for &b in text {
        match b {
            b'0'..=b'9' => digit = true,
            b'+' | b'-' | b'.' | b'e' | b'E' => {}
            _ => return None,
        }
    }
    if !digit {
        return None;
    }
    fast_float2::parse(text).ok()
}

/// `true` or `false` in any case.
#[inline]
pub(crate) fn parse_bool(text: &[u8]) -> Option<bool> {
    // Setting bit 0x20 lowercases an ASCII letter, and no other byte becomes a lowercase
    // letter that way: four bytes compare ignoring case in one go.
    let head = |text: &[u8]| {
        u32::from_le_bytes(
            text.get(..4)
                .and_then(|w| w.try_into().ok())
                .unwrap_or_default(),
        ) | 0x2020_2020
    };
    match text.len() {
        4 if head(text) == u32::from_le_bytes(*b"true") => Some(true),
        5 if head(text) == u32::from_le_bytes(*b"fals") && text[4] | 0x20 == b'e' => Some(false),
        _ => None,
    }
}

/// A bool as an override reads it: also `1`/`0` and `yes`/`no`.
fn parse_bool_loose(text: &[u8]) -> Option<bool> {
    parse_bool(text).or_else(|| {
        if text == b"1" || text.eq_ignore_ascii_case(b"yes") {
            Some(true)
        } else if text == b"0" || text.eq_ignore_ascii_case(b"no") {
            Some(false)
        } else {
            None
        }
    })
}

fn parse_datetime_bytes(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok().and_then(parse_datetime)
}

/// One value, typed by the file format (JSON, Parquet) or by inference (CSV).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(i64),
    /// Text known to be a string (a JSON string, a Parquet UTF-8 value): no number
    /// inference, only datetimes are recognised.
    Str(&'a str),
}

impl Value<'_> {
    fn dtype(&self) -> Option<DType> {
        Some(match self {
            Value::Null => return None,
            Value::Int(_) => DType::Int,
            Value::Float(_) => DType::Float,
            Value::Bool(_) => DType::Bool,
            Value::Datetime(_) => DType::Datetime,
            Value::Str(_) => DType::Str,
        })
    }

    fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(x) => x.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Bool(x) => x.to_string(),
            Value::Datetime(x) => format_datetime(*x),
            Value::Str(x) => x.to_string(),
        }
    }
}

/// Classifies CSV text (not a null) as the narrowest type that holds it.
#[inline]
fn classify(text: &str) -> Value<'_> {
    let bytes = text.as_bytes();
    if let Some(x) = parse_int(bytes) {
        return Value::Int(x);
    }
    if let Some(x) = parse_float(bytes) {
        return Value::Float(x);
    }
    if let Some(x) = parse_bool(bytes) {
        return Value::Bool(x);
    }
    if let Some(x) = parse_datetime(text) {
        return Value::Datetime(x);
    }
    Value::Str(text)
}

/// Whether CSV text parses as `dtype` (for counting misfits of a column turned `str`).
fn fits(text: &[u8], dtype: DType) -> bool {
    match dtype {
        DType::Int => parse_int(text).is_some(),
        DType::Float => parse_float(text).is_some(),
        DType::Bool => parse_bool(text).is_some(),
        DType::Datetime => parse_datetime_bytes(text).is_some(),
        DType::Str => true,
    }
}

/// The values of one column so far.
#[derive(Debug)]
enum Data {
    /// No value yet: this many nulls.
    Untyped(usize),
    Int(Values<i64>),
    Float(Values<f64>),
    Bool(Values<bool>),
    Datetime(Values<i64>),
    Str(StringsBuilder),
}

impl Data {
    fn empty(dtype: DType) -> Data {
        match dtype {
            DType::Int => Data::Int(Values::new()),
            DType::Float => Data::Float(Values::new()),
            DType::Bool => Data::Bool(Values::new()),
            DType::Datetime => Data::Datetime(Values::new()),
            DType::Str => Data::Str(StringsBuilder::new()),
        }
    }

    fn dtype(&self) -> Option<DType> {
        Some(match self {
            Data::Untyped(_) => return None,
            Data::Int(_) => DType::Int,
            Data::Float(_) => DType::Float,
            Data::Bool(_) => DType::Bool,
            Data::Datetime(_) => DType::Datetime,
            Data::Str(_) => DType::Str,
        })
    }

    fn len(&self) -> usize {
        match self {
            Data::Untyped(n) => *n,
            Data::Int(v) | Data::Datetime(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    fn non_null(&self) -> usize {
        match self {
            Data::Untyped(_) => 0,
            Data::Int(v) | Data::Datetime(v) => v.len() - v.null_count(),
            Data::Float(v) => v.len() - v.null_count(),
            Data::Bool(v) => v.len() - v.null_count(),
            Data::Str(v) => (0..v.len()).filter(|&i| v.get(i).is_some()).count(),
        }
    }

    /// The values as text, for a column that turns `str`.
    fn into_text(self) -> StringsBuilder {
        fn text<T: Copy + Default>(v: Values<T>, f: impl Fn(T) -> String) -> StringsBuilder {
            let mut out = StringsBuilder::new();
            out.reserve(v.len());
            for x in v.iter() {
                out.push(x.map(&f).as_deref());
            }
            out
        }
        match self {
            Data::Untyped(n) => {
                let mut out = StringsBuilder::new();
                out.push_nulls(n);
                out
            }
            Data::Int(v) => text(v, |x| x.to_string()),
            Data::Float(v) => text(v, |x| x.to_string()),
            Data::Bool(v) => text(v, |x| x.to_string()),
            Data::Datetime(v) => text(v, format_datetime),
            Data::Str(v) => v,
        }
    }
}

/// Values that did not fit a column's type: for an override, they were read as nulls; for
/// an inferred type, the column turned `str` at the first of them.
#[derive(Debug, Clone)]
struct Misfit {
    /// The type they did not fit.
    dtype: DType,
    count: usize,
    /// Values that did fit (inferred types only, while counting).
    fitted: usize,
    first: String,
    line: u64,
    /// Inferred types only: still counting. Counting stops once misfits clearly outnumber
    /// the values that fit (the column is text, nothing to report), to spare the parsing.
    counting: bool,
}

/// Builds one column, inferring its type (or holding an override) as values arrive.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    pub(crate) name: String,
    forced: Option<DType>,
    data: Data,
    misfit: Option<Misfit>,
    /// JSON arrays and objects kept as their JSON text.
    nested: usize,
}

impl ColumnBuilder {
    pub(crate) fn new(name: String, forced: Option<DType>) -> ColumnBuilder {
        ColumnBuilder {
            name,
            data: forced.map_or(Data::Untyped(0), Data::empty),
            forced,
            misfit: None,
            nested: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// Makes room for `additional` more values of the column's current type.
    pub(crate) fn reserve(&mut self, additional: usize) {
        match &mut self.data {
            Data::Untyped(_) => {}
            Data::Int(v) | Data::Datetime(v) => v.reserve(additional),
            Data::Float(v) => v.reserve(additional),
            Data::Bool(v) => v.reserve(additional),
            Data::Str(v) => v.reserve(additional),
        }
    }

    pub(crate) fn push_nulls(&mut self, n: usize) {
        match &mut self.data {
            Data::Untyped(count) => *count += n,
            Data::Int(v) | Data::Datetime(v) => v.push_nulls(n),
            Data::Float(v) => v.push_nulls(n),
            Data::Bool(v) => v.push_nulls(n),
            Data::Str(v) => v.push_nulls(n),
        }
    }

    /// A batch of CSV fields of this column: `field(i)` is the text of the `i`th, which
    /// stands on line `lines[i]`. On invalid UTF-8, gives the index of the field.
    #[inline]
    pub(crate) fn push_texts<'a>(
        &mut self,
        field: impl Fn(usize) -> &'a [u8],
        nulls: &Nulls,
        lines: &[u64],
    ) -> Result<(), usize> {
        let n = lines.len();
        let mut i = 0;
        // Tight loops while the values keep the column's type; the first that does not
        // (and everything after it) goes through `push_text`.
        macro_rules! typed {
            ($v:expr, $parse:expr) => {{
                $v.reserve(n);
                while i < n {
                    let text = field(i);
                    if nulls.is_null(text) {
                        $v.push_null();
                    } else if let Some(x) = $parse(text) {
                        $v.push_value(x);
                    } else {
                        break;
                    }
                    i += 1;
                }
            }};
        }
        match &mut self.data {
            Data::Int(v) => typed!(v, parse_int),
            Data::Float(v) => typed!(v, parse_float),
            Data::Bool(v) if self.forced.is_none() => typed!(v, parse_bool),
            Data::Datetime(v) => typed!(v, parse_datetime_bytes),
            Data::Str(v) if self.misfit.as_ref().is_none_or(|m| !m.counting) => {
                v.reserve(n);
                while i < n {
                    let text = field(i);
                    if nulls.is_null(text) {
                        v.push_null();
                    } else {
                        v.push_utf8(text).map_err(|_| i)?;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        for (j, &line) in lines.iter().enumerate().skip(i) {
            self.push_text(field(j), nulls, line).map_err(|()| j)?;
        }
        Ok(())
    }

    /// A CSV field (unquoted and trimmed, or the content of a quoted field). `line` is
    /// where its record starts, for messages. Fails only on invalid UTF-8, returning
    /// whether the column is text (the caller names line and column).
    #[inline]
    pub(crate) fn push_text(&mut self, text: &[u8], nulls: &Nulls, line: u64) -> Result<(), ()> {
        if nulls.is_null(text) {
            self.push_nulls(1);
            return Ok(());
        }
        // Fast paths: the column's type holds the value.
        match &mut self.data {
            Data::Int(v) => {
                if let Some(x) = parse_int(text) {
                    v.push_value(x);
                    return Ok(());
                }
            }
            Data::Float(v) => {
                if let Some(x) = parse_float(text) {
                    v.push_value(x);
                    return Ok(());
                }
            }
            Data::Bool(v) if self.forced.is_none() => {
                if let Some(x) = parse_bool(text) {
                    v.push_value(x);
                    return Ok(());
                }
            }
            Data::Datetime(v) => {
                if let Some(x) = parse_datetime_bytes(text) {
                    v.push_value(x);
                    return Ok(());
                }
            }
            Data::Str(v) => {
                v.push_utf8(text).map_err(|_| ())?;
                if let Some(misfit) = &mut self.misfit {
                    if misfit.counting {
                        if fits(text, misfit.dtype) {
                            misfit.fitted += 1;
                        } else {
                            misfit.count += 1;
                            misfit.counting = misfit.count <= misfit.fitted + 1000;
                        }
                    }
                }
                return Ok(());
            }
            _ => {}
        }
        let text = std::str::from_utf8(text).map_err(|_| ())?;
        if let Some(dtype) = self.forced {
            let value = match dtype {
                DType::Int => parse_int(text.as_bytes())
                    .or_else(|| {
                        // `3.0` is the int 3 when an int is asked for.
                        parse_float(text.as_bytes())
                            .filter(|x| x.fract() == 0.0 && x.abs() < 9.2e18)
                            .map(|x| x as i64)
                    })
                    .map(Value::Int),
                DType::Float => parse_float(text.as_bytes()).map(Value::Float),
                DType::Bool => parse_bool_loose(text.as_bytes()).map(Value::Bool),
                DType::Datetime => parse_datetime(text).map(Value::Datetime),
                DType::Str => Some(Value::Str(text)),
            };
            match value {
                Some(value) => self.push(value, line),
                None => self.misfit_null(text, line),
            }
            return Ok(());
        }
        self.push_inferred(classify(text), text, line);
        Ok(())
    }

    /// A value typed by the file (JSON, Parquet).
    pub(crate) fn push(&mut self, value: Value<'_>, line: u64) {
        if let Some(forced) = self.forced {
            self.push_forced(forced, value, line);
            return;
        }
        let text_owned;
        let text = match value {
            Value::Str(s) => s,
            Value::Null => "",
            _ => {
                text_owned = value.text();
                &text_owned
            }
        };
        let value = match value {
            // A string that is a date becomes a datetime, where the column allows.
            Value::Str(s) if matches!(self.data, Data::Untyped(_) | Data::Datetime(_)) => {
                parse_datetime(s).map_or(value, Value::Datetime)
            }
            other => other,
        };
        self.push_inferred(value, text, line);
    }

    /// A JSON array or object, kept as its JSON text.
    pub(crate) fn push_nested(&mut self, json: &str, line: u64) {
        self.nested += 1;
        self.push(Value::Str(json), line);
    }

    fn push_forced(&mut self, forced: DType, value: Value<'_>, line: u64) {
        let converted = match (forced, value) {
            (_, Value::Null) => Some(Value::Null),
            (DType::Str, Value::Str(_)) => Some(value),
            (DType::Str, other) => {
                let text = other.text();
                self.store(Value::Str(&text));
                return;
            }
            (_, Value::Str(s)) => {
                // Text from a typed format: parse it as the override says.
                let _ = self.push_text(s.as_bytes(), &Nulls::new::<&str>(&[]), line);
                return;
            }
            (DType::Int, Value::Int(_)) | (DType::Float, Value::Float(_)) => Some(value),
            (DType::Bool, Value::Bool(_)) | (DType::Datetime, Value::Datetime(_)) => Some(value),
            (DType::Float, Value::Int(x)) => Some(Value::Float(x as f64)),
            (DType::Int, Value::Float(x)) if x.fract() == 0.0 && x.abs() < 9.2e18 => {
                Some(Value::Int(x as i64))
            }
            (DType::Int, Value::Bool(x)) => Some(Value::Int(i64::from(x))),
            (DType::Float, Value::Bool(x)) => Some(Value::Float(if x { 1.0 } else { 0.0 })),
            (DType::Bool, Value::Int(x @ (0 | 1))) => Some(Value::Bool(x == 1)),
            _ => None,
        };
        match converted {
            Some(value) => self.store(value),
            None => self.misfit_null(&value.text(), line),
        }
    }

    fn misfit_null(&mut self, text: &str, line: u64) {
        let dtype = self.forced.unwrap_or(DType::Str);
        match &mut self.misfit {
            Some(m) => m.count += 1,
            None => {
                self.misfit = Some(Misfit {
                    dtype,
                    count: 1,
                    fitted: 0,
                    first: text.to_string(),
                    line,
                    counting: false,
                })
            }
        }
        self.push_nulls(1);
    }

    /// Stores a value the column's type holds, widening untyped and int columns.
    fn push_inferred(&mut self, value: Value<'_>, text: &str, line: u64) {
        let Some(dtype) = value.dtype() else {
            self.push_nulls(1);
            return;
        };
        let fits = match (&self.data, dtype) {
            (Data::Untyped(_), _) => true,
            (Data::Float(_), DType::Int) => true,
            (data, dtype) => data.dtype() == Some(dtype) || data.dtype() == Some(DType::Str),
        };
        if !fits {
            if let (Data::Int(_), DType::Float) = (&self.data, dtype) {
                let Data::Int(ints) = std::mem::replace(&mut self.data, Data::Untyped(0)) else {
                    unreachable!("matched above")
                };
                self.data = Data::Float(ints.map(|x| x as f64));
            } else {
                let old = std::mem::replace(&mut self.data, Data::Untyped(0));
                let old_type = old.dtype().unwrap_or(DType::Str);
                let fitted = old.non_null();
                self.data = Data::Str(old.into_text());
                if self.misfit.is_none() {
                    // This value is counted as a misfit with the str column's others.
                    self.misfit = Some(Misfit {
                        dtype: old_type,
                        count: 0,
                        fitted,
                        first: text.to_string(),
                        line,
                        counting: true,
                    });
                }
                self.store_str_counting(text);
                return;
            }
        }
        if let Data::Str(_) = self.data {
            self.store_str_counting(text);
            return;
        }
        self.store(value);
    }

    fn store_str_counting(&mut self, text: &str) {
        if let Data::Str(v) = &mut self.data {
            v.push_str(text);
        }
        if let Some(misfit) = &mut self.misfit {
            if misfit.counting {
                if fits(text.as_bytes(), misfit.dtype) {
                    misfit.fitted += 1;
                } else {
                    misfit.count += 1;
                    misfit.counting = misfit.count <= misfit.fitted + 1000;
                }
            }
        }
    }

    /// Appends a value of the column's type (or a null); an untyped column takes the
    /// value's type.
    fn store(&mut self, value: Value<'_>) {
        if let Data::Untyped(n) = self.data {
            if let Some(dtype) = value.dtype() {
                self.data = Data::empty(dtype);
                self.push_nulls(n);
            }
        }
        match (&mut self.data, value) {
            (_, Value::Null) => self.push_nulls(1),
            (Data::Int(v), Value::Int(x)) => v.push_value(x),
            (Data::Float(v), Value::Float(x)) => v.push_value(x),
            (Data::Float(v), Value::Int(x)) => v.push_value(x as f64),
            (Data::Bool(v), Value::Bool(x)) => v.push_value(x),
            (Data::Datetime(v), Value::Datetime(x)) => v.push_value(x),
            (Data::Str(v), Value::Str(s)) => v.push_str(s),
            (Data::Str(v), other) => v.push_str(&other.text()),
            // Callers check the type first; a null keeps lengths equal regardless.
            _ => self.push_nulls(1),
        }
    }

    /// The column's values as a data value of the file's type, for the header detection
    /// that re-reads a column with its first value in front.
    fn values(&self) -> Vec<Value<'_>> {
        fn all<T: Copy + Default>(
            v: &Values<T>,
            f: impl Fn(T) -> Value<'static>,
        ) -> Vec<Value<'static>> {
            v.iter().map(|x| x.map_or(Value::Null, &f)).collect()
        }
        match &self.data {
            Data::Untyped(n) => vec![Value::Null; *n],
            Data::Int(v) => all(v, Value::Int),
            Data::Float(v) => all(v, Value::Float),
            Data::Bool(v) => all(v, Value::Bool),
            Data::Datetime(v) => all(v, Value::Datetime),
            Data::Str(v) => (0..v.len())
                .map(|i| v.get(i).map_or(Value::Null, Value::Str))
                .collect(),
        }
    }

    /// The column's type so far (`None` while it has only nulls).
    pub(crate) fn dtype(&self) -> Option<DType> {
        self.data.dtype()
    }

    /// Whether `text` (not null) would keep the column's current type.
    pub(crate) fn holds(&self, text: &str) -> bool {
        match self.data.dtype() {
            None | Some(DType::Str) => true,
            Some(DType::Float) => parse_float(text.as_bytes()).is_some(),
            Some(dtype) => fits(text.as_bytes(), dtype),
        }
    }

    /// This column with the CSV field `text` read in front of its values.
    pub(crate) fn with_first(&self, text: &[u8], nulls: &Nulls, line: u64) -> ColumnBuilder {
        let mut column = ColumnBuilder::new(self.name.clone(), self.forced);
        // Valid UTF-8: checked when the header candidate was read.
        let _ = column.push_text(text, nulls, line);
        for value in self.values() {
            match value {
                // Re-infer text, which the first value may have typed differently.
                Value::Str(s) if self.forced.is_none() => {
                    let _ = column.push_text(s.as_bytes(), &Nulls::new::<&str>(&[]), line);
                }
                other => column.push(other, line),
            }
        }
        column.misfit = column.misfit.or_else(|| self.misfit.clone());
        column.nested = self.nested;
        column
    }

    /// The finished column and what to report about it.
    pub(crate) fn finish(self, diagnostics: &mut Vec<Diagnostic>) -> Column {
        let name = self.name;
        if let Some(m) = self.misfit {
            let values = if m.count == 1 {
                "value is"
            } else {
                "values are"
            };
            let first = truncate(&m.first, 40);
            if self.forced.is_some() {
                diagnostics.push(Diagnostic::column(
                    &name,
                    format!(
                        "{} {values} not {} ('{first}' at line {}); read as null",
                        m.count, m.dtype, m.line
                    ),
                ));
            } else if m.counting && m.fitted >= m.count {
                diagnostics.push(Diagnostic::column(
                    &name,
                    format!(
                        "{} {values} not {} ('{first}' at line {}); kept as str (a type \
                         override #{{{}: \"{}\"}} reads them as nulls)",
                        m.count,
                        m.dtype,
                        m.line,
                        rhai_key(&name),
                        m.dtype
                    ),
                ));
            }
        }
        if self.nested > 0 {
            diagnostics.push(Diagnostic::column(
                &name,
                format!(
                    "{} nested {} kept as JSON text",
                    self.nested,
                    if self.nested == 1 { "value" } else { "values" }
                ),
            ));
        }
        let data = match self.data {
            Data::Untyped(n) => ColumnData::Float(Values::nulls(n)),
            Data::Int(mut v) => {
                v.shrink_to_fit();
                ColumnData::Int(v)
            }
            Data::Float(mut v) => {
                v.shrink_to_fit();
                ColumnData::Float(v)
            }
            Data::Bool(mut v) => {
                v.shrink_to_fit();
                ColumnData::Bool(v)
            }
            Data::Datetime(mut v) => {
                v.shrink_to_fit();
                ColumnData::Datetime(v)
            }
            Data::Str(v) => ColumnData::Str(v.finish()),
        };
        Column { name, data }
    }
}

/// A column name as a key of a Rhai map literal.
fn rhai_key(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nulls() -> Nulls {
        Nulls::new(&DEFAULT_NULLS)
    }

    fn column(values: &[&str], forced: Option<DType>) -> (Column, Vec<Diagnostic>) {
        let mut builder = ColumnBuilder::new("x".into(), forced);
        for (i, v) in values.iter().enumerate() {
            builder
                .push_text(v.as_bytes(), &nulls(), i as u64 + 2)
                .unwrap();
        }
        let mut diagnostics = Vec::new();
        (builder.finish(&mut diagnostics), diagnostics)
    }

    #[test]
    fn parses_bools_in_any_case_and_nothing_else() {
        for (text, expected) in [
            ("true", Some(true)),
            ("TRUE", Some(true)),
            ("tRuE", Some(true)),
            ("false", Some(false)),
            ("False", Some(false)),
            ("FALSE", Some(false)),
            ("t", None),
            ("tru", None),
            ("truee", None),
            ("fals", None),
            ("falsey", None),
            ("", None),
            // Bytes a bit away from the letters.
            ("\x14rue", None),
            ("4rue", None),
            ("t\x12ue", None),
            ("fals\x05", None),
            ("fal\u{13}e", None),
            ("yes", None),
        ] {
            assert_eq!(parse_bool(text.as_bytes()), expected, "{text:?}");
        }
    }

    #[test]
    fn parses_numbers_strictly() {
        assert_eq!(parse_int(b"-42"), Some(-42));
        assert_eq!(parse_int(b"+7"), Some(7));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"1.0"), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_float(b"1e3"), Some(1000.0));
        assert_eq!(parse_float(b"-.5"), Some(-0.5));
        assert_eq!(parse_float(b"inf"), None);
        assert_eq!(parse_float(b"1e"), None);
        assert_eq!(parse_float(b"."), None);
    }

    #[test]
    fn widens_and_reports() {
        let (c, d) = column(&["1", "2", "2.5"], None);
        assert_eq!(
            c.data,
            ColumnData::Float(vec![Some(1.0), Some(2.0), Some(2.5)].into())
        );
        assert!(d.is_empty());
        let (c, d) = column(&["1", "NA", "abc", "3", "x"], None);
        assert_eq!(
            c.data,
            ColumnData::Str(vec![Some("1"), None, Some("abc"), Some("3"), Some("x")].into())
        );
        assert_eq!(
            d[0].to_string(),
            "column 'x': 2 values are not int ('abc' at line 4); kept as str (a type override \
             #{x: \"int\"} reads them as nulls)"
        );
        // Mostly text: nothing to report.
        let (_, d) = column(&["1", "a", "b", "c"], None);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn overrides_read_misfits_as_null() {
        let (c, d) = column(&["1", "abc", "3.0"], Some(DType::Int));
        assert_eq!(c.data, ColumnData::Int(vec![Some(1), None, Some(3)].into()));
        assert_eq!(
            d[0].to_string(),
            "column 'x': 1 value is not int ('abc' at line 3); read as null"
        );
        let (c, _) = column(&["007", "12"], Some(DType::Str));
        assert_eq!(
            c.data,
            ColumnData::Str(vec![Some("007"), Some("12")].into())
        );
    }

    #[test]
    fn datetimes_and_untyped() {
        let (c, _) = column(&["2024-01-02", "", "2024-01-03T10:00"], None);
        assert_eq!(c.data.dtype(), DType::Datetime);
        let (c, _) = column(&["", "NA"], None);
        assert_eq!(c.data, ColumnData::Float(vec![None, None].into()));
    }
}
