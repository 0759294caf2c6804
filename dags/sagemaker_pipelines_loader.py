"""Airflow DAG file: every pipeline under pipelines/ becomes a DAG here.

Airflow parses this file like any DAG file; the YAML pipelines are validated and built by the
``sagemaker_pipelines`` package. Broken pipelines appear in Airflow's import errors (Broken DAG banner)
with their YAML file, line and message, while the good ones load.
"""

from sagemaker_pipelines.airflow.loader import register

register(globals(), __file__)
