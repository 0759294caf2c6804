"""SageMaker pipelines on Airflow, from YAML.

Three parts, imports pointing one way (toolkit and local -> runtime, never back):

* the runtime, which Airflow's dag-processor and task runners import: ``checker`` runs a pipeline's path
  top to bottom through ``format/`` (YAML with positions, references, schema, semantics, environments),
  ``compile/`` (the kinds table and the SageMaker requests, checked against botocore's model) and
  ``airflow/`` (DAG building through dag-factory, the per-pipeline loader, the compile cache, and the
  functions tasks call when they run); ``problems`` is every stage's result as data;
* ``toolkit/``: the ``sagemaker-pipelines`` CLI (validate and its reporter, render, graph, compile to
  Python, new, docs);
* ``local/``: ``make run`` (run, provision, summary) and ``local/aws/``, the emulated AWS endpoint.
"""
