//! Clustering: k-means and DBSCAN.
