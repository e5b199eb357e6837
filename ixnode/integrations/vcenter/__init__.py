"""vCenter integration (pyVmomi): see ``client.py``."""
