//! Support vector machines: classification (SVC) and regression (SVR).
