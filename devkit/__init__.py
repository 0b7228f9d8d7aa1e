"""What the end-to-end tests, the soak and the benchmark share to drive the platform on kind as a
user does: ``kube`` (kubectl, helm, pods that run scripts next to the services) and ``airflow``
(the REST API with the generated admin credentials)."""
