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

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FoldError {
    #[error("cross-validation needs at least 2 folds, not {folds}")]
    TooFewFolds { folds: usize },
    #[error("{folds} folds need at least {folds} rows; the frame has {rows}")]
    TooFewRows { folds: usize, rows: usize },
}

fn check_folds(rows: usize, folds: usize) -> Result<(), FoldError> {
    if folds < 2 {
        return Err(FoldError::TooFewFolds { folds });
    }
    if rows < folds {
        return Err(FoldError::TooFewRows { folds, rows });
    }
    Ok(())
}

/// The test rows of each of `folds` folds over `rows` rows shuffled with `seed`: every
/// row is in exactly one fold, and the first `rows % folds` folds have one row more (as
/// scikit-learn's `KFold`). Each fold's rows are in ascending order.
pub fn k_fold_indices(rows: usize, folds: usize, seed: u64) -> Result<Vec<Vec<usize>>, FoldError> {
    check_folds(rows, folds)?;
    let mut order: Vec<usize> = (0..rows).collect();
    SeededRng::new(seed).shuffle(&mut order);
    let mut out = Vec::with_capacity(folds);
    let mut start = 0;
    for f in 0..folds {
        let size = rows / folds + usize::from(f < rows % folds);
        let mut fold = order[start..start + size].to_vec();
        fold.sort_unstable();
        out.push(fold);
        start += size;
    }
    Ok(out)
}

/// Like [`k_fold_indices`], but each class of `labels` is spread evenly over the folds,
/// so every fold keeps the classes' balance: class by class in value order, a class's
/// rows (shuffled with `seed`) are dealt to the folds in turn, each class starting at the
/// fold after the one the previous class ended on, so fold sizes differ by at most one.
/// A class with fewer rows than folds leaves some folds without it (scikit-learn warns
/// of the same); the returned note says which.
pub fn stratified_k_fold_indices(
    labels: &[Cell],
    folds: usize,
    seed: u64,
) -> Result<(Vec<Vec<usize>>, Option<String>), FoldError> {
    check_folds(labels.len(), folds)?;
    let mut classes: BTreeMap<&Cell, Vec<usize>> = BTreeMap::new();
    for (row, label) in labels.iter().enumerate() {
        classes.entry(label).or_default().push(row);
    }
    let sparse: Vec<usize> = classes
        .values()
        .map(Vec::len)
        .filter(|&n| n < folds)
        .collect();
    let mut rng = SeededRng::new(seed);
    let mut out = vec![Vec::new(); folds];
    let mut next = 0;
    for members in classes.into_values() {
        let mut members = members;
        rng.shuffle(&mut members);
        for row in members {
            out[next].push(row);
            next = (next + 1) % folds;
        }
    }
    for fold in &mut out {
        fold.sort_unstable();
    }
    let note = sparse.iter().min().map(|smallest| {
        format!(
            "{} class(es) have fewer rows than the {folds} folds (the smallest has \
             {smallest}), so some folds lack them",
            sparse.len()
        )
    });
    Ok((out, note))
}

/// The rows not in `test`, ascending: the training rows of a fold.
pub fn complement(rows: usize, test: &[usize]) -> Vec<usize> {
    let mut in_test = vec![false; rows];
    for &r in test {
        in_test[r] = true;
    }
    (0..rows).filter(|&r| !in_test[r]).collect()
}

#[cfg(test)]
mod fold_tests {
    use super::*;

    fn assert_partition(folds: &[Vec<usize>], rows: usize) {
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..rows).collect::<Vec<_>>());
    }

    #[test]
    fn k_fold_partitions_rows_with_sklearn_sizes() {
        let folds = k_fold_indices(11, 3, 7).unwrap();
        assert_eq!(folds.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 3]);
        assert_partition(&folds, 11);
        assert_eq!(folds, k_fold_indices(11, 3, 7).unwrap());
        assert_ne!(folds, k_fold_indices(11, 3, 8).unwrap());
        assert_eq!(
            k_fold_indices(3, 1, 0).unwrap_err(),
            FoldError::TooFewFolds { folds: 1 }
        );
        assert_eq!(
            k_fold_indices(3, 5, 0).unwrap_err(),
            FoldError::TooFewRows { folds: 5, rows: 3 }
        );
    }

    #[test]
    fn stratified_folds_keep_each_class_balanced() {
        // 30 of class a, 10 of b, interleaved unevenly.
        let labels: Vec<Cell> = (0..40).map(|i| Cell::Int(i64::from(i % 4 == 0))).collect();
        let (folds, note) = stratified_k_fold_indices(&labels, 5, 3).unwrap();
        assert!(note.is_none());
        assert_partition(&folds, 40);
        for fold in &folds {
            assert_eq!(fold.len(), 8);
            let ones = fold.iter().filter(|&&r| r % 4 == 0).count();
            assert_eq!(ones, 2, "each fold holds a fifth of the minority class");
        }
        let few: Vec<Cell> = (0..10).map(|i| Cell::Int(i64::from(i == 0))).collect();
        let (folds, note) = stratified_k_fold_indices(&few, 3, 0).unwrap();
        assert_partition(&folds, 10);
        assert!(note.unwrap().contains("the smallest has 1"));
    }

    #[test]
    fn complement_is_the_other_rows() {
        assert_eq!(complement(6, &[1, 4]), vec![0, 2, 3, 5]);
    }
}
