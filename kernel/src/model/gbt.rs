//! Histogram-based gradient-boosted trees (classification and regression), in the manner of
//! scikit-learn's `HistGradientBoosting*` and LightGBM.
//!
//! Each feature is cut once into at most `max_bins` quantile bins and every training value
//! replaced by its bin number (a `u8`), stored column by column. A tree is grown leaf-wise
//! (the leaf whose best split lowers the loss most is split next) from per-node histograms
//! of gradient and hessian sums; only the smaller child of a split has its histogram built
//! from its rows, the larger one's is the parent's minus the smaller's. Leaves predict
//! `-learning_rate · G / (H + l2_regularization)`.
//!
//! Losses: half squared error for regression, log loss for two classes (one tree a round
//! on the log-odds) and softmax for more (one tree per class a round).
//!
//! The fitted trees keep the raw-value threshold of each bin boundary (`x <= threshold`
//! goes left, exactly as `bin <= split bin` did in training), so a model predicts from raw
//! values without its bins and an artifact carries everything it needs.
//!
//! Deterministic to the bit on every platform: sums are taken in a fixed order, randomness
//! (validation split, row and feature subsampling) comes from [`SeededRng`] streams, and
//! `exp`/`log` from `libm`; there are no threads and no hash maps.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::ops::ControlFlow;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{FitProgress, Matrix, ModelError, Monitor};
use crate::rng::SeededRng;

/// More rounds than this is almost certainly a typo, and would run for a very long time.
pub const MAX_ROUNDS: usize = 10_000;
/// Bin numbers are stored as `u8`.
pub const MAX_BINS: usize = 255;
/// With `early_stopping: "auto"`, early stopping is on above this many rows (scikit-learn's
/// threshold).
pub const AUTO_EARLY_STOPPING_ROWS: usize = 10_000;
/// Fewest hessian sum either side of a split may have (scikit-learn's
/// `min_hessian_to_split`): with log loss, nearly certain rows carry almost no curvature,
/// and a leaf of only those would get a huge value.
const MIN_HESSIAN_TO_SPLIT: f64 = 1e-3;
/// Features with at most this many bins have their histograms summed in `LANES`
/// interleaved copies (see [`Grower::build`]).
const FEW_BINS: usize = 16;
const LANES: usize = 4;
/// Added to a leaf's denominator so that a leaf with no curvature and no L2 penalty gets a
/// finite value (as scikit-learn).
const LEAF_DENOMINATOR_EPSILON: f64 = 1e-15;

/// Whether to hold out part of the training rows and stop when the loss on them stops
/// improving. Written `true`, `false` or `"auto"` (on when there are more than
/// [`AUTO_EARLY_STOPPING_ROWS`] rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EarlyStopping {
    #[default]
    Auto,
    On,
    Off,
}

impl EarlyStopping {
    /// Whether early stopping applies to a fit on `rows` rows.
    pub fn applies(self, rows: usize) -> bool {
        match self {
            EarlyStopping::Auto => rows > AUTO_EARLY_STOPPING_ROWS,
            EarlyStopping::On => true,
            EarlyStopping::Off => false,
        }
    }
}

impl Serialize for EarlyStopping {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            EarlyStopping::Auto => serializer.serialize_str("auto"),
            EarlyStopping::On => serializer.serialize_bool(true),
            EarlyStopping::Off => serializer.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for EarlyStopping {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Expected;
        impl Visitor<'_> for Expected {
            type Value = EarlyStopping;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or \"auto\"")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EarlyStopping, E> {
                Ok(if v {
                    EarlyStopping::On
                } else {
                    EarlyStopping::Off
                })
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<EarlyStopping, E> {
                if v == "auto" {
                    Ok(EarlyStopping::Auto)
                } else {
                    Err(E::invalid_value(Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Expected)
    }
}

/// Settings of gradient-boosted trees; the defaults are scikit-learn's
/// `HistGradientBoostingClassifier`/`Regressor`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradientBoostingSettings {
    /// Shrinkage: each tree's leaf values are multiplied by this. Default 0.1.
    pub learning_rate: f64,
    /// Most boosting rounds (a round adds one tree, or one per class for more than two
    /// classes); early stopping may use fewer. Default 100.
    pub max_iter: usize,
    /// Deepest a tree may grow (a tree of depth 1 has one split); `None` (the default)
    /// leaves depth limited by `max_leaf_nodes` and `min_samples_leaf` only.
    pub max_depth: Option<usize>,
    /// Most leaves per tree; `None` for no limit. Default 31.
    pub max_leaf_nodes: Option<usize>,
    /// Fewest training rows a leaf may hold. Default 20.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values (λ in `-G / (H + λ)`). Default 0.
    pub l2_regularization: f64,
    /// Most bins a feature is cut into (2 to 255). Default 255.
    pub max_bins: usize,
    /// Fraction of the training rows each round's trees are grown on, drawn afresh each
    /// round without replacement. Default 1 (all rows).
    pub subsample: f64,
    /// Fraction of the features each tree may split on, drawn afresh for each tree.
    /// Default 1 (all features).
    pub colsample: f64,
    /// `true`, `false`, or `"auto"` (the default): on when there are more than 10,000 rows.
    pub early_stopping: EarlyStopping,
    /// With early stopping, the fraction of the rows held out to score the loss on
    /// (stratified by class for classifiers). Default 0.1.
    pub validation_fraction: f64,
    /// With early stopping, stop once this many rounds in a row have not lowered the
    /// validation loss by more than `tol`. Default 10.
    pub n_iter_no_change: usize,
    /// With early stopping, the smallest loss decrease that counts as an improvement.
    /// Default 1e-7.
    pub tol: f64,
    /// Seeds the validation split and the row and feature subsampling. Default 42.
    pub seed: u64,
}

impl Default for GradientBoostingSettings {
    fn default() -> Self {
        GradientBoostingSettings {
            learning_rate: 0.1,
            max_iter: 100,
            max_depth: None,
            max_leaf_nodes: Some(31),
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: MAX_BINS,
            subsample: 1.0,
            colsample: 1.0,
            early_stopping: EarlyStopping::Auto,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
            seed: 42,
        }
    }
}

/// Whether `value` is in (0, 1], or (0, 1) without `one`.
fn is_fraction(value: f64, one: bool) -> bool {
    value > 0.0 && (value < 1.0 || (one && value == 1.0))
}

impl GradientBoostingSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ModelError::setting(
                "learning_rate",
                format!(
                    "must be a finite number above 0 (got {})",
                    self.learning_rate
                ),
            ));
        }
        if self.max_iter == 0 || self.max_iter > MAX_ROUNDS {
            return Err(ModelError::setting(
                "max_iter",
                format!("must be between 1 and {MAX_ROUNDS} (got {})", self.max_iter),
            ));
        }
        if self.max_depth == Some(0) {
            return Err(ModelError::setting(
                "max_depth",
                "must be at least 1 (got 0); leave it out for no limit",
            ));
        }
        if let Some(leaves) = self.max_leaf_nodes.filter(|&n| n < 2) {
            return Err(ModelError::setting(
                "max_leaf_nodes",
                format!("must be at least 2 (got {leaves}); leave it out for no limit"),
            ));
        }
        if self.min_samples_leaf == 0 {
            return Err(ModelError::setting(
                "min_samples_leaf",
                "must be at least 1 (got 0)",
            ));
        }
        if !(self.l2_regularization.is_finite() && self.l2_regularization >= 0.0) {
            return Err(ModelError::setting(
                "l2_regularization",
                format!(
                    "must be a finite number of at least 0 (got {})",
                    self.l2_regularization
                ),
            ));
        }
        if !(2..=MAX_BINS).contains(&self.max_bins) {
            return Err(ModelError::setting(
                "max_bins",
                format!("must be between 2 and {MAX_BINS} (got {})", self.max_bins),
            ));
        }
        if !is_fraction(self.subsample, true) {
            return Err(ModelError::setting(
                "subsample",
                format!("must be above 0 and at most 1 (got {})", self.subsample),
            ));
        }
        if !is_fraction(self.colsample, true) {
            return Err(ModelError::setting(
                "colsample",
                format!("must be above 0 and at most 1 (got {})", self.colsample),
            ));
        }
        if !is_fraction(self.validation_fraction, false) {
            return Err(ModelError::setting(
                "validation_fraction",
                format!(
                    "must be above 0 and below 1 (got {})",
                    self.validation_fraction
                ),
            ));
        }
        if self.n_iter_no_change == 0 {
            return Err(ModelError::setting(
                "n_iter_no_change",
                "must be at least 1 (got 0)",
            ));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(ModelError::setting(
                "tol",
                format!("must be a finite number of at least 0 (got {})", self.tol),
            ));
        }
        Ok(())
    }
}

/// What the trees' summed scores mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Regression: the score is the prediction.
    SquaredError,
    /// Two classes: the score is the log-odds of the second.
    LogLoss,
    /// Three or more classes: one score per class, probabilities their softmax.
    Softmax,
}

/// A fitted gradient-boosted model. A row's score for output `k` is `baseline[k]` plus,
/// for every round, the value of the leaf it reaches in `trees[round][k]`, added in round
/// order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbtModel {
    pub objective: Objective,
    /// How many features the model was fitted on (rows must have this many values).
    pub features: usize,
    /// The score before any tree, per output: the mean (regression), the log-odds of the
    /// second class (two classes), or the log of each class's share (more).
    pub baseline: Vec<f64>,
    /// Per round, one tree per output.
    pub trees: Vec<Vec<BoostedTree>>,
}

/// One regression tree as a node list; `nodes[0]` is the root and children come after
/// their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostedTree {
    pub nodes: Vec<BoostedNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoostedNode {
    /// Rows whose `feature` is at most `threshold` go to `left`, the others to `right`
    /// (indices into the tree's nodes). `gain` is how much the split lowered the training
    /// loss (in the units of the gradient statistics), for feature importances.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
        gain: f64,
    },
    /// Added to the row's score (already multiplied by the learning rate).
    Leaf { value: f64 },
}

