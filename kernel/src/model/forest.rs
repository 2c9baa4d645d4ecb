//! Random forests of CART trees: bootstrap samples, a random subset of features tried at
//! each split. Classification trees split on Gini impurity and their leaves count classes;
//! regression trees split on squared error and their leaves hold the mean target.
//!
//! Deterministic for a seed on every platform: tree `t` draws from its own ChaCha stream
//! `(seed, t)`, candidate splits are scanned in a fixed order and only a strictly better
//! one replaces the best so far, classification impurities come from exact integer counts
//! and regression sums are taken in a fixed order.

use serde::{Deserialize, Serialize};

use super::{FitProgress, Matrix, ModelError, Monitor, TreeLeaves};
use crate::rng::SeededRng;

/// More trees than this is almost certainly a typo, and would run for a very long time.
pub const MAX_TREES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomForestSettings {
    pub trees: usize,
    /// Deepest a tree may grow; a tree of depth 1 has one split.
    pub max_depth: usize,
    /// Fewest training rows (counting bootstrap repeats) a node needs to be split.
    pub min_samples_split: usize,
    /// Features tried at each split; by default the square root of the feature count for
    /// a classifier, every feature for a regressor (as scikit-learn).
    pub features_per_split: Option<usize>,
    pub seed: u64,
}

impl Default for RandomForestSettings {
    fn default() -> Self {
        RandomForestSettings {
            trees: 100,
            max_depth: 10,
            min_samples_split: 2,
            features_per_split: None,
            seed: 42,
        }
    }
}

impl RandomForestSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.trees == 0 || self.trees > MAX_TREES {
            return Err(ModelError::setting(
                "trees",
                format!("must be between 1 and {MAX_TREES} (got {})", self.trees),
            ));
        }
        if self.max_depth == 0 {
            return Err(ModelError::setting(
                "max_depth",
                "must be at least 1 (got 0)",
            ));
        }
        if self.min_samples_split < 2 {
            return Err(ModelError::setting(
                "min_samples_split",
                format!("must be at least 2 (got {})", self.min_samples_split),
            ));
        }
        if self.features_per_split == Some(0) {
            return Err(ModelError::setting(
                "features_per_split",
                "must be at least 1 (got 0); leave it out for the square root of the feature count",
            ));
        }
        Ok(())
    }
}

/// A fitted forest. A classifier's class probabilities for a row are the mean, over trees,
/// of the class frequencies in the leaf it reaches; a regressor's prediction is the mean,
/// over trees, of the leaf means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestModel {
    pub trees: Vec<Tree>,
}

/// One tree as a node list; `nodes[0]` is the root and children come after their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<TreeNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeNode {
    /// Rows whose `feature` (index into the artifact's features) is at most `threshold` go
    /// to `left`, the others to `right` (indices into the tree's nodes).
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// A classification tree's leaf: how many training rows (with bootstrap repeats) of
    /// each class reached it.
    Leaf { counts: Vec<u64> },
    /// A regression tree's leaf: the mean target of the training rows (with bootstrap
    /// repeats) that reached it, and how many did.
    Mean { value: f64, samples: u64 },
}

/// Fits a classification forest: `y[i]` is row `i`'s class, below `classes`.
pub(crate) fn fit(
    x: &Matrix,
    y: &[usize],
    classes: usize,
    settings: &RandomForestSettings,
    monitor: &mut Monitor<'_>,
) -> Result<ForestModel, ModelError> {
    let default_features = x.cols.isqrt().max(1);
    grow_forest(
        x,
        TreeTarget::Classes { y, classes },
        settings,
        default_features,
        monitor,
    )
}

/// Fits a regression forest predicting `y[i]` for row `i`.
pub(crate) fn fit_regressor(
    x: &Matrix,
    y: &[f64],
    settings: &RandomForestSettings,
    monitor: &mut Monitor<'_>,
) -> Result<ForestModel, ModelError> {
    grow_forest(x, TreeTarget::Values(y), settings, x.cols, monitor)
}

