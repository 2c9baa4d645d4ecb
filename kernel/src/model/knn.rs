//! k-nearest neighbours classification on standardized features, Euclidean distance.
//!
//! The model stores the standardized training rows. Neighbours are ordered by distance,
//! then by training-row index, so ties never depend on sort internals or platform.

use serde::{Deserialize, Serialize};

use super::{Matrix, ModelError};

/// How neighbours' votes are weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnnWeights {
    /// Every neighbour counts the same.
    Uniform,
    /// A neighbour counts by the inverse of its distance; neighbours at distance 0, if
    /// any, take the whole vote (as scikit-learn does).
    Distance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnnSettings {
    /// Neighbours that vote. Default 5; at most the number of training rows.
    pub k: usize,
    /// `"uniform"` (default) or `"distance"`.
    pub weights: KnnWeights,
}

impl Default for KnnSettings {
    fn default() -> Self {
        KnnSettings {
            k: 5,
            weights: KnnWeights::Uniform,
        }
    }
}

impl KnnSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.k == 0 {
            return Err(ModelError::setting("k", "must be at least 1 (got 0)"));
        }
        Ok(())
    }
}

/// A fitted k-NN model: a row `x` is standardized as `(x - means) / scales` and compared
/// with every stored training row. Its class probabilities are the (weighted) shares of
/// each class among its `k` nearest neighbours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnModel {
    pub k: usize,
    pub weights: KnnWeights,
    pub means: Vec<f64>,
    /// Standard deviations of the training features (1 for a constant feature).
    pub scales: Vec<f64>,
    /// The standardized training rows.
    pub rows: Vec<Vec<f64>>,
    /// Each training row's class, as an index into the artifact's class labels.
    pub labels: Vec<usize>,
}

/// Per-feature mean and standard deviation (1 where the feature is constant).
pub(crate) fn standardization(x: &Matrix) -> Result<(Vec<f64>, Vec<f64>), ModelError> {
    let n = x.rows as f64;
    let mut means = vec![0.0; x.cols];
    let mut scales = vec![1.0; x.cols];
    for j in 0..x.cols {
        let mean = (0..x.rows).map(|i| x.get(i, j)).sum::<f64>() / n;
        let squares: f64 = (0..x.rows).map(|i| (x.get(i, j) - mean).powi(2)).sum();
        let scale = (squares / n).sqrt();
        if !mean.is_finite() || !scale.is_finite() {
            return Err(ModelError::FitFailed(format!(
                "feature {} has values too large to standardize",
                j + 1
            )));
        }
        means[j] = mean;
        scales[j] = if scale > 0.0 { scale } else { 1.0 };
    }
    Ok((means, scales))
}

pub(crate) fn fit(x: &Matrix, y: &[usize], settings: &KnnSettings) -> Result<KnnModel, ModelError> {
    if settings.k > x.rows {
        return Err(ModelError::setting(
            "k",
            format!(
                "is {}, but there are only {} training row(s)",
                settings.k, x.rows
            ),
        ));
    }
    let (means, scales) = standardization(x)?;
    let rows = (0..x.rows)
        .map(|i| {
            x.row(i)
                .iter()
                .zip(means.iter().zip(&scales))
                .map(|(v, (m, s))| (v - m) / s)
                .collect()
        })
        .collect();
    Ok(KnnModel {
        k: settings.k,
        weights: settings.weights,
        means,
        scales,
        rows,
        labels: y.to_vec(),
    })
}

impl KnnModel {
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        if self.means.len() != features || self.scales.len() != features {
            return Err(format!(
                "k-NN standardization has {} means and {} scales for {features} features",
                self.means.len(),
                self.scales.len()
            ));
        }
        if self.k == 0 || self.k > self.rows.len() {
            return Err(format!(
                "k is {} with {} stored training rows",
                self.k,
                self.rows.len()
            ));
        }
        if self.labels.len() != self.rows.len() {
            return Err(format!(
                "{} stored labels for {} stored rows",
                self.labels.len(),
                self.rows.len()
            ));
        }
        if let Some(i) = self.rows.iter().position(|r| r.len() != features) {
            return Err(format!("stored row {i} does not have {features} values"));
        }
        if let Some(i) = self.labels.iter().position(|&c| c >= classes) {
            return Err(format!(
                "stored label {i} is not one of the {classes} classes"
            ));
        }
        if !self.scales.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err("k-NN scales must be positive".into());
        }
        Ok(())
    }

    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        let mut distances: Vec<(f64, usize)> = Vec::with_capacity(self.rows.len());
        let mut standardized = vec![0.0; x.cols];
        let mut out = Vec::with_capacity(x.rows);
        for i in 0..x.rows {
            for (j, value) in x.row(i).iter().enumerate() {
                standardized[j] = (value - self.means[j]) / self.scales[j];
            }
            distances.clear();
            distances.extend(self.rows.iter().enumerate().map(|(r, row)| {
                let squared: f64 = row
                    .iter()
                    .zip(&standardized)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                (squared, r)
            }));
            // The k smallest by (distance, index): a total order, so the choice is unique.
            let order =
                |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if self.k < distances.len() {
                distances.select_nth_unstable_by(self.k - 1, order);
            }
            let nearest = &mut distances[..self.k];
            nearest.sort_by(order);
            let mut votes = vec![0.0; classes];
            match self.weights {
                KnnWeights::Uniform => {
                    for &(_, r) in nearest.iter() {
                        votes[self.labels[r]] += 1.0;
                    }
                }
                KnnWeights::Distance => {
                    let weights: Vec<f64> = nearest.iter().map(|&(d, _)| 1.0 / d.sqrt()).collect();
                    // A neighbour at distance 0 (or so close its weight overflows) takes
                    // the whole vote, shared with any others as close.
                    let exact = weights.iter().any(|w| !w.is_finite());
                    for (&(_, r), &w) in nearest.iter().zip(&weights) {
                        if !exact {
                            votes[self.labels[r]] += w;
                        } else if !w.is_finite() {
                            votes[self.labels[r]] += 1.0;
                        }
                    }
                }
            }
            let total: f64 = votes.iter().sum();
            for v in votes.iter_mut() {
                *v /= total;
            }
            out.push(votes);
        }
        out
    }
}
