"""Development helpers shared by the tests, the demo and the benchmarks (not shipped to Lambda)."""
