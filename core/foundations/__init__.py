"""Foundations: probability, Bayes, naive Bayes, joint distributions, information theory, the cross-entropy loss."""
