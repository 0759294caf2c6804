"""SageMaker job operators that run one paid job per task instance, whatever Airflow does to its tries.

A SageMaker job is paid by the hour; an Airflow try is disposable. The provider's operators start a new job
on every try and never stop one, so a killed worker, a retry, a cleared or failed-by-hand task or an
execution timeout either runs a job twice or leaves one running. The subclasses in ``operators`` re-attach a
retry to the job an earlier try started (``attempts``), stop the job when the task is cancelled (``cancel``)
and wait as long as the job may run (``limits``); ``kinds`` says what differs between the job kinds.
"""