/// Fits a classifier: `y[i]` is row `i`'s class, below `classes` (at least 2).
pub(crate) fn fit_classifier(
    x: &Matrix,
    y: &[usize],
    classes: usize,
    settings: &GradientBoostingSettings,
    monitor: &mut Monitor<'_>,
) -> Result<GbtModel, ModelError> {
    if classes < 2 {
        return Err(ModelError::FitFailed(format!(
            "a classifier needs at least 2 classes (got {classes})"
        )));
    }
    if let Some(&bad) = y.iter().find(|&&c| c >= classes) {
        return Err(ModelError::FitFailed(format!(
            "class {bad} is out of range for {classes} classes"
        )));
    }
    fit(x, Target::Classes { y, classes }, settings, monitor)
}

/// Fits a regressor predicting `y[i]` for row `i`.
pub(crate) fn fit_regressor(
    x: &Matrix,
    y: &[f64],
    settings: &GradientBoostingSettings,
    monitor: &mut Monitor<'_>,
) -> Result<GbtModel, ModelError> {
    let non_finite = y.iter().filter(|v| !v.is_finite()).count();
    if non_finite > 0 {
        return Err(ModelError::FitFailed(format!(
            "the target has NaN or infinite values in {non_finite} row(s)"
        )));
    }
    fit(x, Target::Values(y), settings, monitor)
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Values(&'a [f64]),
    Classes { y: &'a [usize], classes: usize },
}

impl Target<'_> {
    fn len(&self) -> usize {
        match self {
            Target::Values(y) => y.len(),
            Target::Classes { y, .. } => y.len(),
        }
    }
}

/// Training targets, restricted to the training or the validation rows.
enum Labels {
    Values(Vec<f64>),
    Classes(Vec<usize>),
}

fn fit(
    x: &Matrix,
    target: Target<'_>,
    settings: &GradientBoostingSettings,
    monitor: &mut Monitor<'_>,
) -> Result<GbtModel, ModelError> {
    settings.validate()?;
    if x.cols == 0 {
        return Err(ModelError::NoFeatures);
    }
    if x.rows == 0 {
        return Err(ModelError::EmptyFrame);
    }
    if target.len() != x.rows || x.data.len() != x.rows * x.cols {
        return Err(ModelError::FitFailed(format!(
            "{} target values for {} rows",
            target.len(),
            x.rows
        )));
    }
    if u32::try_from(x.rows).is_err() {
        return Err(ModelError::FitFailed(format!(
            "{} rows is more than gradient boosting handles ({})",
            x.rows,
            u32::MAX
        )));
    }
    for j in 0..x.cols {
        let bad = (0..x.rows).filter(|&i| !x.get(i, j).is_finite()).count();
        if bad > 0 {
            return Err(ModelError::FitFailed(format!(
                "feature {} has NaN or infinite values in {bad} row(s)",
                j + 1
            )));
        }
    }

    let (train_rows, validation_rows) = if settings.early_stopping.applies(x.rows) {
        validation_split(target, settings)?
    } else {
        ((0..x.rows).collect(), Vec::new())
    };

    let edges = bin_edges(x, &train_rows, settings.max_bins);
    let binned = Binned::new(x, &train_rows, &edges);
    let validation_bins = bin_rows(x, &validation_rows, &edges);
    let (objective, outputs) = match target {
        Target::Values(_) => (Objective::SquaredError, 1),
        Target::Classes { classes: 2, .. } => (Objective::LogLoss, 1),
        Target::Classes { classes, .. } => (Objective::Softmax, classes),
    };
    let pick = |rows: &[usize]| match target {
        Target::Values(y) => Labels::Values(rows.iter().map(|&i| y[i]).collect()),
        Target::Classes { y, .. } => Labels::Classes(rows.iter().map(|&i| y[i]).collect()),
    };
    let train_labels = pick(&train_rows);
    let validation_labels = pick(&validation_rows);
    let baseline = baseline(objective, outputs, &train_labels);

    let n = train_rows.len();
    let nv = validation_rows.len();
    let cols = x.cols;
    // Scores, output-major: raw[k * n + i].
    let mut raw: Vec<f64> = baseline
        .iter()
        .flat_map(|&b| std::iter::repeat_n(b, n))
        .collect();
    let mut validation_raw: Vec<f64> = baseline
        .iter()
        .flat_map(|&b| std::iter::repeat_n(b, nv))
        .collect();
    let mut gradients = vec![Gh::default(); outputs * n];
    let mut grower = Grower::new(&binned, settings, objective == Objective::SquaredError);
    let all_rows: Vec<u32> = (0..n as u32).collect();
    let mut sample: Vec<u32> = Vec::with_capacity(n);
    let mut order: Vec<usize> = (0..cols).collect();
    let mut chosen: Vec<usize> = Vec::with_capacity(cols);
    let features_per_tree = ((settings.colsample * cols as f64).round() as usize).clamp(1, cols);
    let sample_size = ((settings.subsample * n as f64).round() as usize).clamp(1, n);

    let early_stopping = !validation_rows.is_empty();
    let mut losses = Vec::new();
    if early_stopping {
        losses.push(loss(
            objective,
            outputs,
            &validation_raw,
            &validation_labels,
        ));
    }
    let mut trees: Vec<Vec<BoostedTree>> = Vec::new();
    for round in 0..settings.max_iter {
        compute_gradients(objective, outputs, &raw, &train_labels, &mut gradients);
        let mut rng = SeededRng::with_stream(settings.seed, round as u64 + 1);
        let rows: &[u32] = if sample_size < n {
            select_rows(&mut rng, n, sample_size, &mut sample);
            &sample
        } else {
            &all_rows
        };
        let mut round_trees = Vec::with_capacity(outputs);
        for k in 0..outputs {
            chosen.clear();
            if features_per_tree < cols {
                // Partial Fisher–Yates: order[..features_per_tree] are the features drawn.
                for i in 0..features_per_tree {
                    let j = i + rng.below(cols - i);
                    order.swap(i, j);
                }
                chosen.extend_from_slice(&order[..features_per_tree]);
                chosen.sort_unstable();
            } else {
                chosen.extend(0..cols);
            }
            let g = &gradients[k * n..(k + 1) * n];
            let tree = grower.grow(g, rows, sample_size == n, &chosen);
            let scores = &mut raw[k * n..(k + 1) * n];
            if sample_size == n {
                // Every training row is in exactly one leaf's range.
                for node in &tree.nodes {
                    if node.is_leaf() {
                        for &i in &grower.rows[node.start..node.end] {
                            scores[i as usize] += node.value;
                        }
                    }
                }
            } else {
                for (i, score) in scores.iter_mut().enumerate() {
                    *score += tree.value(|f| binned.columns[f * n + i]);
                }
            }
            let validation_scores = &mut validation_raw[k * nv..(k + 1) * nv];
            for (i, score) in validation_scores.iter_mut().enumerate() {
                *score += tree.value(|f| validation_bins[i * cols + f]);
            }
            round_trees.push(tree.finish(&edges));
        }
        trees.push(round_trees);

        let progress = FitProgress {
            done: round + 1,
            total: settings.max_iter,
            unit: "rounds",
        };
        if let ControlFlow::Break(()) = monitor(progress) {
            return Err(progress.cancelled());
        }
        if early_stopping {
            losses.push(loss(
                objective,
                outputs,
                &validation_raw,
                &validation_labels,
            ));
            if should_stop(&losses, settings.n_iter_no_change, settings.tol) {
                break;
            }
        }
    }
    Ok(GbtModel {
        objective,
        features: cols,
        baseline,
        trees,
    })
}

/// scikit-learn's rule: stop when none of the last `patience` losses is lower than the one
/// `patience` rounds before them by more than `tol`. `losses[0]` is the baseline's.
fn should_stop(losses: &[f64], patience: usize, tol: f64) -> bool {
    if losses.len() <= patience {
        return false;
    }
    let reference = losses[losses.len() - patience - 1];
    losses[losses.len() - patience..]
        .iter()
        .all(|&l| l >= reference - tol)
}

/// Training and validation row indices (each ascending): `ceil(validation_fraction · n)`
/// rows held out, shared out among the classes in proportion to their sizes.
fn validation_split(
    target: Target<'_>,
    settings: &GradientBoostingSettings,
) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
    let n = target.len();
    let held = ((settings.validation_fraction * n as f64).ceil() as usize).clamp(1, n);
    if held >= n {
        return Err(ModelError::setting(
            "early_stopping",
            format!(
                "needs rows to train on, but holding out {held} of the {n} row(s) for \
                 validation leaves none; turn early_stopping off or lower validation_fraction"
            ),
        ));
    }
    let mut rng = SeededRng::with_stream(settings.seed, 0);
    let groups: Vec<Vec<usize>> = match target {
        Target::Values(_) => vec![(0..n).collect()],
        Target::Classes { y, classes } => {
            let mut groups = vec![Vec::new(); classes];
            for (i, &c) in y.iter().enumerate() {
                groups[c].push(i);
            }
            groups
        }
    };
    // Largest remainder: each group gets floor(held · size / n), and the rows left over go
    // to the groups with the largest fractional parts (ties to the lower class).
    // In u64: on wasm32 the products overflow usize from about 65,536 rows.
    let share = |size: usize| (held as u64 * size as u64 / n as u64) as usize;
    let remainder = |size: usize| held as u64 * size as u64 % n as u64;
    let mut quotas: Vec<usize> = groups.iter().map(|g| share(g.len())).collect();
    let mut remainders: Vec<(u64, usize)> = groups
        .iter()
        .enumerate()
        .map(|(c, g)| (remainder(g.len()), c))
        .collect();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let assigned: usize = quotas.iter().sum();
    for &(_, c) in remainders.iter().take(held - assigned) {
        quotas[c] += 1;
    }
    let mut train = Vec::with_capacity(n - held);
    let mut validation = Vec::with_capacity(held);
    for (mut group, quota) in groups.into_iter().zip(quotas) {
        rng.shuffle(&mut group);
        validation.extend_from_slice(&group[..quota]);
        train.extend_from_slice(&group[quota..]);
    }
    train.sort_unstable();
    validation.sort_unstable();
    Ok((train, validation))
}

