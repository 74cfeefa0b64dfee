"""Post-processing of sweep results into the numbers papers print."""
