//! How a column's values are stored: compactly, because a loaded table is most of what a
//! notebook holds in memory (in a browser tab, where memory is scarce).
//!
//! - [`Values`]: numbers, bools and datetimes in one plain vector, with a [`Bitmap`] of
//!   which rows hold a value, present only when some row is null. A null row's slot holds
//!   `T::default()`, which nothing reads. Eight bytes per number instead of the sixteen of
//!   an `Option<f64>`.
//! - [`Strings`]: text either dictionary-encoded (a 4-byte code per row into the distinct
//!   values, for columns with few distinct values, such as a city) or, for columns of
//!   mostly distinct values, in one byte buffer with an offset per row. Either way there is
//!   no allocation per value. [`StringsBuilder`] picks the encoding as values arrive (see
//!   [`DICT_PROBE_ROWS`]); the encoding never changes what a column holds, only how.
//!
//! Both are built from `Option`s (`collect()`, `From<Vec<Option<T>>>`) and read back as
//! `Option`s (`get`, `iter`), so code that computes with columns rarely sees the layout.

use std::hash::Hasher;
use std::sync::Arc;

use hashbrown::HashTable;

/// Which rows hold a value: bit `i` is set when row `i` is not null. Bits past `len`
/// are always clear, so counts and comparisons need no masking.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
    len: usize,
}

impl Bitmap {
    /// `len` bits, all `value`.
    pub fn filled(len: usize, value: bool) -> Bitmap {
        let mut words = vec![if value { u64::MAX } else { 0 }; len.div_ceil(64)];
        if value && !len.is_multiple_of(64) {
            if let Some(last) = words.last_mut() {
                *last = (1u64 << (len % 64)) - 1;
            }
        }
        Bitmap { words, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `i` (false past the end).
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        i < self.len && (self.words[i / 64] >> (i % 64)) & 1 == 1
    }

    #[inline]
    pub fn push(&mut self, bit: bool) {
        let shift = self.len % 64;
        if shift == 0 {
            self.words.push(u64::from(bit));
        } else if let Some(last) = self.words.last_mut() {
            *last |= u64::from(bit) << shift;
        }
        self.len += 1;
    }

    /// Appends `n` copies of `bit`.
    pub fn push_n(&mut self, n: usize, bit: bool) {
        // Bit by bit up to a word boundary, then whole words, then the rest.
        let mut left = n;
        while left > 0 && !self.len.is_multiple_of(64) {
            self.push(bit);
            left -= 1;
        }
        let fill = if bit { u64::MAX } else { 0 };
        while left >= 64 {
            self.words.push(fill);
            self.len += 64;
            left -= 64;
        }
        for _ in 0..left {
            self.push(bit);
        }
    }

    /// The number of set bits.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn reserve(&mut self, additional: usize) {
        let words = (self.len + additional).div_ceil(64);
        self.words.reserve(words.saturating_sub(self.words.len()));
    }

    pub fn shrink_to_fit(&mut self) {
        self.words.shrink_to_fit();
    }

    /// Heap bytes held (by capacity).
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits: String = (0..self.len)
            .map(|i| if self.get(i) { '1' } else { '0' })
            .collect();
        write!(f, "Bitmap({bits})")
    }
}

/// Fixed-size values (numbers, bools, datetimes) with nulls: see the module's text.
#[derive(Clone)]
pub struct Values<T> {
    data: Vec<T>,
    /// `None` while no row is null.
    validity: Option<Bitmap>,
}

impl<T: Copy + Default> Default for Values<T> {
    fn default() -> Self {
        Values::new()
    }
}

impl<T: Copy + Default> Values<T> {
    pub fn new() -> Values<T> {
        Values {
            data: Vec::new(),
            validity: None,
        }
    }

    pub fn with_capacity(capacity: usize) -> Values<T> {
        Values {
            data: Vec::with_capacity(capacity),
            validity: None,
        }
    }

