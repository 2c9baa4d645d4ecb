//! Histogram-based gradient-boosted trees (classification and regression).
