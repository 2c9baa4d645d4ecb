//! Seeded train/test splits.

use std::collections::BTreeMap;

use crate::frame::{Frame, FrameError};
use crate::rng::SeededRng;
use crate::transform::Cell;

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
    #[error(transparent)]
    Frame(#[from] FrameError),
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

/// Like [`split_indices`], but each class of `labels` (null being a class too) is split
/// in the same proportion, so that train and test keep the classes' balance. The test
/// side gets `round(rows * test_fraction)` rows: each class its share rounded down, and
/// the rows left over go to the classes with the largest remainders (ties to the class
/// first in value order). Which rows of a class go to test is drawn at random (seeded),
/// class by class in value order, so the split is the same on every machine.
pub fn stratified_split_indices(
    labels: &[Cell],
    test_fraction: f64,
    seed: u64,
) -> Result<SplitIndices, SplitError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(SplitError::FractionOutOfRange { test_fraction });
    }
    let rows = labels.len();
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
    let mut classes: BTreeMap<&Cell, Vec<usize>> = BTreeMap::new();
    for (row, label) in labels.iter().enumerate() {
        classes.entry(label).or_default().push(row);
    }
    let mut shares: Vec<(usize, f64)> = classes
        .values()
        .map(|members| {
            let exact = members.len() as f64 * test_fraction;
            (exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    let assigned: usize = shares.iter().map(|s| s.0).sum();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    // Stable: equal remainders keep class order.
    by_remainder.sort_by(|&a, &b| shares[b].1.total_cmp(&shares[a].1));
    for &c in by_remainder.iter().take(test_rows.saturating_sub(assigned)) {
        shares[c].0 += 1;
    }
    let mut rng = SeededRng::new(seed);
    let (mut test, mut train) = (
        Vec::with_capacity(test_rows),
        Vec::with_capacity(train_rows),
    );
    for (members, (take, _)) in classes.into_values().zip(shares) {
        let mut members = members;
        rng.shuffle(&mut members);
        test.extend_from_slice(&members[..take]);
        train.extend_from_slice(&members[take..]);
    }
    test.sort_unstable();
    train.sort_unstable();
    Ok(SplitIndices { train, test })
}

/// `(train, test)` frames split with the classes of `column` kept in proportion; see
/// [`stratified_split_indices`].
pub fn stratified_train_test_split(
    frame: &Frame,
    test_fraction: f64,
    seed: u64,
    column: &str,
) -> Result<(Frame, Frame), SplitError> {
    let data = &frame.column(column)?.data;
    let labels: Vec<Cell> = (0..data.len()).map(|i| Cell::at(data, i)).collect();
    let indices = stratified_split_indices(&labels, test_fraction, seed)?;
    Ok((frame.take(&indices.train), frame.take(&indices.test)))
}