fn grow_forest(
    x: &Matrix,
    target: TreeTarget<'_>,
    settings: &RandomForestSettings,
    default_features: usize,
    monitor: &mut Monitor<'_>,
) -> Result<ForestModel, ModelError> {
    let features_per_split = match settings.features_per_split {
        Some(m) if m > x.cols => {
            return Err(ModelError::setting(
                "features_per_split",
                format!("is {m}, but the model has only {} feature(s)", x.cols),
            ))
        }
        Some(m) => m,
        None => default_features,
    };
    let grower = Grower {
        x,
        target,
        max_depth: settings.max_depth,
        min_samples_split: settings.min_samples_split,
        features_per_split,
        bootstrap: true,
    };
    let mut trees = Vec::with_capacity(settings.trees);
    for t in 0..settings.trees {
        trees.push(grower.grow(SeededRng::with_stream(settings.seed, t as u64)));
        let progress = FitProgress {
            done: t + 1,
            total: settings.trees,
            unit: "trees",
        };
        if monitor(progress).is_break() {
            return Err(progress.cancelled());
        }
    }
    Ok(ForestModel { trees })
}

/// What a tree learns to predict.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TreeTarget<'a> {
    /// Each row's class, below `classes`.
    Classes { y: &'a [usize], classes: usize },
    /// Each row's number.
    Values(&'a [f64]),
}

pub(crate) struct Grower<'a> {
    pub x: &'a Matrix,
    pub target: TreeTarget<'a>,
    pub max_depth: usize,
    pub min_samples_split: usize,
    pub features_per_split: usize,
    /// Whether each tree trains on a bootstrap sample (a forest) or on every row once
    /// (a single decision tree).
    pub bootstrap: bool,
}

/// A node still to be decided: the rows `samples[start..end]` reach it.
struct Pending {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
}

impl Grower<'_> {
    pub(crate) fn grow(&self, mut rng: SeededRng) -> Tree {
        let n = self.x.rows;
        let mut samples: Vec<usize> = if self.bootstrap {
            (0..n).map(|_| rng.below(n)).collect()
        } else {
            (0..n).collect()
        };
        let mut features: Vec<usize> = (0..self.x.cols).collect();
        let mut scratch: Vec<(f64, usize)> = Vec::with_capacity(n);
        // Placeholders until their node is decided.
        let mut nodes = vec![TreeNode::Leaf { counts: Vec::new() }];
        // An explicit stack rather than recursion: depth is bounded only by the data.
        let mut pending = vec![Pending {
            node: 0,
            start: 0,
            end: n,
            depth: 0,
        }];
        while let Some(task) = pending.pop() {
            let part = &mut samples[task.start..task.end];
            let stop = part.len() < self.min_samples_split || task.depth >= self.max_depth;
            let (leaf, split) = match self.target {
                TreeTarget::Classes { y, classes } => {
                    let mut counts = vec![0u64; classes];
                    for &i in part.iter() {
                        counts[y[i]] += 1;
                    }
                    let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
                    let split = if pure || stop {
                        None
                    } else {
                        self.best_split(part, &mut features, &mut rng, &mut scratch, |pairs| {
                            gini_split(pairs, y, &counts)
                        })
                    };
                    (TreeNode::Leaf { counts }, split)
                }
                TreeTarget::Values(y) => {
                    let mut sum = 0.0;
                    for &i in part.iter() {
                        sum += y[i];
                    }
                    let mean = sum / part.len() as f64;
                    let first = y[part[0]];
                    let pure = part.iter().all(|&i| y[i] == first);
                    let split = if pure || stop {
                        None
                    } else {
                        self.best_split(part, &mut features, &mut rng, &mut scratch, |pairs| {
                            squared_error_split(pairs, y, mean)
                        })
                    };
                    let leaf = TreeNode::Mean {
                        value: mean,
                        samples: part.len() as u64,
                    };
                    (leaf, split)
                }
            };
            let Some((feature, threshold)) = split else {
                nodes[task.node] = leaf;
                continue;
            };
            // Stable partition: left rows first, each side in its previous order.
            let (left, right): (Vec<usize>, Vec<usize>) = part
                .iter()
                .partition(|&&i| self.x.get(i, feature) <= threshold);
            part[..left.len()].copy_from_slice(&left);
            part[left.len()..].copy_from_slice(&right);
            let middle = task.start + left.len();
            let (l, r) = (nodes.len(), nodes.len() + 1);
            nodes.push(TreeNode::Leaf { counts: Vec::new() });
            nodes.push(TreeNode::Leaf { counts: Vec::new() });
            nodes[task.node] = TreeNode::Split {
                feature,
                threshold,
                left: l,
                right: r,
            };
            let depth = task.depth + 1;
            pending.push(Pending {
                node: r,
                start: middle,
                end: task.end,
                depth,
            });
            pending.push(Pending {
                node: l,
                start: task.start,
                end: middle,
                depth,
            });
        }
        Tree { nodes }
    }

    /// The best split of `part` among `features_per_split` features drawn at random; if
    /// none of those can split the rows (all constant), more features are drawn until one
    /// can, as scikit-learn does. `score` gives a feature's best threshold and its score
    /// (higher is better) from the part's `(value, row)` pairs sorted by value.
    fn best_split(
        &self,
        part: &[usize],
        features: &mut [usize],
        rng: &mut SeededRng,
        pairs: &mut Vec<(f64, usize)>,
        mut score: impl FnMut(&[(f64, usize)]) -> Option<(f64, f64)>,
    ) -> Option<(usize, f64)> {
        let mut best: Option<(f64, usize, f64)> = None;
        for i in 0..features.len() {
            if i >= self.features_per_split && best.is_some() {
                break;
            }
            // Partial Fisher–Yates: features[..=i] are the ones drawn so far.
            let j = i + rng.below(features.len() - i);
            features.swap(i, j);
            let feature = features[i];

            pairs.clear();
            pairs.extend(part.iter().map(|&s| (self.x.get(s, feature), s)));
            // Stable, total order: ties keep the rows' order.
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((value, threshold)) = score(pairs) {
                if best.is_none_or(|(s, _, _)| value > s) {
                    best = Some((value, feature, threshold));
                }
            }
        }
        best.map(|(_, feature, threshold)| (feature, threshold))
    }
}

