//! Logistic regression: binary (sigmoid) for two classes, multinomial (softmax) for more,
//! fitted by L-BFGS on standardized features.
//!
//! The optimizer is our own rather than smartcore's: smartcore's L-BFGS cannot be given an
//! iteration limit through `LogisticRegression`, and both its objective and its line search
//! call the platform's `exp`/`powf`, whose last bits differ between glibc and wasm32's libm,
//! so a model fitted in the browser would not match the same fit run natively. Here every
//! operation is IEEE arithmetic, `sqrt`, or `libm`, which is bit-identical everywhere.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::{FitProgress, Matrix, ModelError, Monitor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticRegressionSettings {
    /// Most optimizer iterations; a fit that runs out is still usable, and says so in
    /// [`LogisticModel::converged`].
    #[serde(alias = "max_iterations")]
    pub max_iter: usize,
    /// Strength of the L2 penalty on the coefficients of the standardized features: the fit
    /// minimizes the mean log loss plus `l2_penalty / 2 · Σ coefficient²` (intercepts are
    /// not penalized). 0 means no penalty.
    pub l2_penalty: f64,
}

impl Default for LogisticRegressionSettings {
    fn default() -> Self {
        LogisticRegressionSettings {
            max_iter: 200,
            l2_penalty: 0.0,
        }
    }
}

impl LogisticRegressionSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.max_iter == 0 {
            return Err(ModelError::setting(
                "max_iter",
                "must be at least 1 (got 0)",
            ));
        }
        if !(self.l2_penalty.is_finite() && self.l2_penalty >= 0.0) {
            return Err(ModelError::setting(
                "l2_penalty",
                format!(
                    "must be a finite number of at least 0 (got {})",
                    self.l2_penalty
                ),
            ));
        }
        Ok(())
    }
}

/// A fitted logistic regression. A row `x` is standardized as `(x - means) / scales`, then
/// each class gets the score `intercept + coefficients · standardized x`.
///
/// For two classes there is a single score, for the second class: its probability is the
/// sigmoid of the score. For more classes there is one score per class, in class order, and
/// the probabilities are their softmax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    pub means: Vec<f64>,
    /// Standard deviations of the training features (1 for a constant feature).
    pub scales: Vec<f64>,
    pub coefficients: Vec<Vec<f64>>,
    pub intercepts: Vec<f64>,
    /// Optimizer iterations used.
    pub iterations: usize,
    /// Whether the optimizer reached its tolerance within `max_iter`.
    pub converged: bool,
}

/// Gradient tolerance (largest component) and relative loss decrease below which the fit
/// stops, as scipy's L-BFGS-B defaults (`pgtol`, `factr · ε`).
const GRADIENT_TOLERANCE: f64 = 1e-5;
const LOSS_TOLERANCE: f64 = 1e7 * f64::EPSILON;
/// Correction pairs remembered by L-BFGS.
const MEMORY: usize = 10;
/// Armijo condition's sufficient decrease.
const ARMIJO: f64 = 1e-4;

pub(crate) fn fit(
    x: &Matrix,
    y: &[usize],
    classes: usize,
    settings: &LogisticRegressionSettings,
    monitor: &mut Monitor<'_>,
) -> Result<LogisticModel, ModelError> {
    let (rows, cols) = (x.rows, x.cols);
    let n = rows as f64;
    let mut means = vec![0.0; cols];
    let mut scales = vec![1.0; cols];
    for j in 0..cols {
        let mut sum = 0.0;
        for i in 0..rows {
            sum += x.get(i, j);
        }
        let mean = sum / n;
        let mut squares = 0.0;
        for i in 0..rows {
            let d = x.get(i, j) - mean;
            squares += d * d;
        }
        let scale = (squares / n).sqrt();
        if !mean.is_finite() || !scale.is_finite() {
            return Err(ModelError::FitFailed(format!(
                "feature {} has values too large to standardize",
                j + 1
            )));
        }
        means[j] = mean;
        // A constant feature carries no information; any scale leaves it at 0.
        scales[j] = if scale > 0.0 { scale } else { 1.0 };
    }
    let mut standardized = x.clone();
    for i in 0..rows {
        for j in 0..cols {
            standardized.data[i * cols + j] = (x.get(i, j) - means[j]) / scales[j];
        }
    }

    let outputs = if classes == 2 { 1 } else { classes };
    let problem = Problem {
        x: &standardized,
        y,
        outputs,
        l2: settings.l2_penalty,
    };
    let result = minimize(&problem, outputs * (cols + 1), settings.max_iter, monitor)?;

    let stride = cols + 1;
    let coefficients: Vec<Vec<f64>> = (0..outputs)
        .map(|c| result.w[c * stride..c * stride + cols].to_vec())
        .collect();
    let intercepts: Vec<f64> = (0..outputs).map(|c| result.w[c * stride + cols]).collect();
    if !result.w.iter().all(|w| w.is_finite()) {
        return Err(ModelError::FitFailed(
            "the optimizer diverged; try a positive l2_penalty".to_string(),
        ));
    }
    Ok(LogisticModel {
        means,
        scales,
        coefficients,
        intercepts,
        iterations: result.iterations,
        converged: result.converged,
    })
}

