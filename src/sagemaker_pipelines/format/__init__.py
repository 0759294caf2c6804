"""The pipeline format: YAML read safely with positions, ``${...}`` references, the JSON Schema, the checks
a schema cannot express, and environment files."""