/// The threshold with the lowest weighted Gini impurity over `pairs` (sorted by value),
/// scored so that higher is better: Σ_side (Σ_class count²) / side size, kept exactly in
/// integers up to the division. The first of equally good thresholds wins.
fn gini_split(pairs: &[(f64, usize)], y: &[usize], counts: &[u64]) -> Option<(f64, f64)> {
    let total = pairs.len();
    let mut best: Option<(f64, f64)> = None;
    let mut left = vec![0u64; counts.len()];
    let mut right = counts.to_vec();
    let mut left_squares: u64 = 0;
    let mut right_squares: u64 = counts.iter().map(|c| c * c).sum();
    for m in 0..total - 1 {
        let (value, row) = pairs[m];
        let class = y[row];
        left_squares += 2 * left[class] + 1;
        left[class] += 1;
        right_squares -= 2 * right[class] - 1;
        right[class] -= 1;
        let next = pairs[m + 1].0;
        if value < next {
            let left_size = (m + 1) as f64;
            let right_size = (total - m - 1) as f64;
            let score = left_squares as f64 / left_size + right_squares as f64 / right_size;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, threshold_between(value, next)));
            }
        }
    }
    best
}

/// The threshold with the lowest total squared error over `pairs` (sorted by value),
/// scored so that higher is better: Σ_side (Σ (y − mean))² / side size, which differs from
/// minus the squared error by a constant. Targets are centred on the node's `mean` first
/// so that large targets do not swamp the differences between splits.
fn squared_error_split(pairs: &[(f64, usize)], y: &[f64], mean: f64) -> Option<(f64, f64)> {
    let total = pairs.len();
    let mut total_sum = 0.0;
    for &(_, row) in pairs {
        total_sum += y[row] - mean;
    }
    let mut best: Option<(f64, f64)> = None;
    let mut left_sum = 0.0;
    for m in 0..total - 1 {
        let (value, row) = pairs[m];
        left_sum += y[row] - mean;
        let next = pairs[m + 1].0;
        if value < next {
            let right_sum = total_sum - left_sum;
            let left_size = (m + 1) as f64;
            let right_size = (total - m - 1) as f64;
            let score = left_sum * left_sum / left_size + right_sum * right_sum / right_size;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, threshold_between(value, next)));
            }
        }
    }
    best
}

/// A threshold `t` with `a <= t < b`, halfway when representable.
fn threshold_between(a: f64, b: f64) -> f64 {
    // Halving first cannot overflow.
    let t = a / 2.0 + b / 2.0;
    if a <= t && t < b {
        t
    } else {
        a
    }
}

