"""Partner Center: the REST client (``client.py``) and a local simulator (``simulator.py``)."""
