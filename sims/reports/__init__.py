"""Reports: figures and tables made from results or models; run with ``gscsim report NAME [ARGS]``."""