/// `size` of `0..n` chosen uniformly without replacement, ascending (Knuth's selection
/// sampling: one draw per row).
fn select_rows(rng: &mut SeededRng, n: usize, size: usize, out: &mut Vec<u32>) {
    out.clear();
    let mut needed = size;
    for i in 0..n {
        if needed == 0 {
            break;
        }
        if rng.below(n - i) < needed {
            out.push(i as u32);
            needed -= 1;
        }
    }
}

/// A threshold `t` with `a <= t < b` (for `a < b`), halfway when representable.
fn threshold_between(a: f64, b: f64) -> f64 {
    // Halving first cannot overflow.
    let t = a / 2.0 + b / 2.0;
    if a <= t && t < b {
        t
    } else {
        a
    }
}

/// Per feature, the ascending bin boundaries: a value `v` falls in bin `b` = the number of
/// boundaries below `v`, so `v <= edges[b]` exactly when its bin is at most `b`.
///
/// With at most `max_bins` distinct values every value gets its own bin (boundaries
/// halfway between neighbours); otherwise the boundaries are the `max_bins` quantiles
/// (midpoints of the two nearest ranks, as numpy's `percentile(method="midpoint")` which
/// scikit-learn uses), duplicates dropped.
fn bin_edges(x: &Matrix, rows: &[usize], max_bins: usize) -> Vec<Vec<f64>> {
    let mut values = Vec::with_capacity(rows.len());
    let mut distinct = Vec::new();
    (0..x.cols)
        .map(|j| {
            values.clear();
            values.extend(rows.iter().map(|&i| x.get(i, j)));
            values.sort_unstable_by(f64::total_cmp);
            distinct.clear();
            distinct.extend_from_slice(&values);
            // -0.0 == 0.0, so both share a bin, as they compare equal at prediction.
            distinct.dedup();
            if distinct.len() <= max_bins {
                return distinct
                    .windows(2)
                    .map(|w| threshold_between(w[0], w[1]))
                    .collect();
            }
            let last = (values.len() - 1) as u64;
            let mut edges: Vec<f64> = Vec::with_capacity(max_bins - 1);
            for q in 1..max_bins as u64 {
                // The q-th of max_bins quantiles sits at rank q · last / max_bins.
                let numerator = q * last;
                let low = (numerator / max_bins as u64) as usize;
                let high = numerator.div_ceil(max_bins as u64) as usize;
                let (a, b) = (values[low], values[high]);
                let edge = if a < b { threshold_between(a, b) } else { a };
                if edges.last().is_none_or(|&previous| edge > previous) {
                    edges.push(edge);
                }
            }
            // A boundary at or above the largest value would leave an empty last bin.
            let max = values[values.len() - 1];
            while edges.last().is_some_and(|&e| e >= max) {
                edges.pop();
            }
            edges
        })
        .collect()
}

fn bin_of(edges: &[f64], v: f64) -> u8 {
    // At most MAX_BINS - 1 edges, so the count fits.
    edges.partition_point(|&e| e < v) as u8
}

/// The training rows' bins, column-major (`columns[f * rows + i]`), and where each
/// feature's histogram starts in a node's histogram.
struct Binned {
    rows: usize,
    columns: Vec<u8>,
    /// `offsets[f]..offsets[f + 1]` are feature `f`'s bins in a histogram.
    offsets: Vec<usize>,
}

impl Binned {
    fn new(x: &Matrix, rows: &[usize], edges: &[Vec<f64>]) -> Binned {
        let n = rows.len();
        let mut columns = vec![0u8; n * x.cols];
        for (f, edges) in edges.iter().enumerate() {
            let column = &mut columns[f * n..(f + 1) * n];
            for (slot, &i) in column.iter_mut().zip(rows) {
                *slot = bin_of(edges, x.get(i, f));
            }
        }
        let mut offsets = vec![0];
        for e in edges {
            offsets.push(offsets[offsets.len() - 1] + e.len() + 1);
        }
        Binned {
            rows: n,
            columns,
            offsets,
        }
    }

    fn column(&self, f: usize) -> &[u8] {
        &self.columns[f * self.rows..(f + 1) * self.rows]
    }
}

/// The bins of `rows`, row-major.
fn bin_rows(x: &Matrix, rows: &[usize], edges: &[Vec<f64>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * x.cols);
    for &i in rows {
        for (f, edges) in edges.iter().enumerate() {
            out.push(bin_of(edges, x.get(i, f)));
        }
    }
    out
}

fn baseline(objective: Objective, outputs: usize, labels: &Labels) -> Vec<f64> {
    match labels {
        Labels::Values(y) => {
            let mut sum = 0.0;
            for &v in y {
                sum += v;
            }
            vec![sum / y.len() as f64]
        }
        Labels::Classes(y) => {
            let classes = if objective == Objective::LogLoss {
                2
            } else {
                outputs
            };
            let mut counts = vec![0usize; classes];
            for &c in y {
                counts[c] += 1;
            }
            // Shares kept off 0 and 1 so that a class missing from the training rows gives
            // a finite score (scikit-learn clips at machine epsilon too).
            let share = |c: usize| {
                (counts[c] as f64 / y.len() as f64).clamp(f64::EPSILON, 1.0 - f64::EPSILON)
            };
            if objective == Objective::LogLoss {
                let p = share(1);
                vec![libm::log(p / (1.0 - p))]
            } else {
                (0..classes).map(|c| libm::log(share(c))).collect()
            }
        }
    }
}

/// First and second derivative of a row's loss with respect to a score.
#[derive(Debug, Clone, Copy, Default)]
struct Gh {
    g: f64,
    h: f64,
}

fn compute_gradients(
    objective: Objective,
    outputs: usize,
    raw: &[f64],
    labels: &Labels,
    out: &mut [Gh],
) {
    match (objective, labels) {
        (Objective::SquaredError, Labels::Values(y)) => {
            for ((o, &z), &t) in out.iter_mut().zip(raw).zip(y) {
                *o = Gh { g: z - t, h: 1.0 };
            }
        }
        (Objective::LogLoss, Labels::Classes(y)) => {
            for ((o, &z), &c) in out.iter_mut().zip(raw).zip(y) {
                // e = exp(-|z|) never overflows. The sigmoid is 1 / (1 + e) for z >= 0 and
                // e / (1 + e) below; p(1 - p) = e / (1 + e)² either way.
                let e = libm::exp(-z.abs());
                let r = 1.0 / (1.0 + e);
                let p = if z >= 0.0 { r } else { e * r };
                let t = if c == 1 { 1.0 } else { 0.0 };
                *o = Gh {
                    g: p - t,
                    h: e * r * r,
                };
            }
        }
        (Objective::Softmax, Labels::Classes(y)) => {
            let n = y.len();
            let mut p = vec![0.0; outputs];
            for (i, &c) in y.iter().enumerate() {
                for (k, pk) in p.iter_mut().enumerate() {
                    *pk = raw[k * n + i];
                }
                softmax_in_place(&mut p);
                for (k, &pk) in p.iter().enumerate() {
                    let t = if c == k { 1.0 } else { 0.0 };
                    out[k * n + i] = Gh {
                        g: pk - t,
                        h: pk * (1.0 - pk),
                    };
                }
            }
        }
        // The objective follows from the labels' kind.
        _ => {}
    }
}

/// Replaces scores by their softmax and returns ln Σ e^score.
fn softmax_in_place(scores: &mut [f64]) -> f64 {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = libm::exp(*s - max);
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
    max + libm::log(sum)
}

/// Mean loss of `raw` (output-major) on `labels`: half squared error, log loss, or
/// multinomial log loss.
fn loss(objective: Objective, outputs: usize, raw: &[f64], labels: &Labels) -> f64 {
    let mut total = 0.0;
    let n = match labels {
        Labels::Values(y) => y.len(),
        Labels::Classes(y) => y.len(),
    };
    match (objective, labels) {
        (Objective::SquaredError, Labels::Values(y)) => {
            for (&z, &t) in raw.iter().zip(y) {
                total += 0.5 * (z - t) * (z - t);
            }
        }
        (Objective::LogLoss, Labels::Classes(y)) => {
            for (&z, &c) in raw.iter().zip(y) {
                // ln(1 + e^z) - t·z without overflow.
                let softplus = z.max(0.0) + libm::log1p(libm::exp(-z.abs()));
                total += softplus - if c == 1 { z } else { 0.0 };
            }
        }
        (Objective::Softmax, Labels::Classes(y)) => {
            let mut p = vec![0.0; outputs];
            for (i, &c) in y.iter().enumerate() {
                for (k, pk) in p.iter_mut().enumerate() {
                    *pk = raw[k * n + i];
                }
                let z_true = p[c];
                total += softmax_in_place(&mut p) - z_true;
            }
        }
        _ => {}
    }
    total / n as f64
}

/// Gradient and hessian sums and the row count of a node, or of one histogram bin.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sums {
    g: f64,
    h: f64,
    n: u32,
}

impl Sums {
    fn add(&mut self, gh: Gh) {
        self.g += gh.g;
        self.h += gh.h;
        self.n += 1;
    }

    fn minus(self, other: Sums) -> Sums {
        Sums {
            g: self.g - other.g,
            h: self.h - other.h,
            n: self.n - other.n,
        }
    }
}

/// The best split of a node: rows with `bin <= bin` of `feature` go left.
#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    left: Sums,
    right: Sums,
}

/// A node of a tree being grown; rows `start..end` of the grower's row list reach it.
#[derive(Debug, Clone)]
struct GrowNode {
    sums: Sums,
    start: usize,
    end: usize,
    /// `(feature, bin, left, right, gain)` once split.
    split: Option<(usize, u8, usize, usize, f64)>,
    /// Leaves only: the value added to the score (learning rate applied).
    value: f64,
}

impl GrowNode {
    fn is_leaf(&self) -> bool {
        self.split.is_none()
    }
}

