//! k-nearest neighbours classification and regression on standardized features, Euclidean
//! distance.
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

/// The training rows standardized with `means` and `scales`.
fn standardized_rows(x: &Matrix, means: &[f64], scales: &[f64]) -> Vec<Vec<f64>> {
    (0..x.rows)
        .map(|i| {
            x.row(i)
                .iter()
                .zip(means.iter().zip(scales))
                .map(|(v, (m, s))| (v - m) / s)
                .collect()
        })
        .collect()
}

fn check_k(k: usize, rows: usize) -> Result<(), ModelError> {
    if k > rows {
        return Err(ModelError::setting(
            "k",
            format!("is {k}, but there are only {rows} training row(s)"),
        ));
    }
    Ok(())
}

pub(crate) fn fit(x: &Matrix, y: &[usize], settings: &KnnSettings) -> Result<KnnModel, ModelError> {
    check_k(settings.k, x.rows)?;
    let (means, scales) = standardization(x)?;
    let rows = standardized_rows(x, &means, &scales);
    Ok(KnnModel {
        k: settings.k,
        weights: settings.weights,
        means,
        scales,
        rows,
        labels: y.to_vec(),
    })
}

/// Fits a k-NN regressor predicting `y[i]` for row `i`.
pub(crate) fn fit_regressor(
    x: &Matrix,
    y: &[f64],
    settings: &KnnSettings,
) -> Result<KnnRegressorModel, ModelError> {
    check_k(settings.k, x.rows)?;
    let (means, scales) = standardization(x)?;
    let rows = standardized_rows(x, &means, &scales);
    Ok(KnnRegressorModel {
        k: settings.k,
        weights: settings.weights,
        means,
        scales,
        rows,
        values: y.to_vec(),
    })
}

/// A fitted k-NN regressor: rows are standardized and compared as by [`KnnModel`]; the
/// prediction is the (weighted) mean target of the `k` nearest training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnRegressorModel {
    pub k: usize,
    pub weights: KnnWeights,
    pub means: Vec<f64>,
    /// Standard deviations of the training features (1 for a constant feature).
    pub scales: Vec<f64>,
    /// The standardized training rows.
    pub rows: Vec<Vec<f64>>,
    /// Each training row's target.
    pub values: Vec<f64>,
}

/// The stored search structure shared by both k-NN models.
struct Neighbours<'a> {
    k: usize,
    weights: KnnWeights,
    means: &'a [f64],
    scales: &'a [f64],
    rows: &'a [Vec<f64>],
}

impl Neighbours<'_> {
    fn check(&self, features: usize) -> Result<(), String> {
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
        if let Some(i) = self.rows.iter().position(|r| r.len() != features) {
            return Err(format!("stored row {i} does not have {features} values"));
        }
        if !self.scales.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err("k-NN scales must be positive".into());
        }
        Ok(())
    }

    /// Calls `each` for every row of `x` with its `k` nearest training rows, nearest
    /// first, as (training row, weight) pairs.
    fn for_each(&self, x: &Matrix, mut each: impl FnMut(&[(usize, f64)])) {
        let mut distances: Vec<(f64, usize)> = Vec::with_capacity(self.rows.len());
        let mut standardized = vec![0.0; x.cols];
        let mut weighted: Vec<(usize, f64)> = Vec::with_capacity(self.k);
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
            weighted.clear();
            match self.weights {
                KnnWeights::Uniform => weighted.extend(nearest.iter().map(|&(_, r)| (r, 1.0))),
                KnnWeights::Distance => {
                    weighted.extend(nearest.iter().map(|&(d, r)| (r, 1.0 / d.sqrt())));
                    // A neighbour at distance 0 (or so close its weight overflows) takes
                    // the whole vote, shared with any others as close.
                    if weighted.iter().any(|(_, w)| !w.is_finite()) {
                        for (_, w) in weighted.iter_mut() {
                            *w = if w.is_finite() { 0.0 } else { 1.0 };
                        }
                    }
                }
            }
            each(&weighted);
        }
    }
}

impl KnnModel {
    fn neighbours(&self) -> Neighbours<'_> {
        Neighbours {
            k: self.k,
            weights: self.weights,
            means: &self.means,
            scales: &self.scales,
            rows: &self.rows,
        }
    }

    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        self.neighbours().check(features)?;
        if self.labels.len() != self.rows.len() {
            return Err(format!(
                "{} stored labels for {} stored rows",
                self.labels.len(),
                self.rows.len()
            ));
        }
        if let Some(i) = self.labels.iter().position(|&c| c >= classes) {
            return Err(format!(
                "stored label {i} is not one of the {classes} classes"
            ));
        }
        Ok(())
    }

    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(x.rows);
        self.neighbours().for_each(x, |nearest| {
            let mut votes = vec![0.0; classes];
            for &(r, w) in nearest {
                votes[self.labels[r]] += w;
            }
            let total: f64 = votes.iter().sum();
            for v in votes.iter_mut() {
                *v /= total;
            }
            out.push(votes);
        });
        out
    }
}

impl KnnRegressorModel {
    fn neighbours(&self) -> Neighbours<'_> {
        Neighbours {
            k: self.k,
            weights: self.weights,
            means: &self.means,
            scales: &self.scales,
            rows: &self.rows,
        }
    }

    pub(crate) fn check(&self, features: usize) -> Result<(), String> {
        self.neighbours().check(features)?;
        if self.values.len() != self.rows.len() {
            return Err(format!(
                "{} stored values for {} stored rows",
                self.values.len(),
                self.rows.len()
            ));
        }
        if !self.values.iter().all(|v| v.is_finite()) {
            return Err("k-NN stored values must be finite".into());
        }
        Ok(())
    }

    pub(crate) fn values(&self, x: &Matrix) -> Vec<f64> {
        let mut out = Vec::with_capacity(x.rows);
        self.neighbours().for_each(x, |nearest| {
            let (mut sum, mut total) = (0.0, 0.0);
            for &(r, w) in nearest {
                sum += w * self.values[r];
                total += w;
            }
            out.push(sum / total);
        });
        out
    }
}
