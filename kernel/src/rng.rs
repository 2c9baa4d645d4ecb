//! A seeded random number generator that gives the same numbers on every platform.
//!
//! Splits and forests must come out identical in the browser (wasm32) and natively (tests,
//! the command line), so the generator is ChaCha8, whose output is specified and stable
//! across platforms and crate versions (unlike `SmallRng`), and every draw consumes a whole
//! `u64`: `usize`-sized sampling would take different paths on 32- and 64-bit targets.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

#[derive(Debug, Clone)]
pub struct SeededRng(ChaCha8Rng);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// An independent sequence for the same seed: one per tree of a forest, so a tree's
    /// randomness does not depend on how much the trees before it drew.
    pub fn with_stream(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        SeededRng(rng)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform integer in `0..bound` (0 when `bound` is 0 or 1, without drawing).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound <= 1 {
            return 0;
        }
        let bound = bound as u64;
        // Rejection sampling without bias (as OpenBSD's arc4random_uniform): draws below
        // 2^64 mod bound are discarded so that every residue is equally likely.
        let min = bound.wrapping_neg() % bound;
        loop {
            let r = self.0.next_u64();
            if r >= min {
                // Less than `bound`, which came from a usize.
                return (r % bound) as usize;
            }
        }
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = SeededRng::new(3);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = SeededRng::new(3);
        let b: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        let mut s = SeededRng::with_stream(3, 1);
        let c: Vec<u64> = (0..5).map(|_| s.next_u64()).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = SeededRng::new(1);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let x = r.below(7);
            seen[x] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut r = SeededRng::new(9);
        let mut v: Vec<usize> = (0..50).collect();
        r.shuffle(&mut v);
        assert_ne!(v, (0..50).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
    }
}
