"""Minimal Flower app the deployment tests run on real SuperLink/SuperNode processes."""
