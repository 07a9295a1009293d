"""dockbell: ChatOps for Docker."""

__version__ = "0.1.0"
