//! A single CART tree, for classification (Gini impurity) or regression (squared error):
//! the random forest's tree grower, trained on every row once (no bootstrap) and trying
//! every feature at each split.

use serde::{Deserialize, Serialize};

use super::forest::{Grower, Tree, TreeTarget};
use super::{Matrix, ModelError, TreeLeaves};
use crate::rng::SeededRng;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionTreeSettings {
    /// Deepest the tree may grow; a tree of depth 1 has one split. Default 10.
    pub max_depth: usize,
    /// Fewest training rows a node needs to be split. Default 2.
    pub min_samples_split: usize,
    /// Every feature is tried at every split, in an order drawn from this seed; it only
    /// decides between splits that are exactly equally good. Default 42.
    pub seed: u64,
}

impl Default for DecisionTreeSettings {
    fn default() -> Self {
        DecisionTreeSettings {
            max_depth: 10,
            min_samples_split: 2,
            seed: 42,
        }
    }
}

impl DecisionTreeSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
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
        Ok(())
    }
}

/// A fitted tree. A classification tree gives a row the class frequencies among the
/// training rows in the leaf it reaches as probabilities; a regression tree gives the mean
/// target of those rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTreeModel {
    pub tree: Tree,
}

pub(crate) fn fit(
    x: &Matrix,
    y: &[usize],
    classes: usize,
    settings: &DecisionTreeSettings,
) -> Result<DecisionTreeModel, ModelError> {
    grow(x, TreeTarget::Classes { y, classes }, settings)
}

/// Fits a regression tree predicting `y[i]` for row `i`.
pub(crate) fn fit_regressor(
    x: &Matrix,
    y: &[f64],
    settings: &DecisionTreeSettings,
) -> Result<DecisionTreeModel, ModelError> {
    grow(x, TreeTarget::Values(y), settings)
}

fn grow(
    x: &Matrix,
    target: TreeTarget<'_>,
    settings: &DecisionTreeSettings,
) -> Result<DecisionTreeModel, ModelError> {
    let grower = Grower {
        x,
        target,
        max_depth: settings.max_depth,
        min_samples_split: settings.min_samples_split,
        features_per_split: x.cols,
        bootstrap: false,
    };
    Ok(DecisionTreeModel {
        tree: grower.grow(SeededRng::new(settings.seed)),
    })
}

impl DecisionTreeModel {
    pub(crate) fn check(&self, features: usize, leaves: TreeLeaves) -> Result<(), String> {
        self.tree.check("the tree", features, leaves)
    }

    pub(crate) fn values(&self, x: &Matrix) -> Vec<f64> {
        (0..x.rows)
            .map(|i| self.tree.leaf_value(x.row(i)))
            .collect()
    }

    pub(crate) fn probabilities(&self, x: &Matrix) -> Vec<Vec<f64>> {
        (0..x.rows)
            .map(|i| self.tree.leaf_shares(x.row(i)))
            .collect()
    }
}
