//! Data builders shared by the kernel's tests. Each test binary uses a part of them.
#![allow(dead_code)]

use oxbook_kernel::{Column, ColumnData};

/// A deterministic pseudo-random number in [0, 1) for `i` (splitmix64): the data must be
/// the same on every platform, so no seeded generator from any crate.
pub fn noise(i: u64) -> f64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn column(name: &str, data: ColumnData) -> Column {
    Column {
        name: name.into(),
        data,
    }
}

pub fn float(name: &str, values: Vec<f64>) -> Column {
    column(name, ColumnData::Float(values.into()))
}

pub fn int(name: &str, values: Vec<i64>) -> Column {
    column(name, ColumnData::Int(values.into()))
}

pub fn boolean(name: &str, values: Vec<bool>) -> Column {
    column(name, ColumnData::Bool(values.into()))
}

pub fn string(name: &str, values: Vec<&str>) -> Column {
    column(
        name,
        ColumnData::Str(values.into_iter().map(Some).collect()),
    )
}

pub fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Probabilities as their exact bits, so comparisons are bit-for-bit.
pub fn bits(values: &[Vec<f64>]) -> Vec<Vec<u64>> {
    values
        .iter()
        .map(|row| row.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// xorshift64*: the same random cases on every platform.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