    /// `n` nulls.
    pub fn nulls(n: usize) -> Values<T> {
        Values {
            data: vec![T::default(); n],
            validity: Some(Bitmap::filled(n, false)),
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value of row `i`; `None` for a null or past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        let x = *self.data.get(i)?;
        match &self.validity {
            Some(bits) if !bits.get(i) => None,
            _ => Some(x),
        }
    }

    /// Whether row `i` is null (or past the end).
    #[inline]
    pub fn is_null(&self, i: usize) -> bool {
        i >= self.data.len() || self.validity.as_ref().is_some_and(|bits| !bits.get(i))
    }

    pub fn null_count(&self) -> usize {
        self.validity
            .as_ref()
            .map_or(0, |bits| bits.len() - bits.count_ones())
    }

    /// Every row's slot, nulls included (holding `T::default()`): for loops that read
    /// [`Values::validity`] themselves.
    pub fn slots(&self) -> &[T] {
        &self.data
    }

    /// Which rows hold a value; `None` when all do.
    pub fn validity(&self) -> Option<&Bitmap> {
        self.validity.as_ref()
    }

    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            values: self,
            front: 0,
            back: self.data.len(),
        }
    }

    #[inline]
    pub fn push(&mut self, value: Option<T>) {
        match value {
            Some(x) => self.push_value(x),
            None => self.push_null(),
        }
    }

    #[inline]
    pub fn push_value(&mut self, x: T) {
        self.data.push(x);
        if let Some(bits) = &mut self.validity {
            bits.push(true);
        }
    }

    #[inline]
    pub fn push_null(&mut self) {
        self.bits().push(false);
        self.data.push(T::default());
    }

    pub fn push_nulls(&mut self, n: usize) {
        self.bits().push_n(n, false);
        self.data.resize(self.data.len() + n, T::default());
    }

    /// The validity bitmap, made (all set) when there was none.
    fn bits(&mut self) -> &mut Bitmap {
        let len = self.data.len();
        let capacity = self.data.capacity();
        self.validity.get_or_insert_with(|| {
            let mut bits = Bitmap::filled(len, true);
            bits.reserve(capacity - len);
            bits
        })
    }

    pub fn reserve(&mut self, additional: usize) {
        self.data.reserve(additional);
        if let Some(bits) = &mut self.validity {
            bits.reserve(additional);
        }
    }

    /// Gives back unused capacity, and the bitmap when no row is null.
    pub fn shrink_to_fit(&mut self) {
        self.data.shrink_to_fit();
        if self.null_count() == 0 {
            self.validity = None;
        }
        if let Some(bits) = &mut self.validity {
            bits.shrink_to_fit();
        }
    }

    /// `f` of every value, nulls kept. `f` also sees the placeholder of null rows, so it
    /// must not fail on `T::default()`.
    pub fn map<U: Copy + Default>(&self, f: impl Fn(T) -> U) -> Values<U> {
        Values {
            data: self.data.iter().map(|&x| f(x)).collect(),
            validity: self.validity.clone(),
        }
    }

    /// The rows at `indices`, in that order; an index past the end gives a null.
    pub fn take(&self, indices: &[usize]) -> Values<T> {
        if self.validity.is_none() && indices.iter().all(|&i| i < self.data.len()) {
            return Values {
                data: indices.iter().map(|&i| self.data[i]).collect(),
                validity: None,
            };
        }
        let mut out: Values<T> = indices.iter().map(|&i| self.get(i)).collect();
        out.shrink_to_fit();
        out
    }

    /// Heap bytes held (by capacity).
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() * std::mem::size_of::<T>()
            + self.validity.as_ref().map_or(0, Bitmap::heap_bytes)
    }
}

/// The rows of a [`Values`] as `Option`s.
pub struct Iter<'a, T> {
    values: &'a Values<T>,
    front: usize,
    back: usize,
}

impl<T: Copy + Default> Iterator for Iter<'_, T> {
    type Item = Option<T>;

    #[inline]
    fn next(&mut self) -> Option<Option<T>> {
        if self.front == self.back {
            return None;
        }
        let i = self.front;
        self.front += 1;
        Some(self.values.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<T: Copy + Default> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Option<T>> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.values.get(self.back))
    }
}

impl<T: Copy + Default> ExactSizeIterator for Iter<'_, T> {}

