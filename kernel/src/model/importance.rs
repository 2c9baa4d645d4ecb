//! Feature importances: how much each feature matters to a fitted model, for the models
//! that define it.
//!
//! Trees and forests give scikit-learn's mean decrease in impurity (`feature_importances_`):
//! per split, the fall in weighted Gini impurity (classification) or squared error
//! (regression) from the node to its two children, summed per feature and normalised to sum
//! to 1 per tree; a forest averages its trees' shares and normalises again. The trees store
//! only their leaves' class counts or means and row counts, but a split's impurity decrease
//! depends on nothing else, so it is computed exactly from them. Gradient-boosted trees give
//! their recorded split gains' shares. Linear models and logistic regression give their
//! coefficients instead.

use super::forest::{Tree, TreeNode};
use super::FittedModel;

/// What [`feature_importances`] gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Importance {
    /// Per feature, its share of the model's total impurity (or loss) decrease: they sum to
    /// 1, or are all 0 when the model never split.
    Shares(Vec<f64>),
    /// Per output, per feature, the coefficient per unit of the feature: one output for a
    /// linear model and a two-class logistic regression (the second class's log-odds), one
    /// per class for more classes.
    Coefficients(Vec<Vec<f64>>),
}

/// The model's feature importances, or `None` for a model that defines none (k-NN, naive
/// Bayes, SVMs, clustering, PCA).
pub fn feature_importances(fitted: &FittedModel, features: usize) -> Option<Importance> {
    Some(match fitted {
        FittedModel::DecisionTree(m) | FittedModel::DecisionTreeRegressor(m) => {
            Importance::Shares(normalised(tree_decreases(&m.tree, features)))
        }
        FittedModel::RandomForest(m) | FittedModel::RandomForestRegressor(m) => {
            let mut total = vec![0.0; features];
            for tree in &m.trees {
                for (t, share) in total
                    .iter_mut()
                    .zip(normalised(tree_decreases(tree, features)))
                {
                    *t += share;
                }
            }
            Importance::Shares(normalised(total))
        }
        FittedModel::GradientBoosting(m) | FittedModel::GradientBoostingRegressor(m) => {
            Importance::Shares(m.feature_importances())
        }
        FittedModel::LinearRegression(m)
        | FittedModel::Ridge(m)
        | FittedModel::Lasso(m)
        | FittedModel::ElasticNet(m) => Importance::Coefficients(vec![m.coefficients.clone()]),
        // Fitted on standardized features: a coefficient per standard deviation becomes one
        // per unit by dividing by the feature's scale, as the linear models' are.
        FittedModel::LogisticRegression(m) => Importance::Coefficients(
            m.coefficients
                .iter()
                .map(|row| row.iter().zip(&m.scales).map(|(w, s)| w / s).collect())
                .collect(),
        ),
        FittedModel::Knn(_)
        | FittedModel::KnnRegressor(_)
        | FittedModel::GaussianNb(_)
        | FittedModel::Svm(_)
        | FittedModel::Svr(_)
        | FittedModel::Kmeans(_)
        | FittedModel::Dbscan(_)
        | FittedModel::Pca(_)
        | FittedModel::Script(_) => return None,
    })
}

/// `values` divided by their sum, or unchanged when the sum is not positive.
fn normalised(mut values: Vec<f64>) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        for v in values.iter_mut() {
            *v /= total;
        }
    }
    values
}

/// What a node's training rows were: class counts, or a count and a target sum.
#[derive(Clone)]
enum NodeRows {
    Counts(Vec<f64>),
    Values { rows: f64, sum: f64 },
}

impl NodeRows {
    fn join(&self, other: &NodeRows) -> Option<NodeRows> {
        match (self, other) {
            (NodeRows::Counts(a), NodeRows::Counts(b)) if a.len() == b.len() => Some(
                NodeRows::Counts(a.iter().zip(b).map(|(x, y)| x + y).collect()),
            ),
            (NodeRows::Values { rows: n1, sum: s1 }, NodeRows::Values { rows: n2, sum: s2 }) => {
                Some(NodeRows::Values {
                    rows: n1 + n2,
                    sum: s1 + s2,
                })
            }
            _ => None,
        }
    }

