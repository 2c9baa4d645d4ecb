//! Support vector machines: classification (SVC) and regression (SVR).
//!
//! The solver is LIBSVM's (as scikit-learn's `SVC` and `SVR` run it), transcribed so that a fit
//! takes the same path and gives the same support vectors and, to the solver's tolerance, the
//! same decision values:
//!
//! - SMO with second-order working-set selection (Fan, Chen & Lin, JMLR 6, 2005), shrinking,
//!   and a least-recently-used cache of kernel rows bounded to [`CACHE_BYTES`]. Kernel values
//!   are cached as `f32`, as LIBSVM's `Qfloat`: it halves the cache and keeps the path
//!   identical.
//! - Classification of `k` classes by one-vs-one: one binary C-SVC per pair of classes, each
//!   trained on the rows of its two classes, and prediction by voting.
//! - Regression by ε-SVR in the standard formulation with `2n` dual variables.
//! - Probabilities by Platt scaling: a sigmoid fitted (Lin, Lin & Weng's Newton method) to
//!   decision values from an internal, seeded 5-fold cross-validation per pair, as LIBSVM
//!   and scikit-learn do; for more than two classes the pairwise probabilities are coupled
//!   by Wu, Lin & Weng's (2004) method 2.
//!
//! smartcore has SVMs too, but without probabilities, one-vs-one multiclass, progress,
//! cancellation or a bounded kernel cache, and its models do not serialize; hence our own.
//!
//! Determinism: kernels use `libm` (`exp`, `tanh`) and LIBSVM's integer power by squaring
//! (`f64::powi` may differ between platforms), sums run in a fixed order, and the Platt
//! cross-validation folds come from [`SeededRng`], so a fit is bit-identical natively and in
//! wasm32.

// The solver follows LIBSVM's index-based code line by line, so that it can be checked
// against it; iterator rewrites would obscure the correspondence.
#![allow(clippy::needless_range_loop)]

use std::fmt;
use std::ops::ControlFlow;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{FitProgress, Matrix, ModelError, Monitor};
use crate::rng::SeededRng;

/// Default cap on SMO iterations per solver run (LIBSVM's own cap). A fit that reaches it is
/// still usable; the model says so in `converged`.
pub const DEFAULT_MAX_ITERATIONS: usize = 10_000_000;
/// Largest polynomial degree accepted; beyond it, kernel values overflow for any data.
pub const MAX_DEGREE: u32 = 100;
/// Memory for cached kernel rows per solver run. Caching changes speed, never results.
/// Smaller than scikit-learn's 200 MB because the kernel also runs in a browser tab.
pub const CACHE_BYTES: usize = 64 << 20;
/// The monitor hears from a solver run every this many SMO iterations.
pub const PROGRESS_EVERY: usize = 1000;
/// Folds of the internal cross-validation that gives Platt scaling its decision values.
const PROBABILITY_FOLDS: usize = 5;
/// LIBSVM's floor for a non-positive curvature in the SMO step.
const TAU: f64 = 1e-12;
/// Pairwise probabilities are kept in [MIN_PROBABILITY, 1 − MIN_PROBABILITY] before
/// coupling (as LIBSVM), so that coupling never divides by zero.
const MIN_PROBABILITY: f64 = 1e-7;

/// The kernel function `k(a, b)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SvmKernel {
    /// `exp(−γ·|a − b|²)`, the default.
    Rbf,
    /// `a · b`.
    Linear,
    /// `(γ·a·b + coef0)^degree`.
    Poly,
    /// `tanh(γ·a·b + coef0)`.
    Sigmoid,
}

/// The kernel coefficient γ as a setting: `"scale"` (the default) is
/// `1 / (features · variance of all feature values)` (1 when that variance is 0), `"auto"`
/// is `1 / features`, or a positive number. Both named forms are scikit-learn's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SvmGamma {
    Scale,
    Auto,
    Value(f64),
}

impl Serialize for SvmGamma {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SvmGamma::Scale => serializer.serialize_str("scale"),
            SvmGamma::Auto => serializer.serialize_str("auto"),
            SvmGamma::Value(v) => serializer.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for SvmGamma {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GammaVisitor;
        impl Visitor<'_> for GammaVisitor {
            type Value = SvmGamma;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"scale\", \"auto\" or a positive number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SvmGamma, E> {
                match v {
                    "scale" => Ok(SvmGamma::Scale),
                    "auto" => Ok(SvmGamma::Auto),
                    other => Err(E::invalid_value(Unexpected::Str(other), &self)),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SvmGamma, E> {
                Ok(SvmGamma::Value(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SvmGamma, E> {
                Ok(SvmGamma::Value(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SvmGamma, E> {
                Ok(SvmGamma::Value(v as f64))
            }
        }
        deserializer.deserialize_any(GammaVisitor)
    }
}

/// Settings of a support vector classifier (C-SVC), with scikit-learn's `SVC` defaults
/// except `probability`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SvmSettings {
    /// Penalty on margin violations: larger fits the training rows more closely. Default 1;
    /// must be positive.
    pub c: f64,
    /// `"rbf"` (default), `"linear"`, `"poly"` or `"sigmoid"`.
    pub kernel: SvmKernel,
    /// γ of the rbf, poly and sigmoid kernels: `"scale"` (default), `"auto"` or a positive
    /// number.
    pub gamma: SvmGamma,
    /// Degree of the poly kernel. Default 3; at most [`MAX_DEGREE`].
    pub degree: u32,
    /// Constant term of the poly and sigmoid kernels. Default 0.
    pub coef0: f64,
    /// Stopping tolerance of the solver (on the largest KKT violation). Default 0.001.
    pub tol: f64,
    /// Most SMO iterations per solver run (one per pair of classes, plus five per pair for
    /// probabilities). Default [`DEFAULT_MAX_ITERATIONS`]; a fit that reaches it is still
    /// usable and reports `converged: false`.
    #[serde(alias = "max_iterations")]
    pub max_iter: usize,
    /// Whether to fit Platt scaling, giving calibrated probabilities. Default `true`
    /// (scikit-learn's is `false`): the notebook's ROC and precision-recall curves, ROC AUC
    /// and log loss all need graded probabilities, and without Platt scaling an SVM only
    /// votes, so its "probabilities" are 0 or 1. The cost is an internal 5-fold
    /// cross-validation per pair of classes, about five more fits.
    pub probability: bool,
    /// Seed of the cross-validation folds for `probability`. Default 0.
    pub seed: u64,
}

impl Default for SvmSettings {
    fn default() -> Self {
        SvmSettings {
            c: 1.0,
            kernel: SvmKernel::Rbf,
            gamma: SvmGamma::Scale,
            degree: 3,
            coef0: 0.0,
            tol: 1e-3,
            max_iter: DEFAULT_MAX_ITERATIONS,
            probability: true,
            seed: 0,
        }
    }
}

impl SvmSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        validate_common(
            self.c,
            self.gamma,
            self.degree,
            self.coef0,
            self.tol,
            self.max_iter,
        )
    }

    fn kernel_settings(&self) -> KernelSettings {
        KernelSettings {
            kernel: self.kernel,
            gamma: self.gamma,
            degree: self.degree,
            coef0: self.coef0,
        }
    }
}

/// Settings of support vector regression (ε-SVR), with scikit-learn's `SVR` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SvrSettings {
    /// Penalty on errors beyond `epsilon`. Default 1; must be positive.
    pub c: f64,
    /// Half-width of the tube within which errors cost nothing. Default 0.1; at least 0.
    pub epsilon: f64,
    /// `"rbf"` (default), `"linear"`, `"poly"` or `"sigmoid"`.
    pub kernel: SvmKernel,
    /// γ of the rbf, poly and sigmoid kernels: `"scale"` (default), `"auto"` or a positive
    /// number.
    pub gamma: SvmGamma,
    /// Degree of the poly kernel. Default 3; at most [`MAX_DEGREE`].
    pub degree: u32,
    /// Constant term of the poly and sigmoid kernels. Default 0.
    pub coef0: f64,
    /// Stopping tolerance of the solver. Default 0.001.
    pub tol: f64,
    /// Most SMO iterations. Default [`DEFAULT_MAX_ITERATIONS`].
    #[serde(alias = "max_iterations")]
    pub max_iter: usize,
}

impl Default for SvrSettings {
    fn default() -> Self {
        SvrSettings {
            c: 1.0,
            epsilon: 0.1,
            kernel: SvmKernel::Rbf,
            gamma: SvmGamma::Scale,
            degree: 3,
            coef0: 0.0,
            tol: 1e-3,
            max_iter: DEFAULT_MAX_ITERATIONS,
        }
    }
}

impl SvrSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        validate_common(
            self.c,
            self.gamma,
            self.degree,
            self.coef0,
            self.tol,
            self.max_iter,
        )?;
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return Err(ModelError::setting(
                "epsilon",
                format!(
                    "must be a finite number of at least 0 (got {})",
                    self.epsilon
                ),
            ));
        }
        Ok(())
    }

    fn kernel_settings(&self) -> KernelSettings {
        KernelSettings {
            kernel: self.kernel,
            gamma: self.gamma,
            degree: self.degree,
            coef0: self.coef0,
        }
    }
}

fn validate_common(
    c: f64,
    gamma: SvmGamma,
    degree: u32,
    coef0: f64,
    tol: f64,
    max_iter: usize,
) -> Result<(), ModelError> {
    if !(c.is_finite() && c > 0.0) {
        return Err(ModelError::setting(
            "c",
            format!("must be a finite number greater than 0 (got {c})"),
        ));
    }
    if let SvmGamma::Value(g) = gamma {
        if !(g.is_finite() && g > 0.0) {
            return Err(ModelError::setting(
                "gamma",
                format!("must be \"scale\", \"auto\" or a finite number greater than 0 (got {g})"),
            ));
        }
    }
    if degree > MAX_DEGREE {
        return Err(ModelError::setting(
            "degree",
            format!("must be at most {MAX_DEGREE} (got {degree})"),
        ));
    }
    if !coef0.is_finite() {
        return Err(ModelError::setting(
            "coef0",
            format!("must be a finite number (got {coef0})"),
        ));
    }
    if !(tol.is_finite() && tol > 0.0) {
        return Err(ModelError::setting(
            "tol",
            format!("must be a finite number greater than 0 (got {tol})"),
        ));
    }
    if max_iter == 0 {
        return Err(ModelError::setting(
            "max_iter",
            "must be at least 1 (got 0)",
        ));
    }
    Ok(())
}

struct KernelSettings {
    kernel: SvmKernel,
    gamma: SvmGamma,
    degree: u32,
    coef0: f64,
}

/// A kernel with its γ resolved for the training data, as a fitted model evaluates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelFunction {
    pub kernel: SvmKernel,
    pub gamma: f64,
    pub degree: u32,
    pub coef0: f64,
}

impl KernelFunction {
    fn resolve(settings: KernelSettings, x: &Matrix) -> Result<KernelFunction, ModelError> {
        let features = x.cols as f64;
        let gamma = match settings.gamma {
            SvmGamma::Value(g) => g,
            SvmGamma::Auto => 1.0 / features,
            SvmGamma::Scale => {
                // Population variance of every value in the matrix, as numpy's `X.var()`.
                let n = x.data.len() as f64;
                let mean = x.data.iter().sum::<f64>() / n;
                let variance = x.data.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                if variance == 0.0 {
                    1.0
                } else {
                    1.0 / (features * variance)
                }
            }
        };
        if !(gamma.is_finite() && gamma > 0.0) {
            return Err(ModelError::FitFailed(
                "the feature values are too large for gamma \"scale\"; standardize the \
                 features or give gamma as a number"
                    .into(),
            ));
        }
        Ok(KernelFunction {
            kernel: settings.kernel,
            gamma,
            degree: settings.degree,
            coef0: settings.coef0,
        })
    }

