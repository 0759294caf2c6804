"""What Airflow runs: DAGs built through dag-factory (``dag_builder``), one pipeline per DAG file
(``loader``), the compile cache, and ``tasks``, the only functions compiled tasks call at run time."""
