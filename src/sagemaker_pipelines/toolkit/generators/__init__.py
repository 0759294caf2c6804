"""Files generated from other sources, never edited by hand (``make schemas``; tests fail when stale).

- ``instance_types``: the schema's instance-type enums, from botocore's model of the SageMaker API;
- ``request_shapes``: ``compile/request_shapes.json``, the input shapes of the operations the task kinds
  send, cut from botocore's model of the SageMaker API for the offline request check;
- ``image_data``: ``compile/image_data.json`` and the schema's algorithm, framework, version and region
  lists, from the image data the SageMaker Python SDK publishes (sagemaker-core's ``image_uri_config``);
- ``hyperparameter_data``: ``compile/hyperparameters.json``, the built-in algorithms' hyperparameters
  (names, types, bounds, allowed values, required names), from the SageMaker Python SDK v2's
  ``sagemaker.amazon`` estimator source;
- ``validity_code``: ``format/schema_validity.py``, the pipeline and environment schemas compiled to
  Python functions that only answer "valid?", so that a valid document skips jsonschema;
- ``schema_views``: ``schemas/pipeline.authored.schema.json``, the schema of a pipeline as written (with
  ``${...}`` references), which editors and check-jsonschema use, from ``pipeline.schema.json``, with
  ``hyperparameter_schema``'s per-algorithm hyperparameter rules added.
"""
