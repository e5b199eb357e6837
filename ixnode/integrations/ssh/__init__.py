"""SSH integration (paramiko): see ``client.py``."""
