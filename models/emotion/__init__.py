"""Speech emotion: acoustic features, a small project-trained model and its training script."""