/// A grown tree over bins, before its bins become raw-value thresholds.
struct GrownTree {
    nodes: Vec<GrowNode>,
}

impl GrownTree {
    /// The leaf value for a row whose feature `f` has bin `bin(f)`.
    fn value(&self, bin: impl Fn(usize) -> u8) -> f64 {
        let mut node = &self.nodes[0];
        while let Some((feature, split_bin, left, right, _)) = node.split {
            node = &self.nodes[if bin(feature) <= split_bin {
                left
            } else {
                right
            }];
        }
        node.value
    }

    fn finish(&self, edges: &[Vec<f64>]) -> BoostedTree {
        BoostedTree {
            nodes: self
                .nodes
                .iter()
                .map(|node| match node.split {
                    Some((feature, bin, left, right, gain)) => BoostedNode::Split {
                        feature,
                        // Splits never put every bin on the left, so the edge exists.
                        threshold: edges[feature][bin as usize],
                        left,
                        right,
                        gain,
                    },
                    None => BoostedNode::Leaf { value: node.value },
                })
                .collect(),
        }
    }
}

/// A leaf that has a split worth making, waiting for its turn.
struct Open {
    node: usize,
    depth: usize,
    split: Split,
    histogram: Vec<Sums>,
}

impl PartialEq for Open {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Open {}
impl PartialOrd for Open {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Open {
    /// Larger gain first; between equal gains, the older node.
    fn cmp(&self, other: &Self) -> Ordering {
        self.split
            .gain
            .total_cmp(&other.split.gain)
            .then(other.node.cmp(&self.node))
    }
}

/// Open leaves: best-first when the leaf count is limited (which leaves get split depends
/// on the order), depth-first otherwise (the tree comes out the same in any order, and a
/// stack keeps only about one histogram per level alive).
enum Frontier {
    Best(BinaryHeap<Open>),
    Deep(Vec<Open>),
}

impl Frontier {
    fn push(&mut self, open: Open) {
        match self {
            Frontier::Best(heap) => heap.push(open),
            Frontier::Deep(stack) => stack.push(open),
        }
    }

    fn pop(&mut self) -> Option<Open> {
        match self {
            Frontier::Best(heap) => heap.pop(),
            Frontier::Deep(stack) => stack.pop(),
        }
    }
}

/// Grows trees on one binned training set, reusing its buffers from tree to tree.
struct Grower<'a> {
    binned: &'a Binned,
    learning_rate: f64,
    l2: f64,
    max_depth: usize,
    max_leaves: Option<usize>,
    min_samples_leaf: u32,
    /// Squared error's hessians are all 1, so a bin's hessian sum is its row count.
    constant_hessian: bool,
    /// The rows of the tree being grown, grouped by node: a node's rows are a range.
    rows: Vec<u32>,
    /// Room for the right side while partitioning.
    scratch: Vec<u32>,
    /// Interleaved histograms of one feature with few bins (see [`Grower::build`]).
    lanes: Box<[[Sums; 256]; LANES]>,
    /// The gradients of a node's rows, in the node's row order, for histogram building.
    ordered: Vec<Gh>,
    /// Histograms not in use, kept to save allocating.
    spare: Vec<Vec<Sums>>,
}

impl<'a> Grower<'a> {
    fn new(
        binned: &'a Binned,
        settings: &GradientBoostingSettings,
        constant_hessian: bool,
    ) -> Self {
        Grower {
            binned,
            learning_rate: settings.learning_rate,
            l2: settings.l2_regularization,
            max_depth: settings.max_depth.unwrap_or(usize::MAX),
            max_leaves: settings.max_leaf_nodes,
            // Above u32::MAX it can never be met, like any count above the row count.
            min_samples_leaf: u32::try_from(settings.min_samples_leaf).unwrap_or(u32::MAX),
            constant_hessian,
            rows: Vec::with_capacity(binned.rows),
            scratch: vec![0; binned.rows],
            lanes: Box::new([[Sums::default(); 256]; LANES]),
            ordered: Vec::with_capacity(binned.rows),
            spare: Vec::new(),
        }
    }

    fn histogram(&mut self) -> Vec<Sums> {
        self.spare.pop().unwrap_or_else(|| {
            vec![Sums::default(); self.binned.offsets[self.binned.offsets.len() - 1]]
        })
    }

    /// Grows one tree on `rows` (ascending; `all` when they are every training row) with
    /// the gradients `gradients` (indexed by training row), splitting only on `features`.
    fn grow(&mut self, gradients: &[Gh], rows: &[u32], all: bool, features: &[usize]) -> GrownTree {
        self.rows.clear();
        self.rows.extend_from_slice(rows);
        let mut root = Sums::default();
        for &i in rows {
            let gh = gradients[i as usize];
            root.g += gh.g;
            root.h += gh.h;
        }
        root.n = rows.len() as u32;
        let mut nodes = vec![GrowNode {
            sums: root,
            start: 0,
            end: rows.len(),
            split: None,
            value: 0.0,
        }];
        let mut frontier = if self.max_leaves.is_some() {
            Frontier::Best(BinaryHeap::new())
        } else {
            Frontier::Deep(Vec::new())
        };
        let mut leaves = 1;
        if self.may_split(0, root, leaves) {
            let mut histogram = self.histogram();
            self.build(&mut histogram, gradients, 0, rows.len(), all, features);
            self.consider(&mut frontier, 0, 0, root, histogram, features);
        }
        while self.max_leaves.is_none_or(|max| leaves < max) {
            let Some(open) = frontier.pop() else { break };
            let Split {
                feature,
                bin,
                left,
                right,
                gain,
            } = open.split;
            let (start, end) = (nodes[open.node].start, nodes[open.node].end);
            let middle = self.partition(start, end, feature, bin);
            debug_assert_eq!(middle - start, left.n as usize);
            let (l, r) = (nodes.len(), nodes.len() + 1);
            for (sums, start, end) in [(left, start, middle), (right, middle, end)] {
                nodes.push(GrowNode {
                    sums,
                    start,
                    end,
                    split: None,
                    value: 0.0,
                });
            }
            nodes[open.node].split = Some((feature, bin, l, r, gain));
            leaves += 1;

            let depth = open.depth + 1;
            let split_left = self.may_split(depth, left, leaves);
            let split_right = self.may_split(depth, right, leaves);
            let mut parent = open.histogram;
            if !split_left && !split_right {
                self.spare.push(parent);
                continue;
            }
            // Build the smaller child's histogram; the larger's is the parent's minus it.
            let (small, large, split_small, split_large) = if left.n <= right.n {
                (l, r, split_left, split_right)
            } else {
                (r, l, split_right, split_left)
            };
            let mut histogram = self.histogram();
            self.build(
                &mut histogram,
                gradients,
                nodes[small].start,
                nodes[small].end,
                false,
                features,
            );
            if split_large {
                for &f in features {
                    let range = self.binned.offsets[f]..self.binned.offsets[f + 1];
                    for (p, s) in parent[range.clone()].iter_mut().zip(&histogram[range]) {
                        *p = p.minus(*s);
                    }
                }
                let sums = nodes[large].sums;
                self.consider(&mut frontier, large, depth, sums, parent, features);
            } else {
                self.spare.push(parent);
            }
            if split_small {
                let sums = nodes[small].sums;
                self.consider(&mut frontier, small, depth, sums, histogram, features);
            } else {
                self.spare.push(histogram);
            }
        }
        while let Some(open) = frontier.pop() {
            self.spare.push(open.histogram);
        }
        let denominator_extra = self.l2 + LEAF_DENOMINATOR_EPSILON;
        for node in nodes.iter_mut().filter(|n| n.is_leaf()) {
            node.value = -self.learning_rate * node.sums.g / (node.sums.h + denominator_extra);
        }
        GrownTree { nodes }
    }

    fn may_split(&self, depth: usize, sums: Sums, leaves: usize) -> bool {
        depth < self.max_depth
            && sums.n >= self.min_samples_leaf.saturating_mul(2)
            && self.max_leaves.is_none_or(|max| leaves < max)
    }

    /// Queues `node` if it has a split that lowers the loss, else keeps its histogram.
    fn consider(
        &mut self,
        frontier: &mut Frontier,
        node: usize,
        depth: usize,
        sums: Sums,
        histogram: Vec<Sums>,
        features: &[usize],
    ) {
        match self.best_split(&histogram, sums, features) {
            Some(split) => frontier.push(Open {
                node,
                depth,
                split,
                histogram,
            }),
            None => self.spare.push(histogram),
        }
    }

    /// The split of a node with sums `total` and histogram `histogram` that lowers the loss
    /// most, if any lowers it. Features are scanned in ascending order and bins upwards, and
    /// only a strictly better split replaces the best so far.
    fn best_split(&self, histogram: &[Sums], total: Sums, features: &[usize]) -> Option<Split> {
        let l2 = self.l2;
        let min_leaf = self.min_samples_leaf;
        let parent_score = total.g * total.g / (total.h + l2);
        let mut best: Option<Split> = None;
        let mut best_gain = 0.0;
        for &f in features {
            let bins = &histogram[self.binned.offsets[f]..self.binned.offsets[f + 1]];
            let mut left = Sums::default();
            // The last bin cannot be a split point: everything would go left.
            for (b, bin) in bins[..bins.len() - 1].iter().enumerate() {
                if bin.n == 0 {
                    // Nothing moves left: the same split as the bin before.
                    continue;
                }
                left.g += bin.g;
                left.h += bin.h;
                left.n += bin.n;
                if left.n < min_leaf || left.h < MIN_HESSIAN_TO_SPLIT {
                    continue;
                }
                let right = total.minus(left);
                // Both only shrink further up: no later bin can do.
                if right.n < min_leaf || right.h < MIN_HESSIAN_TO_SPLIT {
                    break;
                }
                let gain = left.g * left.g / (left.h + l2) + right.g * right.g / (right.h + l2)
                    - parent_score;
                if gain > best_gain {
                    best_gain = gain;
                    best = Some(Split {
                        gain,
                        feature: f,
                        // At most MAX_BINS bins.
                        bin: b as u8,
                        left,
                        right,
                    });
                }
            }
        }
        best
    }