    /// `k(a, b)` as LIBSVM's `k_function` computes it at prediction time (the rbf kernel
    /// from the differences, which is more accurate than training's expanded form).
    fn eval(&self, a: &[f64], b: &[f64]) -> f64 {
        match self.kernel {
            SvmKernel::Linear => dot(a, b),
            SvmKernel::Poly => powi(self.gamma * dot(a, b) + self.coef0, self.degree),
            SvmKernel::Rbf => {
                let mut sum = 0.0;
                for (x, y) in a.iter().zip(b) {
                    let d = x - y;
                    sum += d * d;
                }
                libm::exp(-self.gamma * sum)
            }
            SvmKernel::Sigmoid => libm::tanh(self.gamma * dot(a, b) + self.coef0),
        }
    }

    fn check(&self) -> Result<(), String> {
        if !(self.gamma.is_finite() && self.gamma > 0.0 && self.coef0.is_finite()) {
            return Err("support vector machine gamma must be positive, coef0 finite".into());
        }
        if self.degree > MAX_DEGREE {
            return Err(format!(
                "support vector machine degree must be at most {MAX_DEGREE}"
            ));
        }
        Ok(())
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (x, y) in a.iter().zip(b) {
        sum += x * y;
    }
    sum
}

/// `base^times` by squaring, as LIBSVM's `powi` (the same operations on every platform).
fn powi(base: f64, times: u32) -> f64 {
    let mut tmp = base;
    let mut ret = 1.0;
    let mut t = times;
    while t > 0 {
        if t % 2 == 1 {
            ret *= tmp;
        }
        tmp *= tmp;
        t /= 2;
    }
    ret
}

/// Platt's sigmoid for one pair of classes: the probability of the pair's first class at
/// decision value `f` (LIBSVM's orientation, positive for that class) is
/// `1 / (1 + exp(a·f + b))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlattSigmoid {
    pub a: f64,
    pub b: f64,
}

/// A fitted support vector classifier, in LIBSVM's (and scikit-learn's) layout.
///
/// `classes` are the classes the training rows had, ascending; the pairs of them are taken
/// in the order (0,1), (0,2), …, (0,k−1), (1,2), …, (k−2,k−1) of positions in `classes`.
/// Support vectors are grouped by class, `support_counts[c]` of class `classes[c]`, in
/// training-row order within a class.
///
/// `dual_coefficients` has `k − 1` rows of one coefficient per support vector (αᵢ·yᵢ): for
/// the pair (i, j), class i's vectors use row j − 1 and class j's vectors row i (scikit-
/// learn's `dual_coef_`). The pair's decision value is
/// `Σ coefficient · k(x, support vector) + intercepts[pair]`, positive for class i (the
/// first of the pair).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmModel {
    pub kernel: KernelFunction,
    pub classes: Vec<usize>,
    pub support_counts: Vec<usize>,
    pub support_vectors: Vec<Vec<f64>>,
    pub dual_coefficients: Vec<Vec<f64>>,
    /// One per pair: −ρ of LIBSVM.
    pub intercepts: Vec<f64>,
    /// One sigmoid per pair when fitted with `probability`.
    pub platt: Option<Vec<PlattSigmoid>>,
    /// SMO iterations of the pairwise fits, summed (the probability cross-validation's
    /// fits not counted).
    pub iterations: usize,
    /// Whether every pairwise fit reached the tolerance within `max_iter`.
    pub converged: bool,
}

/// A fitted support vector regression: a prediction is
/// `Σ dual_coefficients[s] · k(x, support_vectors[s]) + intercept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvrModel {
    pub kernel: KernelFunction,
    pub support_vectors: Vec<Vec<f64>>,
    /// αᵢ − αᵢ* per support vector.
    pub dual_coefficients: Vec<f64>,
    pub intercept: f64,
    pub iterations: usize,
    pub converged: bool,
}

// ----- kernel rows and their cache --------------------------------------------------------

/// The kernel matrix of a training (sub)problem, computed a row at a time and cached.
struct TrainingKernel<'a> {
    rows: Vec<&'a [f64]>,
    function: &'a KernelFunction,
    /// |xᵢ|² per row, for the rbf kernel's expanded form.
    squares: Vec<f64>,
    cache: RowCache,
}

impl<'a> TrainingKernel<'a> {
    fn new(rows: Vec<&'a [f64]>, function: &'a KernelFunction, cache_bytes: usize) -> Self {
        let squares = if function.kernel == SvmKernel::Rbf {
            rows.iter().map(|r| dot(r, r)).collect()
        } else {
            Vec::new()
        };
        let cache = RowCache::new(rows.len(), cache_bytes);
        TrainingKernel {
            rows,
            function,
            squares,
            cache,
        }
    }

    /// `k(xᵢ, xⱼ)` as LIBSVM's training kernel computes it (rbf from |xᵢ|² + |xⱼ|² − 2xᵢ·xⱼ),
    /// so that the solver's path is LIBSVM's.
    fn value(&self, i: usize, j: usize) -> f64 {
        let f = self.function;
        let d = dot(self.rows[i], self.rows[j]);
        match f.kernel {
            SvmKernel::Linear => d,
            SvmKernel::Poly => powi(f.gamma * d + f.coef0, f.degree),
            SvmKernel::Rbf => libm::exp(-f.gamma * (self.squares[i] + self.squares[j] - 2.0 * d)),
            SvmKernel::Sigmoid => libm::tanh(f.gamma * d + f.coef0),
        }
    }

    /// Makes row `i` available to [`Self::row`], computing it if it is not cached.
    fn ensure(&mut self, i: usize) {
        if let Some(mut row) = self.cache.take_slot(i) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.value(i, j) as f32;
            }
            self.cache.store(i, row);
        }
    }

    /// Row `i` of the kernel matrix; call [`Self::ensure`] first. The two rows most recently
    /// ensured are always available together.
    fn row(&self, i: usize) -> &[f32] {
        &self.cache.rows[i]
    }
}

/// Kernel rows by row index, the least recently used evicted beyond a budget (never below
/// two rows, which one SMO step needs at once).
struct RowCache {
    /// Empty when not cached (rows have at least one entry).
    rows: Vec<Vec<f32>>,
    last_used: Vec<u64>,
    clock: u64,
    cached: usize,
    capacity: usize,
}

impl RowCache {
    fn new(l: usize, bytes: usize) -> Self {
        let row_bytes = l.max(1) * std::mem::size_of::<f32>();
        RowCache {
            rows: vec![Vec::new(); l],
            last_used: vec![0; l],
            clock: 0,
            cached: 0,
            capacity: (bytes / row_bytes).max(2),
        }
    }

    /// Marks row `i` used; if it is not cached, returns storage for it to be filled and given
    /// back with [`Self::store`] (an evicted row's, when the cache is full).
    fn take_slot(&mut self, i: usize) -> Option<Vec<f32>> {
        self.clock += 1;
        self.last_used[i] = self.clock;
        if !self.rows[i].is_empty() {
            return None;
        }
        let l = self.rows.len();
        if self.cached < self.capacity {
            self.cached += 1;
            return Some(vec![0.0; l]);
        }
        // Full: evict the least recently used row (a scan, cheap beside computing a row).
        let mut oldest = None;
        for (k, row) in self.rows.iter().enumerate() {
            if !row.is_empty()
                && oldest.is_none_or(|o: usize| self.last_used[k] < self.last_used[o])
            {
                oldest = Some(k);
            }
        }
        match oldest {
            Some(k) => Some(std::mem::take(&mut self.rows[k])),
            None => Some(vec![0.0; l]),
        }
    }

    fn store(&mut self, i: usize, row: Vec<f32>) {
        self.rows[i] = row;
    }
}

// ----- the SMO solver ---------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Lower,
    Upper,
    Free,
}

fn bound(alpha: f64, c: f64) -> Bound {
    if alpha >= c {
        Bound::Upper
    } else if alpha <= 0.0 {
        Bound::Lower
    } else {
        Bound::Free
    }
}

/// Limits of one solver run.
#[derive(Debug, Clone, Copy)]
struct SolverLimits {
    tol: f64,
    max_iter: usize,
    cache_bytes: usize,
}

struct Solution {
    /// Per variable, in the order given.
    alpha: Vec<f64>,
    rho: f64,
    iterations: usize,
    converged: bool,
}

/// LIBSVM's `Solver` (Fan et al. 2005): minimizes `½ αᵀQα + pᵀα` subject to `yᵀα = 0` and
/// `0 ≤ αᵢ ≤ Cᵢ`, from α = 0, where `Q[i][j] = yᵢ yⱼ k(row(i), row(j))`: variable `i` uses
/// kernel row `kernel_index[i]` (SVR's 2n variables share n rows).
///
/// Arrays are indexed by position; shrinking swaps positions so that the active variables
/// come first, and `active_set` remembers which variable sits where.
struct Solver<'k, 'a> {
    kernel: &'k mut TrainingKernel<'a>,
    l: usize,
    active_size: usize,
    y: Vec<i8>,
    g: Vec<f64>,
    g_bar: Vec<f64>,
    alpha: Vec<f64>,
    status: Vec<Bound>,
    p: Vec<f64>,
    c: Vec<f64>,
    qd: Vec<f64>,
    kernel_index: Vec<usize>,
    active_set: Vec<usize>,
    eps: f64,
    unshrink: bool,
}

/// `Q[i][j]` from kernel row `row` of variable `i` (sign `yi`).
#[inline]
fn q(row: &[f32], kernel_index: &[usize], y: &[i8], yi: i8, j: usize) -> f64 {
    let v = f64::from(row[kernel_index[j]]);
    if yi == y[j] {
        v
    } else {
        -v
    }
}

impl<'k, 'a> Solver<'k, 'a> {
    #[allow(clippy::too_many_arguments)]
    fn solve(
        kernel: &'k mut TrainingKernel<'a>,
        p: Vec<f64>,
        y: Vec<i8>,
        c: Vec<f64>,
        kernel_index: Vec<usize>,
        limits: SolverLimits,
        monitor: &mut Monitor<'_>,
    ) -> Result<Solution, ModelError> {
        let l = p.len();
        let qd = kernel_index
            .iter()
            .map(|&k| kernel.value(k, k))
            .collect::<Vec<_>>();
        let solver = Solver {
            kernel,
            l,
            active_size: l,
            y,
            // α starts at 0, so the gradient starts at p and no variable is at its upper
            // bound.
            g: p.clone(),
            g_bar: vec![0.0; l],
            alpha: vec![0.0; l],
            status: vec![Bound::Lower; l],
            p,
            c,
            qd,
            kernel_index,
            active_set: (0..l).collect(),
            eps: limits.tol,
            unshrink: false,
        };
        solver.run(limits.max_iter, monitor)
    }

