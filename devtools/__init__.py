"""Developer tooling kept apart from the product: demo and synthetic data, benchmarks."""
