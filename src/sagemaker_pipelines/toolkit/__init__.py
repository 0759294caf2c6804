"""The data scientist's toolkit behind ``sagemaker-pipelines`` and the Makefile: validate (with one
reporter for human, JSON and GitHub output), render, graph, compile to Python, new, docs."""