    fn run(mut self, max_iter: usize, monitor: &mut Monitor<'_>) -> Result<Solution, ModelError> {
        let l = self.l;
        let mut iterations = 0;
        let mut counter = l.min(1000) + 1;
        let mut converged = true;
        loop {
            if iterations >= max_iter {
                converged = false;
                // Unlike scikit-learn's copy, restore the whole gradient (as LIBSVM 3.2x
                // does) so that ρ is computed from every variable.
                self.reconstruct_gradient();
                self.active_size = l;
                break;
            }
            counter -= 1;
            if counter == 0 {
                counter = l.min(1000);
                self.do_shrinking();
            }
            let (i, j) = match self.select_working_set() {
                Some(pair) => pair,
                None => {
                    // Optimal on the active set: check again on all variables.
                    self.reconstruct_gradient();
                    self.active_size = l;
                    match self.select_working_set() {
                        Some(pair) => {
                            counter = 1; // shrink at the next iteration
                            pair
                        }
                        None => break,
                    }
                }
            };
            iterations += 1;
            if iterations % PROGRESS_EVERY == 0 {
                let progress = FitProgress {
                    done: iterations,
                    total: max_iter,
                    unit: "iterations",
                };
                if let ControlFlow::Break(()) = monitor(progress) {
                    return Err(progress.cancelled());
                }
            }
            self.step(i, j);
        }

        let rho = self.calculate_rho();
        let mut alpha = vec![0.0; l];
        for (position, &variable) in self.active_set.iter().enumerate() {
            alpha[variable] = self.alpha[position];
        }
        Ok(Solution {
            alpha,
            rho,
            iterations,
            converged,
        })
    }