/// `intercept + coefficients · x`, summed in a fixed order (training and prediction must
/// add in the same order to agree to the bit).
fn score(coefficients: &[f64], intercept: f64, x: &[f64]) -> f64 {
    let mut z = intercept;
    for (w, v) in coefficients.iter().zip(x) {
        z += w * v;
    }
    z
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    // Two forms so that exp never overflows.
    if z >= 0.0 {
        1.0 / (1.0 + libm::exp(-z))
    } else {
        let e = libm::exp(z);
        e / (1.0 + e)
    }
}

/// ln(1 + e^z) without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + libm::log1p(libm::exp(-z.abs()))
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

/// Mean log loss (plus penalty) of standardized features, with its gradient. Parameters
/// are laid out per output as `cols` coefficients then the intercept.
struct Problem<'a> {
    x: &'a Matrix,
    y: &'a [usize],
    outputs: usize,
    l2: f64,
}

impl Problem<'_> {
    fn evaluate(&self, w: &[f64], gradient: &mut [f64]) -> f64 {
        let cols = self.x.cols;
        let stride = cols + 1;
        gradient.fill(0.0);
        let mut loss = 0.0;
        let mut scores = vec![0.0; self.outputs];
        for (i, &class) in self.y.iter().enumerate().take(self.x.rows) {
            let xi = self.x.row(i);
            for (c, s) in scores.iter_mut().enumerate() {
                *s = score(&w[c * stride..c * stride + cols], w[c * stride + cols], xi);
            }
            if self.outputs == 1 {
                let z = scores[0];
                let t = if class == 1 { 1.0 } else { 0.0 };
                loss += softplus(z) - t * z;
                scores[0] = sigmoid(z) - t;
            } else {
                let z_true = scores[class];
                loss += softmax_in_place(&mut scores) - z_true;
                scores[class] -= 1.0;
            }
            // `scores` now holds d loss / d score per output.
            for (c, &d) in scores.iter().enumerate() {
                let g = &mut gradient[c * stride..(c + 1) * stride];
                for (gj, v) in g.iter_mut().zip(xi) {
                    *gj += d * v;
                }
                g[cols] += d;
            }
        }
        let n = self.x.rows as f64;
        loss /= n;
        for g in gradient.iter_mut() {
            *g /= n;
        }
        if self.l2 > 0.0 {
            for c in 0..self.outputs {
                for j in c * stride..c * stride + cols {
                    loss += 0.5 * self.l2 * w[j] * w[j];
                    gradient[j] += self.l2 * w[j];
                }
            }
        }
        loss
    }
}

struct Minimum {
    w: Vec<f64>,
    iterations: usize,
    converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (x, y) in a.iter().zip(b) {
        sum += x * y;
    }
    sum
}

