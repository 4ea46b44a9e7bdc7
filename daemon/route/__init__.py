"""rules.yaml: rule values, the loader with file:line errors, conditions, the router, explanations."""
