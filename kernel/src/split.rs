//! Seeded train/test splits.

use crate::frame::Frame;
use crate::rng::SeededRng;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplitError {
    #[error("test_fraction must be between 0 and 1 (both excluded), got {test_fraction}")]
    FractionOutOfRange { test_fraction: f64 },
    #[error(
        "splitting {rows} rows with test_fraction {test_fraction} leaves {test_rows} rows for \
         testing and {train_rows} for training; both sides need at least one row"
    )]
    EmptySide {
        rows: usize,
        test_fraction: f64,
        test_rows: usize,
        train_rows: usize,
    },
}

/// Which rows went to each side, each in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Picks `round(rows * test_fraction)` rows for testing at random (seeded), the rest for
/// training. Each side keeps the original row order, so split tables read like the input.
pub fn split_indices(
    rows: usize,
    test_fraction: f64,
    seed: u64,
) -> Result<SplitIndices, SplitError> {
    // Written so that NaN fails too.
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(SplitError::FractionOutOfRange { test_fraction });
    }
    // In [0, rows] since the fraction is in (0, 1).
    let test_rows = ((rows as f64) * test_fraction).round() as usize;
    let train_rows = rows.saturating_sub(test_rows);
    if test_rows == 0 || train_rows == 0 {
        return Err(SplitError::EmptySide {
            rows,
            test_fraction,
            test_rows,
            train_rows,
        });
    }
    let mut order: Vec<usize> = (0..rows).collect();
    SeededRng::new(seed).shuffle(&mut order);
    let mut test = order[..test_rows].to_vec();
    let mut train = order[test_rows..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    Ok(SplitIndices { train, test })
}

/// `(train, test)` frames; see [`split_indices`].
pub fn train_test_split(
    frame: &Frame,
    test_fraction: f64,
    seed: u64,
) -> Result<(Frame, Frame), SplitError> {
    let indices = split_indices(frame.row_count(), test_fraction, seed)?;
    Ok((frame.take(&indices.train), frame.take(&indices.test)))
}