impl Tree {
    /// The leaf `row` reaches. Only call after [`Tree::check`].
    fn leaf(&self, row: &[f64]) -> &TreeNode {
        let mut index = 0;
        loop {
            match &self.nodes[index] {
                TreeNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    index = if row[*feature] <= *threshold {
                        *left
                    } else {
                        *right
                    };
                }
                leaf => return leaf,
            }
        }
    }

    /// The class counts of the leaf `row` reaches (none for a regression leaf).
    fn counts(&self, row: &[f64]) -> &[u64] {
        match self.leaf(row) {
            TreeNode::Leaf { counts } => counts,
            _ => &[],
        }
    }

    /// The mean of the leaf `row` reaches (NaN for a classification leaf, which
    /// [`Tree::check`] refuses in a regression tree).
    pub(crate) fn leaf_value(&self, row: &[f64]) -> f64 {
        match self.leaf(row) {
            TreeNode::Mean { value, .. } => *value,
            _ => f64::NAN,
        }
    }
}

impl ForestModel {
    pub(crate) fn check(&self, features: usize, leaves: TreeLeaves) -> Result<(), String> {
        if self.trees.is_empty() {
            return Err("a random forest needs at least one tree".into());
        }
        for (t, tree) in self.trees.iter().enumerate() {
            tree.check(&format!("tree {t}"), features, leaves)?;
        }
        Ok(())
    }

    /// Per row of `x`, the mean over trees of its leaves' means.
    pub(crate) fn values(&self, x: &Matrix) -> Vec<f64> {
        let trees = self.trees.len() as f64;
        (0..x.rows)
            .map(|i| {
                let row = x.row(i);
                let mut sum = 0.0;
                for tree in &self.trees {
                    sum += tree.leaf_value(row);
                }
                sum / trees
            })
            .collect()
    }

    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        let trees = self.trees.len() as f64;
        let mut out = Vec::with_capacity(x.rows);
        for i in 0..x.rows {
            let row = x.row(i);
            let mut sums = vec![0.0; classes];
            for tree in &self.trees {
                let counts = tree.counts(row);
                let total: f64 = counts.iter().map(|&c| c as f64).sum();
                for (s, &c) in sums.iter_mut().zip(counts) {
                    *s += c as f64 / total;
                }
            }
            for s in sums.iter_mut() {
                *s /= trees;
            }
            out.push(sums);
        }
        out
    }
}

impl Tree {
    /// That walking the tree cannot index out of bounds or loop; `name` starts messages.
    pub(crate) fn check(
        &self,
        name: &str,
        features: usize,
        leaves: TreeLeaves,
    ) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Err(format!("{name} has no nodes"));
        }
        let len = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            match node {
                TreeNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
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
                    // Children after their parent: walking down always ends.
                    if *left <= i || *right <= i || *left >= len || *right >= len {
                        return Err(format!("{name} node {i} has invalid children"));
                    }
                }
                TreeNode::Leaf { counts } => {
                    let TreeLeaves::Classes(classes) = leaves else {
                        return Err(format!(
                            "{name} node {i} holds class counts, but the model predicts numbers"
                        ));
                    };
                    if counts.len() != classes {
                        return Err(format!(
                            "{name} node {i} has {} class counts for {classes} classes",
                            counts.len()
                        ));
                    }
                    if counts.iter().all(|&c| c == 0) {
                        return Err(format!("{name} node {i} is an empty leaf"));
                    }
                }
                TreeNode::Mean { value, samples } => {
                    if leaves != TreeLeaves::Means {
                        return Err(format!(
                            "{name} node {i} holds a mean, but the model predicts classes"
                        ));
                    }
                    if !value.is_finite() {
                        return Err(format!("{name} node {i} has no finite mean"));
                    }
                    if *samples == 0 {
                        return Err(format!("{name} node {i} is an empty leaf"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The class frequencies in the leaf `row` reaches. Only call after [`Tree::check`].
    pub(crate) fn leaf_shares(&self, row: &[f64]) -> Vec<f64> {
        let counts = self.counts(row);
        let total: f64 = counts.iter().map(|&c| c as f64).sum();
        counts.iter().map(|&c| c as f64 / total).collect()
    }
}