    /// Optimizes the pair (i, j) analytically and updates the gradients.
    fn step(&mut self, i: usize, j: usize) {
        let (ki, kj) = (self.kernel_index[i], self.kernel_index[j]);
        self.kernel.ensure(ki);
        self.kernel.ensure(kj);
        let row_i = self.kernel.row(ki);
        let row_j = self.kernel.row(kj);
        let (yi, yj) = (self.y[i], self.y[j]);
        let c_i = self.c[i];
        let c_j = self.c[j];
        let old_alpha_i = self.alpha[i];
        let old_alpha_j = self.alpha[j];
        let q_ij = q(row_i, &self.kernel_index, &self.y, yi, j);
        let alpha = &mut self.alpha;
        let g = &self.g;

        if yi != yj {
            let mut quad_coef = self.qd[i] + self.qd[j] + 2.0 * q_ij;
            if quad_coef <= 0.0 {
                quad_coef = TAU;
            }
            let delta = (-g[i] - g[j]) / quad_coef;
            let diff = alpha[i] - alpha[j];
            alpha[i] += delta;
            alpha[j] += delta;
            if diff > 0.0 {
                if alpha[j] < 0.0 {
                    alpha[j] = 0.0;
                    alpha[i] = diff;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = -diff;
            }
            if diff > c_i - c_j {
                if alpha[i] > c_i {
                    alpha[i] = c_i;
                    alpha[j] = c_i - diff;
                }
            } else if alpha[j] > c_j {
                alpha[j] = c_j;
                alpha[i] = c_j + diff;
            }
        } else {
            let mut quad_coef = self.qd[i] + self.qd[j] - 2.0 * q_ij;
            if quad_coef <= 0.0 {
                quad_coef = TAU;
            }
            let delta = (g[i] - g[j]) / quad_coef;
            let sum = alpha[i] + alpha[j];
            alpha[i] -= delta;
            alpha[j] += delta;
            if sum > c_i {
                if alpha[i] > c_i {
                    alpha[i] = c_i;
                    alpha[j] = sum - c_i;
                }
            } else if alpha[j] < 0.0 {
                alpha[j] = 0.0;
                alpha[i] = sum;
            }
            if sum > c_j {
                if alpha[j] > c_j {
                    alpha[j] = c_j;
                    alpha[i] = sum - c_j;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = sum;
            }
        }

        let delta_alpha_i = alpha[i] - old_alpha_i;
        let delta_alpha_j = alpha[j] - old_alpha_j;
        for k in 0..self.active_size {
            self.g[k] += q(row_i, &self.kernel_index, &self.y, yi, k) * delta_alpha_i
                + q(row_j, &self.kernel_index, &self.y, yj, k) * delta_alpha_j;
        }

        // Status and G_bar (the gradient's part from variables at their upper bound).
        let upper_i = self.status[i] == Bound::Upper;
        let upper_j = self.status[j] == Bound::Upper;
        self.status[i] = bound(self.alpha[i], c_i);
        self.status[j] = bound(self.alpha[j], c_j);
        if upper_i != (self.status[i] == Bound::Upper) {
            let sign = if upper_i { -c_i } else { c_i };
            for k in 0..self.l {
                self.g_bar[k] += sign * q(row_i, &self.kernel_index, &self.y, yi, k);
            }
        }
        if upper_j != (self.status[j] == Bound::Upper) {
            let sign = if upper_j { -c_j } else { c_j };
            for k in 0..self.l {
                self.g_bar[k] += sign * q(row_j, &self.kernel_index, &self.y, yj, k);
            }
        }
    }

    /// The second-order working set (WSS 2 of Fan et al.), or `None` when the largest KKT
    /// violation is below the tolerance.
    fn select_working_set(&mut self) -> Option<(usize, usize)> {
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        let mut gmin_idx = None;
        let mut obj_diff_min = f64::INFINITY;

        for t in 0..self.active_size {
            if self.y[t] == 1 {
                if self.status[t] != Bound::Upper && -self.g[t] >= gmax {
                    gmax = -self.g[t];
                    gmax_idx = Some(t);
                }
            } else if self.status[t] != Bound::Lower && self.g[t] >= gmax {
                gmax = self.g[t];
                gmax_idx = Some(t);
            }
        }
        // Without a candidate i, no pair violates the conditions.
        let i = gmax_idx?;
        let ki = self.kernel_index[i];
        self.kernel.ensure(ki);
        let row_i = self.kernel.row(ki);
        let yi = self.y[i];
        let y_i = f64::from(yi);

        for j in 0..self.active_size {
            if self.y[j] == 1 {
                if self.status[j] != Bound::Lower {
                    let grad_diff = gmax + self.g[j];
                    if self.g[j] >= gmax2 {
                        gmax2 = self.g[j];
                    }
                    if grad_diff > 0.0 {
                        let q_ij = q(row_i, &self.kernel_index, &self.y, yi, j);
                        let quad_coef = self.qd[i] + self.qd[j] - 2.0 * y_i * q_ij;
                        let obj_diff = if quad_coef > 0.0 {
                            -(grad_diff * grad_diff) / quad_coef
                        } else {
                            -(grad_diff * grad_diff) / TAU
                        };
                        if obj_diff <= obj_diff_min {
                            gmin_idx = Some(j);
                            obj_diff_min = obj_diff;
                        }
                    }
                }
            } else if self.status[j] != Bound::Upper {
                let grad_diff = gmax - self.g[j];
                if -self.g[j] >= gmax2 {
                    gmax2 = -self.g[j];
                }
                if grad_diff > 0.0 {
                    let q_ij = q(row_i, &self.kernel_index, &self.y, yi, j);
                    let quad_coef = self.qd[i] + self.qd[j] + 2.0 * y_i * q_ij;
                    let obj_diff = if quad_coef > 0.0 {
                        -(grad_diff * grad_diff) / quad_coef
                    } else {
                        -(grad_diff * grad_diff) / TAU
                    };
                    if obj_diff <= obj_diff_min {
                        gmin_idx = Some(j);
                        obj_diff_min = obj_diff;
                    }
                }
            }
        }
        if gmax + gmax2 < self.eps {
            return None;
        }
        gmin_idx.map(|j| (i, j))
    }

    /// Rebuilds the gradient of the shrunk (inactive) variables from G_bar and the free
    /// variables.
    fn reconstruct_gradient(&mut self) {
        let l = self.l;
        let active = self.active_size;
        if active == l {
            return;
        }
        for j in active..l {
            self.g[j] = self.g_bar[j] + self.p[j];
        }
        let free = (0..active)
            .filter(|&j| self.status[j] == Bound::Free)
            .count();
        // Whichever loop computes fewer kernel rows (LIBSVM's rule); u64 so that it cannot
        // overflow on 32-bit targets.
        if (free as u64) * (l as u64) > 2 * (active as u64) * ((l - active) as u64) {
            for i in active..l {
                let ki = self.kernel_index[i];
                self.kernel.ensure(ki);
                let row_i = self.kernel.row(ki);
                let yi = self.y[i];
                for j in 0..active {
                    if self.status[j] == Bound::Free {
                        self.g[i] += self.alpha[j] * q(row_i, &self.kernel_index, &self.y, yi, j);
                    }
                }
            }
        } else {
            for i in 0..active {
                if self.status[i] == Bound::Free {
                    let ki = self.kernel_index[i];
                    self.kernel.ensure(ki);
                    let row_i = self.kernel.row(ki);
                    let yi = self.y[i];
                    let alpha_i = self.alpha[i];
                    for j in active..l {
                        self.g[j] += alpha_i * q(row_i, &self.kernel_index, &self.y, yi, j);
                    }
                }
            }
        }
    }

    fn be_shrunk(&self, i: usize, gmax1: f64, gmax2: f64) -> bool {
        match self.status[i] {
            Bound::Upper => {
                if self.y[i] == 1 {
                    -self.g[i] > gmax1
                } else {
                    -self.g[i] > gmax2
                }
            }
            Bound::Lower => {
                if self.y[i] == 1 {
                    self.g[i] > gmax2
                } else {
                    self.g[i] > gmax1
                }
            }
            Bound::Free => false,
        }
    }

    fn do_shrinking(&mut self) {
        let mut gmax1 = f64::NEG_INFINITY; // max { −yᵢ∇ᵢf | i ∈ I_up(α) }
        let mut gmax2 = f64::NEG_INFINITY; // max { yᵢ∇ᵢf | i ∈ I_low(α) }
        for i in 0..self.active_size {
            if self.y[i] == 1 {
                if self.status[i] != Bound::Upper && -self.g[i] >= gmax1 {
                    gmax1 = -self.g[i];
                }
                if self.status[i] != Bound::Lower && self.g[i] >= gmax2 {
                    gmax2 = self.g[i];
                }
            } else {
                if self.status[i] != Bound::Upper && -self.g[i] >= gmax2 {
                    gmax2 = -self.g[i];
                }
                if self.status[i] != Bound::Lower && self.g[i] >= gmax1 {
                    gmax1 = self.g[i];
                }
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            self.unshrink = true;
            self.reconstruct_gradient();
            self.active_size = self.l;
        }
        let mut i = 0;
        while i < self.active_size {
            if self.be_shrunk(i, gmax1, gmax2) {
                self.active_size -= 1;
                while self.active_size > i {
                    if !self.be_shrunk(self.active_size, gmax1, gmax2) {
                        self.swap_index(i, self.active_size);
                        break;
                    }
                    self.active_size -= 1;
                }
            }
            i += 1;
        }
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.y.swap(i, j);
        self.g.swap(i, j);
        self.status.swap(i, j);
        self.alpha.swap(i, j);
        self.p.swap(i, j);
        self.active_set.swap(i, j);
        self.g_bar.swap(i, j);
        self.c.swap(i, j);
        self.qd.swap(i, j);
        self.kernel_index.swap(i, j);
    }

    fn calculate_rho(&self) -> f64 {
        let mut free = 0usize;
        let mut ub = f64::INFINITY;
        let mut lb = f64::NEG_INFINITY;
        let mut sum_free = 0.0;
        for i in 0..self.active_size {
            let y_g = f64::from(self.y[i]) * self.g[i];
            match self.status[i] {
                Bound::Upper => {
                    if self.y[i] == -1 {
                        ub = ub.min(y_g);
                    } else {
                        lb = lb.max(y_g);
                    }
                }
                Bound::Lower => {
                    if self.y[i] == 1 {
                        ub = ub.min(y_g);
                    } else {
                        lb = lb.max(y_g);
                    }
                }
                Bound::Free => {
                    free += 1;
                    sum_free += y_g;
                }
            }
        }
        if free > 0 {
            sum_free / free as f64
        } else {
            (ub + lb) / 2.0
        }
    }
}

// ----- classification ---------------------------------------------------------------------

/// A binary C-SVC: signed coefficients αᵢyᵢ per row and ρ.
struct BinaryFit {
    coefficients: Vec<f64>,
    rho: f64,
    iterations: usize,
    converged: bool,
}

/// Trains a binary C-SVC on `rows` labelled `positive` (+1) or not (−1), with penalty
/// `cp` on positive rows and `cn` on negative ones.
#[allow(clippy::too_many_arguments)]
fn train_binary(
    rows: Vec<&[f64]>,
    positive: &[bool],
    cp: f64,
    cn: f64,
    function: &KernelFunction,
    limits: SolverLimits,
    monitor: &mut Monitor<'_>,
) -> Result<BinaryFit, ModelError> {
    let l = rows.len();
    let y: Vec<i8> = positive.iter().map(|&p| if p { 1 } else { -1 }).collect();
    let c: Vec<f64> = positive.iter().map(|&p| if p { cp } else { cn }).collect();
    let mut kernel = TrainingKernel::new(rows, function, limits.cache_bytes);
    let solution = Solver::solve(
        &mut kernel,
        vec![-1.0; l],
        y.clone(),
        c,
        (0..l).collect(),
        limits,
        monitor,
    )?;
    let coefficients = solution
        .alpha
        .iter()
        .zip(&y)
        .map(|(a, &y)| a * f64::from(y))
        .collect();
    Ok(BinaryFit {
        coefficients,
        rho: solution.rho,
        iterations: solution.iterations,
        converged: solution.converged,
    })
}

/// Fits a support vector classifier: `y` holds class indices below `classes`. Classes
/// without training rows are left out of the model (they get no votes and probability 0);
/// at least two must have rows.
///
/// The monitor hears `iterations` every [`PROGRESS_EVERY`] SMO iterations of each solver
/// run, and `class pairs` after each pair of classes is fitted.
pub(crate) fn fit_classifier(
    x: &Matrix,
    y: &[usize],
    classes: usize,
    settings: &SvmSettings,
    monitor: &mut Monitor<'_>,
) -> Result<SvmModel, ModelError> {
    settings.validate()?;
    check_data(x, y.len())?;
    if let Some(&bad) = y.iter().find(|&&c| c >= classes) {
        return Err(ModelError::FitFailed(format!(
            "class index {bad} is not below the number of classes ({classes})"
        )));
    }
    let function = KernelFunction::resolve(settings.kernel_settings(), x)?;
    let limits = SolverLimits {
        tol: settings.tol,
        max_iter: settings.max_iter,
        cache_bytes: CACHE_BYTES,
    };

    // Group the rows by class, in row order within a class (LIBSVM's svm_group_classes).
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (row, &class) in y.iter().enumerate() {
        members[class].push(row);
    }
    let present: Vec<usize> = (0..classes).filter(|&c| !members[c].is_empty()).collect();
    let k = present.len();
    if k < 2 {
        return Err(ModelError::FitFailed(format!(
            "a classifier needs rows of at least two classes to train on; these rows have {k}"
        )));
    }
    let grouped: Vec<usize> = present
        .iter()
        .flat_map(|&c| members[c].iter().copied())
        .collect();
    let mut start = vec![0; k];
    for c in 1..k {
        start[c] = start[c - 1] + members[present[c - 1]].len();
    }
    let count: Vec<usize> = present.iter().map(|&c| members[c].len()).collect();

    let pairs = k * (k - 1) / 2;
    let mut nonzero = vec![false; grouped.len()];
    let mut fits = Vec::with_capacity(pairs);
    let mut platt = Vec::new();
    let mut pair = 0;
    for i in 0..k {
        for j in i + 1..k {
            // The pair's rows: class i's (+1), then class j's (−1), as positions in
            // `grouped`.
            let positions: Vec<usize> = (start[i]..start[i] + count[i])
                .chain(start[j]..start[j] + count[j])
                .collect();
            let rows: Vec<&[f64]> = positions.iter().map(|&p| x.row(grouped[p])).collect();
            let positive: Vec<bool> = (0..positions.len()).map(|r| r < count[i]).collect();
            if settings.probability {
                let mut rng = SeededRng::with_stream(settings.seed, pair as u64);
                platt.push(platt_by_cross_validation(
                    &rows, &positive, settings.c, &function, limits, &mut rng, monitor,
                )?);
            }
            let fit = train_binary(
                rows, &positive, settings.c, settings.c, &function, limits, monitor,
            )?;
            for (r, &p) in positions.iter().enumerate() {
                if fit.coefficients[r] != 0.0 {
                    nonzero[p] = true;
                }
            }
            fits.push((positions, fit));
            pair += 1;
            let progress = FitProgress {
                done: pair,
                total: pairs,
                unit: "class pairs",
            };
            if let ControlFlow::Break(()) = monitor(progress) {
                return Err(progress.cancelled());
            }
        }
    }

    // Support vectors: rows with a nonzero coefficient in any pair, grouped by class.
    let mut sv_of_position = vec![usize::MAX; grouped.len()];
    let mut support_vectors = Vec::new();
    let mut support_counts = vec![0; k];
    for c in 0..k {
        for p in start[c]..start[c] + count[c] {
            if nonzero[p] {
                sv_of_position[p] = support_vectors.len();
                support_vectors.push(x.row(grouped[p]).to_vec());
                support_counts[c] += 1;
            }
        }
    }
    let total = support_vectors.len();
    let mut dual_coefficients = vec![vec![0.0; total]; k - 1];
    let mut intercepts = Vec::with_capacity(pairs);
    let mut iterations = 0;
    let mut converged = true;
    let mut pair_classes = (0..k).flat_map(|i| (i + 1..k).map(move |j| (i, j)));
    for (positions, fit) in &fits {
        let Some((i, j)) = pair_classes.next() else {
            break;
        };
        for (r, &p) in positions.iter().enumerate() {
            if nonzero[p] {
                // Class i's vectors in row j − 1, class j's in row i.
                let row = if r < count[i] { j - 1 } else { i };
                dual_coefficients[row][sv_of_position[p]] = fit.coefficients[r];
            }
        }
        intercepts.push(-fit.rho);
        iterations += fit.iterations;
        converged &= fit.converged;
    }
    let model = SvmModel {
        kernel: function,
        classes: present,
        support_counts,
        support_vectors,
        dual_coefficients,
        intercepts,
        platt: settings.probability.then_some(platt),
        iterations,
        converged,
    };
    if !model
        .dual_coefficients
        .iter()
        .flatten()
        .chain(&model.intercepts)
        .all(|v| v.is_finite())
        || !model
            .platt
            .iter()
            .flatten()
            .all(|s| s.a.is_finite() && s.b.is_finite())
    {
        return Err(not_finite());
    }
    Ok(model)
}

fn not_finite() -> ModelError {
    ModelError::FitFailed(
        "the solver produced infinite or undefined values (kernel values overflowed); \
         standardize the features or choose a smaller gamma, coef0 or degree"
            .into(),
    )
}

fn check_data(x: &Matrix, targets: usize) -> Result<(), ModelError> {
    if x.rows == 0 {
        return Err(ModelError::EmptyFrame);
    }
    if x.cols == 0 {
        return Err(ModelError::NoFeatures);
    }
    if targets != x.rows {
        return Err(ModelError::FitFailed(format!(
            "{} target value(s) for {} row(s)",
            targets, x.rows
        )));
    }
    if let Some(at) = x.data.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::FitFailed(format!(
            "feature {} of row {} is NaN or infinite",
            at % x.cols + 1,
            at / x.cols + 1
        )));
    }
    Ok(())
}

/// Platt's sigmoid for one pair, fitted to decision values that each row gets from a model
/// trained without it (LIBSVM's svm_binary_svc_probability: 5 folds of a seeded shuffle).
fn platt_by_cross_validation(
    rows: &[&[f64]],
    positive: &[bool],
    c: f64,
    function: &KernelFunction,
    limits: SolverLimits,
    rng: &mut SeededRng,
    monitor: &mut Monitor<'_>,
) -> Result<PlattSigmoid, ModelError> {
    let l = rows.len();
    let mut perm: Vec<usize> = (0..l).collect();
    for i in 0..l {
        let j = i + rng.below(l - i);
        perm.swap(i, j);
    }
    let mut decision = vec![0.0; l];
    for fold in 0..PROBABILITY_FOLDS {
        let begin = fold * l / PROBABILITY_FOLDS;
        let end = (fold + 1) * l / PROBABILITY_FOLDS;
        let train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
        let positives = train.iter().filter(|&&r| positive[r]).count();
        let negatives = train.len() - positives;
        // A fold whose training part lacks a class predicts that class never (LIBSVM).
        let constant = match (positives, negatives) {
            (0, 0) => Some(0.0),
            (_, 0) => Some(1.0),
            (0, _) => Some(-1.0),
            _ => None,
        };
        if let Some(value) = constant {
            for &r in &perm[begin..end] {
                decision[r] = value;
            }
            continue;
        }
        let fit = train_binary(
            train.iter().map(|&r| rows[r]).collect(),
            &train.iter().map(|&r| positive[r]).collect::<Vec<_>>(),
            c,
            c,
            function,
            limits,
            monitor,
        )?;
        for &r in &perm[begin..end] {
            let mut sum = 0.0;
            for (t, &coefficient) in train.iter().zip(&fit.coefficients) {
                if coefficient != 0.0 {
                    sum += coefficient * function.eval(rows[r], rows[*t]);
                }
            }
            decision[r] = sum - fit.rho;
        }
    }
    Ok(sigmoid_train(&decision, positive))
}

/// Platt scaling by Lin, Lin & Weng's Newton method with backtracking (LIBSVM's
/// sigmoid_train): fits `P(positive | f) = 1 / (1 + exp(a·f + b))` by maximum likelihood
/// with Platt's smoothed targets.
fn sigmoid_train(decision: &[f64], positive: &[bool]) -> PlattSigmoid {
    let prior1 = positive.iter().filter(|&&p| p).count() as f64;
    let prior0 = positive.len() as f64 - prior1;
    let max_iter = 100;
    let min_step = 1e-10;
    let sigma = 1e-12; // keeps the Hessian strictly positive definite
    let eps = 1e-5;
    let hi_target = (prior1 + 1.0) / (prior1 + 2.0);
    let lo_target = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = positive
        .iter()
        .map(|&p| if p { hi_target } else { lo_target })
        .collect();
    let objective = |a: f64, b: f64| {
        let mut f = 0.0;
        for (d, ti) in decision.iter().zip(&t) {
            let f_apb = d * a + b;
            f += if f_apb >= 0.0 {
                ti * f_apb + libm::log1p(libm::exp(-f_apb))
            } else {
                (ti - 1.0) * f_apb + libm::log1p(libm::exp(f_apb))
            };
        }
        f
    };
    let mut a = 0.0;
    let mut b = libm::log((prior0 + 1.0) / (prior1 + 1.0));
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21) = (sigma, sigma, 0.0);
        let (mut g1, mut g2) = (0.0, 0.0);
        for (d, ti) in decision.iter().zip(&t) {
            let f_apb = d * a + b;
            let (p, q) = if f_apb >= 0.0 {
                let e = libm::exp(-f_apb);
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = libm::exp(f_apb);
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += d * d * d2;
            h22 += d2;
            h21 += d * d2;
            let d1 = ti - p;
            g1 += d * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        // Newton direction −H⁻¹g.
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (new_a, new_b) = (a + step * da, b + step * db);
            let new_f = objective(new_a, new_b);
            if new_f < fval + 0.0001 * step * gd {
                a = new_a;
                b = new_b;
                fval = new_f;
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            break; // the line search failed: as good as it gets
        }
    }
    PlattSigmoid { a, b }
}

/// `1 / (1 + exp(a·f + b))`, in the form that cannot overflow.
fn sigmoid_predict(decision: f64, s: PlattSigmoid) -> f64 {
    let f_apb = decision * s.a + s.b;
    if f_apb >= 0.0 {
        let e = libm::exp(-f_apb);
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + libm::exp(f_apb))
    }
}

