"""Loading and validating spec files: YAML in, checked plain data plus source locations out."""
