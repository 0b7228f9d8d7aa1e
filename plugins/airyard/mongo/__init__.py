"""MongoDB for the platform's pipelines: the hook over the official provider's (``hooks``)."""