/// Class probabilities from pairwise ones, `r[i][j]` ≈ P(i | i or j): Wu, Lin & Weng's
/// method 2 (LIBSVM's multiclass_probability), a fixed-point iteration of a quadratic
/// problem. Two classes need no iteration: the answer is `(r[0][1], r[1][0])` exactly.
fn multiclass_probability(r: &[Vec<f64>]) -> Vec<f64> {
    let k = r.len();
    if k == 2 {
        return vec![r[0][1], r[1][0]];
    }
    let max_iter = 100.max(k);
    let eps = 0.005 / k as f64;
    let mut p = vec![1.0 / k as f64; k];
    let mut q = vec![vec![0.0; k]; k];
    for t in 0..k {
        for j in 0..t {
            q[t][t] += r[j][t] * r[j][t];
            q[t][j] = q[j][t];
        }
        for j in t + 1..k {
            q[t][t] += r[j][t] * r[j][t];
            q[t][j] = -r[j][t] * r[t][j];
        }
    }
    let mut qp = vec![0.0; k];
    for _ in 0..max_iter {
        // Recomputed each round for accuracy, as LIBSVM.
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = 0.0;
            for j in 0..k {
                qp[t] += q[t][j] * p[j];
            }
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().fold(0.0f64, |m, v| m.max((v - pqp).abs()));
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t][t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t][t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t][j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

impl SvmModel {
    /// That the parameters fit `features` inputs and `classes` outputs, so that predicting
    /// cannot index out of bounds or divide by nothing, even for an artifact edited by hand.
    pub fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        self.kernel.check()?;
        let k = self.classes.len();
        if k < 2
            || self.classes.windows(2).any(|w| w[0] >= w[1])
            || self.classes.iter().any(|&c| c >= classes)
        {
            return Err(format!(
                "support vector machine classes must be at least two ascending class \
                 positions below {classes}"
            ));
        }
        let total = self
            .support_counts
            .iter()
            .try_fold(0usize, |sum, &n| sum.checked_add(n));
        if self.support_counts.len() != k || total != Some(self.support_vectors.len()) {
            return Err(format!(
                "support vector machine needs a support vector count per class ({k}) adding up \
                 to the {} support vectors",
                self.support_vectors.len()
            ));
        }
        check_vectors(&self.support_vectors, features)?;
        let pairs = k * (k - 1) / 2;
        if self.dual_coefficients.len() != k - 1
            || self
                .dual_coefficients
                .iter()
                .any(|row| row.len() != self.support_vectors.len())
            || self.intercepts.len() != pairs
        {
            return Err(format!(
                "support vector machine with {k} classes and {} support vectors needs {} \
                 row(s) of {} dual coefficients and {pairs} intercept(s)",
                self.support_vectors.len(),
                k - 1,
                self.support_vectors.len()
            ));
        }
        if !self
            .dual_coefficients
            .iter()
            .flatten()
            .chain(&self.intercepts)
            .all(|v| v.is_finite())
        {
            return Err("support vector machine coefficients must be finite".into());
        }
        if let Some(platt) = &self.platt {
            if platt.len() != pairs || !platt.iter().all(|s| s.a.is_finite() && s.b.is_finite()) {
                return Err(format!(
                    "support vector machine needs {pairs} finite Platt sigmoid(s), one per \
                     pair of classes"
                ));
            }
        }
        Ok(())
    }

    /// Per row, the decision value of each pair of classes in LIBSVM's orientation
    /// (positive for the pair's first class).
    fn pair_values(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let k = self.classes.len();
        let mut start = vec![0; k];
        for c in 1..k {
            start[c] = start[c - 1] + self.support_counts[c - 1];
        }
        let mut kvalue = vec![0.0; self.support_vectors.len()];
        let mut out = Vec::with_capacity(x.rows);
        for r in 0..x.rows {
            let row = x.row(r);
            for (v, sv) in kvalue.iter_mut().zip(&self.support_vectors) {
                *v = self.kernel.eval(row, sv);
            }
            let mut values = Vec::with_capacity(self.intercepts.len());
            let mut pair = 0;
            for i in 0..k {
                for j in i + 1..k {
                    let mut sum = 0.0;
                    let coef_i = &self.dual_coefficients[j - 1];
                    let coef_j = &self.dual_coefficients[i];
                    for s in start[i]..start[i] + self.support_counts[i] {
                        sum += coef_i[s] * kvalue[s];
                    }
                    for s in start[j]..start[j] + self.support_counts[j] {
                        sum += coef_j[s] * kvalue[s];
                    }
                    values.push(sum + self.intercepts[pair]);
                    pair += 1;
                }
            }
            out.push(values);
        }
        out
    }

    /// scikit-learn's `decision_function` (with `decision_function_shape="ovo"`): for two
    /// classes one value per row, positive for the second class; for more, one per pair of
    /// classes in pair order, positive for the pair's first class. Only call after
    /// [`Self::check`]. Only the parity tests compare it (with scikit-learn's); predicting
    /// needs the pairwise values alone.
    #[cfg(test)]
    pub(crate) fn decision_function(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let mut values = self.pair_values(x);
        if self.classes.len() == 2 {
            for row in &mut values {
                row[0] = -row[0];
            }
        }
        values
    }

    /// The class (an index below the `classes` given to [`Self::check`]) each row gets by
    /// one-vs-one voting, ties to the lowest class; scikit-learn's `predict`.
    pub(crate) fn predict_classes(&self, x: &Matrix) -> Vec<usize> {
        self.pair_values(x)
            .iter()
            .map(|values| self.classes[self.vote(values)])
            .collect()
    }

    /// The position in `classes` that wins the vote.
    fn vote(&self, values: &[f64]) -> usize {
        let k = self.classes.len();
        let mut votes = vec![0usize; k];
        let mut pair = 0;
        for i in 0..k {
            for j in i + 1..k {
                if values[pair] > 0.0 {
                    votes[i] += 1;
                } else {
                    votes[j] += 1;
                }
                pair += 1;
            }
        }
        let mut best = 0;
        for c in 1..k {
            if votes[c] > votes[best] {
                best = c;
            }
        }
        best
    }

    /// Per row, the probability of each of `classes` classes (0 for those the training rows
    /// lacked). With Platt sigmoids, scikit-learn's `predict_proba`: pairwise sigmoids
    /// coupled into class probabilities. Their largest may, rarely, name a different class
    /// than the vote of [`Self::predict_classes`], as in scikit-learn. Without sigmoids
    /// (`probability: false`), 1 for the voted class and 0 for the others. Only call after
    /// [`Self::check`].
    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        let k = self.classes.len();
        self.pair_values(x)
            .iter()
            .map(|values| {
                let mut out = vec![0.0; classes];
                match &self.platt {
                    Some(platt) => {
                        let mut r = vec![vec![0.0; k]; k];
                        let mut pair = 0;
                        for i in 0..k {
                            for j in i + 1..k {
                                let p = sigmoid_predict(values[pair], platt[pair])
                                    .clamp(MIN_PROBABILITY, 1.0 - MIN_PROBABILITY);
                                r[i][j] = p;
                                r[j][i] = 1.0 - p;
                                pair += 1;
                            }
                        }
                        for (c, p) in multiclass_probability(&r).into_iter().enumerate() {
                            out[self.classes[c]] = p;
                        }
                    }
                    None => out[self.classes[self.vote(values)]] = 1.0,
                }
                out
            })
            .collect()
    }
}

fn check_vectors(vectors: &[Vec<f64>], features: usize) -> Result<(), String> {
    if let Some(v) = vectors.iter().position(|v| v.len() != features) {
        return Err(format!(
            "support vector {} has {} values; the model has {features} features",
            v + 1,
            vectors[v].len()
        ));
    }
    if !vectors.iter().flatten().all(|v| v.is_finite()) {
        return Err("support vectors must be finite".into());
    }
    Ok(())
}

// ----- regression -------------------------------------------------------------------------

/// Fits ε-support vector regression of `y` on `x`. The monitor hears `iterations` every
/// [`PROGRESS_EVERY`] SMO iterations.
pub(crate) fn fit_regressor(
    x: &Matrix,
    y: &[f64],
    settings: &SvrSettings,
    monitor: &mut Monitor<'_>,
) -> Result<SvrModel, ModelError> {
    settings.validate()?;
    check_data(x, y.len())?;
    let bad = y.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(ModelError::FitFailed(format!(
            "the target has NaN or infinite values in {bad} row(s)"
        )));
    }
    let function = KernelFunction::resolve(settings.kernel_settings(), x)?;
    let limits = SolverLimits {
        tol: settings.tol,
        max_iter: settings.max_iter,
        cache_bytes: CACHE_BYTES,
    };
    let l = x.rows;
    let rows: Vec<&[f64]> = (0..l).map(|r| x.row(r)).collect();
    let mut kernel = TrainingKernel::new(rows, &function, limits.cache_bytes);
    // Variables αᵢ (y = +1, linear term ε − yᵢ) then αᵢ* (y = −1, ε + yᵢ), both on row i.
    let p: Vec<f64> = y
        .iter()
        .map(|t| settings.epsilon - t)
        .chain(y.iter().map(|t| settings.epsilon + t))
        .collect();
    let signs: Vec<i8> = std::iter::repeat_n(1, l)
        .chain(std::iter::repeat_n(-1, l))
        .collect();
    let solution = Solver::solve(
        &mut kernel,
        p,
        signs,
        vec![settings.c; 2 * l],
        (0..l).chain(0..l).collect(),
        limits,
        monitor,
    )?;
    let mut support_vectors = Vec::new();
    let mut dual_coefficients = Vec::new();
    for i in 0..l {
        let coefficient = solution.alpha[i] - solution.alpha[i + l];
        if coefficient != 0.0 {
            support_vectors.push(x.row(i).to_vec());
            dual_coefficients.push(coefficient);
        }
    }
    let intercept = -solution.rho;
    if !dual_coefficients.iter().all(|v: &f64| v.is_finite()) || !intercept.is_finite() {
        return Err(not_finite());
    }
    Ok(SvrModel {
        kernel: function,
        support_vectors,
        dual_coefficients,
        intercept,
        iterations: solution.iterations,
        converged: solution.converged,
    })
}

impl SvrModel {
    /// That the parameters fit `features` inputs, so that predicting cannot index out of
    /// bounds even for an artifact edited by hand.
    pub fn check(&self, features: usize) -> Result<(), String> {
        self.kernel.check()?;
        check_vectors(&self.support_vectors, features)?;
        if self.dual_coefficients.len() != self.support_vectors.len() {
            return Err(format!(
                "support vector regression needs one dual coefficient per support vector ({})",
                self.support_vectors.len()
            ));
        }
        if !self
            .dual_coefficients
            .iter()
            .chain([&self.intercept])
            .all(|v| v.is_finite())
        {
            return Err("support vector regression coefficients must be finite".into());
        }
        Ok(())
    }