    /// The histogram of rows `start..end` of `self.rows` over `features`.
    fn build(
        &mut self,
        histogram: &mut [Sums],
        gradients: &[Gh],
        start: usize,
        end: usize,
        all: bool,
        features: &[usize],
    ) {
        let binned = self.binned;
        let rows = &self.rows[start..end];
        // With `all`, the rows are every training row in order: gradients and bins are read
        // straight through. Otherwise the rows' gradients are gathered once, in row order,
        // for every feature's pass.
        let gathered = !all;
        if gathered {
            self.ordered.clear();
            self.ordered
                .extend(rows.iter().map(|&i| gradients[i as usize]));
        }
        for &f in features {
            let bins = &mut histogram[binned.offsets[f]..binned.offsets[f + 1]];
            let column = binned.column(f);
            if bins.len() <= FEW_BINS {
                // With few bins, consecutive rows mostly land in the same bin, and each
                // addition to it would wait for the one before. Rows take turns between
                // LANES histograms instead, so that LANES additions are in flight at once.
                let lanes = &mut self.lanes;
                for lane in lanes.iter_mut() {
                    lane[..bins.len()].fill(Sums::default());
                }
                if gathered {
                    let mut rows4 = rows.chunks_exact(LANES);
                    let mut gradients4 = self.ordered.chunks_exact(LANES);
                    for (r, g) in (&mut rows4).zip(&mut gradients4) {
                        for lane in 0..LANES {
                            lanes[lane][column[r[lane] as usize] as usize].add(g[lane]);
                        }
                    }
                    for (&i, gh) in rows4.remainder().iter().zip(gradients4.remainder()) {
                        lanes[0][column[i as usize] as usize].add(*gh);
                    }
                } else {
                    let mut column4 = column.chunks_exact(LANES);
                    let mut gradients4 = gradients.chunks_exact(LANES);
                    for (c, g) in (&mut column4).zip(&mut gradients4) {
                        for lane in 0..LANES {
                            lanes[lane][c[lane] as usize].add(g[lane]);
                        }
                    }
                    for (&b, gh) in column4.remainder().iter().zip(gradients4.remainder()) {
                        lanes[0][b as usize].add(*gh);
                    }
                }
                for (b, bin) in bins.iter_mut().enumerate() {
                    *bin = lanes[0][b];
                    for lane in &lanes[1..] {
                        bin.g += lane[b].g;
                        bin.h += lane[b].h;
                        bin.n += lane[b].n;
                    }
                }
            } else {
                bins.fill(Sums::default());
                if gathered {
                    for (&i, gh) in rows.iter().zip(&self.ordered) {
                        bins[column[i as usize] as usize].add(*gh);
                    }
                } else {
                    for (&b, gh) in column.iter().zip(gradients) {
                        bins[b as usize].add(*gh);
                    }
                }
            }
            if self.constant_hessian {
                for bin in bins.iter_mut() {
                    bin.h = bin.n as f64;
                }
            }
        }
    }

    /// Reorders rows `start..end` so those with `bin <= split bin` of `feature` come first,
    /// each side keeping its order, and returns where the right side starts.
    fn partition(&mut self, start: usize, end: usize, feature: usize, bin: u8) -> usize {
        let column = self.binned.column(feature);
        let rows = &mut self.rows[start..end];
        let right = &mut self.scratch[..rows.len()];
        let (mut l, mut r) = (0, 0);
        // Without branches (the side is a coin toss to the branch predictor): each row is
        // written to both places, and only its side's position advances. Writing rows[l]
        // is safe as l <= k: that row was read already.
        for k in 0..rows.len() {
            let i = rows[k];
            rows[l] = i;
            right[r] = i;
            let goes_left = usize::from(column[i as usize] <= bin);
            l += goes_left;
            r += 1 - goes_left;
        }
        rows[l..].copy_from_slice(&right[..r]);
        start + l
    }
}

impl BoostedTree {
    /// The value of the leaf `row` reaches. Only call after [`GbtModel::check`].
    fn value(&self, row: &[f64]) -> f64 {
        let mut index = 0;
        loop {
            match &self.nodes[index] {
                BoostedNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                    ..
                } => {
                    index = if row[*feature] <= *threshold {
                        *left
                    } else {
                        *right
                    };
                }
                BoostedNode::Leaf { value } => return *value,
            }
        }
    }

    fn check(&self, name: &str, features: usize) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Err(format!("{name} has no nodes"));
        }
        let len = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            match node {
                BoostedNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                    gain,
                } => {
                    if *feature >= features {
                        return Err(format!(
                            "{name} node {i} splits on feature {feature}, but there are \
                             only {features}"
                        ));
                    }
                    if threshold.is_nan() {
                        return Err(format!("{name} node {i} has no threshold"));
                    }
                    if !gain.is_finite() || *gain < 0.0 {
                        return Err(format!("{name} node {i} has an invalid gain"));
                    }
                    // Children after their parent: walking down always ends.
                    if *left <= i || *right <= i || *left >= len || *right >= len {
                        return Err(format!("{name} node {i} has invalid children"));
                    }
                }
                BoostedNode::Leaf { value } => {
                    if !value.is_finite() {
                        return Err(format!("{name} node {i} has a non-finite value"));
                    }
                }
            }
        }
        Ok(())
    }
}

impl GbtModel {
    /// Boosting rounds in the model (fewer than `max_iter` when early stopping stopped).
    pub fn rounds(&self) -> usize {
        self.trees.len()
    }

    /// What [`Self::check`] wants as `outputs`: 1 for a regressor, else the class count.
    pub fn outputs(&self) -> usize {
        match self.objective {
            Objective::SquaredError => 1,
            Objective::LogLoss => 2,
            Objective::Softmax => self.baseline.len(),
        }
    }

    /// That the model fits `features` inputs and `outputs` outputs (1 for a regressor, the
    /// number of classes for a classifier), so that predicting cannot index out of bounds
    /// or loop, even for an artifact edited by hand.
    pub fn check(&self, features: usize, outputs: usize) -> Result<(), String> {
        if self.features != features {
            return Err(format!(
                "the model was fitted on {} feature(s), but the artifact lists {features}",
                self.features
            ));
        }
        let scores = match self.objective {
            Objective::SquaredError | Objective::LogLoss => 1,
            Objective::Softmax => {
                if self.baseline.len() < 3 {
                    return Err(format!(
                        "a softmax model needs at least 3 classes, but has {} baseline \
                         score(s)",
                        self.baseline.len()
                    ));
                }
                self.baseline.len()
            }
        };
        if self.outputs() != outputs {
            return Err(format!(
                "the model has {} output(s), but {outputs} are expected",
                self.outputs()
            ));
        }
        if self.baseline.len() != scores {
            return Err(format!(
                "the model has {} baseline score(s) for {scores} output(s)",
                self.baseline.len()
            ));
        }
        if !self.baseline.iter().all(|b| b.is_finite()) {
            return Err("the model's baseline scores are not all finite".into());
        }
        for (r, round) in self.trees.iter().enumerate() {
            if round.len() != scores {
                return Err(format!(
                    "round {r} has {} tree(s) for {scores} output(s)",
                    round.len()
                ));
            }
            for (k, tree) in round.iter().enumerate() {
                tree.check(&format!("round {r} tree {k}"), features)?;
            }
        }
        Ok(())
    }

    /// Per row of `x`, the score of each output (one for a regressor or two classes).
    /// Only call after [`Self::check`].
    pub(crate) fn raw_scores(&self, x: &Matrix) -> Vec<Vec<f64>> {
        (0..x.rows)
            .map(|i| {
                let row = x.row(i);
                let mut scores = self.baseline.clone();
                // Round by round, as training added them, so the sums agree to the bit.
                for round in &self.trees {
                    for (score, tree) in scores.iter_mut().zip(round) {
                        *score += tree.value(row);
                    }
                }
                scores
            })
            .collect()
    }

