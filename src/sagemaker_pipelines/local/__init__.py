"""Running pipelines on this machine with no AWS account: ``run`` (``make run``), ``provision`` (the
environment's bucket, existing model and warehouse tables), ``summary``, and ``aws/``, the endpoint."""
