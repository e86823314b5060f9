"""Foundations: probability, Bayes, naive Bayes, joint distributions, information theory, the cross-entropy loss,
linear algebra and the SVD (linear_algebra, low_rank, pca), classical ML (linear_regression, logistic_regression,
knn, decision_tree, kmeans; classical_demo) and evaluation (evaluation, evaluation_demo, bias_variance)."""