    /// The node's impurity times its row count, up to a term that is the same for a node
    /// and its children together (so that differences are exact): `n − Σ count²/n` is
    /// `n · Gini`; `−sum²/n` is the squared error less `Σ y²`.
    fn weighted_impurity(&self) -> f64 {
        match self {
            NodeRows::Counts(counts) => {
                let n: f64 = counts.iter().sum();
                if n > 0.0 {
                    n - counts.iter().map(|c| c * c).sum::<f64>() / n
                } else {
                    0.0
                }
            }
            NodeRows::Values { rows, sum } => {
                if *rows > 0.0 {
                    -sum * sum / rows
                } else {
                    0.0
                }
            }
        }
    }
}

/// Per feature, the summed impurity decreases of the tree's splits on it. Children come
/// after their parent, so walking the nodes backwards meets both children first. A split
/// whose children are malformed (as in a hand-edited artifact) is skipped.
fn tree_decreases(tree: &Tree, features: usize) -> Vec<f64> {
    let mut rows: Vec<Option<NodeRows>> = vec![None; tree.nodes.len()];
    let mut decreases = vec![0.0; features];
    for i in (0..tree.nodes.len()).rev() {
        rows[i] = match &tree.nodes[i] {
            TreeNode::Leaf { counts } => {
                Some(NodeRows::Counts(counts.iter().map(|&c| c as f64).collect()))
            }
            TreeNode::Mean { value, samples } => Some(NodeRows::Values {
                rows: *samples as f64,
                sum: value * *samples as f64,
            }),
            TreeNode::Split {
                feature,
                left,
                right,
                ..
            } => {
                let child = |c: usize| rows.get(c).filter(|_| c > i).cloned().flatten();
                match (child(*left), child(*right)) {
                    (Some(l), Some(r)) => l.join(&r).inspect(|node| {
                        let decrease = node.weighted_impurity()
                            - l.weighted_impurity()
                            - r.weighted_impurity();
                        if let Some(d) = decreases.get_mut(*feature) {
                            // Rounding can leave a useless split a hair below zero.
                            *d += decrease.max(0.0);
                        }
                    }),
                    _ => None,
                }
            }
        };
    }
    decreases
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(feature: usize, left: usize, right: usize) -> TreeNode {
        TreeNode::Split {
            feature,
            threshold: 0.5,
            left,
            right,
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn gini_decreases_are_computed_from_the_leaves() {
        // Root (4 of each class) splits on feature 1 into a pure leaf (3 of class 0) and a
        // node (1, 4) that splits on feature 0 into (1, 0) and (0, 4).
        let tree = Tree {
            nodes: vec![
                split(1, 1, 2),
                TreeNode::Leaf { counts: vec![3, 0] },
                split(0, 3, 4),
                TreeNode::Leaf { counts: vec![1, 0] },
                TreeNode::Leaf { counts: vec![0, 4] },
            ],
        };
        let d = tree_decreases(&tree, 3);
        // n·Gini: root 8·0.5 = 4; (1, 4): 5·(1 − 1/25 − 16/25) = 1.6; pure leaves 0.
        assert!((d[1] - (4.0 - 1.6)).abs() < 1e-12, "{d:?}");
        assert!((d[0] - 1.6).abs() < 1e-12, "{d:?}");
        assert_eq!(d[2], 0.0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn squared_error_decreases_are_computed_from_the_means() {
        // Two rows of mean 1 and two of mean 3 under a root of mean 2: the split lowers the
        // squared error by 2·(1 − 2)² + 2·(3 − 2)² = 4.
        let tree = Tree {
            nodes: vec![
                split(0, 1, 2),
                TreeNode::Mean {
                    value: 1.0,
                    samples: 2,
                },
                TreeNode::Mean {
                    value: 3.0,
                    samples: 2,
                },
            ],
        };
        let d = tree_decreases(&tree, 2);
        assert!((d[0] - 4.0).abs() < 1e-12, "{d:?}");
        assert_eq!(d[1], 0.0);
        // A split pointing backwards (a hand-edited artifact) is skipped, not followed.
        let bad = Tree {
            nodes: vec![split(0, 0, 0)],
        };
        assert_eq!(tree_decreases(&bad, 1), vec![0.0]);
    }
}
