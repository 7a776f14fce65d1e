from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: provision AWS, check the storage, move an existing project in. No models."""

    name = "ops"
