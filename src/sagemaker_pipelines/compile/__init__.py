"""From a validated pipeline to operator configs: the kinds table (``kinds/``), full SageMaker requests,
image URIs and durations, and the offline check of each request against botocore's SageMaker model."""
