//! Gaussian naive Bayes: per class, each feature is modelled as an independent normal
//! distribution; a row's class probabilities follow from Bayes' rule.
//!
//! Logarithms and exponentials come from `libm`, so the probabilities are bit-identical on
//! native targets and wasm32.

use serde::{Deserialize, Serialize};

use super::{Matrix, ModelError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianNbSettings {
    /// Added to every variance, as a fraction of the largest feature variance, so that a
    /// feature constant within a class does not divide by zero. Default 1e-9 (as
    /// scikit-learn's `var_smoothing`).
    pub var_smoothing: f64,
}

impl Default for GaussianNbSettings {
    fn default() -> Self {
        GaussianNbSettings {
            var_smoothing: 1e-9,
        }
    }
}

impl GaussianNbSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if !(self.var_smoothing.is_finite() && self.var_smoothing > 0.0) {
            return Err(ModelError::setting(
                "var_smoothing",
                format!(
                    "must be a finite number greater than 0 (got {})",
                    self.var_smoothing
                ),
            ));
        }
        Ok(())
    }
}

/// A fitted Gaussian naive Bayes model: per class (in class order) its prior probability
/// and, per feature, the mean and (smoothed) variance of the class's training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianNbModel {
    pub priors: Vec<f64>,
    pub means: Vec<Vec<f64>>,
    pub variances: Vec<Vec<f64>>,
}

pub(crate) fn fit(
    x: &Matrix,
    y: &[usize],
    classes: usize,
    settings: &GaussianNbSettings,
) -> Result<GaussianNbModel, ModelError> {
    let (rows, cols) = (x.rows, x.cols);
    // The smoothing is relative to the largest variance over all rows (as scikit-learn).
    let mut largest = 0.0f64;
    for j in 0..cols {
        let mean = (0..rows).map(|i| x.get(i, j)).sum::<f64>() / rows as f64;
        let variance = (0..rows).map(|i| (x.get(i, j) - mean).powi(2)).sum::<f64>() / rows as f64;
        largest = largest.max(variance);
    }
    let epsilon = settings.var_smoothing * largest;
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(ModelError::FitFailed(
            "every feature is constant (or too large to square), so naive Bayes cannot \
             tell the classes apart"
                .into(),
        ));
    }
    let mut counts = vec![0usize; classes];
    let mut means = vec![vec![0.0; cols]; classes];
    for (i, &c) in y.iter().enumerate() {
        counts[c] += 1;
        for (m, v) in means[c].iter_mut().zip(x.row(i)) {
            *m += v;
        }
    }
    for (c, row) in means.iter_mut().enumerate() {
        for m in row.iter_mut() {
            *m /= counts[c] as f64;
        }
    }
    let mut variances = vec![vec![0.0; cols]; classes];
    for (i, &c) in y.iter().enumerate() {
        for (j, v) in x.row(i).iter().enumerate() {
            let d = v - means[c][j];
            variances[c][j] += d * d;
        }
    }
    for (c, row) in variances.iter_mut().enumerate() {
        for v in row.iter_mut() {
            *v = *v / counts[c] as f64 + epsilon;
        }
    }
    let priors = counts.iter().map(|&n| n as f64 / rows as f64).collect();
    Ok(GaussianNbModel {
        priors,
        means,
        variances,
    })
}

impl GaussianNbModel {
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        if self.priors.len() != classes
            || self.means.len() != classes
            || self.variances.len() != classes
        {
            return Err(format!(
                "naive Bayes needs priors, means and variances for each of the {classes} classes"
            ));
        }
        if self
            .means
            .iter()
            .chain(&self.variances)
            .any(|row| row.len() != features)
        {
            return Err(format!(
                "naive Bayes needs a mean and a variance for each of the {features} features"
            ));
        }
        if !self.priors.iter().all(|p| p.is_finite() && *p > 0.0) {
            return Err("naive Bayes priors must be positive".into());
        }
        if !self
            .variances
            .iter()
            .flatten()
            .all(|v| v.is_finite() && *v > 0.0)
        {
            return Err("naive Bayes variances must be positive".into());
        }
        if !self.means.iter().flatten().all(|m| m.is_finite()) {
            return Err("naive Bayes means must be finite".into());
        }
        Ok(())
    }

    /// The joint log likelihood of each class, then normalized by log-sum-exp.
    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        let two_pi = 2.0 * core::f64::consts::PI;
        // The per-class constant: log prior − ½ Σ log(2π σ²).
        let constants: Vec<f64> = (0..classes)
            .map(|c| {
                libm::log(self.priors[c])
                    - 0.5
                        * self.variances[c]
                            .iter()
                            .map(|v| libm::log(two_pi * v))
                            .sum::<f64>()
            })
            .collect();
        let mut out = Vec::with_capacity(x.rows);
        for i in 0..x.rows {
            let row = x.row(i);
            let mut joint: Vec<f64> = (0..classes)
                .map(|c| {
                    let squares: f64 = row
                        .iter()
                        .zip(self.means[c].iter().zip(&self.variances[c]))
                        .map(|(v, (m, var))| (v - m) * (v - m) / var)
                        .sum();
                    constants[c] - 0.5 * squares
                })
                .collect();
            let top = joint.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !top.is_finite() {
                // Every class infinitely unlikely (values far beyond the training range):
                // nothing to prefer, so no class is preferred.
                out.push(vec![1.0 / classes as f64; classes]);
                continue;
            }
            let total: f64 = joint.iter().map(|l| libm::exp(l - top)).sum();
            let log_total = top + libm::log(total);
            for l in joint.iter_mut() {
                *l = libm::exp(*l - log_total);
            }
            out.push(joint);
        }
        out
    }
}
