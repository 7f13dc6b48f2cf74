"""What is learned: labels, features by sign, the two heads (fitting, cross-fitting,
calibration), splits in time, the leakage guard, the model that assembles them, and its
explanations, recommendations, evaluation and training."""