fn largest_magnitude(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// L-BFGS with a backtracking (Armijo) line search, from all-zero parameters. The loss is
/// convex, so curvature pairs are kept only when positive and the search always descends.
/// `monitor` hears of every iteration done, out of `max_iter`.
fn minimize(
    problem: &Problem<'_>,
    dimension: usize,
    max_iter: usize,
    monitor: &mut Monitor<'_>,
) -> Result<Minimum, ModelError> {
    let mut w = vec![0.0; dimension];
    let mut gradient = vec![0.0; dimension];
    let mut loss = problem.evaluate(&w, &mut gradient);
    let mut next_w = vec![0.0; dimension];
    let mut next_gradient = vec![0.0; dimension];
    // (s, y, 1 / s·y), oldest first.
    let mut history: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(MEMORY);
    let mut iterations = 0;
    let mut converged = false;

    while iterations < max_iter {
        if largest_magnitude(&gradient) <= GRADIENT_TOLERANCE {
            converged = true;
            break;
        }
        let mut direction = two_loop(&gradient, &history);
        let mut slope = dot(&gradient, &direction);
        if slope >= 0.0 || slope.is_nan() {
            // Not a descent direction (rounding): restart from steepest descent.
            history.clear();
            direction = gradient.iter().map(|g| -g).collect();
            slope = -dot(&gradient, &gradient);
        }
        // Without curvature information, a first step of unit length.
        let mut step = if history.is_empty() {
            1.0 / dot(&gradient, &gradient).sqrt().max(1.0)
        } else {
            1.0
        };
        let next_loss = loop {
            for ((nw, w), d) in next_w.iter_mut().zip(&w).zip(&direction) {
                *nw = w + step * d;
            }
            let candidate = problem.evaluate(&next_w, &mut next_gradient);
            if candidate <= loss + ARMIJO * step * slope {
                break Some(candidate);
            }
            step *= 0.5;
            if step < 1e-20 {
                break None;
            }
        };
        // No step decreases the loss measurably: as good as it gets in f64.
        let Some(next_loss) = next_loss else {
            converged = true;
            break;
        };
        iterations += 1;
        let progress = FitProgress {
            done: iterations,
            total: max_iter,
            unit: "iterations",
        };
        if monitor(progress).is_break() {
            return Err(progress.cancelled());
        }

        let s: Vec<f64> = next_w.iter().zip(&w).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            if history.len() == MEMORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
        let decrease = loss - next_loss;
        let magnitude = loss.abs().max(next_loss.abs()).max(1.0);
        std::mem::swap(&mut w, &mut next_w);
        std::mem::swap(&mut gradient, &mut next_gradient);
        loss = next_loss;
        if decrease <= LOSS_TOLERANCE * magnitude {
            converged = true;
            break;
        }
    }
    if !converged && largest_magnitude(&gradient) <= GRADIENT_TOLERANCE {
        converged = true;
    }
    Ok(Minimum {
        w,
        iterations,
        converged,
    })
}

/// −H·gradient for L-BFGS's inverse-Hessian estimate H (Nocedal & Wright, algorithm 7.4).
fn two_loop(gradient: &[f64], history: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q = gradient.to_vec();
    let mut alphas = vec![0.0; history.len()];
    for (k, (s, y, rho)) in history.iter().enumerate().rev() {
        let a = rho * dot(s, &q);
        alphas[k] = a;
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= a * yi;
        }
    }
    let gamma = history
        .back()
        .map_or(1.0, |(s, y, _)| dot(s, y) / dot(y, y));
    for qi in q.iter_mut() {
        *qi *= gamma;
    }
    for ((s, y, rho), a) in history.iter().zip(&alphas) {
        let b = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (a - b) * si;
        }
    }
    for qi in q.iter_mut() {
        *qi = -*qi;
    }
    q
}

impl LogisticModel {
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        let outputs = if classes == 2 { 1 } else { classes };
        if self.means.len() != features || self.scales.len() != features {
            return Err(format!(
                "logistic regression needs a mean and scale per feature ({features})"
            ));
        }
        if !self.means.iter().all(|m| m.is_finite())
            || !self.scales.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            return Err(
                "logistic regression means and scales must be finite, scales positive".into(),
            );
        }
        if self.coefficients.len() != outputs
            || self.intercepts.len() != outputs
            || self.coefficients.iter().any(|row| row.len() != features)
        {
            return Err(format!(
                "logistic regression with {classes} classes and {features} features needs \
                 {outputs} row(s) of {features} coefficients and {outputs} intercept(s)"
            ));
        }
        if !self
            .coefficients
            .iter()
            .flatten()
            .chain(&self.intercepts)
            .all(|w| w.is_finite())
        {
            return Err("logistic regression coefficients must be finite".into());
        }
        Ok(())
    }

    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        let mut standardized = vec![0.0; x.cols];
        let mut out = Vec::with_capacity(x.rows);
        for i in 0..x.rows {
            for ((v, raw), (mean, scale)) in standardized
                .iter_mut()
                .zip(x.row(i))
                .zip(self.means.iter().zip(&self.scales))
            {
                *v = (raw - mean) / scale;
            }
            let mut scores: Vec<f64> = self
                .coefficients
                .iter()
                .zip(&self.intercepts)
                .map(|(w, b)| score(w, *b, &standardized))
                .collect();
            if classes == 2 {
                let p = sigmoid(scores[0]);
                out.push(vec![1.0 - p, p]);
            } else {
                softmax_in_place(&mut scores);
                out.push(scores);
            }
        }
        out
    }
}