impl<'a, T: Copy + Default> IntoIterator for &'a Values<T> {
    type Item = Option<T>;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Copy + Default> FromIterator<Option<T>> for Values<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Values<T> {
        let iter = iter.into_iter();
        let mut values = Values::with_capacity(iter.size_hint().0);
        for x in iter {
            values.push(x);
        }
        values
    }
}

impl<T: Copy + Default> From<Vec<Option<T>>> for Values<T> {
    fn from(values: Vec<Option<T>>) -> Values<T> {
        values.into_iter().collect()
    }
}

/// Values without nulls.
impl<T: Copy + Default> From<Vec<T>> for Values<T> {
    fn from(data: Vec<T>) -> Values<T> {
        Values {
            data,
            validity: None,
        }
    }
}

/// Equal when the rows are: a null equals a null whatever its slot holds, and a column
/// with an all-set bitmap equals one without.
impl<T: Copy + Default + PartialEq> PartialEq for Values<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Copy + Default + std::fmt::Debug> std::fmt::Debug for Values<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Offsets into a text buffer: 4 bytes each while the buffer stays under 4 GiB (always
/// in wasm32), pointer-sized past that.
#[derive(Clone)]
enum Offsets {
    Narrow(Vec<u32>),
    Wide(Vec<usize>),
}

/// Texts one after another in one buffer: text `i` is `bytes[offsets[i]..offsets[i + 1]]`.
#[derive(Clone)]
struct Texts {
    bytes: String,
    offsets: Offsets,
}

impl Default for Texts {
    fn default() -> Self {
        Texts {
            bytes: String::new(),
            offsets: Offsets::Narrow(vec![0]),
        }
    }
}

impl Texts {
    fn len(&self) -> usize {
        match &self.offsets {
            Offsets::Narrow(o) => o.len() - 1,
            Offsets::Wide(o) => o.len() - 1,
        }
    }

    #[inline(always)]
    fn range(&self, i: usize) -> std::ops::Range<usize> {
        match &self.offsets {
            Offsets::Narrow(o) => o[i] as usize..o[i + 1] as usize,
            Offsets::Wide(o) => o[i]..o[i + 1],
        }
    }

    #[inline(always)]
    fn get(&self, i: usize) -> &str {
        &self.bytes[self.range(i)]
    }

    /// Text `i` as bytes (no check that the ends fall on characters, which `get` makes).
    #[inline(always)]
    fn get_bytes(&self, i: usize) -> &[u8] {
        &self.bytes.as_bytes()[self.range(i)]
    }

    #[inline]
    fn push(&mut self, text: &str) {
        self.bytes.push_str(text);
        let end = self.bytes.len();
        match &mut self.offsets {
            Offsets::Narrow(o) => match u32::try_from(end) {
                Ok(end) => o.push(end),
                Err(_) => {
                    let mut wide: Vec<usize> = o.iter().map(|&x| x as usize).collect();
                    wide.push(end);
                    self.offsets = Offsets::Wide(wide);
                }
            },
            Offsets::Wide(o) => o.push(end),
        }
    }

    /// Room for `texts` more texts of `bytes` bytes in all.
    fn reserve(&mut self, texts: usize, bytes: usize) {
        self.bytes.reserve(bytes);
        match &mut self.offsets {
            Offsets::Narrow(o) => o.reserve(texts),
            Offsets::Wide(o) => o.reserve(texts),
        }
    }

    fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        match &mut self.offsets {
            Offsets::Narrow(o) => o.shrink_to_fit(),
            Offsets::Wide(o) => o.shrink_to_fit(),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + match &self.offsets {
                Offsets::Narrow(o) => o.capacity() * 4,
                Offsets::Wide(o) => o.capacity() * std::mem::size_of::<usize>(),
            }
    }
}

/// A text column with nulls: see the module's text.
#[derive(Clone)]
pub struct Strings {
    repr: Repr,
    /// `None` while no row is null.
    validity: Option<Bitmap>,
}

#[derive(Clone)]
enum Repr {
    /// Each row's text (a null's is empty).
    Plain(Texts),
    /// Each row's code into the distinct texts (a null's is 0). The dictionary is shared
    /// by the columns taken from this one.
    Dict { codes: Vec<u32>, dict: Arc<Texts> },
}

impl Default for Strings {
    fn default() -> Self {
        StringsBuilder::new().finish()
    }
}

impl Strings {
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Plain(texts) => texts.len(),
            Repr::Dict { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of row `i`; `None` for a null or past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        if self.is_null(i) {
            return None;
        }
        Some(match &self.repr {
            Repr::Plain(texts) => texts.get(i),
            Repr::Dict { codes, dict } => dict.get(codes[i] as usize),
        })
    }

    /// Whether row `i` is null (or past the end).
    #[inline]
    pub fn is_null(&self, i: usize) -> bool {
        i >= self.len() || self.validity.as_ref().is_some_and(|bits| !bits.get(i))
    }

    pub fn null_count(&self) -> usize {
        self.validity
            .as_ref()
            .map_or(0, |bits| bits.len() - bits.count_ones())
    }

    /// Whether the column is dictionary-encoded (which changes memory, never values).
    pub fn is_dictionary(&self) -> bool {
        matches!(self.repr, Repr::Dict { .. })
    }

    pub fn iter(&self) -> StrIter<'_> {
        StrIter {
            strings: self,
            front: 0,
            back: self.len(),
        }
    }

    /// The rows at `indices`, in that order; an index past the end gives a null. A
    /// dictionary-encoded column stays so, sharing its dictionary.
    pub fn take(&self, indices: &[usize]) -> Strings {
        let validity = if self.validity.is_none() && indices.iter().all(|&i| i < self.len()) {
            None
        } else {
            let mut bits = Bitmap::default();
            bits.reserve(indices.len());
            for &i in indices {
                bits.push(!self.is_null(i));
            }
            Some(bits).filter(|bits| bits.count_ones() < bits.len())
        };
        let repr = match &self.repr {
            Repr::Dict { codes, dict } => Repr::Dict {
                codes: indices
                    .iter()
                    .map(|&i| codes.get(i).copied().unwrap_or(0))
                    .collect(),
                dict: dict.clone(),
            },
            Repr::Plain(texts) => {
                let mut out = Texts::default();
                let bytes = indices
                    .iter()
                    .filter(|&&i| i < texts.len())
                    .map(|&i| texts.get(i).len())
                    .sum();
                out.reserve(indices.len(), bytes);
                for &i in indices {
                    out.push(if i < texts.len() { texts.get(i) } else { "" });
                }
                Repr::Plain(out)
            }
        };
        Strings { repr, validity }
    }

    /// Heap bytes held (by capacity; a shared dictionary counted in full).
    pub fn heap_bytes(&self) -> usize {
        let repr = match &self.repr {
            Repr::Plain(texts) => texts.heap_bytes(),
            Repr::Dict { codes, dict } => codes.capacity() * 4 + dict.heap_bytes(),
        };
        repr + self.validity.as_ref().map_or(0, Bitmap::heap_bytes)
    }
}