    /// The predicted value of each row. Only call after [`Self::check`].
    pub(crate) fn predict_values(&self, x: &Matrix) -> Vec<f64> {
        (0..x.rows)
            .map(|r| {
                let row = x.row(r);
                let mut sum = 0.0;
                for (coefficient, sv) in self.dual_coefficients.iter().zip(&self.support_vectors) {
                    sum += coefficient * self.kernel.eval(row, sv);
                }
                sum + self.intercept
            })
            .collect()
    }
}

// The tests live here rather than in kernel/tests/ because `Matrix` and the fit functions are
// crate-private. They run natively and, with wasm-bindgen-test, in a browser.
#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use serde_json::Value;

    use super::*;
    use crate::model::unmonitored;

    // The crate root configures the library's browser tests (once per test binary).

    const CLASSIFICATION: &str = include_str!("../../tests/fixtures/svm/classification.json");
    const REGRESSION: &str = include_str!("../../tests/fixtures/svm/regression.json");

    /// A deterministic pseudo-random number in [0, 1) for `i` (splitmix64), the same on
    /// every platform.
    fn noise(i: u64) -> f64 {
        let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn matrix(rows: &[Vec<f64>]) -> Matrix {
        Matrix {
            rows: rows.len(),
            cols: rows.first().map_or(0, Vec::len),
            data: rows.iter().flatten().copied().collect(),
        }
    }

    fn numbers(v: &Value) -> Vec<f64> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|n| n.as_f64().expect("a number"))
            .collect()
    }

    fn rows(v: &Value) -> Vec<Vec<f64>> {
        v.as_array().expect("rows").iter().map(numbers).collect()
    }

    fn indices(v: &Value) -> Vec<usize> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|n| n.as_u64().expect("an index") as usize)
            .collect()
    }

    /// Equal to the solver's tolerance: 1e-3, relative beyond ±1.
    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= 1e-3 * expected.abs().max(1.0)
    }

    /// The training-row index of each support vector (the fixtures' rows are distinct).
    fn support_indices(vectors: &[Vec<f64>], x: &[Vec<f64>]) -> Vec<usize> {
        vectors
            .iter()
            .map(|v| x.iter().position(|r| r == v).expect("a training row"))
            .collect()
    }

    fn fit_svc(x: &Matrix, y: &[usize], classes: usize, s: &SvmSettings) -> SvmModel {
        fit_classifier(x, y, classes, s, &mut unmonitored).expect("the fit succeeds")
    }

    fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
        let right = predicted.iter().zip(truth).filter(|(a, b)| a == b).count();
        right as f64 / truth.len() as f64
    }

    /// Two rings: class 1 inside (radius 0.5), class 0 outside (radius 1).
    fn circles(n: u64, seed: u64) -> (Matrix, Vec<usize>) {
        let mut points = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let angle = 2.0 * std::f64::consts::PI * noise(seed + 3 * i);
            let inner = noise(seed + 3 * i + 1) < 0.5;
            let radius = if inner { 0.5 } else { 1.0 } + 0.1 * (noise(seed + 3 * i + 2) - 0.5);
            points.push(vec![radius * angle.cos(), radius * angle.sin()]);
            y.push(usize::from(inner));
        }
        (matrix(&points), y)
    }

    /// `per_class` points around each centre, with uniform noise of width `spread`.
    fn blobs(centres: &[[f64; 2]], per_class: u64, spread: f64) -> (Matrix, Vec<usize>) {
        let mut points = Vec::new();
        let mut y = Vec::new();
        for i in 0..per_class {
            for (c, centre) in centres.iter().enumerate() {
                let k = 2 * (i * centres.len() as u64 + c as u64);
                points.push(vec![
                    centre[0] + spread * (noise(k) - 0.5),
                    centre[1] + spread * (noise(k + 1) - 0.5),
                ]);
                y.push(c);
            }
        }
        (matrix(&points), y)
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn classification_matches_scikit_learn() {
        let fixture: Value = serde_json::from_str(CLASSIFICATION).unwrap();
        let mut failures = Vec::new();
        let mut largest_gap = 0.0f64;
        for case in fixture["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let settings: SvmSettings = serde_json::from_value(case["settings"].clone()).unwrap();
            let x_rows = rows(&case["x"]);
            let x = matrix(&x_rows);
            let y = indices(&case["y"]);
            let classes = case["classes"].as_u64().unwrap() as usize;
            let model = fit_svc(&x, &y, classes, &settings);
            model.check(x.cols, classes).unwrap();

            if (model.kernel.gamma - case["resolved_gamma"].as_f64().unwrap()).abs()
                > 1e-12 * model.kernel.gamma
            {
                failures.push(format!("{name}: gamma {}", model.kernel.gamma));
            }
            let counts: Vec<usize> = indices(&case["n_support"]);
            if model.support_counts != counts {
                failures.push(format!(
                    "{name}: support counts {:?}, scikit-learn {counts:?}",
                    model.support_counts
                ));
            }
            let support = support_indices(&model.support_vectors, &x_rows);
            if support != indices(&case["support"]) {
                failures.push(format!("{name}: support vectors {support:?}"));
            }
            for (mine, theirs) in model.intercepts.iter().zip(numbers(&case["intercepts"])) {
                largest_gap = largest_gap.max((mine - theirs).abs());
                if !close(*mine, theirs) {
                    failures.push(format!("{name}: intercept {mine}, scikit-learn {theirs}"));
                }
            }
            for part in ["train", "test"] {
                let points = if part == "train" {
                    x.clone()
                } else {
                    matrix(&rows(&case["test_x"]))
                };
                let decision = model.decision_function(&points);
                let expected: Vec<Vec<f64>> = if classes == 2 {
                    numbers(&case[format!("decision_{part}")])
                        .into_iter()
                        .map(|v| vec![v])
                        .collect()
                } else {
                    rows(&case[format!("decision_{part}")])
                };
                assert_eq!(decision.len(), expected.len());
                for (r, (mine, theirs)) in decision.iter().zip(&expected).enumerate() {
                    assert_eq!(mine.len(), theirs.len(), "{name}: columns");
                    for (a, b) in mine.iter().zip(theirs) {
                        largest_gap = largest_gap.max((a - b).abs());
                        if !close(*a, *b) {
                            failures.push(format!("{name} {part} row {r}: decision {a}, {b}"));
                        }
                    }
                }
                let predicted = model.predict_classes(&points);
                if predicted != indices(&case[format!("predicted_{part}")]) {
                    failures.push(format!("{name} {part}: predictions {predicted:?}"));
                }
            }
            if settings.probability {
                // Platt parameters come from cross-validation folds that scikit-learn draws
                // with its own generator, so they are not comparable; the coupling is,
                // given scikit-learn's parameters.
                let mut theirs = model.clone();
                let a = numbers(&case["prob_a"]);
                let b = numbers(&case["prob_b"]);
                theirs.platt = Some(
                    a.iter()
                        .zip(&b)
                        .map(|(&a, &b)| PlattSigmoid { a, b })
                        .collect(),
                );
                let test = matrix(&rows(&case["test_x"]));
                let expected = rows(&case["probabilities_test"]);
                for (r, (mine, want)) in theirs
                    .probabilities(&test, classes)
                    .iter()
                    .zip(&expected)
                    .enumerate()
                {
                    for (p, q) in mine.iter().zip(want) {
                        // scikit-learn couples two classes iteratively to 0.0025 where we
                        // solve exactly.
                        if (p - q).abs() > 2e-3 {
                            failures.push(format!("{name} row {r}: probabilities {mine:?}"));
                            break;
                        }
                    }
                }
                // Our own sigmoids, from other folds: the slope has scikit-learn's sign
                // (negative where the pair's classes separate, so that the probability of
                // the first class rises with its decision value) and about its size.
                for (s, theirs) in model.platt.as_ref().unwrap().iter().zip(&a) {
                    if (s.a < 0.0) != (*theirs < 0.0)
                        || (s.a - theirs).abs() > 0.3 * theirs.abs() + 0.15
                    {
                        failures.push(format!(
                            "{name}: Platt slope {}, scikit-learn's {theirs}",
                            s.a
                        ));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} difference(s) from scikit-learn:\n{}",
            failures.len(),
            failures.join("\n")
        );
        // The solver takes LIBSVM's path, so the values agree far beyond the tolerance
        // (to about 1e-14 with scikit-learn 1.9 on x86-64).
        assert!(largest_gap < 1e-6, "largest gap {largest_gap}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn regression_matches_scikit_learn() {
        let fixture: Value = serde_json::from_str(REGRESSION).unwrap();
        let mut failures = Vec::new();
        let mut largest_gap = 0.0f64;
        for case in fixture["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let settings: SvrSettings = serde_json::from_value(case["settings"].clone()).unwrap();
            let x_rows = rows(&case["x"]);
            let x = matrix(&x_rows);
            let y = numbers(&case["y"]);
            let model = fit_regressor(&x, &y, &settings, &mut unmonitored).unwrap();
            model.check(x.cols).unwrap();
            let support = support_indices(&model.support_vectors, &x_rows);
            if support != indices(&case["support"]) {
                failures.push(format!("{name}: support vectors {support:?}"));
            }
            let intercept = case["intercept"].as_f64().unwrap();
            largest_gap = largest_gap.max((model.intercept - intercept).abs());
            if !close(model.intercept, intercept) {
                failures.push(format!("{name}: intercept {}", model.intercept));
            }
            for part in ["train", "test"] {
                let points = if part == "train" {
                    x.clone()
                } else {
                    matrix(&rows(&case["test_x"]))
                };
                let expected = numbers(&case[format!("predicted_{part}")]);
                for (r, (a, b)) in model
                    .predict_values(&points)
                    .iter()
                    .zip(&expected)
                    .enumerate()
                {
                    largest_gap = largest_gap.max((a - b).abs());
                    if !close(*a, *b) {
                        failures.push(format!("{name} {part} row {r}: {a}, scikit-learn {b}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(largest_gap < 1e-6, "largest gap {largest_gap}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn separable_data_is_classified_perfectly() {
        // Class 1 iff x0 + 2·x1 > 1, keeping only points at least 0.2 from the line.
        let mut points = Vec::new();
        let mut y = Vec::new();
        let mut i = 0;
        while points.len() < 120 {
            let (a, b) = (4.0 * noise(2 * i) - 2.0, 4.0 * noise(2 * i + 1) - 2.0);
            i += 1;
            let margin = (a + 2.0 * b - 1.0) / 5f64.sqrt();
            if margin.abs() < 0.2 {
                continue;
            }
            points.push(vec![a, b]);
            y.push(usize::from(margin > 0.0));
        }
        let x = matrix(&points);
        let settings = SvmSettings {
            kernel: SvmKernel::Linear,
            c: 100.0,
            probability: false,
            ..SvmSettings::default()
        };
        let model = fit_svc(&x, &y, 2, &settings);
        assert!(model.converged);
        assert_eq!(model.predict_classes(&x), y);
        // Decision values are positive exactly for class 1, and the hard margin puts the
        // support vectors on |f| = 1.
        for (value, &class) in model.decision_function(&x).iter().zip(&y) {
            assert_eq!(value[0] > 0.0, class == 1, "{value:?}");
            assert!(value[0].abs() >= 1.0 - 1e-2, "{value:?} inside the margin");
        }
        // Few support vectors: the ones on the margin.
        let total = model.support_vectors.len();
        assert!((2..=10).contains(&total), "{total} support vectors");
        // Without Platt scaling, probabilities are the vote.
        for (p, &class) in model.probabilities(&x, 2).iter().zip(&y) {
            assert_eq!(p[class], 1.0);
            assert_eq!(p[1 - class], 0.0);
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn circles_need_a_nonlinear_kernel() {
        let (x, y) = circles(200, 0);
        let (unseen, truth) = circles(200, 10_000);
        let quick = SvmSettings {
            probability: false,
            ..SvmSettings::default()
        };
        let rbf = fit_svc(&x, &y, 2, &quick);
        assert!(accuracy(&rbf.predict_classes(&x), &y) > 0.97);
        assert!(accuracy(&rbf.predict_classes(&unseen), &truth) > 0.95);
        let linear = fit_svc(
            &x,
            &y,
            2,
            &SvmSettings {
                kernel: SvmKernel::Linear,
                ..quick.clone()
            },
        );
        let linear_accuracy = accuracy(&linear.predict_classes(&unseen), &truth);
        assert!(linear_accuracy < 0.7, "linear accuracy {linear_accuracy}");
        // A degree-2 polynomial separates circles too.
        let poly = fit_svc(
            &x,
            &y,
            2,
            &SvmSettings {
                kernel: SvmKernel::Poly,
                degree: 2,
                coef0: 1.0,
                c: 10.0,
                ..quick
            },
        );
        assert!(accuracy(&poly.predict_classes(&unseen), &truth) > 0.95);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn multiclass_votes_and_skips_absent_classes() {
        let centres = [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]];
        let (x, y) = blobs(&centres, 30, 2.0);
        // Four classes, of which class 2 has no rows: the classes present are 0, 1, 3.
        let y4: Vec<usize> = y.iter().map(|&c| if c == 2 { 3 } else { c }).collect();
        let model = fit_svc(&x, &y4, 4, &SvmSettings::default());
        model.check(2, 4).unwrap();
        assert_eq!(model.classes, vec![0, 1, 3]);
        assert!(model.check(2, 3).is_err(), "class 3 needs four classes");
        assert_eq!(model.intercepts.len(), 3);
        assert_eq!(model.dual_coefficients.len(), 2);
        let predicted = model.predict_classes(&x);
        assert!(accuracy(&predicted, &y4) > 0.97);
        assert!(!predicted.contains(&2));
        let decision = model.decision_function(&x);
        assert!(decision.iter().all(|d| d.len() == 3));
        // A point at a centre wins all its pairs: (0,1) and (0,3) positive for class 0.
        let at_centres = matrix(&[vec![0.0, 0.0], vec![3.0, 0.0], vec![0.0, 3.0]]);
        let d = model.decision_function(&at_centres);
        assert!(d[0][0] > 0.0 && d[0][1] > 0.0, "{d:?}");
        assert!(d[1][0] < 0.0 && d[1][2] > 0.0, "{d:?}");
        assert!(d[2][1] < 0.0 && d[2][2] < 0.0, "{d:?}");
        assert_eq!(model.predict_classes(&at_centres), vec![0, 1, 3]);
        for p in model.probabilities(&at_centres, 4) {
            assert_eq!(p.len(), 4);
            assert_eq!(p[2], 0.0);
            assert!(p.iter().copied().fold(0.0, f64::max) > 0.8, "{p:?}");
        }
        // One class only is an error, not a panic.
        let err = fit_classifier(
            &x,
            &vec![1; x.rows],
            2,
            &SvmSettings::default(),
            &mut unmonitored,
        )
        .unwrap_err();
        assert!(err.to_string().contains("at least two classes"), "{err}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn probabilities_sum_to_one_and_follow_decision_values() {
        // Overlapping classes, so that probabilities are graded.
        let (x, y) = blobs(&[[0.0, 0.0], [1.5, 1.0]], 60, 3.0);
        let model = fit_svc(&x, &y, 2, &SvmSettings::default());
        let probabilities = model.probabilities(&x, 2);
        let decision = model.decision_function(&x);
        let mut pairs: Vec<(f64, f64)> = decision
            .iter()
            .zip(&probabilities)
            .map(|(d, p)| {
                assert!((p[0] + p[1] - 1.0).abs() < 1e-12, "{p:?}");
                assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
                (d[0], p[1])
            })
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in pairs.windows(2) {
            assert!(
                w[0].1 <= w[1].1,
                "probability falls as decision rises: {w:?}"
            );
        }
        // Graded, not hard votes; and about as often right as the vote.
        assert!(pairs.iter().any(|(_, p)| (0.2..0.8).contains(p)));
        let by_probability: Vec<usize> = probabilities
            .iter()
            .map(|p| usize::from(p[1] > p[0]))
            .collect();
        assert!(accuracy(&by_probability, &model.predict_classes(&x)) > 0.9);

        // Multiclass: sums to one, and the most probable class is mostly the voted one.
        let (x, y) = blobs(&[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]], 25, 2.5);
        let model = fit_svc(&x, &y, 4, &SvmSettings::default());
        let probabilities = model.probabilities(&x, 4);
        let voted = model.predict_classes(&x);
        let mut agree = 0;
        for (p, &v) in probabilities.iter().zip(&voted) {
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
            let best = (0..4).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            agree += usize::from(best == v);
        }
        assert!(agree as f64 > 0.85 * voted.len() as f64, "{agree} agree");
        // The same seed gives the same sigmoids; another seed other folds.
        let again = fit_svc(&x, &y, 4, &SvmSettings::default());
        assert_eq!(again, model);
        let other = fit_svc(
            &x,
            &y,
            4,
            &SvmSettings {
                seed: 7,
                ..SvmSettings::default()
            },
        );
        assert_ne!(other.platt, model.platt);
        assert_eq!(other.dual_coefficients, model.dual_coefficients);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn svr_fits_a_sine_within_epsilon() {
        let n = 100;
        let points: Vec<Vec<f64>> = (0..n)
            .map(|i| vec![2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64])
            .collect();
        let y: Vec<f64> = points.iter().map(|p| p[0].sin()).collect();
        let x = matrix(&points);
        let settings = SvrSettings {
            c: 10.0,
            epsilon: 0.05,
            ..SvrSettings::default()
        };
        let model = fit_regressor(&x, &y, &settings, &mut unmonitored).unwrap();
        assert!(model.converged);
        // Rows strictly inside the tube are not support vectors, so there are few.
        assert!(
            model.support_vectors.len() < n / 2,
            "{}",
            model.support_vectors.len()
        );
        let fitted = model.predict_values(&x);
        for (f, t) in fitted.iter().zip(&y) {
            assert!((f - t).abs() <= 0.05 + 1e-2, "{f} for {t}");
        }
        // Between the training points too.
        let between = matrix(
            &(0..n - 1)
                .map(|i| vec![points[i][0] + 0.03])
                .collect::<Vec<_>>(),
        );
        for (f, p) in model.predict_values(&between).iter().zip(0..) {
            let t = between.get(p, 0).sin();
            assert!((f - t).abs() <= 0.05 + 2e-2, "{f} for {t}");
        }
        // A wider tube: fewer support vectors, a looser fit.
        let loose = fit_regressor(
            &x,
            &y,
            &SvrSettings {
                epsilon: 0.3,
                ..settings
            },
            &mut unmonitored,
        )
        .unwrap();
        assert!(loose.support_vectors.len() < model.support_vectors.len());
        // Bad targets are an error.
        let mut bad = y.clone();
        bad[3] = f64::NAN;
        let err = fit_regressor(&x, &bad, &SvrSettings::default(), &mut unmonitored).unwrap_err();
        assert!(err.to_string().contains("NaN"), "{err}");
    }

    fn bad_setting(result: Result<(), ModelError>) -> String {
        match result {
            Err(ModelError::InvalidSetting { setting, .. }) => setting,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn validation_names_the_bad_setting() {
        let d = SvmSettings::default;
        assert!(d().validate().is_ok());
        assert!(SvrSettings::default().validate().is_ok());
        let cases: Vec<(SvmSettings, &str)> = vec![
            (SvmSettings { c: 0.0, ..d() }, "c"),
            (SvmSettings { c: f64::NAN, ..d() }, "c"),
            (
                SvmSettings {
                    gamma: SvmGamma::Value(-1.0),
                    ..d()
                },
                "gamma",
            ),
            (
                SvmSettings {
                    gamma: SvmGamma::Value(f64::INFINITY),
                    ..d()
                },
                "gamma",
            ),
            (
                SvmSettings {
                    degree: MAX_DEGREE + 1,
                    ..d()
                },
                "degree",
            ),
            (
                SvmSettings {
                    coef0: f64::NEG_INFINITY,
                    ..d()
                },
                "coef0",
            ),
            (SvmSettings { tol: 0.0, ..d() }, "tol"),
            (SvmSettings { max_iter: 0, ..d() }, "max_iter"),
        ];
        for (settings, name) in cases {
            assert_eq!(bad_setting(settings.validate()), name);
        }
        let svr = SvrSettings {
            epsilon: -0.1,
            ..SvrSettings::default()
        };
        assert_eq!(bad_setting(svr.validate()), "epsilon");
        let svr = SvrSettings {
            c: -1.0,
            ..SvrSettings::default()
        };
        assert_eq!(bad_setting(svr.validate()), "c");
        // Fitting validates first.
        let (x, y) = circles(20, 0);
        let err = fit_classifier(
            &x,
            &y,
            2,
            &SvmSettings { tol: -1.0, ..d() },
            &mut unmonitored,
        );
        assert!(matches!(err, Err(ModelError::InvalidSetting { setting, .. }) if setting == "tol"));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn settings_read_from_json_as_scripts_pass_them() {
        let read = |v: Value| super::super::read_settings::<SvmSettings>(v);
        let s = read(serde_json::json!({})).unwrap();
        assert_eq!(s, SvmSettings::default());
        let s = read(serde_json::json!({"gamma": "auto", "kernel": "poly", "degree": 2})).unwrap();
        assert_eq!(
            (s.gamma, s.kernel, s.degree),
            (SvmGamma::Auto, SvmKernel::Poly, 2)
        );
        assert_eq!(
            read(serde_json::json!({"gamma": 2})).unwrap().gamma,
            SvmGamma::Value(2.0)
        );
        assert_eq!(
            read(serde_json::json!({"gamma": 0.5})).unwrap().gamma,
            SvmGamma::Value(0.5)
        );
        for (bad, name) in [
            (serde_json::json!({"gamma": "wide"}), "gamma"),
            (serde_json::json!({"kernel": "cubic"}), "kernel"),
            (serde_json::json!({"C": 1.0}), "C"),
            (serde_json::json!({"probability": "yes"}), "probability"),
        ] {
            let err = read(bad).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
        let err = read(serde_json::json!({"gamma": "wide"}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"scale\", \"auto\" or a positive number"),
            "{err}"
        );
        // Settings serialize back to the same JSON shapes.
        let s = SvmSettings {
            gamma: SvmGamma::Value(0.25),
            ..SvmSettings::default()
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["gamma"], serde_json::json!(0.25));
        assert_eq!(json["kernel"], serde_json::json!("rbf"));
        assert_eq!(read(json).unwrap(), s);
        let svr = super::super::read_settings::<SvrSettings>(serde_json::json!({"epsilon": 0.5}))
            .unwrap();
        assert_eq!(svr.epsilon, 0.5);
        assert!(super::super::read_settings::<SvrSettings>(
            serde_json::json!({"probability": true})
        )
        .is_err());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn monitor_break_cancels_the_fit() {
        // Heavily overlapping classes at a large C take thousands of iterations.
        let (x, y) = blobs(&[[0.0, 0.0], [0.5, 0.5]], 150, 4.0);
        let settings = SvmSettings {
            c: 1000.0,
            probability: false,
            ..SvmSettings::default()
        };
        let mut seen = Vec::new();
        let mut stop_at_first = |p: FitProgress| {
            seen.push(p);
            ControlFlow::Break(())
        };
        let err = fit_classifier(&x, &y, 2, &settings, &mut stop_at_first).unwrap_err();
        assert_eq!(
            err,
            ModelError::Cancelled {
                done: PROGRESS_EVERY,
                total: DEFAULT_MAX_ITERATIONS,
                unit: "iterations"
            }
        );
        assert_eq!(seen.len(), 1);

        // Progress reaches the host; not cancelling lets the fit finish.
        let mut reports = Vec::new();
        let mut watch = |p: FitProgress| {
            reports.push(p);
            ControlFlow::Continue(())
        };
        let model = fit_classifier(&x, &y, 2, &settings, &mut watch).unwrap();
        let iteration_reports = reports.iter().filter(|p| p.unit == "iterations").count();
        assert_eq!(iteration_reports, model.iterations / PROGRESS_EVERY);
        assert_eq!(
            reports.last(),
            Some(&FitProgress {
                done: 1,
                total: 1,
                unit: "class pairs"
            })
        );

        // Between pairs of classes.
        let (x, y) = blobs(&[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], 10, 1.0);
        let mut stop_after_a_pair = |p: FitProgress| {
            if p.unit == "class pairs" {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let err =
            fit_classifier(&x, &y, 3, &SvmSettings::default(), &mut stop_after_a_pair).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the fit was cancelled after 1 of 3 class pairs"
        );

        // And regression.
        let points: Vec<Vec<f64>> = (0..300).map(|i| vec![noise(i), noise(i + 1000)]).collect();
        let targets: Vec<f64> = (0..300).map(|i| noise(i + 2000)).collect();
        let mut stop = |_: FitProgress| ControlFlow::Break(());
        let err = fit_regressor(
            &matrix(&points),
            &targets,
            &SvrSettings {
                c: 1000.0,
                epsilon: 0.0,
                ..SvrSettings::default()
            },
            &mut stop,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::Cancelled {
                    unit: "iterations",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn overflowing_kernels_are_an_error() {
        // (1000² + 0)^100 overflows f64: the fit must end with an error, not hang or panic.
        let (x, y) = blobs(&[[1000.0, 1000.0], [1500.0, 900.0]], 20, 300.0);
        let settings = SvmSettings {
            kernel: SvmKernel::Poly,
            degree: MAX_DEGREE,
            gamma: SvmGamma::Value(1.0),
            ..SvmSettings::default()
        };
        let err = fit_classifier(&x, &y, 2, &settings, &mut unmonitored).unwrap_err();
        assert!(err.to_string().contains("standardize"), "{err}");
        let targets: Vec<f64> = (0..x.rows).map(|r| x.get(r, 0)).collect();
        let svr = SvrSettings {
            kernel: SvmKernel::Poly,
            degree: MAX_DEGREE,
            gamma: SvmGamma::Value(1.0),
            ..SvrSettings::default()
        };
        let err = fit_regressor(&x, &targets, &svr, &mut unmonitored).unwrap_err();
        assert!(err.to_string().contains("standardize"), "{err}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn max_iter_caps_the_solver() {
        let (x, y) = blobs(&[[0.0, 0.0], [0.5, 0.5]], 100, 4.0);
        let settings = SvmSettings {
            c: 1000.0,
            max_iter: 50,
            probability: false,
            ..SvmSettings::default()
        };
        let model = fit_svc(&x, &y, 2, &settings);
        assert!(!model.converged);
        assert_eq!(model.iterations, 50);
        model.check(2, 2).unwrap();
        assert_eq!(model.predict_classes(&x).len(), x.rows);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn serde_round_trip_gives_identical_predictions() {
        let (x, y) = blobs(&[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], 20, 3.0);
        let model = fit_svc(&x, &y, 3, &SvmSettings::default());
        let json = serde_json::to_string(&model).unwrap();
        let back: SvmModel = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model);
        let bits = |v: Vec<Vec<f64>>| -> Vec<Vec<u64>> {
            v.iter()
                .map(|r| r.iter().map(|p| p.to_bits()).collect())
                .collect()
        };
        assert_eq!(
            bits(back.probabilities(&x, 3)),
            bits(model.probabilities(&x, 3))
        );
        assert_eq!(
            bits(back.decision_function(&x)),
            bits(model.decision_function(&x))
        );
        assert_eq!(back.predict_classes(&x), model.predict_classes(&x));

        let targets: Vec<f64> = (0..x.rows).map(|r| x.get(r, 0) - x.get(r, 1)).collect();
        let svr = fit_regressor(&x, &targets, &SvrSettings::default(), &mut unmonitored).unwrap();
        let back: SvrModel = serde_json::from_str(&serde_json::to_string(&svr).unwrap()).unwrap();
        assert_eq!(back, svr);
        let values = |m: &SvrModel| -> Vec<u64> {
            m.predict_values(&x).iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(values(&back), values(&svr));
    }

    /// FNV-1a over the bits of `values`.
    fn fingerprint<'v>(values: impl IntoIterator<Item = &'v f64>) -> u64 {
        values.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
            v.to_bits()
                .to_le_bytes()
                .iter()
                .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
        })
    }

    /// The same fingerprint natively and in wasm32: fits and predictions are bit-identical
    /// on both (this test runs on both). A change to the solver that changes any bit of
    /// these values changes the constant, on purpose.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fits_are_bit_identical_across_platforms() {
        let (x, y) = blobs(&[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]], 30, 3.0);
        let model = fit_svc(&x, &y, 3, &SvmSettings::default());
        let classifier = fingerprint(
            model
                .probabilities(&x, 3)
                .iter()
                .chain(&model.decision_function(&x))
                .flatten()
                .chain(model.platt.iter().flatten().flat_map(|s| [&s.a, &s.b])),
        );
        let targets: Vec<f64> = (0..x.rows)
            .map(|r| libm::sin(x.get(r, 0)) + x.get(r, 1))
            .collect();
        let svr = fit_regressor(&x, &targets, &SvrSettings::default(), &mut unmonitored).unwrap();
        let regression = fingerprint(&svr.predict_values(&x));
        assert_eq!(
            (classifier, regression),
            (0x4493_bff5_a3c6_605a, 0xcbc7_1abb_5f13_fd3d),
            "fingerprints changed: {classifier:#x}, {regression:#x}"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn check_rejects_malformed_models() {
        let (x, y) = blobs(&[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], 10, 3.0);
        let model = fit_svc(&x, &y, 3, &SvmSettings::default());
        model.check(2, 3).unwrap();
        assert!(model.check(3, 3).is_err(), "wrong feature count");
        assert!(model.check(2, 2).is_err(), "class beyond the outputs");
        type Damage = fn(&mut SvmModel);
        let broken: Vec<(&str, Damage)> = vec![
            ("short support vector", |m| m.support_vectors[0].truncate(1)),
            ("missing support vector", |m| m.support_vectors.truncate(1)),
            ("counts", |m| m.support_counts[0] += 1),
            ("huge counts", |m| m.support_counts[0] = usize::MAX),
            ("coefficient row", |m| m.dual_coefficients[1].truncate(1)),
            ("coefficient rows", |m| m.dual_coefficients.truncate(1)),
            ("intercepts", |m| m.intercepts.truncate(1)),
            ("NaN coefficient", |m| m.dual_coefficients[0][0] = f64::NAN),
            ("infinite vector", |m| {
                m.support_vectors[0][0] = f64::INFINITY
            }),
            ("platt", |m| m.platt.as_mut().unwrap().truncate(1)),
            ("classes order", |m| m.classes.swap(0, 1)),
            ("one class", |m| m.classes.truncate(1)),
            ("gamma", |m| m.kernel.gamma = -1.0),
            ("degree", |m| m.kernel.degree = MAX_DEGREE + 1),
        ];
        for (what, damage) in broken {
            let mut m = model.clone();
            damage(&mut m);
            assert!(m.check(2, 3).is_err(), "{what} accepted");
        }

        let targets: Vec<f64> = (0..x.rows).map(|r| x.get(r, 0)).collect();
        let svr = fit_regressor(&x, &targets, &SvrSettings::default(), &mut unmonitored).unwrap();
        svr.check(2).unwrap();
        assert!(svr.check(1).is_err());
        let mut m = svr.clone();
        m.support_vectors[1].push(0.0);
        assert!(m.check(2).is_err());
        let mut m = svr.clone();
        m.dual_coefficients.pop();
        assert!(m.check(2).is_err());
        let mut m = svr;
        m.intercept = f64::NAN;
        assert!(m.check(2).is_err());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_small_cache_gives_the_same_fit() {
        let (x, y) = circles(150, 77);
        let function = KernelFunction {
            kernel: SvmKernel::Rbf,
            gamma: 2.0,
            degree: 3,
            coef0: 0.0,
        };
        let fit = |cache_bytes| {
            let rows: Vec<&[f64]> = (0..x.rows).map(|r| x.row(r)).collect();
            let positive: Vec<bool> = y.iter().map(|&c| c == 1).collect();
            let limits = SolverLimits {
                tol: 1e-3,
                max_iter: DEFAULT_MAX_ITERATIONS,
                cache_bytes,
            };
            train_binary(
                rows,
                &positive,
                10.0,
                10.0,
                &function,
                limits,
                &mut unmonitored,
            )
            .unwrap()
        };
        // Room for two rows only: nearly every step evicts.
        let small = fit(0);
        let large = fit(CACHE_BYTES);
        assert_eq!(small.coefficients, large.coefficients);
        assert_eq!(small.rho.to_bits(), large.rho.to_bits());
        assert_eq!(small.iterations, large.iterations);
        assert!(large.iterations > 10);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn coupling_and_sigmoid_are_consistent() {
        // Pairwise probabilities from known class probabilities are coupled back to them.
        let truth = [0.5, 0.3, 0.2];
        let r: Vec<Vec<f64>> = (0..3)
            .map(|i| {
                (0..3)
                    .map(|j| {
                        if i == j {
                            0.0
                        } else {
                            truth[i] / (truth[i] + truth[j])
                        }
                    })
                    .collect()
            })
            .collect();
        let p = multiclass_probability(&r);
        for (a, b) in p.iter().zip(truth) {
            assert!((a - b).abs() < 1e-3, "{p:?}");
        }
        // Platt's fit on separable-ish values has a negative slope and orders values.
        let decision: Vec<f64> = (0..40).map(|i| (i as f64 - 20.0) / 5.0).collect();
        let positive: Vec<bool> = (0..40).map(|i| (i + i % 3) > 21).collect();
        let s = sigmoid_train(&decision, &positive);
        assert!(s.a < 0.0, "{s:?}");
        assert!(sigmoid_predict(3.0, s) > 0.9 && sigmoid_predict(-3.0, s) < 0.1);
        assert!(sigmoid_predict(1e308, s).is_finite() && sigmoid_predict(-1e308, s).is_finite());
        assert_eq!(powi(1.5, 0), 1.0);
        assert_eq!(powi(-2.0, 3), -8.0);
        assert_eq!(powi(3.0, 4), 81.0);
    }
}
