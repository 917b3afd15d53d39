"""The install scenarios an operator lives through, end to end on a real Docker engine."""