/// The rows of a [`Strings`] as `Option<&str>`s.
pub struct StrIter<'a> {
    strings: &'a Strings,
    front: usize,
    back: usize,
}

impl<'a> Iterator for StrIter<'a> {
    type Item = Option<&'a str>;

    #[inline]
    fn next(&mut self) -> Option<Option<&'a str>> {
        if self.front == self.back {
            return None;
        }
        let i = self.front;
        self.front += 1;
        Some(self.strings.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<'a> DoubleEndedIterator for StrIter<'a> {
    fn next_back(&mut self) -> Option<Option<&'a str>> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.strings.get(self.back))
    }
}

impl ExactSizeIterator for StrIter<'_> {}

impl<'a> IntoIterator for &'a Strings {
    type Item = Option<&'a str>;
    type IntoIter = StrIter<'a>;
    fn into_iter(self) -> StrIter<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>> FromIterator<Option<S>> for Strings {
    fn from_iter<I: IntoIterator<Item = Option<S>>>(iter: I) -> Strings {
        let iter = iter.into_iter();
        let mut builder = StringsBuilder::new();
        builder.reserve(iter.size_hint().0);
        for text in iter {
            builder.push(text.as_ref().map(AsRef::as_ref));
        }
        builder.finish()
    }
}

impl<S: AsRef<str>> From<Vec<Option<S>>> for Strings {
    fn from(texts: Vec<Option<S>>) -> Strings {
        texts.into_iter().collect()
    }
}

/// Equal when the rows are, whatever the encodings.
impl PartialEq for Strings {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for Strings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A column keeps its dictionary until, after this many rows, more than half of its
/// rows brought a new text: then it is mostly distinct texts (names, ids), for which a
/// dictionary costs hashing and an extra offset per text, and the builder turns plain.
/// Waiting this long keeps columns of a few thousand categories, which need many rows
/// before each has shown up, dictionary-encoded; a column of distinct texts pays for
/// hashing this many rows only.
pub const DICT_PROBE_ROWS: usize = 8192;

/// Builds a [`Strings`] value by value, dictionary-encoding while that pays (see
/// [`DICT_PROBE_ROWS`]).
pub struct StringsBuilder {
    mode: Mode,
    validity: Option<Bitmap>,
    len: usize,
}

enum Mode {
    Dict {
        codes: Vec<u32>,
        dict: Texts,
        /// The codes of the distinct texts, by the hash of their text.
        table: HashTable<u32>,
    },
    Plain(Texts),
}

/// Whether two byte strings are equal: for short ones (most categories) by a few
/// overlapping word compares rather than a call to `memcmp`.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let u32_at = |s: &[u8], at: usize| {
        u32::from_le_bytes(
            s.get(at..at + 4)
                .and_then(|w| w.try_into().ok())
                .unwrap_or_default(),
        )
    };
    let u64_at = |s: &[u8], at: usize| {
        u64::from_le_bytes(
            s.get(at..at + 8)
                .and_then(|w| w.try_into().ok())
                .unwrap_or_default(),
        )
    };
    match n {
        0 => true,
        // The first, middle and last bytes are all of them.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, n - 4) == u32_at(b, n - 4),
        8..=16 => u64_at(a, 0) == u64_at(b, 0) && u64_at(a, n - 8) == u64_at(b, n - 8),
        _ => a == b,
    }
}

#[inline(always)]
fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

impl std::fmt::Debug for StringsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries((0..self.len).map(|i| self.get(i)))
            .finish()
    }
}