    /// Per row of `x`, the probability of each of the `classes` classes. A regressor gives
    /// each row its prediction alone. Only call after [`Self::check`] with `classes`.
    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        debug_assert_eq!(classes, self.outputs());
        let mut scores = self.raw_scores(x);
        for row in scores.iter_mut() {
            match self.objective {
                Objective::SquaredError => {}
                Objective::LogLoss => {
                    let p = super::logistic::sigmoid(row[0]);
                    *row = vec![1.0 - p, p];
                }
                Objective::Softmax => {
                    softmax_in_place(row);
                }
            }
        }
        scores
    }

    /// Per row of `x`: a regressor's prediction; for a classifier, the score of its first
    /// output (with two classes, the log-odds of the second). Only call after
    /// [`Self::check`].
    pub(crate) fn predict_values(&self, x: &Matrix) -> Vec<f64> {
        self.raw_scores(x).into_iter().map(|s| s[0]).collect()
    }

    /// Per feature, the share of the total training loss reduction (split gain, summed over
    /// every split on it) it accounts for; all zeros when no tree split at all.
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut gains = vec![0.0; self.features];
        for tree in self.trees.iter().flatten() {
            for node in &tree.nodes {
                if let BoostedNode::Split { feature, gain, .. } = node {
                    if let Some(total) = gains.get_mut(*feature) {
                        *total += gain;
                    }
                }
            }
        }
        let total: f64 = gains.iter().sum();
        if total > 0.0 {
            for g in gains.iter_mut() {
                *g /= total;
            }
        }
        gains
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::unmonitored;

    // The crate root configures the library's browser tests (once per test binary).

    /// A deterministic pseudo-random number in [0, 1) for `i` (splitmix64), the same on
    /// every platform.
    fn noise(i: u64) -> f64 {
        let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn matrix(rows: usize, cols: usize, value: impl Fn(usize, usize) -> f64) -> Matrix {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(value(i, j));
            }
        }
        Matrix { rows, cols, data }
    }

    /// XOR of two uniform features (plus a useless third): no single split helps.
    fn checkerboard(rows: usize, offset: usize) -> (Matrix, Vec<usize>) {
        let x = matrix(rows, 3, |i, j| noise((3 * (i + offset) + j) as u64));
        let y = (0..rows)
            .map(|i| usize::from((x.get(i, 0) < 0.5) != (x.get(i, 1) < 0.5)))
            .collect();
        (x, y)
    }

    /// Three classes by angle around the centre of the unit square.
    fn sectors(rows: usize, offset: usize) -> (Matrix, Vec<usize>) {
        let x = matrix(rows, 2, |i, j| {
            noise((2 * (i + offset) + j) as u64 + 77) - 0.5
        });
        let y = (0..rows)
            .map(|i| {
                let angle = libm::atan2(x.get(i, 1), x.get(i, 0)) + std::f64::consts::PI;
                ((angle / (2.0 * std::f64::consts::PI) * 3.0) as usize).min(2)
            })
            .collect();
        (x, y)
    }

    fn settings() -> GradientBoostingSettings {
        GradientBoostingSettings {
            early_stopping: EarlyStopping::Off,
            ..GradientBoostingSettings::default()
        }
    }

    fn accuracy(model: &GbtModel, x: &Matrix, y: &[usize]) -> f64 {
        let p = model.probabilities(x, model.outputs());
        let correct = p
            .iter()
            .zip(y)
            .filter(|(row, &c)| {
                let best = (0..row.len())
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                    .unwrap();
                best == c
            })
            .count();
        correct as f64 / y.len() as f64
    }

    fn prediction_bits(model: &GbtModel, x: &Matrix) -> Vec<Vec<u64>> {
        model
            .probabilities(x, model.outputs())
            .iter()
            .map(|row| row.iter().map(|v| v.to_bits()).collect())
            .collect()
    }

    fn leaves(tree: &BoostedTree) -> usize {
        tree.nodes
            .iter()
            .filter(|n| matches!(n, BoostedNode::Leaf { .. }))
            .count()
    }

    fn depth(tree: &BoostedTree, node: usize) -> usize {
        match &tree.nodes[node] {
            BoostedNode::Leaf { .. } => 0,
            BoostedNode::Split { left, right, .. } => {
                1 + depth(tree, *left).max(depth(tree, *right))
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn learns_xor_which_a_single_split_cannot() {
        let (x, y) = checkerboard(2000, 0);
        let (test_x, test_y) = checkerboard(1000, 5000);
        let model = fit_classifier(&x, &y, 2, &settings(), &mut unmonitored).unwrap();
        model.check(3, 2).unwrap();
        assert_eq!(model.rounds(), 100);
        assert_eq!(model.objective, Objective::LogLoss);
        let stump = fit_classifier(
            &x,
            &y,
            2,
            &GradientBoostingSettings {
                max_iter: 1,
                max_depth: Some(1),
                learning_rate: 1.0,
                ..settings()
            },
            &mut unmonitored,
        )
        .unwrap();
        assert_eq!(stump.trees[0][0].nodes.len(), 3, "{:?}", stump.trees);
        let (boosted, single) = (
            accuracy(&model, &test_x, &test_y),
            accuracy(&stump, &test_x, &test_y),
        );
        assert!(boosted > 0.95, "boosted accuracy {boosted}");
        assert!(single < 0.7, "single split accuracy {single}");
        // The noise feature barely matters.
        let importances = model.feature_importances();
        assert_eq!(importances.len(), 3);
        assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(importances[2] < 0.1, "{importances:?}");
        assert!(
            importances[0] > 0.3 && importances[1] > 0.3,
            "{importances:?}"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn regression_fits_a_smooth_function() {
        let f = |a: f64, b: f64| libm::sin(6.0 * a) + 2.0 * b * b;
        let x = matrix(3000, 2, |i, j| noise((2 * i + j) as u64 + 9));
        let y: Vec<f64> = (0..x.rows).map(|i| f(x.get(i, 0), x.get(i, 1))).collect();
        let test = matrix(1000, 2, |i, j| noise((2 * i + j) as u64 + 90_000));
        let truth: Vec<f64> = (0..test.rows)
            .map(|i| f(test.get(i, 0), test.get(i, 1)))
            .collect();
        let model = fit_regressor(&x, &y, &settings(), &mut unmonitored).unwrap();
        model.check(2, 1).unwrap();
        assert_eq!(model.objective, Objective::SquaredError);
        let predicted = model.predict_values(&test);
        let mean = truth.iter().sum::<f64>() / truth.len() as f64;
        let residual: f64 = predicted
            .iter()
            .zip(&truth)
            .map(|(p, t)| (p - t) * (p - t))
            .sum();
        let total: f64 = truth.iter().map(|t| (t - mean) * (t - mean)).sum();
        let r2 = 1.0 - residual / total;
        assert!(r2 > 0.98, "R² {r2}");
        // The baseline is the mean of the targets.
        let y_mean = y.iter().sum::<f64>() / y.len() as f64;
        assert!((model.baseline[0] - y_mean).abs() < 1e-12);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn multiclass_probabilities_sum_to_one() {
        let (x, y) = sectors(1500, 0);
        let (test_x, test_y) = sectors(500, 10_000);
        let model = fit_classifier(&x, &y, 3, &settings(), &mut unmonitored).unwrap();
        model.check(2, 3).unwrap();
        assert_eq!(model.objective, Objective::Softmax);
        assert!(model.trees.iter().all(|round| round.len() == 3));
        for row in model.probabilities(&test_x, 3) {
            assert_eq!(row.len(), 3);
            assert!(row.iter().all(|&p| (0.0..=1.0).contains(&p)), "{row:?}");
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{row:?}");
        }
        let acc = accuracy(&model, &test_x, &test_y);
        assert!(acc > 0.93, "accuracy {acc}");
        // Binary probabilities too.
        let (bx, by) = checkerboard(300, 0);
        let binary = fit_classifier(&bx, &by, 2, &settings(), &mut unmonitored).unwrap();
        for row in binary.probabilities(&bx, 2) {
            assert!((row[0] + row[1] - 1.0).abs() < 1e-15, "{row:?}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn early_stopping_stops_on_noise_and_records_rounds() {
        // Labels unrelated to the features: nothing to learn beyond the prior.
        let x = matrix(3000, 4, |i, j| noise((4 * i + j) as u64 + 3));
        let y: Vec<usize> = (0..3000)
            .map(|i| usize::from(noise(i as u64 + 999_999) < 0.4))
            .collect();
        let stopping = GradientBoostingSettings {
            early_stopping: EarlyStopping::On,
            max_iter: 500,
            ..GradientBoostingSettings::default()
        };
        let model = fit_classifier(&x, &y, 2, &stopping, &mut unmonitored).unwrap();
        assert!(model.rounds() < 100, "ran {} rounds", model.rounds());
        assert!(
            model.rounds() > stopping.n_iter_no_change,
            "{}",
            model.rounds()
        );
        model.check(4, 2).unwrap();
        // "auto" is off for this few rows: every round runs.
        let auto = GradientBoostingSettings {
            max_iter: 30,
            ..GradientBoostingSettings::default()
        };
        let model = fit_classifier(&x, &y, 2, &auto, &mut unmonitored).unwrap();
        assert_eq!(model.rounds(), 30);
        // Regression too.
        let values: Vec<f64> = (0..3000).map(|i| noise(i as u64 + 5_000_000)).collect();
        let model = fit_regressor(&x, &values, &stopping, &mut unmonitored).unwrap();
        assert!(model.rounds() < 100, "ran {} rounds", model.rounds());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn should_stop_follows_scikit_learn() {
        // Patience 2: compare the last two against the one before them.
        assert!(!should_stop(&[1.0, 0.9], 2, 0.0));
        assert!(!should_stop(&[1.0, 0.9, 0.8], 2, 0.0));
        assert!(should_stop(&[1.0, 0.9, 0.95, 0.9], 2, 0.0));
        assert!(!should_stop(&[1.0, 0.9, 0.95, 0.89], 2, 0.0));
        assert!(should_stop(&[1.0, 0.9, 0.95, 0.89], 2, 0.02));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_monitor_can_cancel_and_sees_every_round() {
        let (x, y) = checkerboard(200, 0);
        let mut seen = Vec::new();
        let mut monitor = |p: FitProgress| {
            seen.push(p);
            if p.done == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let error = fit_classifier(&x, &y, 2, &settings(), &mut monitor).unwrap_err();
        assert_eq!(
            error,
            ModelError::Cancelled {
                done: 3,
                total: 100,
                unit: "rounds"
            }
        );
        let done: Vec<usize> = seen.iter().map(|p| p.done).collect();
        assert_eq!(done, [1, 2, 3]);
        assert!(seen.iter().all(|p| p.total == 100 && p.unit == "rounds"));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn serde_round_trip_predicts_the_same() {
        let (x, y) = sectors(400, 0);
        let model = fit_classifier(&x, &y, 3, &settings(), &mut unmonitored).unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let back: GbtModel = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model);
        back.check(2, 3).unwrap();
        assert_eq!(prediction_bits(&back, &x), prediction_bits(&model, &x));

        let values: Vec<f64> = (0..400).map(|i| x.get(i, 0) * 3.0 + x.get(i, 1)).collect();
        let regressor = fit_regressor(&x, &values, &settings(), &mut unmonitored).unwrap();
        let back: GbtModel =
            serde_json::from_str(&serde_json::to_string(&regressor).unwrap()).unwrap();
        let bits = |m: &GbtModel| -> Vec<u64> {
            m.predict_values(&x).iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(bits(&back), bits(&regressor));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn check_rejects_models_that_could_panic() {
        let (x, y) = checkerboard(300, 0);
        let model = fit_classifier(&x, &y, 2, &settings(), &mut unmonitored).unwrap();
        model.check(3, 2).unwrap();
        assert!(model.check(2, 2).unwrap_err().contains("3 feature(s)"));
        assert!(model.check(3, 3).unwrap_err().contains("output"));

        fn split(model: &mut GbtModel) -> &mut BoostedNode {
            model.trees[0][0]
                .nodes
                .iter_mut()
                .find(|n| matches!(n, BoostedNode::Split { .. }))
                .unwrap()
        }
        let mut bad = model.clone();
        if let BoostedNode::Split { feature, .. } = split(&mut bad) {
            *feature = 7;
        }
        let message = bad.check(3, 2).unwrap_err();
        assert!(message.contains("feature 7"), "{message}");

        let mut bad = model.clone();
        if let BoostedNode::Split { left, .. } = split(&mut bad) {
            *left = 0;
        }
        assert!(bad.check(3, 2).unwrap_err().contains("children"));

        let mut bad = model.clone();
        let extra = bad.trees[5][0].clone();
        bad.trees[5].push(extra);
        assert!(bad.check(3, 2).unwrap_err().contains("round 5"));

        let mut bad = model.clone();
        bad.trees[1][0].nodes.clear();
        assert!(bad.check(3, 2).unwrap_err().contains("no nodes"));

        // A hand-edited artifact with a leaf of NaN (JSON has no NaN, but null reads as
        // an error, so set it directly).
        let mut bad = model.clone();
        if let Some(BoostedNode::Leaf { value }) = bad.trees[0][0]
            .nodes
            .iter_mut()
            .find(|n| matches!(n, BoostedNode::Leaf { .. }))
        {
            *value = f64::INFINITY;
        }
        assert!(bad.check(3, 2).unwrap_err().contains("non-finite"));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn trees_respect_their_limits() {
        let (x, y) = checkerboard(3000, 0);
        let limited = GradientBoostingSettings {
            max_iter: 10,
            max_depth: Some(3),
            max_leaf_nodes: None,
            min_samples_leaf: 50,
            ..settings()
        };
        let model = fit_classifier(&x, &y, 2, &limited, &mut unmonitored).unwrap();
        for tree in model.trees.iter().flatten() {
            assert!(depth(tree, 0) <= 3);
            // Every leaf holds at least min_samples_leaf training rows.
            let mut counts = vec![0usize; tree.nodes.len()];
            for i in 0..x.rows {
                let mut node = 0;
                while let BoostedNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                    ..
                } = &tree.nodes[node]
                {
                    node = if x.get(i, *feature) <= *threshold {
                        *left
                    } else {
                        *right
                    };
                }
                counts[node] += 1;
            }
            for (node, count) in tree.nodes.iter().zip(counts) {
                if matches!(node, BoostedNode::Leaf { .. }) {
                    assert!(count >= 50, "a leaf has {count} rows");
                }
            }
        }
        assert!(model.trees.iter().flatten().any(|t| depth(t, 0) == 3));

        let few_leaves = GradientBoostingSettings {
            max_iter: 5,
            max_leaf_nodes: Some(5),
            min_samples_leaf: 1,
            ..settings()
        };
        let model = fit_classifier(&x, &y, 2, &few_leaves, &mut unmonitored).unwrap();
        assert!(model.trees.iter().flatten().all(|t| leaves(t) == 5));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn subsampling_is_seeded_and_still_learns() {
        let (x, y) = checkerboard(2000, 0);
        let (test_x, test_y) = checkerboard(1000, 5000);
        let sampled = GradientBoostingSettings {
            subsample: 0.5,
            colsample: 0.67,
            ..settings()
        };
        let a = fit_classifier(&x, &y, 2, &sampled, &mut unmonitored).unwrap();
        let b = fit_classifier(&x, &y, 2, &sampled, &mut unmonitored).unwrap();
        assert_eq!(a, b);
        let other_seed = GradientBoostingSettings {
            seed: 7,
            ..sampled.clone()
        };
        let c = fit_classifier(&x, &y, 2, &other_seed, &mut unmonitored).unwrap();
        assert_ne!(a, c);
        let full = fit_classifier(&x, &y, 2, &settings(), &mut unmonitored).unwrap();
        assert_ne!(a, full);
        // Two of three features per tree: some trees cannot see one of the XOR features.
        let acc = accuracy(&a, &test_x, &test_y);
        assert!(acc > 0.9, "accuracy {acc}");
        // The seed does not matter without sampling.
        let full_other = fit_classifier(
            &x,
            &y,
            2,
            &GradientBoostingSettings {
                seed: 7,
                ..settings()
            },
            &mut unmonitored,
        )
        .unwrap();
        assert_eq!(full, full_other);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bins_follow_distinct_values_or_quantiles() {
        // Few distinct values: one bin each, boundaries halfway.
        let x = matrix(10, 1, |i, _| [3.0, 1.0, 2.0, 2.0, 1.0][i % 5]);
        let edges = bin_edges(&x, &(0..10).collect::<Vec<_>>(), 255);
        assert_eq!(edges, vec![vec![1.5, 2.5]]);
        assert_eq!(bin_of(&edges[0], 1.0), 0);
        assert_eq!(bin_of(&edges[0], 1.5), 0);
        assert_eq!(bin_of(&edges[0], 2.0), 1);
        assert_eq!(bin_of(&edges[0], 3.0), 2);
        assert_eq!(bin_of(&edges[0], 99.0), 2);
        // Many distinct values: max_bins roughly equal bins.
        let x = matrix(1000, 1, |i, _| i as f64);
        let edges = bin_edges(&x, &(0..1000).collect::<Vec<_>>(), 4);
        assert_eq!(edges, vec![vec![249.5, 499.5, 749.5]]);
        let x = matrix(100_000, 1, |i, _| noise(i as u64));
        let edges = bin_edges(&x, &(0..100_000).collect::<Vec<_>>(), 255);
        assert_eq!(edges[0].len(), 254);
        let mut counts = [0usize; 255];
        for i in 0..x.rows {
            counts[bin_of(&edges[0], x.get(i, 0)) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (380..=405).contains(&c)),
            "{counts:?}"
        );
        // Quantiles that coincide give one boundary, and none at the maximum: 990 zeros
        // and 10 other values make two bins.
        let x = matrix(1000, 1, |i, _| if i < 990 { 0.0 } else { i as f64 });
        let edges = bin_edges(&x, &(0..1000).collect::<Vec<_>>(), 4);
        assert_eq!(edges, vec![vec![0.0]]);
        let x = matrix(1000, 1, |i, _| if i < 990 { i as f64 } else { 5000.0 });
        let edges = bin_edges(&x, &(0..1000).collect::<Vec<_>>(), 4);
        assert_eq!(edges, vec![vec![249.5, 499.5, 749.5]]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn validation_split_is_stratified_and_seeded() {
        // 700 of class 0, 200 of class 1, 100 of class 2; 10% held out.
        let y: Vec<usize> = (0..1000)
            .map(|i| {
                if i < 700 {
                    0
                } else if i < 900 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let target = Target::Classes { y: &y, classes: 3 };
        let (train, validation) =
            validation_split(target, &GradientBoostingSettings::default()).unwrap();
        assert_eq!(validation.len(), 100);
        let count = |rows: &[usize], c: usize| rows.iter().filter(|&&i| y[i] == c).count();
        assert_eq!(
            [
                count(&validation, 0),
                count(&validation, 1),
                count(&validation, 2)
            ],
            [70, 20, 10]
        );
        let mut all: Vec<usize> = train.iter().chain(&validation).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert!(train.windows(2).all(|w| w[0] < w[1]));
        let again = validation_split(target, &GradientBoostingSettings::default()).unwrap();
        assert_eq!(again, (train.clone(), validation.clone()));
        let other = GradientBoostingSettings {
            seed: 1,
            ..GradientBoostingSettings::default()
        };
        assert_ne!(validation_split(target, &other).unwrap().1, validation);
        // Regression: ceil(fraction · rows) rows.
        let values = vec![0.0; 95];
        let (train, validation) = validation_split(
            Target::Values(&values),
            &GradientBoostingSettings::default(),
        )
        .unwrap();
        assert_eq!((train.len(), validation.len()), (85, 10));
    }

    /// FNV-1a over the bits of every probability (or prediction).
    fn fingerprint(values: &[Vec<f64>]) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for v in values.iter().flatten() {
            for byte in v.to_bits().to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }

    /// The same fits give the same bits natively and in wasm32 (this test runs in both):
    /// sampling, early stopping, every loss. If the algorithm changes on purpose, print the
    /// new fingerprints natively and paste them here.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fits_are_identical_on_every_platform() {
        let sampled = GradientBoostingSettings {
            max_iter: 80,
            learning_rate: 0.5,
            subsample: 0.7,
            colsample: 0.5,
            early_stopping: EarlyStopping::On,
            n_iter_no_change: 3,
            l2_regularization: 0.5,
            ..GradientBoostingSettings::default()
        };
        let (x, y) = sectors(1200, 0);
        let x = matrix(x.rows, 4, |i, j| {
            if j < 2 {
                x.get(i, j)
            } else {
                noise((i * 4 + j) as u64)
            }
        });
        let multi = fit_classifier(&x, &y, 3, &sampled, &mut unmonitored).unwrap();
        let binary_y: Vec<usize> = y.iter().map(|&c| usize::from(c == 1)).collect();
        let binary = fit_classifier(&x, &binary_y, 2, &sampled, &mut unmonitored).unwrap();
        let values: Vec<f64> = (0..x.rows)
            .map(|i| libm::exp(x.get(i, 0)) + x.get(i, 1) * x.get(i, 2))
            .collect();
        let regressor = fit_regressor(&x, &values, &sampled, &mut unmonitored).unwrap();
        let got = [
            (multi.rounds(), fingerprint(&multi.probabilities(&x, 3))),
            (binary.rounds(), fingerprint(&binary.probabilities(&x, 2))),
            (regressor.rounds(), fingerprint(&regressor.raw_scores(&x))),
        ];
        let expected = [
            (20, 8387948147826210440),
            (21, 977023071216646565),
            (26, 17623142782039942059),
        ];
        assert_eq!(got, expected, "{got:?}");
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// This thread's CPU time (the machine is shared, so wall time says little), from
    /// Linux's scheduler statistics; 0 elsewhere.
    fn cpu_seconds() -> f64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |ns| ns / 1e9)
    }

    /// The benchmark's shape: 160,000 rows of 13 features like the demo's hat buyers
    /// (8 numeric columns and 5 one-hot city columns), 100 rounds of depth 6. Run with
    /// `cargo test --release -p oxbook-kernel --lib gbt::tests::speed -- --ignored --nocapture`.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    #[ignore = "a timing run, not a check"]
    fn speed_on_the_benchmark_shape() {
        let rows = 200_000;
        let mut state = 0u64;
        let mut uniform = || {
            state += 1;
            noise(state)
        };
        let mut data = Vec::with_capacity(rows * 13);
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let normal = |u: &mut dyn FnMut() -> f64| {
                let (a, b) = (u().max(1e-300), u());
                libm::sqrt(-2.0 * libm::log(a)) * libm::cos(std::f64::consts::TAU * b)
            };
            let age = 18.0 + (uniform() * 63.0).floor();
            let city = (uniform() * 6.0) as usize;
            let member = uniform() < 0.35;
            let income = libm::exp(10.6 + 0.45 * normal(&mut uniform) + (age - 18.0) * 0.008);
            let past = (uniform() * 12.0 + if member { 4.0 } else { 0.0 }).floor();
            let days = (uniform() * 366.0).floor();
            let hats = (uniform() * 5.0).floor();
            let basket = 20.0 + 0.0006 * income + 15.0 * normal(&mut uniform).abs();
            let clicks = (uniform() * 11.0).floor();
            let affinity = [0.0, 0.9, -0.4, 0.3, 0.2, -0.2][city];
            let score = -1.2
                + 0.9 * affinity
                + 0.025 * (age - 45.0)
                + 0.6 * (income / 50_000.0 - 1.0)
                + 0.12 * past
                - 0.004 * days
                + if member { 0.8 } else { 0.0 }
                - 0.35 * hats
                + 0.15 * clicks
                + 0.8 * normal(&mut uniform);
            data.extend_from_slice(&[
                age,
                income,
                f64::from(u8::from(member)),
                past,
                days,
                hats,
                basket,
                clicks,
            ]);
            for c in 1..6 {
                data.push(f64::from(u8::from(city == c)));
            }
            y.push(usize::from(score > 0.0));
        }
        let train = 160_000;
        let x = Matrix {
            rows: train,
            cols: 13,
            data: data[..train * 13].to_vec(),
        };
        let test = Matrix {
            rows: rows - train,
            cols: 13,
            data: data[train * 13..].to_vec(),
        };
        for early_stopping in [EarlyStopping::Off, EarlyStopping::Auto] {
            let settings = GradientBoostingSettings {
                max_depth: Some(6),
                early_stopping,
                ..GradientBoostingSettings::default()
            };
            let started = std::time::Instant::now();
            let cpu = cpu_seconds();
            let model = fit_classifier(&x, &y[..train], 2, &settings, &mut unmonitored).unwrap();
            let seconds = started.elapsed().as_secs_f64();
            println!("fit CPU time {:.3} s", cpu_seconds() - cpu);
            let started = std::time::Instant::now();
            let acc = accuracy(&model, &test, &y[train..]);
            let predict = started.elapsed().as_secs_f64();
            println!(
                "early_stopping {early_stopping:?}: fit {seconds:.3} s, {} rounds, test accuracy \
                 {acc:.4}, predicting {} rows {predict:.3} s",
                model.rounds(),
                test.rows
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bad_input_is_an_error_not_a_panic() {
        let (x, y) = checkerboard(100, 0);
        let m = &mut unmonitored;
        assert!(matches!(
            fit_classifier(&x, &y, 1, &settings(), m),
            Err(ModelError::FitFailed(_))
        ));
        let mut wrong = y.clone();
        wrong[3] = 2;
        assert!(matches!(
            fit_classifier(&x, &wrong, 2, &settings(), m),
            Err(ModelError::FitFailed(_))
        ));
        assert!(matches!(
            fit_classifier(&x, &y[..50], 2, &settings(), m),
            Err(ModelError::FitFailed(_))
        ));
        let empty = Matrix {
            rows: 0,
            cols: 3,
            data: Vec::new(),
        };
        assert_eq!(
            fit_classifier(&empty, &[], 2, &settings(), m),
            Err(ModelError::EmptyFrame)
        );
        let mut nan = x.clone();
        nan.data[4] = f64::NAN;
        assert!(matches!(
            fit_classifier(&nan, &y, 2, &settings(), m),
            Err(ModelError::FitFailed(_))
        ));
        let values = vec![f64::INFINITY; 100];
        assert!(matches!(
            fit_regressor(&x, &values, &settings(), m),
            Err(ModelError::FitFailed(_))
        ));
        // One row cannot be split between training and validation.
        let one = matrix(1, 3, |_, _| 1.0);
        let stopping = GradientBoostingSettings {
            early_stopping: EarlyStopping::On,
            ..settings()
        };
        let error = fit_regressor(&one, &[1.0], &stopping, m).unwrap_err();
        assert!(
            matches!(&error, ModelError::InvalidSetting { setting, .. } if setting == "early_stopping"),
            "{error}"
        );
        // A single class among the training rows still gives finite scores.
        let model = fit_classifier(&x, &vec![0; 100], 2, &settings(), m).unwrap();
        model.check(3, 2).unwrap();
        assert!(model.probabilities(&x, 2).iter().all(|p| p[0] > 0.99));
        // Constant features: nothing to split on, every tree a single leaf.
        let flat = matrix(100, 2, |_, _| 4.0);
        let model = fit_regressor(
            &flat,
            &(0..100).map(f64::from).collect::<Vec<_>>(),
            &settings(),
            m,
        )
        .unwrap();
        assert!(model.trees.iter().flatten().all(|t| t.nodes.len() == 1));
        assert!(model.feature_importances().iter().all(|&v| v == 0.0));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn settings_validation_names_the_bad_setting() {
        let named = |s: GradientBoostingSettings| match s.validate() {
            Err(ModelError::InvalidSetting { setting, .. }) => setting,
            other => panic!("{other:?}"),
        };
        let d = GradientBoostingSettings::default;
        d().validate().unwrap();
        let cases: Vec<(GradientBoostingSettings, &str)> = vec![
            (
                GradientBoostingSettings {
                    learning_rate: 0.0,
                    ..d()
                },
                "learning_rate",
            ),
            (
                GradientBoostingSettings {
                    learning_rate: f64::NAN,
                    ..d()
                },
                "learning_rate",
            ),
            (GradientBoostingSettings { max_iter: 0, ..d() }, "max_iter"),
            (
                GradientBoostingSettings {
                    max_iter: MAX_ROUNDS + 1,
                    ..d()
                },
                "max_iter",
            ),
            (
                GradientBoostingSettings {
                    max_depth: Some(0),
                    ..d()
                },
                "max_depth",
            ),
            (
                GradientBoostingSettings {
                    max_leaf_nodes: Some(1),
                    ..d()
                },
                "max_leaf_nodes",
            ),
            (
                GradientBoostingSettings {
                    min_samples_leaf: 0,
                    ..d()
                },
                "min_samples_leaf",
            ),
            (
                GradientBoostingSettings {
                    l2_regularization: -1.0,
                    ..d()
                },
                "l2_regularization",
            ),
            (GradientBoostingSettings { max_bins: 1, ..d() }, "max_bins"),
            (
                GradientBoostingSettings {
                    max_bins: 256,
                    ..d()
                },
                "max_bins",
            ),
            (
                GradientBoostingSettings {
                    subsample: 0.0,
                    ..d()
                },
                "subsample",
            ),
            (
                GradientBoostingSettings {
                    subsample: 1.5,
                    ..d()
                },
                "subsample",
            ),
            (
                GradientBoostingSettings {
                    colsample: -0.1,
                    ..d()
                },
                "colsample",
            ),
            (
                GradientBoostingSettings {
                    validation_fraction: 1.0,
                    ..d()
                },
                "validation_fraction",
            ),
            (
                GradientBoostingSettings {
                    n_iter_no_change: 0,
                    ..d()
                },
                "n_iter_no_change",
            ),
            (GradientBoostingSettings { tol: -1e-3, ..d() }, "tol"),
        ];
        for (settings, name) in cases {
            assert_eq!(named(settings), name);
        }
        // Fitting validates too.
        let (x, y) = checkerboard(50, 0);
        let error = fit_classifier(
            &x,
            &y,
            2,
            &GradientBoostingSettings { max_bins: 0, ..d() },
            &mut unmonitored,
        )
        .unwrap_err();
        assert!(error.to_string().contains("'max_bins'"), "{error}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn settings_read_from_json() {
        let s: GradientBoostingSettings = serde_json::from_value(serde_json::json!({
            "early_stopping": "auto", "max_depth": 6, "subsample": 1
        }))
        .unwrap();
        assert_eq!(s.early_stopping, EarlyStopping::Auto);
        assert_eq!(s.max_depth, Some(6));
        assert_eq!(s.max_leaf_nodes, Some(31));
        assert_eq!(s.subsample, 1.0);
        for (value, expected) in [(true, EarlyStopping::On), (false, EarlyStopping::Off)] {
            let s: GradientBoostingSettings =
                serde_json::from_value(serde_json::json!({ "early_stopping": value })).unwrap();
            assert_eq!(s.early_stopping, expected);
            assert_eq!(
                serde_json::to_value(expected).unwrap(),
                serde_json::json!(value)
            );
        }
        let error = serde_json::from_value::<GradientBoostingSettings>(serde_json::json!({
            "early_stopping": "sometimes"
        }))
        .unwrap_err()
        .to_string();
        assert!(error.contains("true, false or \"auto\""), "{error}");
        assert!(
            serde_json::from_value::<GradientBoostingSettings>(serde_json::json!({
                "n_estimators": 5
            }))
            .is_err()
        );
        let defaults = serde_json::to_value(GradientBoostingSettings::default()).unwrap();
        assert_eq!(defaults["early_stopping"], "auto");
        assert_eq!(defaults["max_depth"], serde_json::Value::Null);
    }
}