impl Default for StringsBuilder {
    fn default() -> Self {
        StringsBuilder::new()
    }
}

impl StringsBuilder {
    pub fn new() -> StringsBuilder {
        StringsBuilder {
            mode: Mode::Dict {
                codes: Vec::new(),
                dict: Texts::default(),
                table: HashTable::new(),
            },
            validity: None,
            len: 0,
        }
    }

    /// A builder that never dictionary-encodes.
    pub fn plain() -> StringsBuilder {
        StringsBuilder {
            mode: Mode::Plain(Texts::default()),
            validity: None,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn push(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.push_str(text),
            None => self.push_null(),
        }
    }

    #[inline]
    pub fn push_str(&mut self, text: &str) {
        self.push_checked(text.as_bytes(), |_| Ok(text))
            .unwrap_or_else(|never: std::convert::Infallible| match never {});
    }

    /// Pushes `bytes` as text when they are UTF-8. With a dictionary, bytes already in it
    /// are not checked again.
    #[inline]
    pub fn push_utf8(&mut self, bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
        self.push_checked(bytes, std::str::from_utf8)
    }

    #[inline(always)]
    fn push_checked<'b, E>(
        &mut self,
        bytes: &'b [u8],
        check: impl FnOnce(&'b [u8]) -> Result<&'b str, E>,
    ) -> Result<(), E> {
        match &mut self.mode {
            Mode::Plain(texts) => texts.push(check(bytes)?),
            Mode::Dict { codes, dict, table } => {
                let h = hash(bytes);
                match table.find(h, |&code| same(dict.get_bytes(code as usize), bytes)) {
                    Some(&code) => codes.push(code),
                    None => self.push_new(check(bytes)?, h),
                }
            }
        }
        if let Some(bits) = &mut self.validity {
            bits.push(true);
        }
        self.len += 1;
        Ok(())
    }

    /// A text not in the dictionary, whose hash is `h`: a new code, or the end of the
    /// dictionary (see [`DICT_PROBE_ROWS`]).
    #[cold]
    #[inline(never)]
    fn push_new(&mut self, text: &str, h: u64) {
        let Mode::Dict { codes, dict, table } = &mut self.mode else {
            return;
        };
        let code = dict.len();
        if code >= u32::MAX as usize || (self.len >= DICT_PROBE_ROWS && code * 2 > self.len) {
            self.make_plain();
            if let Mode::Plain(texts) = &mut self.mode {
                texts.push(text);
            }
        } else {
            dict.push(text);
            let code = code as u32;
            table.insert_unique(h, code, |&c| hash(dict.get_bytes(c as usize)));
            codes.push(code);
        }
    }

    #[inline]
    pub fn push_null(&mut self) {
        self.push_nulls(1);
    }

    pub fn push_nulls(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let len = self.len;
        self.validity
            .get_or_insert_with(|| Bitmap::filled(len, true))
            .push_n(n, false);
        match &mut self.mode {
            Mode::Plain(texts) => {
                for _ in 0..n {
                    texts.push("");
                }
            }
            Mode::Dict { codes, .. } => codes.resize(codes.len() + n, 0),
        }
        self.len += n;
    }

    /// Makes room for `additional` more rows.
    pub fn reserve(&mut self, additional: usize) {
        match &mut self.mode {
            Mode::Plain(texts) => {
                // Text bytes at the rate so far.
                let per_text = texts.bytes.len() / texts.len().max(1);
                texts.reserve(additional, additional.saturating_mul(per_text));
            }
            Mode::Dict { codes, .. } => codes.reserve(additional),
        }
        if let Some(bits) = &mut self.validity {
            bits.reserve(additional);
        }
    }

    /// Turns the dictionary into plain texts, keeping the room reserved for rows.
    fn make_plain(&mut self) {
        if let Mode::Dict { codes, dict, .. } = &self.mode {
            let mut texts = Texts::default();
            let bytes: usize = codes.iter().map(|&c| dict.get(c as usize).len()).sum();
            let rows = codes.capacity().max(codes.len() + 1);
            // f64: the product overflows a 32-bit usize for large columns.
            let estimate = bytes as f64 / codes.len().max(1) as f64 * rows as f64;
            texts.reserve(rows, estimate as usize);
            for (i, &code) in codes.iter().enumerate() {
                let null = self.validity.as_ref().is_some_and(|bits| !bits.get(i));
                texts.push(if null { "" } else { dict.get(code as usize) });
            }
            self.mode = Mode::Plain(texts);
        }
    }

    /// The text of row `i` so far; `None` for a null or past the end.
    pub fn get(&self, i: usize) -> Option<&str> {
        if i >= self.len || self.validity.as_ref().is_some_and(|bits| !bits.get(i)) {
            return None;
        }
        Some(match &self.mode {
            Mode::Plain(texts) => texts.get(i),
            Mode::Dict { codes, dict, .. } => dict.get(codes[i] as usize),
        })
    }

    pub fn finish(self) -> Strings {
        let repr = match self.mode {
            Mode::Plain(mut texts) => {
                texts.shrink_to_fit();
                Repr::Plain(texts)
            }
            Mode::Dict {
                mut codes,
                mut dict,
                ..
            } => {
                codes.shrink_to_fit();
                dict.shrink_to_fit();
                Repr::Dict {
                    codes,
                    dict: Arc::new(dict),
                }
            }
        };
        let mut validity = self.validity;
        if let Some(bits) = &mut validity {
            bits.shrink_to_fit();
        }
        Strings { repr, validity }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bitmaps_count_and_fill() {
        let mut bits = Bitmap::filled(70, true);
        assert_eq!(bits.count_ones(), 70);
        bits.push(false);
        bits.push_n(130, false);
        bits.push_n(3, true);
        assert_eq!(bits.len(), 204);
        assert_eq!(bits.count_ones(), 73);
        assert!(bits.get(69) && !bits.get(70) && !bits.get(200) && bits.get(201));
        assert!(!bits.get(204), "past the end");
        assert_eq!(Bitmap::filled(64, true).count_ones(), 64);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn values_keep_nulls_and_compare_by_rows() {
        let mut v: Values<i64> = vec![1, 2].into();
        assert_eq!(v.validity(), None);
        v.push_null();
        v.push_value(4);
        v.push_nulls(70);
        assert_eq!(v.len(), 74);
        assert_eq!(v.null_count(), 71);
        assert_eq!(
            (v.get(0), v.get(2), v.get(3), v.get(99)),
            (Some(1), None, Some(4), None)
        );
        assert!(v.is_null(2) && v.is_null(99) && !v.is_null(3));
        let picked = v.take(&[3, 2, 0, 500]);
        assert_eq!(picked, Values::from(vec![Some(4), None, Some(1), None]));
        // No nulls taken: no bitmap.
        assert_eq!(v.take(&[0, 3]).validity(), None);
        // A null equals a null whatever the slot holds.
        let a: Values<f64> = vec![Some(1.0), None].into();
        let b = Values::from(vec![1.0, 7.0]).map(|x| x);
        assert_ne!(a, b);
        let mut c = Values::from(vec![1.0]);
        c.push_null();
        assert_eq!(a, c);
        assert_eq!(format!("{a:?}"), "[Some(1.0), None]");
        assert_eq!(
            a.map(|x| x * 2.0).iter().collect::<Vec<_>>(),
            [Some(2.0), None]
        );
        assert_eq!(a.iter().rev().collect::<Vec<_>>(), [None, Some(1.0)]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn strings_in_both_encodings_hold_the_same_rows() {
        let rows: Vec<Option<String>> = (0..20_000)
            .map(|i| (i % 7 != 3).then(|| format!("city {}", i % 5)))
            .collect();
        let dict: Strings = rows.iter().cloned().collect();
        assert!(dict.is_dictionary());
        let mut builder = StringsBuilder::plain();
        rows.iter().for_each(|r| builder.push(r.as_deref()));
        let plain = builder.finish();
        assert!(!plain.is_dictionary());
        assert_eq!(dict, plain);
        assert_eq!(dict.get(3), None);
        assert_eq!(dict.get(4), Some("city 4"));
        assert_eq!(
            dict.null_count(),
            rows.iter().filter(|r| r.is_none()).count()
        );
        assert!(dict.heap_bytes() < plain.heap_bytes());
        let picked = dict.take(&[4, 3, 1, 30_000]);
        assert!(picked.is_dictionary());
        assert_eq!(
            picked,
            Strings::from(vec![Some("city 4"), None, Some("city 1"), None])
        );
        assert_eq!(
            plain.take(&[4, 3, 1]).iter().collect::<Vec<_>>(),
            [Some("city 4"), None, Some("city 1")]
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn mostly_distinct_texts_turn_plain() {
        let rows: Vec<Option<String>> = (0..3 * DICT_PROBE_ROWS)
            .map(|i| (i % 11 != 0).then(|| format!("id-{i}")))
            .collect();
        let strings: Strings = rows.iter().cloned().collect();
        assert!(!strings.is_dictionary());
        assert!(strings
            .iter()
            .map(|s| s.map(str::to_string))
            .eq(rows.iter().cloned()));
        // A few thousand categories stay a dictionary.
        let categories: Strings = (0..100_000u64)
            .map(|i| Some(format!("c{}", (i * 2_654_435_761) % 3000)))
            .collect();
        assert!(categories.is_dictionary());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn short_compares_see_every_byte() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(same(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x40;
                assert!(!same(&a, &b), "length {n}, byte {i}");
            }
            assert!(!same(&a, &[a.as_slice(), b"x"].concat()));
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn invalid_utf8_is_refused_in_either_mode() {
        let mut builder = StringsBuilder::new();
        builder.push_utf8(b"ok").unwrap();
        assert!(builder.push_utf8(b"\xff").is_err());
        builder.push_utf8(b"ok").unwrap();
        assert_eq!(builder.len(), 2);
        let mut plain = StringsBuilder::plain();
        assert!(plain.push_utf8(b"a\xc3").is_err());
        assert_eq!(plain.len(), 0);
        assert_eq!(
            builder.finish(),
            Strings::from(vec![Some("ok"), Some("ok")])
        );
    }
}
